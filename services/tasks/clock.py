"""The service's notion of "now".

Why: deadlines, reminders and escalations are in working days; a demo or an
operator rehearsal cannot wait days. In demo mode (``DEMO_MODE=1``) an operator
may move the clock forward through the admin API; otherwise it is wall time.

The offset is *shared*: :class:`StoredClock` keeps it in the service's database, so
every instance (and a restarted one) agrees on the date — each instance re-reads it
before its timer pass, and moving it is one atomic increment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection


class Clock:
    def __init__(self, *, adjustable: bool = False) -> None:
        self.adjustable = adjustable
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        if not self.adjustable:
            raise PermissionError("clock is not adjustable outside demo mode")
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self.offset += delta
        return self.now()


class StoredClock:
    """The demo clock's offset in ``<db>.meta`` (document ``demo_clock``), shared by all instances."""

    DOC_ID = "demo_clock"

    def __init__(self, clock: Clock, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.clock = clock
        self.collection = collection

    async def refresh(self) -> None:
        """Take the stored offset (never move backwards: a lagging read keeps the local one)."""
        if not self.clock.adjustable:
            return
        doc = await self.collection.find_one({"_id": self.DOC_ID})
        stored = timedelta(seconds=float(doc.get("offset_seconds", 0.0))) if doc else timedelta(0)
        if stored > self.clock.offset:
            self.clock.offset = stored

    async def advance(self, delta: timedelta) -> datetime:
        """Move the shared clock forward by ``delta`` (demo only), atomically across instances."""
        if not self.clock.adjustable:
            raise PermissionError("clock is not adjustable outside demo mode")
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        doc = await self.collection.find_one_and_update(
            {"_id": self.DOC_ID},
            {"$inc": {"offset_seconds": delta.total_seconds()}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upsert=True with ReturnDocument.AFTER always returns the document
        self.clock.offset = timedelta(seconds=float(doc["offset_seconds"]))
        return self.clock.now()
