"""A store outage longer than the retry budget pauses the consumer; nothing good is dead-lettered.

Measured before (issue "No message wedges", item 3): an outage over ~28 s dead-lettered good
messages (5 attempts, each waiting out the 5 s server selection). Here a private document store is
SIGKILLed while a message is being handled, with a budget of 2 attempts, and restarted on the same
data 12 s later: the handler's write happens once, after the restart, and no dead letter is sent;
while the store is away the consumer reports why it is paused (what ``/ready`` shows).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from shared.contract.envelope import Envelope, Event
from shared.reliability.consumer import Delivery, ReliableConsumer, Result
from tests.integration.services import REPO, free_port
from tests.unit.shared.sample_events import SampleHappened

pytestmark = pytest.mark.integration

SERVER = REPO / ".cache" / "docstore" / "venv" / "bin" / "secantusd-py"


def start_store(port: int, data: Path, conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(str(SERVER), "--config", str(conf), "--host", "127.0.0.1", "--port", str(port)),
            *("--storage-path", str(data), "--log-level", "WARNING", "--sync-on-commit"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_up(url: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url, serverSelectionTimeoutMS=500)
    try:
        for _ in range(120):
            try:
                await client.admin.command("ping")
                return
            except Exception:
                await asyncio.sleep(0.25)
        raise AssertionError("private store did not start")
    finally:
        await client.close()


async def test_a_store_killed_mid_message_pauses_the_consumer_and_the_message_is_processed_after(
    tmp_path: Path,
) -> None:
    if not SERVER.exists():
        pytest.fail(f"{SERVER} missing: run infra/up.sh")
    port, data, conf = free_port(), tmp_path / "data", tmp_path / "empty.toml"
    conf.write_text("", encoding="utf-8")
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    store = start_store(port, data, conf)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
    )
    effects = client["outage"]["effects"]
    dead: list[dict[str, str]] = []
    try:
        await wait_up(url)
        await effects.insert_one({"_id": "warm-up"})

        async def handler(env: Envelope, event: Event) -> None:
            await effects.update_one({"_id": env.id}, {"$inc": {"applied": 1}}, upsert=True)

        async def dlq(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
            dead.append(headers)

        consumer = ReliableConsumer(
            service="outage-test",
            handlers={"test.sample_happened": handler},
            publish_raw=dlq,
            max_attempts=2,  # the old behaviour would dead-letter within a few seconds
            retry_base_seconds=0.05,
            retry_max_seconds=0.1,
            infra_backoff_max_seconds=1.0,
        )
        os.killpg(store.pid, signal.SIGKILL)  # the store dies: no goodbye, no flush
        store.wait(10)
        env = Envelope.wrap(SampleHappened(sample_id=f"s-{uuid.uuid4().hex[:6]}", amount=1), source="it")
        delivery = Delivery(
            topic="test.samples", partition=0, offset=1, key=b"k", value=env.to_bytes(), headers={}
        )
        handling = asyncio.create_task(consumer.handle(delivery))
        await asyncio.sleep(12)
        assert not handling.done() and dead == []
        assert consumer.paused and "ServerSelectionTimeoutError" in consumer.paused
        store = start_store(port, data, conf)  # back, on the same data
        result = await asyncio.wait_for(handling, 60)
        assert result is Result.PROCESSED and dead == [] and consumer.paused is None
        doc = await effects.find_one({"_id": env.id})
        assert doc is not None and doc["applied"] == 1
        assert await effects.find_one({"_id": "warm-up"}) is not None  # acknowledged before the kill: kept
    finally:
        await client.close()
        if store.poll() is None:
            os.killpg(store.pid, signal.SIGKILL)
            store.wait(10)
