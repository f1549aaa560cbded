"""In-memory :class:`shared.eventsourcing.heads.HeadStore`: the repository's logic (cache, chain,
snapshots, conflicts, redelivery) runs unchanged on it in unit tests. Documents are deep-copied in
and out, as a real store would, so a test cannot pass by sharing objects with the "database"."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.contract.envelope import Envelope
from shared.eventsourcing.heads import HEAD_FIELDS, AlreadyProcessed, Doc, Write, chunk_id
from shared.reliability.errors import ConcurrencyConflict


class MemoryHeads:
    def __init__(self, *, inbox_size: int = 1000) -> None:
        self.docs: dict[str, Doc] = {}
        self.chunk_docs: dict[str, Doc] = {}
        self.inbox_size = inbox_size
        self.operations = 0
        """Store operations made (reads and writes), as the real adapter would make them."""

    async def ensure_indexes(self) -> None:
        return None

    async def head(self, aggregate_id: str, *, full: bool) -> Doc | None:
        self.operations += 1
        await asyncio.sleep(0)  # a real store is I/O: let other tasks interleave here
        doc = self.docs.get(aggregate_id)
        if doc is None:
            return None
        if full:
            return copy.deepcopy({k: v for k, v in doc.items() if k not in ("inbox", "outbox")})
        return {k: copy.deepcopy(doc[k]) for k in ("_id", *HEAD_FIELDS) if k in doc}

    async def write(self, aggregate_id: str, w: Write) -> int:
        self.operations += 1
        await asyncio.sleep(0)
        doc = self.docs.get(aggregate_id)
        if w.version == 0:
            if doc is not None:
                raise ConcurrencyConflict(f"{aggregate_id} already exists")
            doc = {
                "_id": aggregate_id,
                "snapshot": None,
                "tail": [],
                "tail_len": 0,
                "inbox": [],
                "outbox": [],
            }
            self.docs[aggregate_id] = doc
        elif doc is None or doc["version"] != w.version:
            raise ConcurrencyConflict(f"{aggregate_id} changed since version {w.version}")
        elif w.message_id is not None and w.message_id in doc["inbox"]:
            raise AlreadyProcessed(w.message_id)
        doc.update(copy.deepcopy(dict(w.extra or {})))
        doc.update(version=w.version + 1, seq=w.seq, head_hash=w.head_hash)
        if w.snapshot is not None:
            doc.update(snapshot=copy.deepcopy(w.snapshot), tail=[], tail_len=0)
        else:
            doc["tail"] = [*doc["tail"], *copy.deepcopy(list(w.entries))]
            doc["tail_len"] = len(doc["tail"])
        if w.message_id is not None:
            doc["inbox"] = [*doc["inbox"], w.message_id][-self.inbox_size :]
        doc["outbox"] = [*doc["outbox"], *[e.model_dump(mode="json") for e in w.outbox]]
        doc["outbox_pending"] = bool(doc["outbox"])
        return w.version + 1

    async def add_chunk(self, aggregate_id: str, entries: Sequence[Doc], state: Doc | None) -> str:
        self.operations += 1
        key = chunk_id(aggregate_id, entries)
        self.chunk_docs.setdefault(
            key,
            {
                "aggregate_id": aggregate_id,
                "first_seq": entries[0]["seq"],
                "entries": copy.deepcopy(list(entries)),
                "state": copy.deepcopy(state),
            },
        )
        return key

    async def chunk_state(self, chunk: str) -> Doc | None:
        self.operations += 1
        doc = self.chunk_docs.get(chunk)
        return copy.deepcopy(doc["state"]) if doc else None

    async def chunks(self, aggregate_id: str) -> list[list[Doc]]:
        self.operations += 1
        found = [c for c in self.chunk_docs.values() if c["aggregate_id"] == aggregate_id]
        return [copy.deepcopy(c["entries"]) for c in sorted(found, key=lambda c: int(c["first_seq"]))]

    async def mark_broken(self, aggregate_id: str, reason: Doc) -> None:
        self.operations += 1
        if aggregate_id in self.docs:
            self.docs[aggregate_id]["broken"] = copy.deepcopy(reason)

    async def ids(self, *, due_before: datetime | None = None) -> list[str]:
        self.operations += 1
        if due_before is None:
            return list(self.docs)
        return [
            k
            for k, d in self.docs.items()
            if d.get("next_timer_at") is not None and d["next_timer_at"] <= due_before
        ]

    # -- what tests look at ---------------------------------------------------------
    def outbox(self, aggregate_id: str | None = None) -> list[Envelope]:
        """Every envelope written (of one aggregate, or all), in write order per aggregate."""
        docs = [self.docs[aggregate_id]] if aggregate_id else list(self.docs.values())
        return [Envelope.model_validate(raw) for d in docs if d for raw in d.get("outbox", [])]

    def raw(self, aggregate_id: str) -> dict[str, Any]:
        """The stored head document itself (tests tamper with it to prove verification)."""
        return self.docs[aggregate_id]
