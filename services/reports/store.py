"""Persistence of the reports read models in the service's own database.

Why these choices:

* a decision view is one document: its *source* (facts by ``seq``, refusals by request id)
  in ``state``, saved through :func:`shared.reliability.unit_of_work.apply` with the
  envelope id as message id — a redelivered envelope is skipped by the inbox, and a fact
  re-published under a new envelope id is skipped by its ``seq``; the derived view is kept
  beside it (``view`` plus a few query fields) in the same atomic write, so reads never
  recompute and never see a view that disagrees with its facts;
* the stores are plain :class:`AggregateStore`\\ s, not ``runtime.store``: reports publish
  nothing, so the outbox relay need not poll these collections;
* dead letters are inserted once per original ``topic:partition:offset``;
* the collections are this adapter's own: callers use the named operations of the port
  (:class:`services.reports.ports.ReportsStorePort`), never a collection.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.reports.domain.dead_letters import DeadLetter
from services.reports.domain.decision_view import recorded
from services.reports.domain.view_model import DecisionView
from shared.contract.events.decisions import DecisionFact, RequestRejected
from shared.reliability.unit_of_work import Change, Outcome, apply
from shared.store import AggregateStore, Doc, Stored


class ReportsStore:
    """The document-store adapter of :class:`~services.reports.ports.ReportsStorePort`."""

    def __init__(self, db: AsyncDatabase[Doc], *, inbox_size: int = 1000) -> None:
        self._views: AsyncCollection[Doc] = db["decisions"]
        self._decisions = AggregateStore(self._views, inbox_size=inbox_size)
        self._dead_letters: AsyncCollection[Doc] = db["dead_letters"]

    async def ensure_indexes(self) -> None:
        await self._views.create_index([("drafted", ASCENDING), ("last_event_at", DESCENDING)])
        await self._views.create_index([("issuer_unit_id", ASCENDING)])
        await self._dead_letters.create_index([("at", DESCENDING)])

    # -- decisions ----------------------------------------------------------------
    async def record_decision_event(self, message_id: str, event: DecisionFact | RequestRejected) -> Outcome:
        def decide(current: Stored | None) -> Change | None:
            got = recorded(current.state if current else None, event)
            if got is None:
                return None  # this seq / request id is already in the view
            state, view = got
            return Change(state=state, extra=_query_fields(view))

        return await apply(self._decisions, event.decision_id, message_id, decide)

    async def get(self, decision_id: str) -> DecisionView | None:
        doc = await self._views.find_one({"_id": decision_id}, {"view": 1})
        return DecisionView.model_validate(doc["view"]) if doc and "view" in doc else None

    async def recent(
        self, *, unit_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[DecisionView]:
        cursor = (
            self._views.find(_drafted(unit_id, status), {"view": 1})
            .sort("last_event_at", DESCENDING)
            .limit(limit)
        )
        return [DecisionView.model_validate(doc["view"]) async for doc in cursor]

    async def all_views(self, *, unit_id: str | None = None) -> list[DecisionView]:
        """Every drafted decision (for compliance over any period)."""
        cursor = self._views.find(_drafted(unit_id), {"view": 1})
        return [DecisionView.model_validate(doc["view"]) async for doc in cursor]

    async def status_counts(self) -> dict[str, int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": _drafted()},
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
        ]
        out: dict[str, int] = {}
        async for row in await self._views.aggregate(pipeline):
            out[str(row["_id"])] = int(row["n"])
        return out

    # -- dead letters -------------------------------------------------------------
    async def add_dead_letter(self, dl: DeadLetter) -> bool:
        """Store once per original coordinates; returns whether it was new."""
        doc = {**dl.model_dump(), "_id": dl.key}
        with contextlib.suppress(DuplicateKeyError):  # a concurrent upsert of the same key
            result = await self._dead_letters.update_one({"_id": dl.key}, {"$setOnInsert": doc}, upsert=True)
            return result.upserted_id is not None
        return False

    async def dead_letters(self, *, topic: str | None = None, limit: int = 200) -> list[DeadLetter]:
        query: dict[str, Any] = {"topic": topic} if topic else {}
        cursor = self._dead_letters.find(query).sort([("at", DESCENDING), ("_id", ASCENDING)]).limit(limit)
        return [
            DeadLetter.model_validate({k: v for k, v in doc.items() if k != "_id"}) async for doc in cursor
        ]

    async def dead_letter_count(self) -> int:
        return await self._dead_letters.count_documents({})


def _drafted(unit_id: str | None = None, status: str | None = None) -> dict[str, Any]:
    """The query of drafted decisions, of one issuing unit and status when given."""
    query: dict[str, Any] = {"drafted": True}
    if unit_id:
        query["issuer_unit_id"] = unit_id
    if status:
        query["status"] = status
    return query


def _query_fields(view: DecisionView) -> dict[str, Any]:
    return {
        "view": view.model_dump(mode="json"),
        "drafted": view.drafted_at is not None,
        "status": view.status.value,
        "issuer_unit_id": view.issuer_unit_id,
        "has_exception": view.has_exception,
        "last_event_at": view.last_event_at,
    }
