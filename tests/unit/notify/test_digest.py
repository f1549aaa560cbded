from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify.domain.digest import Grouped, Immediate, Pending, plan_digest

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
W = timedelta(minutes=30)


def p(nid: str, rid: str, minutes_ago: int, kind: str = "consultation_requested") -> Pending[str]:
    return Pending(nid, rid, kind, NOW - timedelta(minutes=minutes_ago), f"content-{nid}")


def test_single_is_immediate_and_two_are_grouped() -> None:
    plan = plan_digest([p("a1", "A", 5), p("b1", "B", 10), p("b2", "B", 2)], now=NOW, window=W)
    assert plan.dispatches == (Grouped("B", (p("b1", "B", 10), p("b2", "B", 2))), Immediate(p("a1", "A", 5)))
    assert plan.in_window == 3


def test_old_leftovers_are_included_not_dropped() -> None:
    plan = plan_digest([p("x", "A", 600), p("y", "A", 1)], now=NOW, window=W)
    assert plan.in_window == 1
    assert isinstance(plan.dispatches[0], Grouped) and len(plan.dispatches[0].items) == 2


def test_receipts_are_never_digested() -> None:
    plan = plan_digest(
        [p("r", "A", 3, "opinion_received"), p("c1", "A", 4), p("c2", "A", 2)], now=NOW, window=W
    )
    kinds = [type(d).__name__ for d in plan.dispatches]
    assert kinds == ["Grouped", "Immediate"]
    assert plan.dispatches[1] == Immediate(p("r", "A", 3, "opinion_received"))


def test_duplicate_ids_and_bad_window_refused() -> None:
    with pytest.raises(ValueError):
        plan_digest([p("a", "A", 1), p("a", "B", 1)], now=NOW, window=W)
    with pytest.raises(ValueError):
        plan_digest([], now=NOW, window=timedelta(0))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", "D"]),
            st.integers(0, 120),
            st.sampled_from(["consultation_requested", "reminder", "opinion_received", "issued"]),
        ),
        max_size=30,
    )
)
def test_never_drop_never_duplicate_and_group_rule(rows: list[tuple[str, int, str]]) -> None:
    items = [p(f"n{i}", rid, ago, kind) for i, (rid, ago, kind) in enumerate(rows)]
    plan = plan_digest(items, now=NOW, window=W)
    ids = plan.notification_ids()
    assert sorted(ids) == sorted(i.notification_id for i in items)  # exactly once each
    grouped_recipients = [d.recipient_id for d in plan.dispatches if isinstance(d, Grouped)]
    assert len(grouped_recipients) == len(set(grouped_recipients))  # one digest per recipient
    for d in plan.dispatches:
        if isinstance(d, Grouped):
            assert len(d.items) >= 2 and all(i.recipient_id == d.recipient_id for i in d.items)
    for rid in {r for r, _, _ in rows}:
        groupable = [i for i in items if i.recipient_id == rid and i.kind != "opinion_received"]
        if len(groupable) >= 2:
            assert rid in grouped_recipients
        else:
            assert rid not in grouped_recipients
