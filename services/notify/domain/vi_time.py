"""Vietnamese date/time formatting in Asia/Ho_Chi_Minh.

Why a module of its own: a deadline is the single most important fact in a consultation
notification, and recipients read it in local time with the weekday (officials plan around
the working week). Showing UTC or an ambiguous ``05/12`` causes late opinions, so every
template and page formats instants through :func:`format_deadline`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    VN_TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except (ImportError, ZoneInfoNotFoundError):  # pragma: no cover - tzdata missing on the host
    # Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact.
    VN_TZ = timezone(timedelta(hours=7), "ICT")

# Monday = 0 … Sunday = 6 (``date.weekday()``). "Chủ nhật" keeps its capital C because it is
# not "thứ + number" but a name of its own.
WEEKDAYS_VI: tuple[str, ...] = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC or with an offset)")


def to_vn(moment: datetime) -> datetime:
    """Convert an aware instant to Vietnam local time (naive input is refused, not guessed)."""
    _require_aware(moment)
    return moment.astimezone(VN_TZ)


def vn_date(moment: datetime) -> date:
    """The calendar date in Vietnam of an instant (used to pick who is acting on that day)."""
    return to_vn(moment).date()


def weekday_vi(day: date, *, in_sentence: bool = True) -> str:
    """Vietnamese weekday name; inside a sentence "thứ" is lower-case ("thứ Bảy")."""
    name = WEEKDAYS_VI[day.weekday()]
    if in_sentence and name.startswith("Thứ"):
        return "thứ" + name[3:]
    return name


def format_date_vi(moment: datetime) -> str:
    """``ngày 05/12/2026 (thứ Bảy)`` in Vietnam local time."""
    local = to_vn(moment)
    return f"ngày {local:%d/%m/%Y} ({weekday_vi(local.date())})"


def format_deadline(moment: datetime) -> str:
    """``17:00 ngày 05/12/2026 (thứ Bảy)`` — exact local time, date and weekday."""
    local = to_vn(moment)
    return f"{local:%H:%M} {format_date_vi(local)}"


def format_deadline_short(moment: datetime) -> str:
    """``17:00 05/12/2026`` — for SMS, where every character counts."""
    local = to_vn(moment)
    return f"{local:%H:%M %d/%m/%Y}"
