"""Where an event-sourced repository keeps its aggregates: the head document and its chunks.

Why this shape: the stores we run (SecantusDB, MongoDB without a replica set, FerretDB) make one
*document* atomic, nothing more. So each aggregate has one **head** document that holds, written
in one atomic update: the optimistic ``version``, the chain position (``seq``, ``head_hash``),
where the latest **snapshot** is (its ``seq``, hash and chunk), the **tail** of entries after it, the inbox
of processed message ids, the outbox the relay publishes, and the index fields queries use.
A save *appends* its new entries to the tail (``$push``), it never rewrites the history. Every
``snapshot_every`` entries the repository first copies the tail into an immutable **chunk**
document (``<name>_chunks``, idempotent id) *with the state after its last entry* (the snapshot),
and then, in the version-checked head update, points the snapshot at it and empties the tail. The
head document so stays small whatever the history and the state hold (SecantusDB rewrites a whole
document per update: its size is what an append costs). A crash between the two leaves an extra chunk that no
chain reaches (ignored); the head stays the one source of truth.

:class:`HeadStore` is the port; :class:`MongoHeads` its adapter. The in-memory fake for unit tests
is :class:`shared.testing.eventstore.MemoryHeads`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.contract.envelope import Envelope
from shared.reliability.errors import ConcurrencyConflict

Doc = dict[str, Any]

HEAD_FIELDS = {"version": 1, "seq": 1, "head_hash": 1, "tail_len": 1, "broken": 1}
"""What a load reads when its cached aggregate may still be current (no snapshot, no tail)."""


class AlreadyProcessed(Exception):
    """The message id is in the aggregate's inbox: the save is a redelivery and writes nothing."""


@dataclass(frozen=True)
class Write:
    """One atomic change of a head document."""

    version: int
    """The version read (0: create)."""
    seq: int
    head_hash: str
    entries: Sequence[Doc]
    """New chain entries, appended to the tail."""
    outbox: Sequence[Envelope] = ()
    message_id: str | None = None
    extra: Mapping[str, Any] | None = None
    snapshot: Doc | None = None
    """When set: where the new snapshot is (``{seq, hash, chunk, has_state}``); the tail is emptied."""


class HeadStore(Protocol):
    async def ensure_indexes(self) -> None: ...

    async def head(self, aggregate_id: str, *, full: bool) -> Doc | None:
        """The head without inbox/outbox; ``full=False``: only :data:`HEAD_FIELDS`."""
        ...

    async def write(self, aggregate_id: str, w: Write) -> int:
        """Apply ``w`` atomically; the new version. Raises :class:`ConcurrencyConflict` when the
        version moved, :class:`AlreadyProcessed` when ``w.message_id`` is in the inbox."""
        ...

    async def add_chunk(self, aggregate_id: str, entries: Sequence[Doc], state: Doc | None) -> str:
        """Store an immutable copy of entries and the state after the last one (idempotent); its id."""
        ...

    async def chunk_state(self, chunk: str) -> Doc | None:
        """The state stored with a chunk (None: the chunk or its state is absent)."""
        ...

    async def chunks(self, aggregate_id: str) -> list[list[Doc]]:
        """Every chunk of the aggregate, by first ``seq`` (stray ones included)."""
        ...

    async def mark_broken(self, aggregate_id: str, reason: Doc) -> None: ...

    async def ids(self, *, due_before: datetime | None = None) -> list[str]:
        """Every aggregate id, or those whose ``next_timer_at`` has come."""
        ...


def chunk_id(aggregate_id: str, entries: Sequence[Doc]) -> str:
    """Same entries → same id (a retried archive is a no-op); another history → another id."""
    return f"{aggregate_id}:{int(entries[0]['seq']):09d}:{str(entries[-1]['hash'])[:16]}"


class MongoHeads:
    """:class:`HeadStore` over two collections: heads (the relay reads their outbox) and chunks."""

    def __init__(self, heads: AsyncCollection[Doc], chunks: AsyncCollection[Doc], *, inbox_size: int) -> None:
        self.collection = heads
        self.chunk_collection = chunks
        self.inbox_size = inbox_size

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("outbox_pending")
        await self.collection.create_index("next_timer_at")
        await self.chunk_collection.create_index([("aggregate_id", 1), ("first_seq", 1)])

    async def head(self, aggregate_id: str, *, full: bool) -> Doc | None:
        projection: Doc = {"outbox": 0, "inbox": 0} if full else dict(HEAD_FIELDS)
        return await self.collection.find_one({"_id": aggregate_id}, projection)

    async def write(self, aggregate_id: str, w: Write) -> int:
        envelopes = [e.model_dump(mode="json") for e in w.outbox]
        fields: Doc = {
            "version": w.version + 1,
            "seq": w.seq,
            "head_hash": w.head_hash,
            "updated_at": datetime.now(UTC),
            **(w.extra or {}),
        }
        if w.version == 0:
            return await self._create(aggregate_id, w, fields, envelopes)
        push: Doc = {}
        if w.snapshot is not None:
            fields.update(snapshot=w.snapshot, tail=[], tail_len=0)
        elif w.entries:
            push["tail"] = {"$each": list(w.entries)}
        if w.message_id is not None:
            push["inbox"] = {"$each": [w.message_id], "$slice": -self.inbox_size}
        if envelopes:
            push["outbox"] = {"$each": envelopes}
            fields["outbox_pending"] = True
        update: Doc = {"$set": fields}
        if push:
            update["$push"] = push
        if w.snapshot is None and w.entries:
            update["$inc"] = {"tail_len": len(w.entries)}
        query: Doc = {"_id": aggregate_id, "version": w.version}
        if w.message_id is not None:
            query["inbox"] = {"$ne": w.message_id}
        result = await self.collection.update_one(query, update)
        if result.matched_count == 1:
            return w.version + 1
        if w.message_id is not None and await self.collection.find_one(
            {"_id": aggregate_id, "inbox": w.message_id}, {"_id": 1}
        ):
            raise AlreadyProcessed(w.message_id)
        raise ConcurrencyConflict(f"{self.collection.name}/{aggregate_id} changed since version {w.version}")

    async def _create(self, aggregate_id: str, w: Write, fields: Doc, envelopes: list[Doc]) -> int:
        doc: Doc = {
            "_id": aggregate_id,
            **fields,
            "snapshot": w.snapshot,
            "tail": [] if w.snapshot is not None else list(w.entries),
            "tail_len": 0 if w.snapshot is not None else len(w.entries),
            "inbox": [w.message_id] if w.message_id is not None else [],
            "outbox": envelopes,
            "outbox_pending": bool(envelopes),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise ConcurrencyConflict(f"{self.collection.name}/{aggregate_id} already exists") from exc
        return 1

    async def add_chunk(self, aggregate_id: str, entries: Sequence[Doc], state: Doc | None) -> str:
        doc: Doc = {
            "_id": chunk_id(aggregate_id, entries),
            "aggregate_id": aggregate_id,
            "first_seq": int(entries[0]["seq"]),
            "last_seq": int(entries[-1]["seq"]),
            "entries": list(entries),
            "state": state,
        }
        with contextlib.suppress(DuplicateKeyError):  # the same entries, archived by an attempt
            await self.chunk_collection.insert_one(doc)  # that lost its head update
        return str(doc["_id"])

    async def chunk_state(self, chunk: str) -> Doc | None:
        doc = await self.chunk_collection.find_one({"_id": chunk}, {"state": 1})
        return doc.get("state") if doc else None

    async def chunks(self, aggregate_id: str) -> list[list[Doc]]:
        cursor = self.chunk_collection.find({"aggregate_id": aggregate_id}, {"entries": 1}).sort(
            "first_seq", 1
        )
        return [list(doc["entries"]) async for doc in cursor]

    async def mark_broken(self, aggregate_id: str, reason: Doc) -> None:
        await self.collection.update_one({"_id": aggregate_id}, {"$set": {"broken": reason}})

    async def ids(self, *, due_before: datetime | None = None) -> list[str]:
        query: Doc = {} if due_before is None else {"next_timer_at": {"$lte": due_before}}
        return [str(doc["_id"]) async for doc in self.collection.find(query, {"_id": 1})]
