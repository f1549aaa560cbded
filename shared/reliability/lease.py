"""A named lease in the store: at most one instance of a service does a periodic job at a time.

Why: every tasks instance ran the timer pass over every due decision; the version check stopped
double firing, but each instance read (and, before, rewrote) them all (issue "No message wedges",
item 8). The instance holding the lease runs the pass; it renews the lease at each pass, releases it
on a graceful stop, and if it dies another instance takes over when the lease expires.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


class Lease:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        name: str,
        *,
        ttl: timedelta,
        owner: str | None = None,
    ) -> None:
        self.collection = collection
        self.name = name
        self.ttl = ttl
        self.owner = owner or uuid.uuid4().hex

    async def hold(self) -> bool:
        """Take or renew the lease; False while another instance holds an unexpired one."""
        now = datetime.now(UTC)
        try:
            await self.collection.find_one_and_update(
                {
                    "_id": self.name,
                    "$or": [{"owner": self.owner}, {"until": {"$lt": now}}],
                },
                {"$set": {"owner": self.owner, "until": now + self.ttl}},
                upsert=True,
            )
        except DuplicateKeyError:  # the document exists and another owner's lease runs
            return False
        return True

    async def release(self) -> None:
        await self.collection.update_one(
            {"_id": self.name, "owner": self.owner},
            {"$set": {"until": datetime.now(UTC) - timedelta(seconds=1)}},
        )
