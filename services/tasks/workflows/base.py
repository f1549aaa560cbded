"""What the three workflow aggregates share: replay, idempotency and the fact log.

Same style as :class:`services.tasks.domain.decision.Decision`: a command validates, builds
facts, applies them through :meth:`Aggregate._apply` (the only place state changes) and returns
them; :meth:`Aggregate.replay` of those facts rebuilds the same state. A command whose
``command_id`` was already processed returns ``[]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Generic, Self, TypeVar

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from shared.contract.events.workflows import WorkflowFact
from shared.eventsourcing.errors import DomainError

F = TypeVar("F", bound=WorkflowFact)


class Aggregate(Generic[F]):
    """Base of the workflow aggregates. Subclasses implement :meth:`_when`."""

    kind_vi: str = "hồ sơ"

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        self.calendar = calendar
        self.history: list[F] = []
        self.processed_commands: set[str] = set()
        self.fired: set[tuple[str, ...]] = set()

    @classmethod
    def replay(cls, events: Iterable[F], calendar: HolidayCalendar = DEFAULT_CALENDAR) -> Self:
        agg = cls(calendar)
        for event in events:
            agg._apply(event)
        return agg

    @property
    def next_seq(self) -> int:
        return len(self.history) + 1

    @property
    def exists(self) -> bool:
        return bool(self.history)

    def _when(self, event: F) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, event: F) -> None:
        if event.seq != self.next_seq:
            raise ValueError(f"event seq {event.seq} out of order; expected {self.next_seq}")
        if self.history and event.subject() != self.history[0].subject():
            raise ValueError(f"event of {event.subject()} applied to {self.history[0].subject()}")
        self._when(event)
        if event.command_id is not None:
            self.processed_commands.add(event.command_id)
        self.history.append(event)

    def _emit(self, *events: F) -> list[F]:
        for event in events:
            self._apply(event)
        return list(events)

    def _duplicate(self, command_id: str) -> bool:
        if not command_id:
            raise DomainError("command_id_required", "Thiếu mã yêu cầu (command id).")
        return command_id in self.processed_commands


def require_text(value: str, code: str, message_vi: str) -> str:
    if not value or not value.strip():
        raise DomainError(code, message_vi)
    return value.strip()


def fmt(instant: datetime, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> str:
    """Vietnamese rendering of an instant (local time)."""
    return instant.astimezone(calendar.tz).strftime("%H:%M ngày %d/%m/%Y")
