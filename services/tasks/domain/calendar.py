"""Vietnamese working-day calendar (lịch ngày làm việc).

Consultation deadlines are set in *working days* (ngày làm việc): an agency asked to give an
opinion "trong 05 ngày làm việc" does not lose its Tết week or a weekend. This module turns
"n working days from now" into an instant and back.

Decisions, documented because callers rely on them:

* **Time zone.** All calendar arithmetic is done on the local date in Asia/Ho_Chi_Minh.
  Vietnam has used UTC+07:00 without daylight saving since 1975, so a fixed offset is exact
  and keeps this module free of the system tz database. Inputs must be timezone-aware;
  naive datetimes are refused (they are the classic source of off-by-seven-hours bugs).
* **Counting.** The day on which a period starts never counts, whatever the hour — the
  administrative habit "kể từ ngày nhận" starts counting on the following day. The deadline
  of ``add_working_days(start, n)`` is therefore the *end* of the n-th working day strictly
  after the start's local date.
* **End of a working day** is 17:00 local (end of office hours in most state agencies);
  configurable per calendar.
* **What is a working day.** Monday–Friday, minus public holidays and compensatory days off
  (nghỉ bù / nghỉ hoán đổi), plus make-up Saturdays (làm bù). All three are *data* — see
  :class:`HolidayCalendar` and :mod:`services.tasks.domain.holidays_vn` — because the lunar
  holidays and the yearly swaps cannot be computed by a formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any

import yaml

from services.tasks.domain.holidays_vn import VN_HOLIDAYS_2025_2027

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""Vietnam local time (UTC+07:00, no daylight saving)."""

DEFAULT_END_OF_DAY = time(17, 0)
"""End of a working day: the moment a working-day deadline expires."""

_ONE_DAY = timedelta(days=1)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError(f"not a date: {value!r}")


def _expand(entries: Iterable[Mapping[str, Any]]) -> dict[date, str]:
    """Expand ``{date, name}`` and ``{from, to, name}`` entries into one name per day."""
    out: dict[date, str] = {}
    for entry in entries:
        name = str(entry.get("name", ""))
        if "date" in entry:
            out[_as_date(entry["date"])] = name
            continue
        start, end = _as_date(entry["from"]), _as_date(entry["to"])
        if end < start:
            raise ValueError(f"holiday range ends before it starts: {entry!r}")
        day = start
        while day <= end:
            out[day] = name
            day += _ONE_DAY
    return out


@dataclass(frozen=True)
class HolidayCalendar:
    """Which local dates are working days.

    Built from data (a list of days off and a list of make-up working Saturdays), never from
    hard-coded rules, so a new year's Government announcement is a data change.
    ``covered_years`` tells which years the data is known for; outside them only weekends
    apply (callers that care can check :meth:`covers`).
    """

    days_off: Mapping[date, str] = field(default_factory=dict)
    makeup_working_days: Mapping[date, str] = field(default_factory=dict)
    covered_years: frozenset[int] = frozenset()
    provisional_years: frozenset[int] = frozenset()
    end_of_day: time = DEFAULT_END_OF_DAY
    tz: timezone = VN_TZ

    def __post_init__(self) -> None:
        clash = set(self.days_off) & set(self.makeup_working_days)
        if clash:
            raise ValueError(f"dates both off and make-up working: {sorted(clash)}")
        weekday_makeups = [d for d in self.makeup_working_days if d.weekday() < 5]
        if weekday_makeups:
            raise ValueError(f"make-up working days must fall on a weekend: {sorted(weekday_makeups)}")
        object.__setattr__(self, "days_off", MappingProxyType(dict(self.days_off)))
        object.__setattr__(self, "makeup_working_days", MappingProxyType(dict(self.makeup_working_days)))

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_dates(
        cls,
        days_off: Iterable[date],
        makeup_working_days: Iterable[date] = (),
        *,
        end_of_day: time = DEFAULT_END_OF_DAY,
    ) -> HolidayCalendar:
        """Build a calendar from bare dates (handy in tests and for ad-hoc closures)."""
        off = {d: "" for d in days_off}
        makeup = {d: "" for d in makeup_working_days}
        years = frozenset(d.year for d in (*off, *makeup))
        return cls(off, makeup, covered_years=years, end_of_day=end_of_day)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> HolidayCalendar:
        """Build from the documented shape (see :mod:`services.tasks.domain.holidays_vn`).

        ``{"end_of_day": "17:00", "years": {2025: {"provisional": bool, "days_off": [...],
        "makeup_working_days": [...]}}}`` where each entry is ``{"date", "name"}`` or
        ``{"from", "to", "name"}``.
        """
        days_off: dict[date, str] = {}
        makeup: dict[date, str] = {}
        covered: set[int] = set()
        provisional: set[int] = set()
        for year_key, year in dict(data.get("years", {})).items():
            year_no = int(year_key)
            covered.add(year_no)
            if year.get("provisional", False):
                provisional.add(year_no)
            days_off.update(_expand(year.get("days_off", [])))
            makeup.update(_expand(year.get("makeup_working_days", [])))
        eod_raw = data.get("end_of_day", DEFAULT_END_OF_DAY)
        end_of_day = eod_raw if isinstance(eod_raw, time) else time.fromisoformat(str(eod_raw))
        return cls(
            days_off,
            makeup,
            covered_years=frozenset(covered),
            provisional_years=frozenset(provisional),
            end_of_day=end_of_day,
        )

    @classmethod
    def from_yaml(cls, text: str) -> HolidayCalendar:
        """Parse a YAML document of the :meth:`from_mapping` shape (the caller reads the file)."""
        data = yaml.safe_load(text)
        if not isinstance(data, Mapping):
            raise ValueError("holiday YAML must be a mapping")
        return cls.from_mapping(data)

    # -- queries --------------------------------------------------------------------

    def covers(self, day: date) -> bool:
        return day.year in self.covered_years

    def local_date(self, instant: datetime) -> date:
        _require_aware(instant, "instant")
        return instant.astimezone(self.tz).date()

    def is_working_day(self, day: date | datetime) -> bool:
        """True for Mon–Fri that are not days off, and for make-up Saturdays/Sundays."""
        d = self.local_date(day) if isinstance(day, datetime) else day
        if d in self.makeup_working_days:
            return True
        return d.weekday() < 5 and d not in self.days_off

    def end_of(self, day: date) -> datetime:
        """The instant a working day ends (its deadline moment)."""
        return datetime.combine(day, self.end_of_day, tzinfo=self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """End (17:00 local) of the n-th working day strictly after ``start``'s local date.

        ``n < 0`` walks backwards: the end of the |n|-th working day strictly *before* the
        start date (used for "remind 2 working days before the deadline"). ``n == 0`` is the
        end of the start date if it is a working day, else of the next working day — never a
        day off.
        """
        day = self.local_date(start)
        if n == 0:
            while not self.is_working_day(day):
                day += _ONE_DAY
            return self.end_of(day)
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return self.end_of(day)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days ``d`` with ``start_date < d <= end_date`` (local); negative if reversed.

        This is the inverse of :meth:`add_working_days` for ``n >= 1``:
        ``working_days_between(s, add_working_days(s, n)) == n``.
        """
        a, b = self.local_date(start), self.local_date(end)
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        count = 0
        day = a + _ONE_DAY
        while day <= b:
            if self.is_working_day(day):
                count += 1
            day += _ONE_DAY
        return sign * count


DEFAULT_CALENDAR = HolidayCalendar.from_mapping(VN_HOLIDAYS_2025_2027)
"""The shipped calendar (2025–2027)."""


def is_working_day(day: date | datetime, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> bool:
    """See :meth:`HolidayCalendar.is_working_day`."""
    return calendar.is_working_day(day)


def add_working_days(start: datetime, n: int, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> datetime:
    """See :meth:`HolidayCalendar.add_working_days`."""
    return calendar.add_working_days(start, n)


def working_days_between(start: datetime, end: datetime, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> int:
    """See :meth:`HolidayCalendar.working_days_between`."""
    return calendar.working_days_between(start, end)
