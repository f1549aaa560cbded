"""The audit log: every administrative change and every refusal, with who, what, why and when.

Append-only by construction: the store below has no update or delete, and each entry carries the
SHA-256 of the previous one (per service), so a removed or edited entry breaks the chain that
``verify_chain`` walks. Each service keeps its own log in its own database and serves it to auditors
at ``GET /api/audit``. Tokens, passwords and contact data never enter an entry (callers pass ids).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared.redaction import redact

log = logging.getLogger("shared.access.audit")

Doc = dict[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    service: str
    kind: str  # "change" | "refusal" | "sign_in" | "sign_out" | "operation"
    who: str  # person id, "anonymous", or a system id
    what: str  # "POST /api/changes" or an action name
    why: str  # refusal code, or the reason given for a change
    outcome: str  # "accepted" | "refused"
    client: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_doc(self) -> Doc:
        doc = asdict(self)
        doc["detail"] = {k: redact(v) if isinstance(v, str) else v for k, v in self.detail.items()}
        return doc


def _digest(doc: Mapping[str, Any], previous: str) -> str:
    body = {k: v for k, v in doc.items() if k not in {"_id", "hash"}}
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str) + previous
    return hashlib.sha256(raw.encode()).hexdigest()


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def entries(
        self, *, kind: str | None = None, who: str | None = None, limit: int = 200
    ) -> list[Doc]: ...


class MongoAuditLog:
    """Insert-only collection ``audit`` with a per-service hash chain (``seq``, ``prev``, ``hash``)."""

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self.collection = collection
        self._lock = asyncio.Lock()

    async def record(self, entry: AuditEntry) -> None:
        doc = entry.as_doc()
        log.info(
            "audit",
            extra={
                "kind": entry.kind,
                "who": entry.who,
                "what": entry.what,
                "why": entry.why,
                "outcome": entry.outcome,
            },
        )
        try:
            async with self._lock:
                last = await self.collection.find_one({}, sort=[("seq", DESCENDING)])
                seq = int(last["seq"]) + 1 if last else 1
                prev = str(last["hash"]) if last else ""
                doc.update(seq=seq, prev=prev)
                doc["hash"] = _digest(doc, prev)
                doc["_id"] = f"{entry.service}:{seq:012d}"
                await self.collection.insert_one(doc)
        except Exception:  # the refusal itself must still be answered; the log line above remains
            log.exception("audit entry could not be stored", extra={"what": entry.what})

    async def entries(
        self, *, kind: str | None = None, who: str | None = None, limit: int = 200
    ) -> list[Doc]:
        query: Doc = {}
        if kind:
            query["kind"] = kind
        if who:
            query["who"] = who
        cursor = self.collection.find(query, sort=[("seq", DESCENDING)], limit=max(1, min(limit, 1000)))
        return [{k: v for k, v in d.items() if k != "_id"} async for d in cursor]


class MemoryAuditLog:
    """For unit tests."""

    def __init__(self) -> None:
        self.docs: list[Doc] = []

    async def record(self, entry: AuditEntry) -> None:
        doc = entry.as_doc()
        prev = self.docs[-1]["hash"] if self.docs else ""
        doc.update(seq=len(self.docs) + 1, prev=prev)
        doc["hash"] = _digest(doc, prev)
        self.docs.append(doc)

    async def entries(
        self, *, kind: str | None = None, who: str | None = None, limit: int = 200
    ) -> list[Doc]:
        found = [
            d
            for d in reversed(self.docs)
            if (kind is None or d["kind"] == kind) and (who is None or d["who"] == who)
        ]
        return found[:limit]


def verify_chain(docs_oldest_first: Sequence[Mapping[str, Any]]) -> int | None:
    """The ``seq`` of the first entry whose hash does not follow from its predecessor, else ``None``."""
    prev = ""
    for doc in docs_oldest_first:
        if doc.get("prev") != prev or doc.get("hash") != _digest(doc, prev):
            return int(doc.get("seq", 0))
        prev = str(doc["hash"])
    return None
