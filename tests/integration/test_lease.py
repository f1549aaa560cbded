"""One timer pass at a time: a store lease between instances, taken over on release or expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from shared.reliability.lease import Lease
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID

pytestmark = pytest.mark.integration


async def test_one_holder_at_a_time_and_takeover_on_release_or_expiry(settings: CommonSettings) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    meta = client[f"it_lease_{RUN_ID}_{uuid.uuid4().hex[:4]}"]["meta"]
    try:
        a = Lease(meta, "timer_pass", ttl=timedelta(seconds=30), owner="a")  # type: ignore[arg-type]
        b = Lease(meta, "timer_pass", ttl=timedelta(seconds=30), owner="b")  # type: ignore[arg-type]
        assert await a.hold() and not await b.hold()
        assert await a.hold()  # renewing is holding
        await a.release()  # a graceful stop
        assert await b.hold() and not await a.hold()
        await meta.update_one(  # b dies: its lease runs out
            {"_id": "timer_pass"}, {"$set": {"until": datetime.now(UTC) - timedelta(seconds=1)}}
        )
        assert await a.hold() and not await b.hold()
    finally:
        await client.drop_database(meta.database.name)
        await client.close()
