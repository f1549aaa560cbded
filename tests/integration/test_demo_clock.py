"""The demo clock is shared through the store: two instances, and a restarted one, agree on the date."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from services.tasks.clock import Clock, StoredClock
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID

pytestmark = pytest.mark.integration


async def test_two_instances_and_a_restart_see_the_same_demo_date(settings: CommonSettings) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    meta = client[f"it_clock_{RUN_ID}_{uuid.uuid4().hex[:4]}"]["meta"]
    try:
        first, second = Clock(adjustable=True), Clock(adjustable=True)
        a, b = StoredClock(first, meta), StoredClock(second, meta)
        await a.advance(timedelta(days=3))
        await b.advance(timedelta(hours=5))  # moved on the other instance: both moves count
        await a.refresh()
        assert first.offset == second.offset == timedelta(days=3, hours=5)
        restarted = Clock(adjustable=True)
        await StoredClock(restarted, meta).refresh()
        assert restarted.offset == timedelta(days=3, hours=5)
        with pytest.raises(ValueError):
            await a.advance(timedelta(hours=-1))

        locked = Clock(adjustable=False)  # outside demo mode the stored offset is ignored
        await StoredClock(locked, meta).refresh()
        assert locked.offset == timedelta(0)
        with pytest.raises(PermissionError):
            await StoredClock(locked, meta).advance(timedelta(days=1))
    finally:
        await client.drop_database(meta.database.name)
        await client.close()
