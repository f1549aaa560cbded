"""Compliance aggregates: counts, period attribution, additivity, idempotence."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reports.domain.compliance import Counts, compliance, counts_of
from services.reports.domain.decision_view import build
from services.reports.domain.periods import VN_TZ, parse_period
from services.reports.domain.view_model import DecisionView
from tests.unit.reports.factories import (
    BOARD,
    ISSUER,
    WOMEN,
    YOUTH,
    Stream,
    exception_scenario,
    full_scenario,
)

Q4 = parse_period("2026-Q4")


def _views() -> list[DecisionView]:
    a = exception_scenario("qd-a")
    b = full_scenario("qd-b")
    c = exception_scenario("qd-c", issuer="ubnd-huyen")
    return [build(s.decision_id, s.facts) for s in (a, b, c)]


def test_counts_per_unit_and_total() -> None:
    names = {ISSUER: "UBND tỉnh", "ubnd-huyen": "UBND huyện"}
    r = compliance(_views(), Q4, unit_name=lambda u: names.get(u, u))
    assert [row.unit_name for row in r.rows] == ["UBND huyện", "UBND tỉnh"]
    tinh = next(row for row in r.rows if row.unit_id == ISSUER)
    assert (tinh.drafted, tinh.issued, tinh.issued_full, tinh.issued_with_exception) == (2, 2, 1, 1)
    assert (tinh.overrides, tinh.refused_attempts, tinh.escalations) == (1, 1, 1)
    assert (tinh.opinions_on_time, tinh.opinions_late, tinh.consultees_without_opinion) == (6, 1, 1)
    assert tinh.full_rate == 0.5
    t = r.total
    assert (t.issued, t.issued_with_exception, t.refused_attempts) == (3, 2, 2)
    assert len(r.exceptions) == 2 and len(r.refusals) == 2
    assert r.exceptions[0].reason == "Cấp bách do thiên tai"
    women = next(c for c in r.consultees if c.unit_id == WOMEN)
    assert (women.on_time, women.without_opinion, women.escalations) == (1, 2, 2)
    youth = next(c for c in r.consultees if c.unit_id == YOUTH)
    assert youth.unit_name == "Tỉnh Đoàn" and youth.late == 2


def test_unit_filter() -> None:
    r = compliance(_views(), Q4, unit_id="ubnd-huyen")
    assert [row.unit_id for row in r.rows] == ["ubnd-huyen"]
    assert r.total.issued == 1 and r.total.issued_with_exception == 1


def test_other_periods_are_empty() -> None:
    r = compliance(_views(), parse_period("2026-Q3"))
    assert r.rows == [] and r.total == Counts() and r.exceptions == []


def test_facts_are_attributed_to_the_period_of_their_own_date() -> None:
    # drafted and consulted at the end of September; the opinion and issuance in October
    s = Stream("qd-e", datetime(2026, 9, 30, 20, 0, tzinfo=VN_TZ)).drafted().consult()
    s.opinion(BOARD, hours=5)  # 1/10 02:00
    v = build("qd-e", s.facts)
    sep, oct_ = parse_period("2026-09"), parse_period("2026-10")
    assert counts_of(v, sep).drafted == 1 and counts_of(v, sep).opinions_on_time == 0
    assert counts_of(v, oct_).drafted == 0 and counts_of(v, oct_).opinions_on_time == 1


def test_duplicates_count_once() -> None:
    s = exception_scenario("qd-d")
    once = compliance([build("qd-d", s.facts)], Q4)
    twice = compliance([build("qd-d", [*s.facts, *s.facts, s.facts[-1], s.facts[-2]])], Q4)
    assert twice == once and twice.total.issued_with_exception == 1 and twice.total.overrides == 1


@st.composite
def _decisions(draw: st.DrawFn) -> list[DecisionView]:
    out: list[DecisionView] = []
    for i in range(draw(st.integers(0, 6))):
        start = datetime(2026, 1, 1, tzinfo=VN_TZ) + timedelta(hours=draw(st.integers(0, 24 * 360)))
        issuer = draw(st.sampled_from([ISSUER, "ubnd-huyen", "so-tnmt"]))
        kind = draw(st.sampled_from(["exception", "full", "open", "withdrawn"]))
        sid = f"qd-{i}"
        if kind == "exception":
            s = exception_scenario(sid, issuer, start)
        elif kind == "full":
            s = full_scenario(sid, issuer, start)
        elif kind == "open":
            s = Stream(sid, start).drafted(issuer).consult().opinion(BOARD).escalate(WOMEN).refuse([WOMEN])
        else:
            s = Stream(sid, start).drafted(issuer).consult().withdraw()
        out.append(build(sid, s.facts))
    return out


def _sum(reports: list[Counts]) -> Counts:
    total = Counts()
    for c in reports:
        total.add(c)
    return total


@settings(max_examples=80, deadline=None)
@given(views=_decisions())
def test_periods_add_up_and_invariants_hold(views: list[DecisionView]) -> None:
    year = parse_period("2026")
    y = compliance(views, year).total
    quarters = [compliance(views, parse_period(f"2026-Q{q}")).total for q in range(1, 5)]
    halves = [compliance(views, parse_period(f"2026-H{h}")).total for h in (1, 2)]
    months = [compliance(views, m).total for m in year.months()]
    next_jan = compliance(views, parse_period("2027-01")).total  # scenarios may run into January
    assert _sum(quarters) == y and _sum(halves) == y and _sum(months) == y
    for p in [year, *(parse_period(f"2026-Q{q}") for q in range(1, 5))]:
        r = compliance(views, p)
        t = r.total
        assert t.issued == t.issued_full + t.issued_with_exception
        assert t.issued_with_exception <= t.overrides
        assert _sum(list(r.rows)) == t
        assert len(r.exceptions) == t.overrides and len(r.refusals) == t.refused_attempts
        by_unit = [compliance(views, p, unit_id=u).total for u in (ISSUER, "ubnd-huyen", "so-tnmt")]
        assert _sum(by_unit) == t
    assert y.drafted + next_jan.drafted == len(views)


def test_period_boundaries_are_inclusive_exclusive() -> None:
    q4 = parse_period("2026-Q4")
    assert q4.contains(datetime(2026, 10, 1, 0, 0, tzinfo=VN_TZ))
    assert not q4.contains(datetime(2027, 1, 1, 0, 0, tzinfo=VN_TZ))
    assert q4.contains(datetime(2026, 12, 31, 23, 59, tzinfo=VN_TZ))
