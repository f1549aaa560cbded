"""The decision workflow's application layer on the in-memory fakes: envelope in → facts and outbox
out; the same envelope again → nothing; refusals answered once; timers fire once; another process
rebuilds the same decision from what was stored. No Kafka, no store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.tasks.clock import Clock
from services.tasks.decisions import DecisionService
from services.tasks.domain.decision import Decision
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import (
    ActingAs,
    Article,
    ConsultationRequirement,
    DecisionFlag,
    DecisionRequest,
    DocType,
    DraftSubmitted,
    OpinionSubmitted,
    PublicCommentSubmitted,
    Stance,
)
from shared.eventsourcing.repository import EventSourcedRepository
from shared.reliability.emit import Emitter
from shared.security.principal import Principal, reset_current, set_current
from shared.testing.eventstore import MemoryHeads
from shared.testing.state_store import InMemoryStateStore
from tests.unit.tasks.factories import BOARD, FRONT, ISSUER, T0, requirement
from tests.unit.tasks.test_authorization import Authority

DRAFT_FACTS = ["decision.drafted", "decision.consultation_requested", "decision.public_comment_opened"]


class Org(Authority):
    def requirement_for(
        self, issuer_unit_id: str, doc_type: DocType, flags: Sequence[DecisionFlag], at: datetime
    ) -> ConsultationRequirement:
        return requirement(
            deadline=at + timedelta(days=14),
            public_comment_required=True,
            public_comment_closes_at=at + timedelta(days=7),
        )

    def acting_as(self, person_id: str, unit_id: str, at: datetime) -> ActingAs | None:
        return ActingAs.HOLDER if person_id == "p.in-charge" else None


class World:
    def __init__(self, heads: MemoryHeads | None = None) -> None:
        self.heads = heads or MemoryHeads()
        self.rejections = InMemoryStateStore("rejections")
        self.clock = Clock(adjustable=True)
        self.service = DecisionService(
            decisions=EventSourcedRepository(
                self.heads, new=Decision, restore=Decision.restore, snapshot_every=5
            ),
            rejections=self.rejections,
            emitter=Emitter("tasks"),
            org=Org(),
            clock=self.clock,
        )

    async def send(
        self, request: DecisionRequest, system: str = "sys.issuer", env: Envelope | None = None
    ) -> Envelope:
        env = env or Envelope.wrap(request, source="test")
        token = set_current(Principal(system_id=system, kid="k" * 43, kind="agency", signed_at=T0))
        try:
            await self.service.handle(env, env.event())  # type: ignore[arg-type]
        finally:
            reset_current(token)
        return env

    def facts(self, decision_id: str = "qd-1") -> list[str]:
        return [e.type for e in self.heads.outbox(decision_id)]

    def refusals(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.rejections.outbox()]


def draft(request_id: str = "r-draft", decision_id: str = "qd-1") -> DraftSubmitted:
    return DraftSubmitted(
        request_id=request_id,
        decision_id=decision_id,
        submitted_at=T0,
        issuer_unit_id=ISSUER,
        submitted_by="p.drafter",
        doc_type=DocType.DECISION,
        title="Quyết định về hỗ trợ giải phóng mặt bằng",
        flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
        articles=(Article(article_id="d1", text="Điều 1."), Article(article_id="d2", text="Điều 2.")),
    )


def opinion(unit: str, request_id: str, person: str = "p.in-charge") -> OpinionSubmitted:
    return OpinionSubmitted(
        request_id=request_id,
        decision_id="qd-1",
        submitted_at=T0,
        consultee_unit_id=unit,
        person_id=person,
        acting_as=ActingAs.HOLDER,
        stance=Stance.AGREE,
        draft_version=1,
    )


async def test_a_draft_in_gives_its_facts_out_and_the_same_envelope_again_gives_nothing() -> None:
    w = World()
    env = await w.send(draft())
    assert w.facts() == DRAFT_FACTS
    outbox = w.heads.outbox("qd-1")
    assert all(e.causation_id == env.id and e.subject == "qd-1" for e in outbox)
    await w.send(draft(), env=env)  # redelivered
    await w.send(draft())  # the same request under a new envelope
    assert w.facts() == DRAFT_FACTS
    assert w.refusals() == []


async def test_a_refused_request_is_answered_once_and_the_decision_is_untouched() -> None:
    w = World()
    env = await w.send(draft(), system="sys.rogue")
    await w.send(draft(), system="sys.rogue", env=env)  # redelivered
    assert [r["code"] for r in w.refusals()] == ["system_not_authorised_for_unit"]
    assert w.refusals()[0]["sender_system_id"] == "sys.rogue"
    assert await w.service.get("qd-1") is None and w.heads.docs == {}


async def test_an_opinion_for_a_decision_that_does_not_exist_is_refused_unknown_decision() -> None:
    w = World()
    await w.send(opinion(BOARD, "r-op"), system="sys.board")
    assert [r["code"] for r in w.refusals()] == ["unknown_decision"]
    assert "không tìm thấy" in w.refusals()[0]["message_vi"].lower()


async def test_opinions_are_recorded_once_and_a_person_not_in_charge_is_refused() -> None:
    w = World()
    await w.send(draft())
    await w.send(opinion(BOARD, "r-op1"), system="sys.board")
    await w.send(opinion(BOARD, "r-op1"), system="sys.board")  # repeated request id
    await w.send(opinion(FRONT, "r-op2", person="p.stranger"), system="sys.front")
    assert w.facts().count("decision.opinion_recorded") == 1
    assert [r["code"] for r in w.refusals()] == ["not_authorised_for_unit"]
    d = await w.service.get("qd-1")
    assert d is not None and d.has_valid_opinion(BOARD) and not d.has_valid_opinion(FRONT)


async def test_timers_fire_once_and_the_stored_next_timer_moves_on() -> None:
    w = World()
    await w.send(draft())
    assert await w.service.tick_all() == 0  # nothing is due yet
    first_timer = w.heads.raw("qd-1")["next_timer_at"]
    assert first_timer is not None
    w.clock.advance(timedelta(days=40))  # past every consultee's deadline and the level-2 escalation
    fired = await w.service.tick_all()
    assert fired > 0 and await w.service.tick_all() == 0
    kinds = w.facts()
    assert kinds.count("decision.escalated") == 2 * len(requirement().consultees)
    assert w.heads.raw("qd-1")["next_timer_at"] is None


async def test_another_process_rebuilds_the_same_decision_from_snapshot_and_tail() -> None:
    w = World()
    await w.send(draft())
    for i in range(12):
        await w.send(
            PublicCommentSubmitted(
                request_id=f"r-pc{i}", decision_id="qd-1", submitted_at=T0, text=f"Góp ý {i}", article_id="d1"
            )
        )
    doc = w.heads.raw("qd-1")
    assert doc["snapshot"] is not None and doc["tail_len"] < 5
    here = await w.service.get("qd-1")
    other = World(w.heads)
    there = await other.service.get("qd-1")
    assert here is not None and there is not None
    assert there.snapshot() == here.snapshot()
    verdict = await other.service.decisions.verify("qd-1")
    assert verdict is not None and verdict.ok and verdict.checked == doc["seq"]
