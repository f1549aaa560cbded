"""The event-sourced repository on the real document store: the head document stays small, a
request costs the same store commands at 10 and at 150 entries, snapshots and chunks rebuild the
same aggregate in another process, two instances' conflicts retry, and an edited entry stops
writes (issue "One aggregate core")."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from pymongo import AsyncMongoClient, monitoring

from shared.eventsourcing.heads import MongoHeads
from shared.eventsourcing.repository import TamperedHistory
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.unit.shared.tally import add, repo

pytestmark = pytest.mark.integration


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in {"find", "insert", "update", "delete", "findAndModify", "aggregate"}:
            self.seen[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_the_repository_on_the_real_store(settings: CommonSettings) -> None:
    listener = Commands()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_url, tz_aware=True, event_listeners=[listener]
    )
    db = client[f"it_es_{RUN_ID}_{uuid.uuid4().hex[:4]}"]
    heads = MongoHeads(db["tallies"], db["tallies_chunks"], inbox_size=1000)  # type: ignore[arg-type]
    try:
        await heads.ensure_indexes()
        r = repo(heads, every=50)

        async def cost(cid: str) -> int:
            before = sum(listener.seen.values())
            assert (await add(r, 1, cid)).applied
            return sum(listener.seen.values()) - before

        for i in range(9):
            await add(r, 1, f"a{i}")
        at_10 = await cost("x10")
        for i in range(140):
            await add(r, 1, f"b{i}")
        at_150 = await cost("x150")
        assert at_10 == at_150 == 2, (at_10, at_150)  # a head read, one append

        doc = await db["tallies"].find_one({"_id": "t1"})
        assert doc is not None and doc["seq"] == 151 and doc["snapshot"]["seq"] == 150
        assert len(doc["tail"]) == 1 and await db["tallies_chunks"].count_documents({}) == 3

        other = repo(heads, every=50)  # another process: snapshot + tail
        t = await other.get("t1")
        assert t is not None and t.total == 151 and other.cold_loads == 1
        verdict = await other.verify("t1")
        assert verdict is not None and verdict.ok and verdict.checked == 151

        assert (await add(other, 2, "from-other")).applied  # r's cached copy is now stale
        assert (await add(r, 3, "from-r")).applied
        t = await repo(heads).get("t1")
        assert t is not None and t.total == 156 and t.amounts[-2:] == [2, 3]

        assert not (await add(r, 3, "from-r", msg="m-from-r")).applied  # redelivered

        await db["tallies_chunks"].update_one({"first_seq": 51}, {"$set": {"entries.3.payload.amount": 40}})
        assert await repo(heads).sweep() == 1
        with pytest.raises(TamperedHistory):
            await add(r, 1, "after-the-break")
    finally:
        await client.drop_database(db.name)
        await client.close()
