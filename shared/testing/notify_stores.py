"""In-memory versions of notify's store ports (:mod:`services.notify.stores.ports`).

The writes are the ports' own (through ``unit_of_work.apply`` on an :class:`InMemoryStateStore`);
only the named queries are answered here, by scanning the stored documents the way the document
store's indexes would answer them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.notify.domain.delivery import DeliveryStatus, is_due
from services.notify.stores.ports import DeliveryStore, DraftStore, LinkStore, NotifyStores, PagesStore
from services.notify.worker import state_of
from shared.store import Doc, Stored
from shared.testing.state_store import InMemoryStateStore

_DUE = {DeliveryStatus.PENDING.value, DeliveryStatus.FAILED_RETRYABLE.value}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _find(store: InMemoryStateStore, field: str, value: Any) -> Stored | None:
    for doc_id, doc in store.docs.items():
        if doc.get(field) == value:
            return Stored(id=doc_id, version=int(doc["version"]), state=copy.deepcopy(doc["state"]))
    return None


def _without_boxes(doc: Doc) -> Doc:
    return {k: copy.deepcopy(v) for k, v in doc.items() if k not in ("outbox", "inbox")}


class InMemoryLinkStore(LinkStore):
    def __init__(self, aggregates: InMemoryStateStore | None = None) -> None:
        self.memory = aggregates or InMemoryStateStore("links")
        super().__init__(self.memory)

    async def by_token_id(self, token_id: str) -> Stored | None:
        return _find(self.memory, "token_id", token_id)

    async def by_token_hash(self, token_hash: str) -> Stored | None:
        return _find(self.memory, "token_hash", token_hash)


class InMemoryDeliveryStore(DeliveryStore):
    def __init__(self, aggregates: InMemoryStateStore | None = None) -> None:
        self.memory = aggregates or InMemoryStateStore("deliveries")
        super().__init__(self.memory)

    @staticmethod
    def _due(doc: Doc, now: datetime) -> bool:
        # the document store's query: a due status and a time (``next_attempt_at`` None is never due there)
        return (
            doc.get("status") in _DUE
            and doc.get("next_attempt_at") is not None
            and is_due(state_of(doc["state"]), now)
        )

    async def due(self, now: datetime, limit: int) -> list[Doc]:
        found = [d for d in self.memory.docs.values() if self._due(d, now)]
        found.sort(key=lambda d: d["created_at"])
        return [_without_boxes(d) for d in found[:limit]]

    async def claim(self, delivery_id: str, now: datetime, until: datetime) -> bool:
        doc = self.memory.docs.get(delivery_id)
        if doc is None or doc.get("status") not in _DUE or (doc.get("lease_until") or _EARLIEST) > now:
            return False
        doc["lease_until"] = until
        return True

    async def latest(self, status: str | None, decision_id: str | None, limit: int) -> list[Doc]:
        found = [
            d
            for d in self.memory.docs.values()
            if (not status or d.get("status") == status)
            and (not decision_id or d.get("decision_id") == decision_id)
        ]
        found.sort(key=lambda d: d["created_at"], reverse=True)
        return [_without_boxes(d) for d in found[:limit]]

    async def count_status(self, status: str, *, max_time_ms: int) -> int:
        return sum(1 for d in self.memory.docs.values() if d.get("status") == status)


class InMemoryPagesStore(PagesStore):
    def __init__(self) -> None:
        self.submission_docs = InMemoryStateStore("submissions")
        self.comment_docs = InMemoryStateStore("public_comments")
        self.moderation_docs = InMemoryStateStore("moderations")
        super().__init__(self.submission_docs, self.comment_docs, self.moderation_docs)

    async def moderations_of(self, decision_id: str) -> list[Mapping[str, Any]]:
        return [
            copy.deepcopy(d["state"])
            for d in self.moderation_docs.docs.values()
            if d.get("decision_id") == decision_id
        ]


def in_memory_stores() -> NotifyStores:
    """Every notify store in memory, empty."""
    return NotifyStores(
        drafts=DraftStore(InMemoryStateStore("drafts")),
        links=InMemoryLinkStore(),
        deliveries=InMemoryDeliveryStore(),
        pages=InMemoryPagesStore(),
    )


def memory_of(store: LinkStore | DeliveryStore | DraftStore) -> InMemoryStateStore:
    """The documents behind an in-memory store (for a test's assertions)."""
    aggregates = store.aggregates
    assert isinstance(aggregates, InMemoryStateStore), "not an in-memory store"
    return aggregates
