"""The service's notion of "now".

Why: deadlines, reminders and escalations are in working days; a demo or an
operator rehearsal cannot wait days. In demo mode (``DEMO_MODE=1``) an operator
may move the clock forward through the admin API; otherwise it is wall time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, *, adjustable: bool = False) -> None:
        self.adjustable = adjustable
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        if not self.adjustable:
            raise PermissionError("clock is not adjustable outside demo mode")
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self.offset += delta
        return self.now()
