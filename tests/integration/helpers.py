"""Polling helpers for integration tests against real servers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.kafka_auth import aiokafka_kwargs
from shared.reliability.catchup import topic_size  # the barrier org_replica_ready waits on
from shared.settings import CommonSettings

ADMIN = "admin"
"""Observers, fixtures that play another service, topic creation: the broker's super user."""
AGENCY = "agency-test"
"""What publishes requests on tasks.decision-requests / tasks.workflow-requests in the tests."""


def kafka_auth(principal: str = ADMIN) -> dict[str, Any]:
    """SASL/SCRAM credentials of ``principal`` for an aiokafka client (shared/kafka_auth.py)."""
    return aiokafka_kwargs(CommonSettings(), principal)


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
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, **kafka_auth()
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


async def org_replica_ready(org_url: str, replica_health_url: str, bootstrap: str) -> None:
    """Wait until the org service has published its whole registry and a replica has read it all
    (the copy's ``org_position``, in offsets, reaches the topic's end offsets)."""
    import httpx

    async with httpx.AsyncClient(timeout=5) as c:

        async def org_published() -> bool:
            h = (await c.get(f"{org_url}/health")).json()
            return bool(h["registry_version"] >= 1 and h["outbox_pending"] == 0)

        await wait_for(org_published, within=120, what="org service published its registry")
        size = await topic_size(
            CommonSettings().model_copy(update={"kafka_bootstrap": bootstrap}), "org.events", principal=ADMIN
        )

        async def replica_read() -> bool:
            r = await c.get(replica_health_url)
            return r.status_code == 200 and int(r.json()["org_position"]) >= size

        await wait_for(replica_read, within=120, what=f"replica read org.events ({size} messages)")
