"""Working-day calendar: exhaustive checks on the shipped data and properties of the arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.tasks.domain.calendar import (
    DEFAULT_CALENDAR,
    VN_TZ,
    HolidayCalendar,
    add_working_days,
    is_working_day,
    working_days_between,
)
from services.tasks.domain.holidays_vn import VN_HOLIDAYS_2025_2027
from tests.unit.tasks.lunar import lunar_to_solar

CAL = DEFAULT_CALENDAR


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


# ---------------------------------------------------------------- shipped data


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_tet_and_gio_to_follow_the_lunar_calendar(year: int) -> None:
    new_year = lunar_to_solar(1, 1, year)
    gio_to = lunar_to_solar(10, 3, year)
    assert new_year in CAL.days_off and "Tết Nguyên đán" in CAL.days_off[new_year]
    assert (new_year - timedelta(days=1)) in CAL.days_off, "the eve of Tết is a day off"
    for offset in range(1, 4):
        assert (new_year + timedelta(days=offset)) in CAL.days_off
    assert gio_to in CAL.days_off and "Giỗ Tổ" in CAL.days_off[gio_to]


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_solar_holidays_present(year: int) -> None:
    for month, day in [(1, 1), (4, 30), (5, 1), (9, 2)]:
        assert date(year, month, day) in CAL.days_off
    adjacent = {date(year, 9, 1), date(year, 9, 3)} & set(CAL.days_off)
    assert len(adjacent) == 1, "Quốc khánh has exactly one adjacent day off"


def test_2025_exhaustive_known_days() -> None:
    off_weekdays = {
        date(2025, 1, 1),
        *(date(2025, 1, d) for d in range(27, 32)),
        date(2025, 4, 7),
        date(2025, 4, 30),
        date(2025, 5, 1),
        date(2025, 5, 2),
        date(2025, 9, 1),
        date(2025, 9, 2),
    }
    day = date(2025, 1, 1)
    count = 0
    while day.year == 2025:
        expected = (day.weekday() < 5 and day not in off_weekdays) or day == date(2025, 4, 26)
        assert CAL.is_working_day(day) is expected, day
        count += expected
        day += timedelta(days=1)
    # 261 weekdays − 12 weekday days off + 1 make-up Saturday
    assert count == 250


def test_makeup_saturday_is_working() -> None:
    assert date(2025, 4, 26).weekday() == 5
    assert is_working_day(date(2025, 4, 26))
    assert not is_working_day(date(2025, 4, 27))


def test_compensatory_day_for_gio_to_on_sunday_2026() -> None:
    assert date(2026, 4, 26).weekday() == 6
    assert not is_working_day(date(2026, 4, 27))


def test_provisional_years_are_marked() -> None:
    assert CAL.provisional_years == frozenset({2026, 2027})
    assert CAL.covers(date(2026, 5, 5)) and not CAL.covers(date(2030, 1, 1))


# ---------------------------------------------------------------- arithmetic


def test_deadline_is_17h_local_of_nth_working_day_after_start() -> None:
    # Friday 24/01/2025 before Tết: the next working day is Monday 03/02/2025.
    assert add_working_days(at(2025, 1, 24, 8), 1) == datetime(2025, 2, 3, 17, 0, tzinfo=VN_TZ)
    assert add_working_days(at(2025, 1, 24, 23, 59), 5) == datetime(2025, 2, 7, 17, 0, tzinfo=VN_TZ)
    # Start day never counts, whatever the hour.
    assert add_working_days(at(2025, 3, 3, 7), 1) == datetime(2025, 3, 4, 17, 0, tzinfo=VN_TZ)


def test_utc_input_uses_local_date() -> None:
    # 18:00 UTC on Sunday 02/03/2025 is 01:00 Monday 03/03 in Hà Nội.
    start = datetime(2025, 3, 2, 18, 0, tzinfo=UTC)
    assert add_working_days(start, 1) == datetime(2025, 3, 4, 17, 0, tzinfo=VN_TZ)
    assert is_working_day(start)


def test_makeup_saturday_counts_and_swap_day_does_not() -> None:
    # Fri 25/04/2025 → Sat 26 (make-up) is working day 1; 30/4–2/5 off; Mon 05/05 is day 3.
    assert add_working_days(at(2025, 4, 25), 1).date() == date(2025, 4, 26)
    assert add_working_days(at(2025, 4, 25), 2).date() == date(2025, 4, 28)
    assert add_working_days(at(2025, 4, 25), 4).date() == date(2025, 5, 5)


def test_zero_and_negative() -> None:
    assert add_working_days(at(2025, 3, 5), 0) == datetime(2025, 3, 5, 17, tzinfo=VN_TZ)
    assert add_working_days(at(2025, 3, 8), 0).date() == date(2025, 3, 10)  # Saturday → Monday
    assert add_working_days(at(2025, 2, 3, 17), -2).date() == date(2025, 1, 23)  # across Tết


def test_working_days_between_sign() -> None:
    a, b = at(2025, 3, 3), at(2025, 3, 10)
    assert working_days_between(a, b) == 5
    assert working_days_between(b, a) == -5
    assert working_days_between(a, a) == 0


def test_naive_datetimes_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(datetime(2025, 3, 3, 9), 1)


def test_from_yaml_and_validation() -> None:
    cal = HolidayCalendar.from_yaml(
        """
end_of_day: "16:30"
years:
  2025:
    days_off:
      - {date: 2025-03-04, name: "Nghỉ"}
      - {from: 2025-03-06, to: 2025-03-07, name: "Nghỉ dài"}
    makeup_working_days:
      - {date: 2025-03-08, name: "Làm bù"}
"""
    )
    assert cal.end_of_day == time(16, 30)
    assert add_working_days(at(2025, 3, 3), 1, cal) == datetime(2025, 3, 5, 16, 30, tzinfo=VN_TZ)
    assert add_working_days(at(2025, 3, 3), 2, cal).date() == date(2025, 3, 8)
    with pytest.raises(ValueError):
        HolidayCalendar.from_dates([date(2025, 3, 8)], [date(2025, 3, 8)])
    with pytest.raises(ValueError):
        HolidayCalendar.from_dates([], [date(2025, 3, 5)])  # make-up on a weekday
    with pytest.raises(ValueError):
        HolidayCalendar.from_yaml("- just a list")


def test_mapping_round_trip_matches_default() -> None:
    assert HolidayCalendar.from_mapping(VN_HOLIDAYS_2025_2027) == DEFAULT_CALENDAR


# ---------------------------------------------------------------- properties

starts = st.datetimes(
    min_value=datetime(2024, 12, 1), max_value=datetime(2027, 10, 31), timezones=st.just(VN_TZ)
) | st.datetimes(min_value=datetime(2024, 12, 1), max_value=datetime(2027, 10, 31), timezones=st.just(UTC))
counts = st.integers(min_value=1, max_value=60)


@given(starts, counts)
def test_lands_on_working_day_at_end_of_day(start: datetime, n: int) -> None:
    deadline = add_working_days(start, n)
    assert is_working_day(deadline)
    assert deadline.timetz() == time(17, 0, tzinfo=VN_TZ)
    assert deadline > start


@given(starts, counts)
def test_add_then_count_is_identity(start: datetime, n: int) -> None:
    assert working_days_between(start, add_working_days(start, n)) == n


@given(starts, counts, counts)
def test_monotonic(start: datetime, n: int, m: int) -> None:
    a, b = sorted((n, m))
    assert add_working_days(start, a) <= add_working_days(start, b)
    if a < b:
        assert add_working_days(start, a) < add_working_days(start, b)


@given(starts, st.integers(min_value=0, max_value=72 * 60), counts)
def test_monotonic_in_start(start: datetime, minutes: int, n: int) -> None:
    later = start + timedelta(minutes=minutes)
    assert add_working_days(start, n) <= add_working_days(later, n)


@given(starts, counts)
def test_negative_walks_back_to_a_working_day(start: datetime, n: int) -> None:
    back = add_working_days(start, -n)
    assert is_working_day(back)
    assert back.date() < CAL.local_date(start)
    # exactly n-1 working days strictly between
    strictly_between = working_days_between(back, start) - (1 if is_working_day(start) else 0)
    assert strictly_between == n - 1


@given(starts, counts)
def test_every_day_skipped_is_not_a_working_day(start: datetime, n: int) -> None:
    deadline = add_working_days(start, n)
    day = CAL.local_date(start) + timedelta(days=1)
    working = 0
    while day < deadline.date():
        working += CAL.is_working_day(day)
        day += timedelta(days=1)
    assert working == n - 1
