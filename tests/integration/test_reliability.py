"""Nothing lost, nothing duplicated — against the real broker and store.

A consumer process is killed (``os._exit``) after storing its effect and before
committing the offset, and the input is also delivered twice; after restart the
effect exists exactly once and the outbox event is published. A malformed
message goes to the dead-letter topic with its reason, and consumption goes on.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from shared.contract.envelope import Envelope
from shared.contract.topics import dead_letter
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID, create_topics
from tests.integration.crashy_consumer import SampleAdded, SampleCounted
from tests.integration.helpers import kafka_auth, read_all, wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def start_consumer(settings: CommonSettings, *, crash: bool) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "IT_RUN_ID": RUN_ID,
        "DB_PREFIX": f"it_{RUN_ID}",
        "CRASH_AFTER_EFFECT": "1" if crash else "0",
        "CONSUMER_RETRY_BASE_SECONDS": "0.05",
        "KAFKA_USERNAME": "admin",  # its it.* topics belong to no service principal
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crashy_consumer"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_crash_between_effect_and_commit_and_duplicates_yield_one_effect(
    settings: CommonSettings, mongo: AsyncMongoClient[dict[str, object]]
) -> None:
    topic = SampleAdded.topic
    await create_topics(settings.kafka_bootstrap, [topic, dead_letter(topic), SampleCounted.topic])
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **kafka_auth()
    )
    await producer.start()
    counters = mongo[f"it_{RUN_ID}_crashy"]["counters"]
    try:
        first = Envelope.wrap(SampleAdded(counter_id="c1", amount=5), source="it")
        await producer.send_and_wait(topic, first.to_bytes(), key=b"c1")
        await producer.send_and_wait(topic, first.to_bytes(), key=b"c1")  # a duplicate delivery

        crashing = start_consumer(settings, crash=True)
        try:
            code = await asyncio.to_thread(crashing.wait, 90)
        finally:
            if crashing.poll() is None:
                crashing.kill()
        out = crashing.stdout.read() if crashing.stdout else ""
        assert code == 3, f"consumer should have crashed after the effect, got {code}: {out[-2000:]}"
        doc = await counters.find_one({"_id": "c1"})
        assert doc is not None and doc["state"] == {"total": 5}, "the effect was stored before the crash"

        survivor = start_consumer(settings, crash=False)
        try:
            sentinel = Envelope.wrap(SampleAdded(counter_id="c1", amount=100), source="it")
            await producer.send_and_wait(topic, sentinel.to_bytes(), key=b"c1")

            async def total() -> int | None:
                d = await counters.find_one({"_id": "c1"})
                return int(d["state"]["total"]) if d and d["state"]["total"] >= 105 else None  # type: ignore[index]

            assert await wait_for(total, what="sentinel processed") == 105  # not 110/115: no duplicate effect

            await producer.send_and_wait(topic, b'{"type": "it.sample_added", "payload": ', key=b"c1")
            after = Envelope.wrap(SampleAdded(counter_id="c1", amount=1000), source="it")
            await producer.send_and_wait(topic, after.to_bytes(), key=b"c1")

            async def total_after() -> int | None:
                d = await counters.find_one({"_id": "c1"})
                return int(d["state"]["total"]) if d and d["state"]["total"] >= 1105 else None  # type: ignore[index]

            assert await wait_for(total_after, what="consumer kept going after the malformed message") == 1105

            dead = await read_all(settings.kafka_bootstrap, dead_letter(topic), until=1)
            assert len(dead) == 1
            key, value, headers = dead[0]
            assert key == b"c1"
            assert value == b'{"type": "it.sample_added", "payload": '
            assert headers["dv-dlq-reason"].decode().startswith("malformed: envelope is not valid")
            assert headers["dv-dlq-original-topic"].decode() == topic
            assert headers["dv-dlq-reason-vi"].decode().startswith("Thông điệp sai định dạng")
            assert headers["dv-dlq-service"] == b"crashy"

            async def outbox_empty() -> bool:
                d = await counters.find_one({"_id": "c1"})
                return bool(d) and d["outbox"] == []  # type: ignore[index]

            await wait_for(outbox_empty, what="outbox drained")
            counted = await read_all(settings.kafka_bootstrap, SampleCounted.topic, until=3)
            totals = [Envelope.from_bytes(v).payload["total"] for _, v, _ in counted]
            assert set(totals) == {5, 105, 1105}, totals  # each effect published (at least once)
            causes = {Envelope.from_bytes(v).causation_id for _, v, _ in counted}
            assert first.id in causes
        finally:
            survivor.terminate()
            await asyncio.to_thread(survivor.wait, 30)
        assert survivor.returncode == 0, "graceful shutdown on SIGTERM"
    finally:
        await producer.stop()
