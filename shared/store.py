"""Document store access: one database per service, one document per aggregate.

Why this shape: the document store we can run here (and MongoDB itself without
a replica set) gives atomicity for a *single document* only. So an aggregate's
document carries, besides its state:

* ``version`` — optimistic concurrency: a save names the version it read;
* ``outbox`` — envelopes produced by the change, published later by the relay;
* ``inbox``  — ids of the last events/requests that changed it (idempotency);
* ``outbox_pending`` — an indexed flag so the relay finds pending documents
  without scanning the collection.

State, outgoing events and the "already processed" mark are written in one
atomic update. A crash before it changes nothing; a crash after it leaves the
outbox to be published by the relay, and a redelivered input is recognised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contract.envelope import Envelope
from shared.reliability.errors import ConcurrencyConflict

Doc = dict[str, Any]


def mongo_client(url: str) -> AsyncMongoClient[Doc]:
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)


@dataclass
class Stored:
    """An aggregate document as read: what a handler needs to decide and save."""

    id: str
    version: int
    state: Doc
    inbox: list[str] = field(default_factory=list)

    def has_processed(self, message_id: str) -> bool:
        return message_id in self.inbox


class AggregateStore:
    """Loads and saves aggregates of one kind (one collection)."""

    def __init__(self, collection: AsyncCollection[Doc], *, inbox_size: int = 1000) -> None:
        self.collection = collection
        self.inbox_size = inbox_size

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("outbox_pending")

    @classmethod
    def of(cls, db: AsyncDatabase[Doc], name: str, *, inbox_size: int = 1000) -> AggregateStore:
        return cls(db[name], inbox_size=inbox_size)

    async def load(self, aggregate_id: str) -> Stored | None:
        doc = await self.collection.find_one({"_id": aggregate_id}, {"outbox": 0})
        if doc is None:
            return None
        return Stored(
            id=str(doc["_id"]),
            version=int(doc["version"]),
            state=doc.get("state", {}),
            inbox=doc.get("inbox", []),
        )

    async def save(
        self,
        aggregate_id: str,
        *,
        expected_version: int,
        state: Mapping[str, Any],
        outbox: Sequence[Envelope] = (),
        processed: str | None = None,
        inbox: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Atomically write state + outgoing envelopes + the processed mark.

        ``expected_version`` 0 means "create". Raises :class:`ConcurrencyConflict`
        when someone else saved in between (the caller reloads and retries).
        ``extra`` holds top-level fields kept beside the state for queries/indexes.
        """
        new_inbox = list(inbox)
        if processed is not None:
            new_inbox.append(processed)
        new_inbox = new_inbox[-self.inbox_size :]
        envelopes = [e.model_dump(mode="json") for e in outbox]
        now = datetime.now(UTC)
        new_version = expected_version + 1
        if expected_version == 0:
            doc: Doc = {
                "_id": aggregate_id,
                "version": new_version,
                "state": dict(state),
                "inbox": new_inbox,
                "outbox": envelopes,
                "outbox_pending": bool(envelopes),
                "updated_at": now,
                **(extra or {}),
            }
            try:
                await self.collection.insert_one(doc)
            except DuplicateKeyError as exc:
                raise ConcurrencyConflict(f"{self.collection.name}/{aggregate_id} already exists") from exc
            return new_version
        update: Doc = {
            "$set": {
                "version": new_version,
                "state": dict(state),
                "inbox": new_inbox,
                "updated_at": now,
                **(extra or {}),
            }
        }
        if envelopes:
            update["$push"] = {"outbox": {"$each": envelopes}}
            update["$set"]["outbox_pending"] = True
        result = await self.collection.update_one({"_id": aggregate_id, "version": expected_version}, update)
        if result.matched_count != 1:
            raise ConcurrencyConflict(
                f"{self.collection.name}/{aggregate_id} changed since version {expected_version}"
            )
        return new_version
