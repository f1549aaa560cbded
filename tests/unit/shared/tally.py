"""A small aggregate for the repository's tests (unit, on the in-memory heads; integration, on the
real store)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, Field

from shared.contract.envelope import Envelope, Event
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.errors import DomainError
from shared.eventsourcing.heads import HeadStore
from shared.eventsourcing.repository import Append, EventSourcedRepository

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


class TallyFact(Event):
    topic: ClassVar[str] = "test.tally"
    subject_field: ClassVar[str] = "tally_id"
    tally_id: str
    seq: int = Field(ge=1)
    occurred_at: AwareDatetime
    command_id: str | None = None


class Added(TallyFact):
    """Test fact: an amount was added."""

    event_type: ClassVar[str] = "test.tally.added"
    amount: int


class Tally(Aggregate[TallyFact]):
    snapshot_fields = ("total", "amounts")
    total: int
    amounts: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.status = None
        self.total = 0
        self.amounts = []

    def add(self, command_id: str, tally_id: str, amount: int) -> list[TallyFact]:
        if not self._accepts(command_id):
            return []
        if amount < 0:
            raise DomainError("negative", "Không được cộng số âm.")
        return self._emit(self._fact(Added, at=AT, command_id=command_id, tally_id=tally_id, amount=amount))

    def _when(self, event: TallyFact) -> None:
        assert isinstance(event, Added)
        self.total += event.amount
        self.amounts.append(event.amount)


def restore(snapshot: Mapping[str, Any]) -> Tally:
    return Tally.restore(snapshot)


def repo(heads: HeadStore, every: int = 10) -> EventSourcedRepository[Tally]:
    return EventSourcedRepository(heads, new=Tally, restore=restore, snapshot_every=every)


def env(event: Event) -> Envelope:
    return Envelope.wrap(event, source="test")


async def add(r: EventSourcedRepository[Tally], amount: int, cid: str, msg: str | None = None) -> Any:
    def decide(t: Tally, exists: bool) -> Append | None:
        facts = t.add(cid, "t1", amount)
        return (
            Append(facts=facts, outbox=[env(f) for f in facts], extra={"total": t.total}) if facts else None
        )

    return await r.execute("t1", msg if msg is not None else f"m-{cid}", decide)
