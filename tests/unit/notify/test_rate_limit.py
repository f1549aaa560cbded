"""The comment limit's logic (fixed windows, per-address keys, slots) with the in-memory limiter;
the same rule on the real document store: tests/integration/test_public_comment.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.rate_limit import MemoryCommentLimiter, address_bucket, window_start

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # a multiple of ten minutes since the epoch
WINDOW = timedelta(minutes=10)


def test_windows_are_fixed_and_aligned() -> None:
    assert window_start(T0, WINDOW) == T0
    assert window_start(T0 + timedelta(minutes=9, seconds=59), WINDOW) == T0
    assert window_start(T0 + timedelta(minutes=10), WINDOW) == T0 + WINDOW


async def test_limit_per_window_then_retry_after_the_window() -> None:
    rl = MemoryCommentLimiter(2, WINDOW)
    assert await rl.acquire("1.1.1.1", T0) is None
    assert await rl.acquire("1.1.1.1", T0 + timedelta(minutes=1)) is None
    assert await rl.acquire("1.1.1.1", T0 + timedelta(minutes=2)) == timedelta(minutes=8)
    assert await rl.acquire("2.2.2.2", T0) is None  # per address
    assert await rl.acquire("1.1.1.1", T0 + WINDOW) is None  # the next window


async def test_twenty_concurrent_posts_take_exactly_the_limit() -> None:
    rl = MemoryCommentLimiter(5, WINDOW)
    results = await asyncio.gather(*(rl.acquire("203.0.113.9", T0) for _ in range(20)))
    assert sum(r is None for r in results) == 5


async def test_a_released_slot_can_be_taken_again() -> None:
    rl = MemoryCommentLimiter(1, WINDOW)
    assert await rl.acquire("1.1.1.1", T0) is None
    await rl.release("1.1.1.1", T0)
    assert await rl.acquire("1.1.1.1", T0) is None
    assert await rl.acquire("1.1.1.1", T0) is not None
    await rl.release("9.9.9.9", T0)  # nothing taken: nothing given back, no negative count
    assert all(n >= 0 for n in rl.counts.values())


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert (
        address_bucket("2001:db8:1:2:aaaa::1")
        == address_bucket("2001:db8:1:2:ffff::9")
        == "2001:db8:1:2::/64"
    )
    assert address_bucket("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_bucket("unknown") == "unknown"


def test_the_key_does_not_contain_the_address() -> None:
    rl = MemoryCommentLimiter(1, WINDOW, secret=b"k" * 32)
    key = rl.key("198.51.100.7", T0)
    assert "198.51.100.7" not in key and key.endswith(f":{int(T0.timestamp())}")
    assert key != MemoryCommentLimiter(1, WINDOW, secret=b"j" * 32).key("198.51.100.7", T0)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        MemoryCommentLimiter(0, WINDOW)
    with pytest.raises(ValueError):
        MemoryCommentLimiter(1, timedelta(0))
