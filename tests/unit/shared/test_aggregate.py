"""The aggregate base: header filling, the one guard, timers, snapshots (tuple-keyed state too)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from shared.contract.envelope import Event
from shared.eventsourcing.aggregate import Aggregate, Timer
from shared.eventsourcing.errors import DomainError

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class Counted(Event):
    """A test fact (no ``event_type``: not registered in the contract)."""

    subject_field: ClassVar[str] = "thing_id"
    thing_id: str
    seq: int
    occurred_at: datetime
    command_id: str | None = None
    actor: str | None = None
    key: tuple[str, str] = ("", "")
    reminder: bool = False


class Thing(Aggregate[Counted]):
    kind_vi = "vật"
    not_created = ("not_made", "Chưa có vật.")
    allowed: ClassVar[Mapping[str, Collection[str]]] = {"count": {"open"}}
    command_vi: ClassVar[Mapping[str, str]] = {"count": "đếm"}
    status_vi: ClassVar[Mapping[str, str]] = {"open": "đang mở", "shut": "đã đóng"}
    snapshot_fields: ClassVar[tuple[str, ...]] = ("status", "counts", "fired", "due")

    status: str | None
    counts: dict[tuple[str, str], int]
    fired: set[tuple[str, str]]
    due: datetime | None

    def __init__(self) -> None:
        super().__init__()
        self.status = None
        self.counts = {}
        self.fired = set()
        self.due = None

    def make(self, command_id: str, thing_id: str, at: datetime) -> list[Counted]:
        if not self._accepts(command_id):
            return []
        self._require_new("already_made", "Đã có vật này.")
        return self._emit(self._fact(Counted, at=at, command_id=command_id, thing_id=thing_id))

    def count(self, command_id: str, a: str, b: str, at: datetime) -> list[Counted]:
        if not self._accepts(command_id, "count"):
            return []
        return self._emit(
            self._fact(Counted, at=at, command_id=command_id, key=(a, b)),
            self._fact(Counted, at=at, command_id=command_id, key=(b, a)),
        )

    def due_timers(self, now: datetime) -> Sequence[Timer[Counted]]:
        if self.due is None or ("r", "1") in self.fired:
            return ()
        return (
            Timer(
                at=self.due,
                key=("r", "1"),
                strict=False,
                until=self.due + timedelta(days=1),
                build=lambda: self._fact(Counted, at=now, reminder=True),
            ),
        )

    def _when(self, event: Counted) -> None:
        if self.status is None:
            self.status, self.due = "open", event.occurred_at + timedelta(days=2)
        elif event.reminder:
            self.fired.add(("r", "1"))
        else:
            self.counts[event.key] = self.counts.get(event.key, 0) + 1


def test_headers_are_filled_and_numbered_across_one_command() -> None:
    t = Thing()
    t.acting = "someone"
    [made] = t.make("c1", "t-1", T0)
    assert (made.seq, made.thing_id, made.command_id, made.actor) == (1, "t-1", "c1", "someone")
    a, b = t.count("c2", "x", "y", T0)
    assert (a.seq, b.seq, a.thing_id, b.command_id) == (2, 3, "t-1", "c2")
    assert t.seq == 3 and t.count("c2", "x", "y", T0) == [] and t.seq == 3


def test_the_guard_refuses_in_vietnamese() -> None:
    with pytest.raises(DomainError) as info:
        Thing().count("c1", "x", "y", T0)
    assert info.value.code == "not_made"
    t = Thing()
    t.make("c1", "t-1", T0)
    t.status = "shut"
    with pytest.raises(DomainError) as info:
        t.count("c2", "x", "y", T0)
    assert info.value.message_vi == "Không thể đếm khi vật ở trạng thái “đã đóng”."
    with pytest.raises(DomainError):
        t.make("", "t-1", T0)
    with pytest.raises(DomainError) as info:
        t.make("c3", "t-1", T0)
    assert info.value.code == "already_made" and t.seq == 1


def test_a_timer_fires_once_within_its_window_and_is_announced() -> None:
    t = Thing()
    t.make("c1", "t-1", T0)
    due = T0 + timedelta(days=2)
    assert t.next_timer_at(T0) == due
    assert t.tick(due - timedelta(seconds=1)) == []
    [reminder] = t.tick(due)
    assert (reminder.seq, reminder.reminder, reminder.command_id) == (2, True, None)
    assert t.next_timer_at(due) is None and t.tick(due) == []
    missed = Thing()
    missed.make("c1", "t-1", T0)
    assert (
        missed.tick(due + timedelta(days=2)) == [] and missed.next_timer_at(due + timedelta(days=2)) is None
    )


def test_snapshot_restores_tuple_keyed_state_and_rejects_unannotated_fields() -> None:
    t = Thing()
    facts = t.make("c1", "t-1", T0) + t.count("c2", "x", "y", T0) + t.tick(T0 + timedelta(days=2))
    restored = Thing.restore(t.take_snapshot())
    assert restored.snapshot() == t.snapshot() == Thing.replay(facts).snapshot()
    assert (
        Thing.restore(Thing.replay(facts[:2]).take_snapshot()).catch_up(facts[2:]).snapshot() == t.snapshot()
    )
    assert restored.counts == {("x", "y"): 1, ("y", "x"): 1}
    assert restored.count("c2", "x", "y", T0) == []  # processed commands survive

    other = Thing.replay(facts)
    other.processed_commands = {"c2", "c1"}  # the same set, filled in another order
    assert other.take_snapshot() == t.take_snapshot()

    class Loose(Thing):
        snapshot_fields = ("status", "undeclared")

    with pytest.raises(TypeError):
        Loose().take_snapshot()
