"""The complaint / situation / plan application layer on the in-memory fakes and an org copy built
from the Kiên Giang seed: envelope in → facts and outbox out, redelivered → nothing, refusals once,
timers once. No Kafka, no store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from services.tasks.clock import Clock
from services.tasks.domain.complaint import Complaint
from services.tasks.domain.plan import Plan
from services.tasks.domain.situation import Situation
from services.tasks.workflows.org_resolver import OrgResolver
from services.tasks.workflows.service import WorkflowService
from shared.contract.envelope import Envelope
from shared.contract.events.workflows import (
    ComplaintCloseRequested,
    ComplaintKind,
    ComplaintReceiptSubmitted,
    WorkflowRequest,
)
from shared.eventsourcing.repository import EventSourcedRepository
from shared.orgmodel.projection import seed_events
from shared.orgmodel.replica import OrgReplica
from shared.orgmodel.seed_format import parse_seed
from shared.reliability.emit import Emitter
from shared.security.principal import Principal, reset_current, set_current
from shared.testing.eventstore import MemoryHeads
from shared.testing.state_store import InMemoryStateStore

SEED = Path(__file__).parents[3] / "services" / "org" / "seeds" / "kien_giang.yaml"


class Resolver(OrgResolver):
    def acts_for(self, system_id: str, unit_id: str, at: datetime) -> bool:
        return system_id == "sys.agency"


class World:
    def __init__(self) -> None:
        replica = OrgReplica()
        for event in seed_events(parse_seed(SEED.read_text(encoding="utf-8"), SEED.name)):
            replica.projection.apply(event)
        self.heads = {"complaint": MemoryHeads(), "situation": MemoryHeads(), "plan": MemoryHeads()}
        self.rejections = InMemoryStateStore("wf_rejections")
        self.clock = Clock(adjustable=True)
        kinds: dict[str, Any] = {"complaint": Complaint, "situation": Situation, "plan": Plan}
        self.service = WorkflowService(
            repositories={
                k: EventSourcedRepository(h, new=kinds[k], restore=kinds[k].restore)
                for k, h in self.heads.items()
            },  # type: ignore[misc]
            rejections=self.rejections,
            emitter=Emitter("tasks"),
            org=Resolver(replica),
            clock=self.clock,
        )

    async def send(
        self, request: WorkflowRequest, env: Envelope | None = None, system: str = "sys.agency"
    ) -> Envelope:
        env = env or Envelope.wrap(request, source="test")
        token = set_current(
            Principal(system_id=system, kid="k" * 43, kind="agency", signed_at=self.clock.now())
        )
        try:
            await self.service.handle(env, request)
        finally:
            reset_current(token)
        return env

    def facts(self, kind: str = "complaint") -> list[str]:
        return [e.type for e in self.heads[kind].outbox()]

    def refusals(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.rejections.outbox()]


def receipt(
    complaint_id: str = "c1", unit: str = "kg.rg.ubnd", request_id: str = "r1"
) -> ComplaintReceiptSubmitted:
    return ComplaintReceiptSubmitted(
        request_id=request_id,
        complaint_id=complaint_id,
        submitted_at=datetime.now().astimezone(),
        kind=ComplaintKind.COMPLAINT,
        receiving_unit_id=unit,
        summary="Khiếu nại bồi thường",
        mass=True,
        petitioner_count=25,
    )


async def test_a_receipt_in_gives_its_facts_out_and_again_gives_nothing() -> None:
    w = World()
    env = await w.send(receipt())
    first = w.facts()
    assert first[0] == "complaint.received" and len(first) >= 2
    assert all(e.causation_id == env.id for e in w.heads["complaint"].outbox())
    await w.send(receipt(), env=env)  # redelivered
    await w.send(receipt())  # the same request in a new envelope
    assert w.facts() == first and w.refusals() == []
    c = await w.service.get("complaint", "c1")
    assert isinstance(c, Complaint) and {"kg.rg.bdv", "kg.rg.mttq"} <= {p.unit_id for p in c.shared_with}
    assert [f.event_type for f in await w.service.history("complaint", "c1")] == first


async def test_an_unknown_unit_and_an_early_close_are_refused_once_each() -> None:
    w = World()
    env = await w.send(receipt("c2", unit="kg.khong_co", request_id="r-unknown"))
    await w.send(receipt("c2", unit="kg.khong_co", request_id="r-unknown"), env=env)
    await w.send(receipt("c3", request_id="r3"))
    close = ComplaintCloseRequested(
        request_id="r-close",
        complaint_id="c3",
        submitted_at=datetime.now().astimezone(),
        requested_by="kg.rg.ubnd",
    )
    await w.send(close)
    assert [r["code"] for r in w.refusals()] == ["unknown_unit", "close_requirements_unmet"]
    assert await w.service.get("complaint", "c2") is None
    assert all(r["aggregate_kind"] == "complaint" for r in w.refusals())


async def test_a_request_for_a_complaint_that_does_not_exist_is_refused() -> None:
    w = World()
    close = ComplaintCloseRequested(
        request_id="r-x",
        complaint_id="nope",
        submitted_at=datetime.now().astimezone(),
        requested_by="kg.rg.ubnd",
    )
    await w.send(close)
    assert [r["code"] for r in w.refusals()] == ["unknown_complaint"]


async def test_timers_of_an_open_complaint_fire_once() -> None:
    w = World()
    await w.send(receipt("c4", request_id="r4"))
    before = len(w.facts())
    assert w.heads["complaint"].raw("c4")["next_timer_at"] is not None
    w.clock.advance(timedelta(days=120))
    fired = await w.service.tick_all()
    assert fired > 0 and await w.service.tick_all() == 0
    assert len(w.facts()) == before + fired
