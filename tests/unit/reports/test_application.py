"""The reports application layer: envelopes in, read model out — over the in-memory store fake.

What the consumers hand the handlers (an :class:`Envelope` and its decoded event for
``tasks.decisions`` and ``org.events``, the raw Kafka message for a ``*.dlq`` record) goes in;
what the pages read (views, lists, counts, dead letters) comes out. Redelivery, republishing,
arrival order and input the service does not take are checked for what the code does today.
No Kafka, no document store: the fake (:mod:`shared.testing.reports_store`) stands in for the
store port; the adapter itself is proven by ``tests/integration/test_reports_service.py``.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI
from fastapi.testclient import TestClient
from faststream.kafka.message import KafkaMessage

from services.reports.domain.decision_view import build
from services.reports.domain.view_status import ConsulteeStatus, DecisionStatus
from services.reports.handlers import ReportsHandlers
from services.reports.names import OrgNames
from services.reports.web import make_router
from shared.access.audit import MemoryAuditLog
from shared.access.guard import Access
from shared.access.roles import Role
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import DECISION_FACTS, OpinionRecorded, RequestRejected
from shared.contract.events.org import ORG_EVENT_TYPES, LevelDefined, LocalityRegistered, UnitRegistered
from shared.contract.events.workflows import (
    WORKFLOW_FACTS,
    ComplaintKind,
    ComplaintReceived,
    ComplaintTimeLimits,
)
from shared.orgmodel.replica import OrgReplica
from shared.reliability.consumer import Handler
from shared.testing.reports_store import MemoryReportsStore, StoredDecision
from tests.unit.reports.factories import ISSUER, WOMEN, Stream, exception_scenario, full_scenario
from tests.unit.reports.test_web import PUBLIC, bearer

# --------------------------------------------------------------------------- the edge, faked


class App:
    """The handlers over the fake store, fed the way the consumers feed them."""

    def __init__(self, *, inbox_size: int = 1000) -> None:
        self.store = MemoryReportsStore(inbox_size=inbox_size)
        self.replica = OrgReplica()
        self.handlers = ReportsHandlers(self.store, self.replica, retry_max_seconds=0.01)

    async def decision(self, env: Envelope) -> None:
        """One record of ``tasks.decisions``: bytes → envelope → event → the handler of its type."""
        await self._deliver(env, self.handlers.decision_handlers())

    async def org(self, env: Envelope) -> None:
        await self._deliver(env, self.handlers.org_handlers())

    async def _deliver(self, env: Envelope, handlers: Mapping[str, Handler]) -> None:
        received = Envelope.from_bytes(env.to_bytes())
        await handlers[received.type](received, received.event())

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes]) -> None:
        await self.handlers.on_dead_letter(KafkaMessage(record, body=record.value, consumer=None))  # type: ignore[arg-type]

    def document(self, decision_id: str) -> StoredDecision:
        """A copy of the stored document (log, view, version, inbox), to compare before and after."""
        return copy.deepcopy(self.store.decisions[decision_id])


def wrap(event: Event) -> Envelope:
    return Envelope.wrap(event, source="tasks")


def dlq_record(
    offset: int, *, service: str = "tasks", original_offset: int | None = 41, value: bytes = b"{not json"
) -> ConsumerRecord[bytes, bytes]:
    headers = [
        ("dv-dlq-reason", b"malformed: envelope is not valid"),
        ("dv-dlq-reason-vi", "Thông điệp không đúng định dạng".encode()),
        ("dv-dlq-service", service.encode()),
        ("dv-dlq-original-topic", b"tasks.decision-requests"),
        ("dv-dlq-original-partition", b"0"),
        ("dv-dlq-attempts", b"1"),
        ("dv-dlq-at", b"2026-10-05T09:00:00+07:00"),
    ]
    if original_offset is not None:
        headers.append(("dv-dlq-original-offset", str(original_offset).encode()))
    return ConsumerRecord(
        topic="tasks.decision-requests.dlq",
        partition=0,
        offset=offset,
        timestamp=1_780_000_000_000,
        timestamp_type=0,
        key=b"qd-1",
        value=value,
        checksum=None,
        serialized_key_size=4,
        serialized_value_size=len(value),
        headers=headers,
    )


def dump(view: Any) -> Any:
    return view.model_dump(mode="json") if view is not None else None


# --------------------------------------------------------------------------- decision facts


async def test_decision_facts_in_order_give_the_projected_view_and_the_lists() -> None:
    app = App()
    s = exception_scenario("qd-1")
    for fact in s.facts:
        await app.decision(wrap(fact))

    view = await app.store.get("qd-1")
    assert dump(view) == dump(build("qd-1", s.facts))  # the read model is the pure projection
    assert view is not None and view.status is DecisionStatus.ISSUED and view.with_exception
    c = view.consultee(WOMEN)
    assert c is not None and c.status is ConsulteeStatus.OVERRIDDEN
    assert [v.decision_id for v in await app.store.recent()] == ["qd-1"]
    assert [v.decision_id for v in await app.store.recent(unit_id=ISSUER, status="issued")] == ["qd-1"]
    assert await app.store.recent(status="drafted") == []
    assert await app.store.status_counts() == {"issued": 1}
    doc = app.document("qd-1")
    assert doc.version == len(s.facts) and sorted(doc.state["facts"], key=int) == [
        str(f.seq) for f in s.facts
    ]


async def test_the_same_envelope_redelivered_changes_nothing() -> None:
    app = App()
    envelopes = [wrap(f) for f in full_scenario("qd-2").facts]
    for env in envelopes:
        await app.decision(env)
    before = app.document("qd-2")
    for env in [*envelopes, *reversed(envelopes)]:
        await app.decision(env)
    assert app.document("qd-2") == before  # same log, view, version and inbox
    outcome = await app.store.record_decision_event(envelopes[0].id, full_scenario("qd-2").facts[0])
    assert outcome.duplicate and not outcome.applied


async def test_a_fact_republished_under_a_new_envelope_id_changes_nothing() -> None:
    app = App()
    s = full_scenario("qd-3")
    for fact in s.facts:
        await app.decision(wrap(fact))
    before = app.document("qd-3")
    for fact in s.facts:
        await app.decision(wrap(fact))  # the outbox relay re-publishing: new envelope ids
    after = app.document("qd-3")
    assert after == before  # skipped by seq: not even the new envelope ids are kept
    outcome = await app.store.record_decision_event("another-envelope", s.facts[-1])
    assert not outcome.applied and not outcome.duplicate and outcome.version == before.version


async def test_an_envelope_gone_from_the_bounded_inbox_is_still_skipped_by_its_seq() -> None:
    app = App(inbox_size=2)
    envelopes = [wrap(f) for f in exception_scenario("qd-4").facts]
    for env in envelopes:
        await app.decision(env)
    before = app.document("qd-4")
    assert before.inbox == [e.id for e in envelopes[-2:]]
    await app.decision(envelopes[0])  # no longer in the inbox
    assert app.document("qd-4") == before


async def test_out_of_order_delivery_gives_the_same_view_and_shows_gaps_meanwhile() -> None:
    s = exception_scenario("qd-5")
    in_order = App()
    for fact in s.facts:
        await in_order.decision(wrap(fact))

    shuffled = App()
    facts = list(s.facts)
    random.Random(5).shuffle(facts)
    gap = next(f for f in s.facts if f.seq == 3)
    for fact in (f for f in facts if f is not gap):
        await shuffled.decision(wrap(fact))
    partial = await shuffled.store.get("qd-5")
    assert partial is not None and partial.missing_seqs == [3] and partial.last_seq == len(s.facts)
    await shuffled.decision(wrap(gap))  # the late one arrives
    assert dump(await shuffled.store.get("qd-5")) == dump(await in_order.store.get("qd-5"))


async def test_an_opinion_before_its_draft_is_kept_but_not_listed_until_the_draft() -> None:
    app = App()
    s = full_scenario("qd-6")
    opinion = next(f for f in s.facts if isinstance(f, OpinionRecorded))
    await app.decision(wrap(opinion))
    early = await app.store.get("qd-6")
    assert early is not None and early.status is DecisionStatus.UNKNOWN and early.drafted_at is None
    assert early.missing_seqs == list(range(1, opinion.seq))
    assert await app.store.recent() == [] and await app.store.all_views() == []
    assert await app.store.status_counts() == {}
    for fact in s.facts:
        await app.decision(wrap(fact))
    assert dump(await app.store.get("qd-6")) == dump(build("qd-6", s.facts))
    assert [v.decision_id for v in await app.store.all_views(unit_id=ISSUER)] == ["qd-6"]


async def test_a_second_fact_under_a_seq_already_recorded_is_ignored() -> None:
    """What the code does today: the first fact of a ``seq`` wins, a different one is dropped silently."""
    app = App()
    s = Stream("qd-7").drafted().consult()
    for fact in s.facts:
        await app.decision(wrap(fact))
    before = app.document("qd-7")
    impostor = Stream("qd-7").drafted(title="Một dự thảo khác").facts[0]
    await app.decision(wrap(impostor))
    assert app.document("qd-7") == before
    view = await app.store.get("qd-7")
    assert view is not None and view.title == "Quyết định về hỗ trợ giải phóng mặt bằng"


# --------------------------------------------------------------------------- refused requests


async def test_a_refused_request_before_any_draft_is_shown_on_its_decision_only() -> None:
    app = App()
    s = Stream("qd-8")
    rejected = s.rejected("req-1")
    await app.decision(wrap(rejected))
    view = await app.store.get("qd-8")
    assert view is not None and view.status is DecisionStatus.UNKNOWN
    assert [r.request_id for r in view.rejections] == ["req-1"]
    assert "Yêu cầu bị từ chối (đề nghị ngoại lệ)" in view.timeline[0].text_vi
    assert await app.store.recent() == [] and await app.store.status_counts() == {}


async def test_a_refused_request_redelivered_or_republished_is_recorded_once() -> None:
    app = App()
    s = Stream("qd-9").drafted()
    await app.decision(wrap(s.facts[0]))
    rejected = s.rejected("req-2")
    env = wrap(rejected)
    await app.decision(env)
    before = app.document("qd-9")
    await app.decision(env)  # redelivered
    await app.decision(wrap(rejected))  # republished
    assert app.document("qd-9") == before
    view = await app.store.get("qd-9")
    assert view is not None and len(view.rejections) == 1


async def test_an_unknown_request_type_is_named_by_its_code() -> None:
    app = App()
    s = Stream("qd-10").drafted()
    await app.decision(wrap(s.facts[0]))
    odd = s.rejected("req-3").model_copy(update={"request_type": "decision.something_new"})
    await app.decision(wrap(RequestRejected.model_validate(odd.model_dump())))
    view = await app.store.get("qd-10")
    assert view is not None and "(decision.something_new)" in view.timeline[-1].text_vi


# --------------------------------------------------------------------------- what reports does not take


def test_the_decision_subscription_takes_decision_facts_and_refusals_only() -> None:
    """Workflow facts (tasks.workflows) and requests have no handler: the consumer dead-letters
    such a record as an unknown type before any handler runs."""
    handlers = App().handlers
    expected = {c.event_type for c in DECISION_FACTS} | {RequestRejected.event_type}
    assert set(handlers.decision_handlers()) == expected
    assert not set(handlers.decision_handlers()) & {c.event_type for c in WORKFLOW_FACTS}
    assert set(handlers.org_handlers()) == {c.event_type for c in ORG_EVENT_TYPES}


async def test_a_workflow_fact_handed_to_the_decision_handler_is_ignored() -> None:
    app = App()
    complaint = ComplaintReceived(
        complaint_id="kn-1",
        seq=1,
        occurred_at=datetime(2026, 10, 5, 2, 0, tzinfo=UTC),
        kind=next(iter(ComplaintKind)),
        receiving_unit_id="ubnd-tinh",
        locality_id="kg",
        summary="Khiếu nại về bồi thường",
        mass=False,
        petitioner_count=1,
        limits=ComplaintTimeLimits(),
        resolution_due=datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
    )
    env = Envelope.wrap(complaint, source="tasks")
    await app.handlers.on_decision_event(env, complaint)
    assert app.store.decisions == {} and await app.store.get("kn-1") is None


# --------------------------------------------------------------------------- org events (names)


async def test_org_events_give_the_names_shown_and_a_redelivery_is_applied_once() -> None:
    app = App()
    registered = UnitRegistered(
        unit_id=ISSUER,
        name="UBND tỉnh Kiên Giang",
        kind="peoples_committee",
        locality_id="kg",
        valid_from=date(2020, 1, 1),
    )
    envelopes = [
        Envelope.wrap(LevelDefined(code="tinh", rank=1, name_vi="Tỉnh"), source="org"),
        Envelope.wrap(
            LocalityRegistered(
                locality_id="kg", name="Kiên Giang", level_code="tinh", valid_from=date(2020, 1, 1)
            ),
            source="org",
        ),
        Envelope.wrap(registered, source="org"),
    ]
    names = OrgNames(app.replica)
    assert names.unit(ISSUER) == ISSUER  # before the copy has it: the id itself
    for env in [*envelopes, envelopes[-1]]:
        await app.org(env)
    assert app.replica.count == 3
    assert names.unit(ISSUER, datetime(2026, 10, 5, tzinfo=UTC)) == "UBND tỉnh Kiên Giang"


# --------------------------------------------------------------------------- dead letters


async def test_a_dead_letter_is_recorded_once_however_often_delivered() -> None:
    app = App()
    await app.dead_letter(dlq_record(7))
    await app.dead_letter(dlq_record(7))  # the same record again
    await app.dead_letter(dlq_record(8))  # published twice by a retrying consumer: same original
    assert await app.store.dead_letter_count() == 1 and app.handlers.dead_letters_seen == 1
    [dl] = await app.store.dead_letters()
    assert (dl.topic, dl.partition, dl.offset, dl.service) == ("tasks.decision-requests", 0, 41, "tasks")
    assert dl.reason == "Thông điệp không đúng định dạng" and dl.value_preview == "{not json"
    assert dl.dlq_offset == 7 and dl.key == "tasks.decision-requests:0:41:tasks"


async def test_dead_letters_of_two_services_and_without_original_coordinates_are_apart() -> None:
    app = App()
    await app.dead_letter(dlq_record(1, service="tasks"))
    await app.dead_letter(dlq_record(2, service="notify"))
    await app.dead_letter(dlq_record(3, original_offset=None))
    await app.dead_letter(dlq_record(3, original_offset=None))
    keys = [d.key for d in await app.store.dead_letters()]
    assert keys == [
        "tasks.decision-requests.dlq:0:3",
        "tasks.decision-requests:0:41:notify",
        "tasks.decision-requests:0:41:tasks",
    ]  # one time for all: in key order
    assert app.handlers.dead_letters_seen == 3
    assert [d.key for d in await app.store.dead_letters(topic="tasks.decision-requests", limit=1)] == [
        keys[0]
    ]
    assert await app.store.dead_letters(topic="org.events") == []


async def test_storing_a_dead_letter_is_retried_until_it_succeeds() -> None:
    app = App()
    app.store.fail_next_dead_letters = 2
    await app.dead_letter(dlq_record(9))
    assert app.store.fail_next_dead_letters == 0
    assert await app.store.dead_letter_count() == 1 and app.handlers.dead_letters_seen == 1


# --------------------------------------------------------------------------- what the pages read


async def test_the_console_shows_what_the_handlers_recorded() -> None:
    console = App()
    for fact in exception_scenario("qd-11").facts:
        await console.decision(wrap(fact))
    await console.dead_letter(dlq_record(4))
    http = FastAPI()
    access = Access("reports", audit=MemoryAuditLog(), key=PUBLIC, load_key=False)
    access.install(http)
    http.include_router(make_router(console.store, OrgNames(console.replica), access))
    with TestClient(http, headers=bearer(Role.AUDITOR, Role.OPERATOR)) as client:
        one = client.get("/api/decisions/qd-11").json()
        assert one["status"] == "issued" and one["with_exception"] is True
        assert [i["decision_id"] for i in client.get("/api/decisions").json()["items"]] == ["qd-11"]
        assert client.get("/api/dead-letters").json()["count"] == 1
        comp = client.get("/api/compliance", params={"period": "2026-Q4"}).json()
        assert comp["total"]["issued_with_exception"] == 1 and comp["total"]["overrides"] == 1
        assert "NGOẠI LỆ" in client.get("/decisions/qd-11").text
