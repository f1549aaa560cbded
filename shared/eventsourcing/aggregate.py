"""The one aggregate base: facts applied in one place, headers filled in one place, one guard.

A command validates, builds its facts with :meth:`Aggregate._fact` (which fills ``seq``,
``occurred_at``, ``command_id`` and the subject id), then :meth:`Aggregate._emit` stamps who acted
and applies them through :meth:`Aggregate._apply` (the only place state changes, also used by
:meth:`Aggregate.replay`). A command whose ``command_id`` was already processed returns ``[]``
(:meth:`Aggregate._accepts`), and one the current status does not allow is refused with a
Vietnamese reason, from the subclass's table of allowed statuses.

Snapshots: a subclass names its state in ``snapshot_fields``; :meth:`take_snapshot` dumps them
(with the version, the processed commands and the subject) as JSON through a pydantic model
built from the class's own annotations, and :meth:`restore` rebuilds an equal aggregate, so a
repository can load "snapshot + the entries after it" instead of the whole history. A property
test of every aggregate checks restore(snapshot(prefix)) + rest == replay(all).
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Iterable, Mapping
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

_BASE_STATE = ("version", "subject", "processed_commands")


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

    version: int
    """How many facts were applied (the ``seq`` of the last one)."""
    subject: str | None
    processed_commands: set[str]
    status: Any

    def __init__(self) -> None:
        self.version = 0
        self.subject = None
        self.processed_commands = set()
        self.acting: Any = None
        """Who issues the next commands (set by the application layer); stamped on new facts."""
        self._built = 0

    # ------------------------------------------------------------------ replay
    @classmethod
    def replay(cls, events: Iterable[F], *args: Any, **kwargs: Any) -> Self:
        """Rebuild an aggregate from its facts (constructor arguments passed through)."""
        agg = cls(*args, **kwargs)
        for event in events:
            agg._apply(event)
        return agg

    @property
    def next_seq(self) -> int:
        return self.version + 1

    @property
    def exists(self) -> bool:
        return self.version > 0

    def _when(self, event: F) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, event: F) -> None:
        """The only way state changes: order and subject checked, then :meth:`_when`."""
        fact: Any = event
        if fact.seq != self.next_seq:
            raise ValueError(f"event seq {fact.seq} out of order; expected {self.next_seq}")
        subject = event.subject()
        if self.subject is not None and subject != self.subject:
            raise ValueError(f"event of {subject} applied to {self.subject}")
        self._when(event)
        self.subject = subject
        if fact.command_id is not None:
            self.processed_commands.add(fact.command_id)
        self.version += 1

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

    # ------------------------------------------------------------------ snapshots
    def take_snapshot(self) -> dict[str, Any]:
        """The state as JSON-compatible data (see :meth:`restore`)."""
        model = self._snapshot_model()
        values = {name: getattr(self, name) for name in model.model_fields}
        return model.model_validate(values).model_dump(mode="json")

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any], *args: Any, **kwargs: Any) -> Self:
        """An aggregate equal to the one whose :meth:`take_snapshot` gave ``snapshot``."""
        agg = cls(*args, **kwargs)
        data = cls._snapshot_model().model_validate(dict(snapshot))
        for name in type(data).model_fields:
            setattr(agg, name, getattr(data, name))
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
            fields: dict[str, Any] = {name: (hints[name], ...) for name in names}
            model = create_model(
                f"{cls.__name__}Snapshot",
                __config__=ConfigDict(arbitrary_types_allowed=False, extra="forbid"),
                **fields,
            )
            Aggregate._snapshot_models[cls] = model
        return model
