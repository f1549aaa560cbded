"""Reporting periods (kỳ báo cáo) and Vietnam local time.

Why: the reporting regime (Thanh Oai 05-QC/HU Điều 23; Kiên Giang 357-QĐ/TU §2.2) asks for
monthly, quarterly, six-monthly and annual reports. A fact belongs to the period that
contains its *Vietnam local* date — an opinion recorded at 23:30 on 31/3 (UTC 16:30) is a
first-quarter fact, not a second-quarter one — so every comparison goes through
:func:`vn_date`. Periods are calendar periods; codes are stable strings used in URLs:
``2026-11`` (tháng), ``2026-Q4`` (quý), ``2026-H1`` (6 tháng), ``2026`` (năm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from enum import StrEnum

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    VN_TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except (ImportError, ZoneInfoNotFoundError):  # pragma: no cover - tzdata missing on the host
    VN_TZ = timezone(timedelta(hours=7), "ICT")  # UTC+7 without DST since 1975: exact

ROMAN = ("I", "II", "III", "IV")


class PeriodKind(StrEnum):
    MONTH = "month"  # tháng
    QUARTER = "quarter"  # quý
    HALF = "half"  # 6 tháng
    YEAR = "year"  # năm


class InvalidPeriod(ValueError):
    """The period code cannot be read; the message is Vietnamese (shown to the operator)."""


def vn_date(moment: datetime) -> date:
    """The calendar date in Vietnam of an aware instant (naive input is refused, not guessed)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware datetime")
    return moment.astimezone(VN_TZ).date()


def format_vn(moment: datetime | None) -> str:
    """``17:00 05/12/2026`` in Vietnam local time; empty for None."""
    if moment is None:
        return ""
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar reporting period ``[start, end)`` in Vietnam local dates."""

    start: date
    end: date
    kind: PeriodKind
    code: str

    @property
    def label_vi(self) -> str:
        y = self.start.year
        match self.kind:
            case PeriodKind.MONTH:
                return f"Tháng {self.start.month:02d} năm {y}"
            case PeriodKind.QUARTER:
                return f"Quý {ROMAN[(self.start.month - 1) // 3]} năm {y}"
            case PeriodKind.HALF:
                return f"6 tháng {'đầu' if self.start.month == 1 else 'cuối'} năm {y}"
            case PeriodKind.YEAR:
                return f"Năm {y}"
        raise AssertionError(self.kind)  # pragma: no cover

    @property
    def range_vi(self) -> str:
        last = self.end - timedelta(days=1)
        return f"từ ngày {self.start:%d/%m/%Y} đến ngày {last:%d/%m/%Y}"

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return self.start <= vn_date(moment) < self.end

    def contains_period(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def months(self) -> tuple[Period, ...]:
        """The months of this period, in order (a month is its own only month)."""
        out: list[Period] = []
        d = self.start
        while d < self.end:
            out.append(month(d.year, d.month))
            d = out[-1].end
        return tuple(out)


def _add_months(year: int, month_: int, n: int) -> date:
    idx = year * 12 + (month_ - 1) + n
    return date(idx // 12, idx % 12 + 1, 1)


def _check_year(year: int) -> None:
    if not 1900 <= year <= 9998:
        raise InvalidPeriod(f"Năm {year} nằm ngoài khoảng cho phép (1900–9998).")


def _nth(year: int, n: int, *, months: int, kind: PeriodKind, code: str, name_vi: str) -> Period:
    """The ``n``-th period of ``months`` months of ``year`` (1-based), with its code."""
    _check_year(year)
    if not 1 <= n <= 12 // months:
        raise InvalidPeriod(f"{name_vi} {n} không hợp lệ.")
    first = months * (n - 1) + 1
    return Period(date(year, first, 1), _add_months(year, first, months), kind, code)


def month(year: int, month_: int) -> Period:
    return _nth(year, month_, months=1, kind=PeriodKind.MONTH, code=f"{year}-{month_:02d}", name_vi="Tháng")


def quarter(year: int, q: int) -> Period:
    return _nth(year, q, months=3, kind=PeriodKind.QUARTER, code=f"{year}-Q{q}", name_vi="Quý")


def half(year: int, h: int) -> Period:
    return _nth(year, h, months=6, kind=PeriodKind.HALF, code=f"{year}-H{h}", name_vi="Kỳ 6 tháng")


def year(y: int) -> Period:
    return _nth(y, 1, months=12, kind=PeriodKind.YEAR, code=f"{y}", name_vi="Năm")


_PATTERNS: tuple[tuple[re.Pattern[str], PeriodKind], ...] = (
    (re.compile(r"^(\d{4})-(\d{1,2})$"), PeriodKind.MONTH),
    (re.compile(r"^(\d{4})-[Qq]([1-4])$"), PeriodKind.QUARTER),
    (re.compile(r"^(\d{4})-[Hh]([12])$"), PeriodKind.HALF),
    (re.compile(r"^(\d{4})$"), PeriodKind.YEAR),
)


def parse_period(code: str) -> Period:
    """``2026-11`` | ``2026-Q4`` | ``2026-H1`` | ``2026`` → :class:`Period`."""
    text = code.strip()
    for pattern, kind in _PATTERNS:
        m = pattern.match(text)
        if m is None:
            continue
        y = int(m.group(1))
        match kind:
            case PeriodKind.MONTH:
                return month(y, int(m.group(2)))
            case PeriodKind.QUARTER:
                return quarter(y, int(m.group(2)))
            case PeriodKind.HALF:
                return half(y, int(m.group(2)))
            case PeriodKind.YEAR:
                return year(y)
    raise InvalidPeriod(
        f"Kỳ báo cáo «{code[:40]}» không hợp lệ. Dùng dạng 2026-11 (tháng), 2026-Q4 (quý), "
        "2026-H1 (6 tháng) hoặc 2026 (năm)."
    )


def period_of(moment: datetime, kind: PeriodKind) -> Period:
    """The period of ``kind`` containing the instant (Vietnam local date)."""
    d = vn_date(moment)
    match kind:
        case PeriodKind.MONTH:
            return month(d.year, d.month)
        case PeriodKind.QUARTER:
            return quarter(d.year, (d.month - 1) // 3 + 1)
        case PeriodKind.HALF:
            return half(d.year, 1 if d.month <= 6 else 2)
        case PeriodKind.YEAR:
            return year(d.year)
    raise AssertionError(kind)  # pragma: no cover
