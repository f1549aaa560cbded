"""Evaluate a MongoDB-wire-compatible document store for what our services need.

Why: no real mongod is obtainable on the dev/CI machines, so local runs use a look-alike
(see infra/DOCSTORE.md). This script checks the features the services rely on and measures
throughput, so the choice rests on figures, not on claims.

Usage: .venv/bin/python infra/eval_docstore.py [--url mongodb://127.0.0.1:27017] [--ops 2000]
Exit code: 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Check = Callable[[AsyncCollection[dict[str, Any]]], Awaitable[None]]
CHECKS: list[tuple[str, Check]] = []


def check(name: str) -> Callable[[Check], Check]:
    def deco(fn: Check) -> Check:
        CHECKS.append((name, fn))
        return fn

    return deco


@check("optimistic concurrency: find_one_and_update with version filter")
async def _occ(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_one({"_id": "a", "v": 1, "state": "draft"})
    doc = await c.find_one_and_update(
        {"_id": "a", "v": 1},
        {"$set": {"state": "open"}, "$inc": {"v": 1}},
        return_document=ReturnDocument.AFTER,
    )
    assert doc is not None and doc["v"] == 2 and doc["state"] == "open", doc
    stale = await c.find_one_and_update({"_id": "a", "v": 1}, {"$set": {"state": "x"}, "$inc": {"v": 1}})
    assert stale is None, f"stale version matched: {stale}"
    res = await c.update_one({"_id": "a", "v": 1}, {"$set": {"state": "y"}})
    assert res.matched_count == 0 and res.modified_count == 0, res.raw_result
    res = await c.update_one({"_id": "a", "v": 2}, {"$set": {"state": "closed"}, "$inc": {"v": 1}})
    assert res.matched_count == 1 and res.modified_count == 1, res.raw_result
    assert (await c.find_one({"_id": "a"}))["v"] == 3  # type: ignore[index]


@check("concurrent OCC: 20 racing updates of one version, exactly one wins")
async def _occ_race(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_one({"_id": "r", "v": 1, "n": 0})

    async def attempt(i: int) -> bool:
        r = await c.update_one({"_id": "r", "v": 1}, {"$set": {"winner": i}, "$inc": {"v": 1, "n": 1}})
        return r.modified_count == 1

    wins = sum(await asyncio.gather(*(attempt(i) for i in range(20))))
    doc = await c.find_one({"_id": "r"})
    assert wins == 1 and doc is not None and doc["n"] == 1 and doc["v"] == 2, (wins, doc)


@check("upsert with $setOnInsert")
async def _upsert(c: AsyncCollection[dict[str, Any]]) -> None:
    for _ in range(2):
        await c.update_one({"_id": "u"}, {"$setOnInsert": {"created": 1}, "$inc": {"hits": 1}}, upsert=True)
    doc = await c.find_one({"_id": "u"})
    assert doc == {"_id": "u", "created": 1, "hits": 2}, doc


@check("arrays: $push/$each/$slice and $pull (value and condition)")
async def _arrays(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_one({"_id": "p", "log": [], "tags": ["a", "b", "c"], "items": [{"k": 1}, {"k": 2}]})
    await c.update_one({"_id": "p"}, {"$push": {"log": {"$each": [1, 2, 3, 4, 5], "$slice": -3}}})
    await c.update_one({"_id": "p"}, {"$push": {"log": 6}})
    await c.update_one({"_id": "p"}, {"$push": {"log": {"$each": [7], "$slice": -3}}})
    await c.update_one({"_id": "p"}, {"$pull": {"tags": "b"}})
    await c.update_one({"_id": "p"}, {"$pull": {"items": {"k": 1}}})
    await c.update_one({"_id": "p"}, {"$addToSet": {"tags": {"$each": ["a", "z"]}}})
    doc = await c.find_one({"_id": "p"})
    assert doc is not None, doc
    assert doc["log"] == [5, 6, 7], doc["log"]
    assert doc["tags"] == ["a", "c", "z"], doc["tags"]
    assert doc["items"] == [{"k": 2}], doc["items"]


@check("positional update items.$ on matched array element")
async def _positional(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_one({"_id": "pos", "items": [{"k": 1, "s": "new"}, {"k": 2, "s": "new"}]})
    r = await c.update_one({"_id": "pos", "items.k": 2}, {"$set": {"items.$.s": "done"}})
    assert r.modified_count == 1, r.raw_result
    doc = await c.find_one({"_id": "pos"})
    assert doc is not None and [i["s"] for i in doc["items"]] == ["new", "done"], doc


@check("unique: duplicate _id -> DuplicateKeyError")
async def _dup_id(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_one({"_id": "d"})
    try:
        await c.insert_one({"_id": "d"})
    except DuplicateKeyError:
        return
    raise AssertionError("duplicate _id accepted")


@check("unique index (compound) -> DuplicateKeyError on insert and update")
async def _unique(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.create_index([("tenant", ASCENDING), ("key", ASCENDING)], unique=True)
    await c.insert_one({"tenant": "t", "key": "k1"})
    await c.insert_one({"tenant": "t2", "key": "k1"})
    try:
        await c.insert_one({"tenant": "t", "key": "k1"})
        raise AssertionError("duplicate unique key accepted on insert")
    except DuplicateKeyError:
        pass
    try:
        await c.update_one({"tenant": "t2"}, {"$set": {"tenant": "t"}})
        raise AssertionError("duplicate unique key accepted on update")
    except DuplicateKeyError:
        pass
    assert await c.count_documents({}) == 2


@check("idempotency key: unique index on event_id, replay detected")
async def _dedupe(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.create_index("event_id", unique=True)
    eid = str(uuid.uuid4())
    await c.insert_one({"event_id": eid})
    try:
        await c.insert_one({"event_id": eid})
        raise AssertionError("replayed event_id accepted")
    except DuplicateKeyError as e:
        assert e.code == 11000, e.code


@check("queries: nested fields, array elements, $elemMatch, $in, $exists")
async def _queries(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_many(
        [
            {
                "_id": 1,
                "unit": {"id": "u1", "level": 2},
                "tags": ["x", "y"],
                "a": [{"who": "p1", "ok": True}],
            },
            {"_id": 2, "unit": {"id": "u2", "level": 3}, "tags": ["y"], "a": [{"who": "p2", "ok": False}]},
            {
                "_id": 3,
                "unit": {"id": "u1", "level": 3},
                "tags": [],
                "a": [{"who": "p1", "ok": False}],
                "z": 1,
            },
        ]
    )

    async def ids(q: dict[str, Any]) -> list[int]:
        return sorted([d["_id"] async for d in c.find(q)])

    assert await ids({"unit.id": "u1"}) == [1, 3]
    assert await ids({"unit.level": {"$gte": 3}}) == [2, 3]
    assert await ids({"tags": "y"}) == [1, 2]
    assert await ids({"tags": {"$in": ["x"]}}) == [1]
    assert await ids({"a.who": "p1"}) == [1, 3]
    assert await ids({"a": {"$elemMatch": {"who": "p1", "ok": False}}}) == [3]
    assert await ids({"z": {"$exists": True}}) == [3]
    assert await ids({"tags": {"$size": 0}}) == [3]


@check("sort + skip + limit, projection, count_documents")
async def _sort(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_many([{"_id": i, "at": i % 7, "g": i % 2, "big": "x" * 10} for i in range(30)])
    await c.create_index([("g", ASCENDING), ("at", DESCENDING)])
    got = [
        d async for d in c.find({"g": 0}, {"big": 0}).sort([("at", DESCENDING), ("_id", ASCENDING)]).limit(4)
    ]
    assert [(d["at"], d["_id"]) for d in got] == [(6, 6), (6, 20), (5, 12), (5, 26)], got
    assert all("big" not in d for d in got)
    page2 = [d["_id"] async for d in c.find({}).sort("_id", ASCENDING).skip(10).limit(3)]
    assert page2 == [10, 11, 12], page2
    assert await c.count_documents({"g": 1}) == 15
    assert await c.count_documents({"at": {"$lt": 2}, "g": 0}) == 5


@check("aggregate: $match/$group/$sort (reports)")
async def _agg(c: AsyncCollection[dict[str, Any]]) -> None:
    await c.insert_many([{"unit": f"u{i % 3}", "n": i} for i in range(9)])
    rows = [
        r
        async for r in await c.aggregate(
            [
                {"$match": {"n": {"$gte": 0}}},
                {"$group": {"_id": "$unit", "t": {"$sum": "$n"}}},
                {"$sort": {"_id": 1}},
            ]
        )
    ]
    assert rows == [{"_id": "u0", "t": 9}, {"_id": "u1", "t": 12}, {"_id": "u2", "t": 15}], rows


@check("datetime round-trip (UTC, ms precision) and range query")
async def _dates(c: AsyncCollection[dict[str, Any]]) -> None:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    await c.insert_many([{"_id": i, "due": t + timedelta(days=i)} for i in range(3)])
    d = await c.find_one({"_id": 0})
    assert d is not None and d["due"].replace(tzinfo=UTC) == t, d
    assert await c.count_documents({"due": {"$lt": t + timedelta(days=1, hours=1)}}) == 2


async def throughput(db: Any, n: int) -> dict[str, float]:
    c = db["perf"]
    await c.drop()
    await c.create_index("key", unique=True)
    t0 = time.perf_counter()
    for i in range(n):
        await c.insert_one({"_id": i, "key": f"k{i}", "v": 1, "state": "new", "log": []})
    ins = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(n):
        doc = await c.find_one_and_update(
            {"_id": i, "v": 1},
            {"$set": {"state": "open"}, "$inc": {"v": 1}, "$push": {"log": {"$each": [i], "$slice": -10}}},
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None and doc["v"] == 2
    fau = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(0, n, 4):
        await c.find_one({"key": f"k{i}"})
    find = (n // 4) / (time.perf_counter() - t0)
    return {"insert_one/s": ins, "find_one_and_update/s": fau, "find_one(by unique key)/s": find}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="mongodb://127.0.0.1:27017")
    ap.add_argument("--ops", type=int, default=2000)
    args = ap.parse_args()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        args.url, serverSelectionTimeoutMS=5000, directConnection=True
    )
    dbname = f"eval_{uuid.uuid4().hex[:8]}"
    db = client[dbname]
    failed = 0
    try:
        info = await client.server_info()
        print(f"server {args.url}: version {info.get('version')}")
        for i, (name, fn) in enumerate(CHECKS):
            coll = db[f"c{i}"]
            try:
                await fn(coll)
                print(f"  PASS  {name}")
            except Exception as exc:
                failed += 1
                print(f"  FAIL  {name}: {type(exc).__name__}: {exc}"[:400])
        figs = await throughput(db, args.ops)
        for k, v in figs.items():
            print(f"  PERF  {k:<28} {v:8.0f}  ({args.ops} ops, sequential)")
        print(f"checks: {len(CHECKS) - failed} passed, {failed} failed")
    finally:
        try:
            await client.drop_database(dbname)
        finally:
            await client.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
