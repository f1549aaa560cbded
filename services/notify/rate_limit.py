"""The citizens' comment limit (``PUBLIC_COMMENT_RATE_LIMIT`` per ``PUBLIC_COMMENT_RATE_WINDOW_SECONDS``
per client address), counted atomically in the shared document store.

Why not in memory: a check-then-count in each process let 20 simultaneous posts from one address
through 9 times, and every instance (and every restart) had its own count. Here a post *takes a
slot* before it is stored, with one single-document atomic operation on a fixed-window counter::

    {_id: "<hash of the address>:<window start>", n: <slots taken>, expires_at: <window end + 1 h>}

    find_one_and_update({_id, n: {$lt: limit}}, {$inc: {n: 1}})   → a document: admitted
                                                                  → None: the window is full

so exactly ``limit`` posts get through however many arrive together, on every instance. A post
that fails after taking its slot (the store refused the comment) gives it back. The counter
documents expire through a TTL index on ``expires_at``.

Privacy: the address itself is never stored — the key is an HMAC of it with a secret of the
service — and the counter disappears an hour after its window. IPv6 addresses count per /64
(one subscriber's usual allocation), so rotating through one's own prefix does not reset the limit.

A fixed window admits at most ``2 × limit`` in the ten minutes that straddle two windows; that is
the accepted cost of one atomic counter per window.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import math
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.store import Doc

EXPIRY_MARGIN = timedelta(hours=1)


class CommentLimiter(Protocol):
    """Takes and gives back slots of the per-address comment limit."""

    async def acquire(self, address: str, now: datetime) -> timedelta | None:
        """Take a slot: ``None`` if admitted, else how long until the next window opens."""
        ...

    async def release(self, address: str, now: datetime) -> None:
        """Give back a slot taken at ``now`` (the post it admitted was not stored)."""
        ...


def window_start(now: datetime, window: timedelta) -> datetime:
    """Start of the fixed window containing ``now`` (windows aligned on the Unix epoch)."""
    seconds = window.total_seconds()
    epoch = now.astimezone(UTC).timestamp()
    return datetime.fromtimestamp(math.floor(epoch / seconds) * seconds, UTC)


def address_bucket(address: str) -> str:
    """What is counted: the IPv4 address, the IPv6 /64, or the text as given (e.g. ``unknown``)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class _Windowed:
    def __init__(self, limit: int, window: timedelta, secret: bytes) -> None:
        if limit < 1:
            raise ValueError("limit must be ≥ 1")
        if window <= timedelta(0):
            raise ValueError("window must be positive")
        self.limit = limit
        self.window = window
        self._secret = secret

    def key(self, address: str, now: datetime) -> str:
        digest = hmac.new(self._secret, address_bucket(address).encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{digest[:32]}:{int(window_start(now, self.window).timestamp())}"

    def wait(self, now: datetime) -> timedelta:
        return window_start(now, self.window) + self.window - now


class MongoCommentLimiter(_Windowed):
    """The limiter on a collection of the shared document store (atomic, shared by every instance)."""

    def __init__(
        self, collection: AsyncCollection[Doc], limit: int, window: timedelta, *, secret: bytes
    ) -> None:
        super().__init__(limit, window, secret)
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)

    async def acquire(self, address: str, now: datetime) -> timedelta | None:
        key = self.key(address, now)
        expires_at = window_start(now, self.window) + self.window + EXPIRY_MARGIN
        # Create the window's counter once (two creators race: the loser's insert fails, harmlessly) ...
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.update_one(
                {"_id": key}, {"$setOnInsert": {"n": 0, "expires_at": expires_at}}, upsert=True
            )
        # ... then take a slot only while one is free: one atomic single-document operation.
        taken = await self.collection.find_one_and_update(
            {"_id": key, "n": {"$lt": self.limit}},
            {"$inc": {"n": 1}},
            projection={"n": 1},
            return_document=ReturnDocument.AFTER,
        )
        return None if taken is not None else self.wait(now)

    async def release(self, address: str, now: datetime) -> None:
        await self.collection.update_one(
            {"_id": self.key(address, now), "n": {"$gt": 0}}, {"$inc": {"n": -1}}
        )


class MemoryCommentLimiter(_Windowed):
    """The same fixed-window rule in memory, for unit tests (one process, no store)."""

    def __init__(self, limit: int, window: timedelta, *, secret: bytes = b"test") -> None:
        super().__init__(limit, window, secret)
        self.counts: dict[str, int] = {}

    async def acquire(self, address: str, now: datetime) -> timedelta | None:
        key = self.key(address, now)
        if self.counts.get(key, 0) >= self.limit:
            return self.wait(now)
        self.counts[key] = self.counts.get(key, 0) + 1
        return None

    async def release(self, address: str, now: datetime) -> None:
        key = self.key(address, now)
        if self.counts.get(key, 0) > 0:
            self.counts[key] -= 1
