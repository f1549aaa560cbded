"""Polling helpers for integration tests against real servers."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer


async def wait_for(predicate, within: float = 60.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def read_all(
    bootstrap: str, topic: str, until: int, within: float = 30.0
) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[tuple[bytes | None, bytes, dict[str, bytes]]] = []
    try:
        deadline = time.monotonic() + within
        while len(out) < until and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend((r.key, r.value, dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return out
