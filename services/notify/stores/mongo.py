"""notify's stores on the document store: the named queries over each collection, and its indexes.

The only module of notify that queries a collection by something else than a document id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING

from services.notify.domain.delivery import DeliveryStatus
from services.notify.stores.ports import DeliveryStore, DraftStore, LinkStore, NotifyStores, PagesStore
from shared.store import AggregateStore, Doc, Stored

DUE = [DeliveryStatus.PENDING.value, DeliveryStatus.FAILED_RETRYABLE.value]
"""The stored form of :func:`services.notify.domain.delivery.is_due`'s statuses (the index's)."""

_NO_BOXES = {"outbox": 0, "inbox": 0}


def _stored(doc: Doc | None) -> Stored | None:
    if doc is None:
        return None
    return Stored(id=str(doc["_id"]), version=int(doc["version"]), state=doc.get("state", {}))


class MongoLinkStore(LinkStore):
    async def by_token_id(self, token_id: str) -> Stored | None:
        return _stored(await self.aggregates.collection.find_one({"token_id": token_id}, _NO_BOXES))

    async def by_token_hash(self, token_hash: str) -> Stored | None:
        return _stored(await self.aggregates.collection.find_one({"token_hash": token_hash}, _NO_BOXES))

    async def ensure_indexes(self) -> None:
        await self.aggregates.collection.create_index([("token_id", ASCENDING)])
        await self.aggregates.collection.create_index([("token_hash", ASCENDING)], sparse=True)


class MongoDeliveryStore(DeliveryStore):
    async def due(self, now: datetime, limit: int) -> list[Doc]:
        query = {"status": {"$in": DUE}, "next_attempt_at": {"$lte": now}}
        cursor = self.aggregates.collection.find(query, _NO_BOXES).sort("created_at", 1).limit(limit)
        return [d async for d in cursor]

    async def claim(self, delivery_id: str, now: datetime, until: datetime) -> bool:
        result = await self.aggregates.collection.update_one(
            {"_id": delivery_id, "status": {"$in": DUE}, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": until}},
        )
        return result.modified_count == 1

    async def latest(self, status: str | None, decision_id: str | None, limit: int) -> list[Doc]:
        query: dict[str, Any] = {}
        if status:
            query["status"] = status
        if decision_id:
            query["decision_id"] = decision_id
        cursor = self.aggregates.collection.find(query, _NO_BOXES).sort("created_at", -1)
        return [d async for d in cursor.limit(limit)]

    async def count_status(self, status: str, *, max_time_ms: int) -> int:
        return await self.aggregates.collection.count_documents({"status": status}, maxTimeMS=max_time_ms)

    async def ensure_indexes(self) -> None:
        await self.aggregates.collection.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])


class MongoPagesStore(PagesStore):
    async def moderations_of(self, decision_id: str) -> list[Mapping[str, Any]]:
        cursor = self.moderations.collection.find({"decision_id": decision_id}, {"state": 1})
        return [doc.get("state", {}) async for doc in cursor]

    async def ensure_indexes(self) -> None:
        await self.moderations.collection.create_index([("decision_id", ASCENDING)])


def mongo_stores(
    *,
    drafts: AggregateStore,
    links: AggregateStore,
    deliveries: AggregateStore,
    submissions: AggregateStore,
    public_comments: AggregateStore,
    moderations: AggregateStore,
) -> NotifyStores:
    return NotifyStores(
        drafts=DraftStore(drafts),
        links=MongoLinkStore(links),
        deliveries=MongoDeliveryStore(deliveries),
        pages=MongoPagesStore(submissions, public_comments, moderations),
    )
