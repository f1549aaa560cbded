"""Text helpers every tasks aggregate uses: required text, and instants as a person reads them."""

from __future__ import annotations

from datetime import datetime

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from shared.eventsourcing.errors import DomainError


def require_text(value: str, code: str, message_vi: str) -> str:
    """``value`` stripped; refused with ``code`` / ``message_vi`` when blank."""
    if not value or not value.strip():
        raise DomainError(code, message_vi)
    return value.strip()


def fmt(instant: datetime | None, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> str:
    """Vietnamese rendering of an instant in local time («17:00 ngày 14/03/2025»); "" for none."""
    if instant is None:
        return ""
    return instant.astimezone(calendar.tz).strftime("%H:%M ngày %d/%m/%Y")
