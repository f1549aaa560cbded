"""An in-memory stand-in for the few Mongo collection calls notify's service makes (unit tests only).

Enough for :class:`shared.store.AggregateStore` (``find_one`` by id, ``insert_one``, versioned
``update_one`` with ``$set`` / ``$push``) and the service's look-ups by a top-level or dotted field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.store import AggregateStore


def _get(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    return all(_get(doc, k) == v for k, v in query.items())


@dataclass
class _Result:
    matched_count: int
    modified_count: int


class MemoryCollection:
    def __init__(self, name: str) -> None:
        self.name = name
        self.docs: dict[str, dict[str, Any]] = {}

    async def find_one(self, query: Mapping[str, Any], projection: Any = None) -> dict[str, Any] | None:
        for doc in self.docs.values():
            if _matches(doc, query):
                return copy.deepcopy(doc)
        return None

    async def insert_one(self, doc: Mapping[str, Any]) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("duplicate _id")
        self.docs[str(doc["_id"])] = copy.deepcopy(dict(doc))

    async def update_one(self, query: Mapping[str, Any], update: Mapping[str, Any]) -> _Result:
        for doc in self.docs.values():
            if _matches(doc, query):
                doc.update(copy.deepcopy(dict(update.get("$set", {}))))
                for k, v in update.get("$push", {}).items():
                    doc.setdefault(k, []).extend(v["$each"])
                return _Result(1, 1)
        return _Result(0, 0)


def memory_store(name: str) -> AggregateStore:
    return AggregateStore(MemoryCollection(name))  # type: ignore[arg-type]


def docs_of(store: AggregateStore) -> dict[str, dict[str, Any]]:
    collection = store.collection
    assert isinstance(collection, MemoryCollection)
    return collection.docs
