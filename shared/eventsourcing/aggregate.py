"""The one aggregate base: facts applied in one place, headers filled in one place, one guard.

A command validates, builds its facts with :meth:`Aggregate._fact` (which fills ``seq``,
``occurred_at``, ``command_id`` and the subject id), then :meth:`Aggregate._emit` stamps who acted
and applies them through :meth:`Aggregate._apply` (the only place state changes, also used by
:meth:`Aggregate.replay`). A command whose ``command_id`` was already processed returns ``[]``
(:meth:`Aggregate._accepts`), and one the current status does not allow is refused with a
Vietnamese reason, from the subclass's table of allowed statuses.

Snapshots: a subclass names its state in ``snapshot_fields``; :meth:`take_snapshot` dumps them
(with the fact count ``seq``, the processed commands and the subject) as JSON through a pydantic model
built from the class's own annotations, and :meth:`restore` rebuilds an equal aggregate, so a
repository can load "snapshot + the entries after it" instead of the whole history. A property
test of every aggregate checks restore(snapshot(prefix)) + rest == replay(all).
"""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, create_model

from shared.contract.envelope import Event
from shared.eventsourcing.errors import DomainError


class Fact(Protocol):
    """What every stored fact of an aggregate carries (decision, workflow and org facts)."""

    @property
    def seq(self) -> int: ...

    @property
    def command_id(self) -> str | None: ...

    def subject(self) -> str: ...


F = TypeVar("F", bound=Event)
G = TypeVar("G", bound=Event)

_BASE_STATE = ("seq", "subject", "processed_commands")


@dataclass(frozen=True)
class Timer(Generic[G]):
    """One time-driven fact an aggregate owes in its current state (a reminder, an escalation,
    a window that closes): :meth:`Aggregate.tick` emits it once it is due, and
    :meth:`Aggregate.next_timer_at` reports the earliest ``at`` still pending, so the schedule is
    written once, in the subclass's :meth:`Aggregate.due_timers`.
    """

    at: datetime
    """When it becomes due."""
    key: tuple[object, ...]
    """What it is (and what the aggregate records once it fired, so it fires once)."""
    build: Callable[[], G]
    """Builds the fact (through :meth:`Aggregate._fact`); called only when it is emitted."""
    strict: bool = True
    """Due when ``now > at``; otherwise from ``at`` itself (``now >= at``)."""
    until: datetime | None = None
    """No longer owed after this instant (a reminder missed is not sent late)."""

    def pending(self, now: datetime) -> bool:
        return self.until is None or now <= self.until

    def due(self, now: datetime) -> bool:
        reached = now > self.at if self.strict else now >= self.at
        return reached and self.pending(now)


class Aggregate(Generic[F]):
    """Base of every event-sourced aggregate. Subclasses implement :meth:`_when`."""

    kind_vi: ClassVar[str] = "hồ sơ"
    """What a person calls it, in refusals («Không thể … khi hồ sơ ở trạng thái …»)."""
    not_created: ClassVar[tuple[str, str]] = ("not_found", "Hồ sơ chưa được tạo.")
    allowed: ClassVar[Mapping[str, Collection[Any]]] = {}
    """command → the statuses in which it may run (checked by :meth:`_check_allowed`)."""
    command_vi: ClassVar[Mapping[str, str]] = {}
    status_vi: ClassVar[Mapping[Any, str]] = {}
    snapshot_fields: ClassVar[tuple[str, ...]] = ()
    """The attributes that make up the state (annotated on the class); what a snapshot keeps."""
    snapshots: ClassVar[bool] = True
    """False: the state has no JSON form; a repository archives chunks but replays them all on a
    cold load."""

    seq: int
    """How many facts were applied (the ``seq`` of the last one). Not called ``version``: an
    aggregate may have a version of its own (a decision's draft version)."""
    subject: str | None
    processed_commands: set[str]
    status: Any

    def __init__(self) -> None:
        self.seq = 0
        self.subject = None
        self.processed_commands = set()
        self.acting: Any = None
        """Who issues the next commands (set by the application layer); stamped on new facts."""
        self._built = 0

    # ------------------------------------------------------------------ replay
    @classmethod
    def replay(cls, events: Iterable[F], *args: Any, **kwargs: Any) -> Self:
        """Rebuild an aggregate from its facts (constructor arguments passed through)."""
        return cls(*args, **kwargs).catch_up(events)

    def catch_up(self, events: Iterable[F]) -> Self:
        """Apply stored facts that follow the current state (after :meth:`restore`: the entries
        after the snapshot) and return the aggregate."""
        for event in events:
            self._apply(event)
        return self

    @property
    def next_seq(self) -> int:
        return self.seq + 1

    @property
    def exists(self) -> bool:
        return self.seq > 0

    def _when(self, event: F) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, event: F) -> None:
        """The only way state changes: order and subject checked, then :meth:`_when`.

        Facts that carry no ``seq`` (org events: published as they are, their position is the
        chain's) are checked for their subject only; the same for ``command_id``.
        """
        seq = getattr(event, "seq", None)
        if seq is not None and seq != self.next_seq:
            raise ValueError(f"event seq {seq} out of order; expected {self.next_seq}")
        subject = event.subject()
        if self.subject is not None and subject != self.subject:
            raise ValueError(f"event of {subject} applied to {self.subject}")
        self._when(event)
        self.subject = subject
        command_id = getattr(event, "command_id", None)
        if command_id is not None:
            self.processed_commands.add(command_id)
        self.seq += 1

    # ------------------------------------------------------------------ commands
    def _accepts(self, command_id: str, command: str | None = None) -> bool:
        """The one command guard: False when ``command_id`` was already processed (the command
        then returns ``[]``); raises when the current status does not allow ``command``."""
        self._built = 0
        if not command_id:
            raise DomainError("command_id_required", "Thiếu mã yêu cầu (command id).")
        if command_id in self.processed_commands:
            return False
        if command is not None:
            self._check_allowed(command)
        return True

    def _require_new(self, code: str, message_vi: str, details: Mapping[str, object] | None = None) -> None:
        """A creating command (draft, receive, report, adopt) is refused once the aggregate exists."""
        if self.exists:
            raise DomainError(code, message_vi, details)

    def _check_allowed(self, command: str) -> None:
        if self.status is None:
            raise DomainError(*self.not_created)
        if self.status not in self.allowed[command]:
            status = self.status.value if isinstance(self.status, Enum) else str(self.status)
            raise DomainError(
                "invalid_state",
                f"Không thể {self.command_vi[command]} khi {self.kind_vi} ở trạng thái "
                f"“{self.status_vi[self.status]}”.",
                {"command": command, "status": status},
            )

    def _fact(self, cls: type[G], *, at: datetime, command_id: str | None = None, **fields: Any) -> G:
        """A new fact with its header filled: the next ``seq`` (counting facts built but not yet
        emitted), ``occurred_at``, ``command_id`` and the subject id once it is known."""
        header: dict[str, Any] = {
            "seq": self.next_seq + self._built,
            "occurred_at": at,
            "command_id": command_id,
        }
        if self.subject is not None:
            header[cls.subject_field] = self.subject
        self._built += 1
        return cls(**{**header, **fields})

    def _emit(self, *events: F) -> list[F]:
        """Stamp who acted (where the fact has an ``actor`` and none is set) and apply."""
        self._built = 0
        stamped = [
            e.model_copy(update={"actor": self.acting})
            if self.acting is not None
            and "actor" in type(e).model_fields
            and getattr(e, "actor", None) is None
            else e
            for e in events
        ]
        for event in stamped:
            self._apply(event)
        return stamped

    # ------------------------------------------------------------------ timers
    def due_timers(self, now: datetime) -> Sequence[Timer[F]]:
        """The time-driven facts still owed in the current state, in emission order (none here)."""
        return ()

    def tick(self, now: datetime) -> list[F]:
        """Time passes: emit every timer of :meth:`due_timers` that is due at ``now``."""
        self._built = 0
        return self._emit(*[t.build() for t in self.due_timers(now) if t.due(now)])

    def next_timer_at(self, now: datetime) -> datetime | None:
        """The earliest instant at (or, for strict timers, just after) which :meth:`tick` may have
        something to do; ``None`` when nothing is owed. A scheduler stores it beside the aggregate
        and loads only the due ones."""
        return min((t.at for t in self.due_timers(now) if t.pending(now)), default=None)

    # ------------------------------------------------------------------ snapshots
    def snapshot(self) -> dict[str, Any]:
        """A comparable copy of the whole state (the base fields and :attr:`snapshot_fields`),
        to prove replay == live and restore == replay."""
        return copy.deepcopy({name: getattr(self, name) for name in (*_BASE_STATE, *self.snapshot_fields)})

    def take_snapshot(self) -> dict[str, Any]:
        """The state as JSON-compatible data (see :meth:`restore`); canonical: equal states give
        equal snapshots (sets are dumped sorted, whatever order they were filled in)."""
        model = self._snapshot_model()
        pairs = self._pair_fields()
        values = {
            name: list(getattr(self, name).items()) if name in pairs else getattr(self, name)
            for name in model.model_fields
        }
        data = model.model_validate(values).model_dump(mode="json")
        for name in self._set_fields():
            data[name] = sorted(data[name], key=lambda item: json.dumps(item, sort_keys=True))
        return data

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any], *args: Any, **kwargs: Any) -> Self:
        """An aggregate equal to the one whose :meth:`take_snapshot` gave ``snapshot``."""
        agg = cls(*args, **kwargs)
        data = cls._snapshot_model().model_validate(dict(snapshot))
        pairs = cls._pair_fields()
        for name in type(data).model_fields:
            value = getattr(data, name)
            setattr(agg, name, dict(value) if name in pairs else value)
        return agg

    def has_state(self, snapshot: Mapping[str, Any]) -> bool:
        """Whether ``snapshot`` describes this aggregate's state (sets compared as sets)."""
        model = self._snapshot_model()
        return model.model_validate(dict(snapshot)) == model.model_validate(self.take_snapshot())

    _snapshot_models: ClassVar[dict[type[Any], type[BaseModel]]] = {}

    @classmethod
    def _snapshot_model(cls) -> type[BaseModel]:
        model = Aggregate._snapshot_models.get(cls)
        if model is None:
            hints = typing.get_type_hints(cls)
            names = (*_BASE_STATE, *cls.snapshot_fields)
            missing = [n for n in names if n not in hints]
            if missing:
                raise TypeError(f"{cls.__name__}: snapshot fields without a class annotation: {missing}")
            fields: dict[str, Any] = {name: (_json_safe(hints[name]), ...) for name in names}
            model = create_model(
                f"{cls.__name__}Snapshot",
                __config__=ConfigDict(arbitrary_types_allowed=False, extra="forbid"),
                **fields,
            )
            Aggregate._snapshot_models[cls] = model
        return model

    @classmethod
    def _pair_fields(cls) -> frozenset[str]:
        """The state dicts whose keys JSON cannot hold (tuples): a snapshot keeps their items."""
        hints = typing.get_type_hints(cls)
        return frozenset(n for n in cls.snapshot_fields if _json_safe(hints[n]) is not hints[n])

    @classmethod
    def _set_fields(cls) -> frozenset[str]:
        hints = typing.get_type_hints(cls)
        names = (*_BASE_STATE, *cls.snapshot_fields)
        return frozenset(n for n in names if typing.get_origin(hints[n]) in (set, frozenset))


def _json_safe(hint: Any) -> Any:
    """``dict[tuple[...], V]`` → ``list[tuple[tuple[...], V]]`` (JSON object keys are strings)."""
    if typing.get_origin(hint) is dict:
        key, value = typing.get_args(hint)
        if typing.get_origin(key) is tuple:
            return list[tuple[key, value]]  # type: ignore[valid-type]
    return hint
