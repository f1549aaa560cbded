"""Reporting periods: codes, labels, Vietnam-local attribution, nesting."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reports.domain.periods import (
    InvalidPeriod,
    PeriodKind,
    format_vn,
    parse_period,
    period_of,
)


@pytest.mark.parametrize(
    ("code", "label", "rng"),
    [
        ("2026-11", "Tháng 11 năm 2026", "từ ngày 01/11/2026 đến ngày 30/11/2026"),
        ("2026-2", "Tháng 02 năm 2026", "từ ngày 01/02/2026 đến ngày 28/02/2026"),
        ("2026-Q4", "Quý IV năm 2026", "từ ngày 01/10/2026 đến ngày 31/12/2026"),
        ("2026-q1", "Quý I năm 2026", "từ ngày 01/01/2026 đến ngày 31/03/2026"),
        ("2026-H1", "6 tháng đầu năm 2026", "từ ngày 01/01/2026 đến ngày 30/06/2026"),
        ("2026-H2", "6 tháng cuối năm 2026", "từ ngày 01/07/2026 đến ngày 31/12/2026"),
        ("2026", "Năm 2026", "từ ngày 01/01/2026 đến ngày 31/12/2026"),
    ],
)
def test_codes_and_labels(code: str, label: str, rng: str) -> None:
    p = parse_period(code)
    assert p.label_vi == label
    assert p.range_vi == rng
    assert parse_period(p.code) == p


@pytest.mark.parametrize("code", ["", "2026-13", "2026-0", "2026-Q5", "2026-H3", "26", "Q4-2026", "2026-Q4x"])
def test_invalid_codes_are_refused_in_vietnamese(code: str) -> None:
    with pytest.raises(InvalidPeriod, match="không hợp lệ"):
        parse_period(code)


def test_attribution_uses_vietnam_local_date() -> None:
    # 31/3 23:30 UTC is 1/4 06:30 in Vietnam: second quarter
    assert period_of(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), PeriodKind.QUARTER).code == "2026-Q2"
    # 31/3 16:30 UTC is 23:30 in Vietnam: still the first quarter
    moment = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    assert parse_period("2026-Q1").contains(moment)
    assert not parse_period("2026-Q2").contains(moment)
    assert format_vn(moment) == "23:30 31/03/2026"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        parse_period("2026").contains(datetime(2026, 5, 1))


@given(st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2090, 12, 30), timezones=st.just(UTC)))
def test_every_instant_is_in_exactly_one_period_of_each_kind_and_they_nest(moment: datetime) -> None:
    m, q, h, y = (period_of(moment, k) for k in PeriodKind)
    for p in (m, q, h, y):
        assert p.contains(moment)
        assert not parse_period(p.code).contains(moment + timedelta(days=400))
    assert q.contains_period(m) and h.contains_period(q) and y.contains_period(h)
    assert m in q.months() and m in y.months()
    assert len(y.months()) == 12 and len(h.months()) == 6 and len(q.months()) == 3
    months = y.months()
    assert all(a.end == b.start for a, b in itertools.pairwise(months))
