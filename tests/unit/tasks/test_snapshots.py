"""Snapshots of the four tasks aggregates: restore(snapshot(replay(prefix))) + the rest == replay(all).

Why: the repository loads "the latest snapshot + the entries after it" instead of the whole
history; that is only sound if a snapshot taken after *any* number of facts, stored as JSON and
restored, then caught up with the remaining facts, is the same aggregate — same state (the
``snapshot()`` view, processed commands included) and same timers (``next_timer_at`` and what
``tick`` emits). The histories come from real command sequences (the decision's property
machine; random command lists for the workflows), and every prefix length is checked.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from services.tasks.domain.complaint import Complaint
from services.tasks.domain.decision import Decision
from services.tasks.domain.plan import Plan
from services.tasks.domain.situation import Situation
from shared.contract.events.workflows import ComplaintKind, EscalationReason, SituationKind
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.errors import DomainError
from tests.unit.tasks.recording import RecordedComplaint, RecordedPlan, RecordedSituation
from tests.unit.tasks.test_decision_properties import DecisionMachine
from tests.unit.workflows import test_complaint as fc
from tests.unit.workflows import test_plan as fp
from tests.unit.workflows import test_situation as fs

PROBES = (timedelta(0), timedelta(days=1), timedelta(days=9), timedelta(days=45), timedelta(days=400))
"""Instants after the last fact at which the timers of both aggregates are compared."""


NOT_STATE = {"calendar", "acting", "_built", "_recorded"}
"""Instance attributes that are not the aggregate's state: its calendar, who acts, build counter,
and the test double's record of returned facts."""


def assert_every_prefix_restores(cls: type[Aggregate[Any]], facts: Sequence[Any], last: datetime) -> int:
    """For each k: restore(snapshot(replay(facts[:k]))) caught up with facts[k:] equals replay(facts)."""
    event(f"{cls.__name__}: {len(facts) // 5 * 5}+ facts")
    full = cls.replay(facts)
    declared = {"seq", "subject", "processed_commands", *cls.snapshot_fields}
    assert set(vars(full)) - NOT_STATE == declared, "snapshot_fields must name the whole state"
    probes = [last + d for d in PROBES]
    expected_timers = [full.next_timer_at(now) for now in probes]
    expected_ticks = [cls.replay(facts).tick(now) for now in probes]
    for k in range(len(facts) + 1):
        snapshot = cls.replay(facts[:k]).take_snapshot()
        stored = json.loads(json.dumps(snapshot))  # what a document store gives back
        assert cls.restore(stored).take_snapshot() == snapshot, "a snapshot survives its own restore"
        restored = cls.restore(stored).catch_up(facts[k:])
        assert restored.snapshot() == full.snapshot(), f"state differs after a snapshot at {k}"
        assert [restored.next_timer_at(now) for now in probes] == expected_timers
        assert [cls.restore(stored).catch_up(facts[k:]).tick(now) for now in probes] == expected_ticks
    return len(facts)


def attempt(actions: Mapping[str, Callable[[], object]], what: str) -> None:
    """Run one command of a sequence; a refusal is part of a real sequence (it records nothing)."""
    with contextlib.suppress(DomainError):
        actions[what]()


# ------------------------------------------------------------------------------------ decision


class DecisionSnapshotMachine(DecisionMachine):
    """The decision's property machine (every command, refusals, redeliveries, ticks); at the end
    of each run its history is checked at every prefix."""

    def teardown(self) -> None:
        assert_every_prefix_restores(Decision, self.d.history, self.now)


DecisionSnapshotMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
TestDecisionSnapshots = DecisionSnapshotMachine.TestCase


# ------------------------------------------------------------------------------------ complaint

hours = st.integers(min_value=0, max_value=24 * 12)
COMPLAINT_STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["decide", "decide", "propose", "answer", "publish", "close", "withdraw", "tick", "tick"]
        ),
        hours,
        st.booleans(),
        st.booleans(),
    ),
    min_size=4,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(steps=COMPLAINT_STEPS, mass=st.booleans(), kind=st.sampled_from(ComplaintKind))
def test_complaint_snapshots(
    steps: list[tuple[str, int, bool, bool]], mass: bool, kind: ComplaintKind
) -> None:
    c = RecordedComplaint()
    t = fc.T0
    c.receive(
        "r1",
        complaint_id="c1",
        kind=kind,
        receiving_unit_id="rg.ubnd",
        locality_id="rg",
        summary="Bồi thường giải phóng mặt bằng",
        parties=fc.PARTIES,
        at=t,
        mass=mass,
        limits=fc.LIMITS,
    )
    for i, (what, h, a, b) in enumerate(steps):
        t += timedelta(hours=h)
        attempt(complaint_actions(c, t, f"x{i}", a, b), what)
    assert_every_prefix_restores(Complaint, c.history, t)


def complaint_actions(
    c: Complaint, now: datetime, cid: str, a: bool, b: bool
) -> Mapping[str, Callable[[], object]]:
    return {
        "decide": lambda: c.decide(
            cid,
            decided_by_unit_id="rg.ubnd",
            decision_ref=f"QĐ-{cid}",
            summary="s",
            lawful=a,
            complex=b,
            at=now,
        ),
        "propose": lambda: c.propose_review(
            cid, by_unit_id=fc.BOARD.unit_id, to=fc.AUTH, reason="Chưa đúng", at=now
        ),
        "answer": lambda: c.answer_citizen(
            cid, by_unit_id="rg.ubnd", channel="văn bản", answer_ref="CV", at=now
        ),
        "publish": lambda: c.publish_result(cid, channel="báo", publication_ref="tin", at=now),
        "close": lambda: c.close(cid, closed_by="rg.ubnd", at=now),
        "withdraw": lambda: c.withdraw(cid, reason="rút", at=now),
        "tick": lambda: c.tick(now),
    }


# ------------------------------------------------------------------------------------ situation

SITUATION_STEPS = st.lists(
    st.tuples(st.sampled_from(["escalate", "group", "resolve", "close"]), hours, st.booleans()), max_size=8
)


@settings(max_examples=40, deadline=None)
@given(steps=SITUATION_STEPS, kind=st.sampled_from(SituationKind))
def test_situation_snapshots(steps: list[tuple[str, int, bool]], kind: SituationKind) -> None:
    s = RecordedSituation()
    t = fs.T0
    s.report(
        "r1",
        situation_id="s1",
        kind=kind,
        reporting_unit_id="rg.ubnd",
        locality_id="rg",
        summary="Sạt lở bờ biển",
        party_committee=fs.PC,
        informed=fs.INFORMED,
        at=t,
    )
    for i, (what, h, a) in enumerate(steps):
        t += timedelta(hours=h)
        attempt(situation_actions(s, t, f"x{i}", a), what)
    assert_every_prefix_restores(Situation, s.history, t)


def situation_actions(s: Situation, now: datetime, cid: str, a: bool) -> Mapping[str, Callable[[], object]]:
    return {
        "escalate": lambda: s.escalate(
            cid,
            reason=EscalationReason.BEYOND_AUTHORITY if a else EscalationReason.TOO_SERIOUS,
            reason_vi="Cần kinh phí tỉnh",
            requested_by="rg.ubnd",
            to_locality_id="kg",
            to_party_committee=fs.KG_PC,
            to_peoples_committee=fs.KG_UBND,
            at=now,
        ),
        "group": lambda: s.form_working_group(
            cid,
            formed_by_unit_id="kg.ubnd" if a else "kg.cap_uy",
            members=fs.KG_GROUP,
            on_request_of_lower_level=a,
            at=now,
        ),
        "resolve": lambda: s.resolve(cid, by_unit_id="rg.ubnd", summary="Đã ổn định", at=now),
        "close": lambda: s.close(cid, closed_by="rg.ubnd", at=now),
    }


# ------------------------------------------------------------------------------------ plan

PLAN_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["start", "complete", "report", "tick", "tick"]),
        st.integers(min_value=0, max_value=24 * 30),
        st.sampled_from(fp.TASKS),
        st.sampled_from(fp.REPORTERS),
    ),
    min_size=4,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(steps=PLAN_STEPS, days_late=st.integers(min_value=0, max_value=240))
def test_plan_snapshots(steps: list[tuple[str, int, tuple[str, str], str]], days_late: int) -> None:
    p = RecordedPlan()
    t = fp.T0 + timedelta(days=days_late)  # a plan may be recorded after its dates
    p.adopt(
        "a",
        plan_id="415",
        number="415-KH/BDVTU-BCSDUBND",
        title="Dân vận chính quyền",
        issuer_unit_ids=("kg.bdv", "kg.bcsd_ubnd"),
        items=fp.ITEMS,
        routes=fp.ROUTES,
        report_due=fp.REPORT_DUE,
        at=t,
    )
    for i, (what, h, task, reporter) in enumerate(steps):
        t += timedelta(hours=h)
        attempt(plan_actions(p, t, f"x{i}", task, reporter), what)
    assert_every_prefix_restores(Plan, p.history, t)


def plan_actions(
    p: Plan, now: datetime, cid: str, task: tuple[str, str], reporter: str
) -> Mapping[str, Callable[[], object]]:
    item, unit = task
    return {
        "start": lambda: p.start_task(cid, item_id=item, unit_id=unit, at=now),
        "complete": lambda: p.complete_task(cid, item_id=item, unit_id=unit, result_summary="Xong", at=now),
        "report": lambda: p.report_result(cid, reporter_unit_id=reporter, report_ref="BC", at=now),
        "tick": lambda: p.tick(now),
    }
