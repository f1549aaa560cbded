"""The deadline pattern every tasks aggregate follows: a reminder some working days before, a
fact once the deadline has passed; each once (the aggregate records the keys that fired). And
their one base, :class:`CalendarAggregate`, which holds the calendar those days are counted on."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, TypeVar

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from shared.contract.envelope import Event
from shared.eventsourcing.aggregate import Aggregate, Timer

F = TypeVar("F", bound=Event)


class CalendarAggregate(Aggregate[F]):
    """Base of the tasks aggregates (decision, complaint, situation, plan): their deadlines are
    working days of ``calendar``, given to the constructor (so also to ``replay`` and
    ``restore``); no status until the creating fact."""

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__()
        self.calendar = calendar
        self.status = None


def deadline_timers(
    key: tuple[Any, ...],
    *,
    due: datetime,
    remind_at: datetime,
    fired: Collection[tuple[Any, ...]],
    reminder: Callable[[], F],
    overdue: Callable[[], F],
    overdue_kind: str = "overdue",
) -> list[Timer[F]]:
    """The timers still owed for one deadline: the reminder from ``remind_at`` until ``due`` (a
    missed reminder is not sent late), then ``overdue`` strictly after ``due``. Their keys are
    ``(*key, "reminder")`` and ``(*key, overdue_kind)``."""
    out: list[Timer[F]] = []
    if (*key, "reminder") not in fired:
        out.append(Timer(at=remind_at, key=(*key, "reminder"), build=reminder, strict=False, until=due))
    if (*key, overdue_kind) not in fired:
        out.append(Timer(at=due, key=(*key, overdue_kind), build=overdue))
    return out
