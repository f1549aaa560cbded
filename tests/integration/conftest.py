"""Integration tests run against the real Kafka broker and document store that
``infra/up.sh`` installs and starts (the test command does that first).

Each session gets its own database prefix and its own topic names, so runs do
not see each other's data even on a long-lived local broker.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.integration.helpers import kafka_auth

RUN_ID = os.environ.get("IT_RUN_ID") or uuid.uuid4().hex[:8]
os.environ["IT_RUN_ID"] = RUN_ID


def _reachable(hostport: str) -> bool:
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def settings() -> CommonSettings:
    s = CommonSettings()
    if not _reachable(s.kafka_bootstrap):
        pytest.fail(f"Kafka is not running at {s.kafka_bootstrap}: run infra/up.sh (the test command does)")
    mongo_host = s.mongo_url.split("//", 1)[1].split("/", 1)[0].split("?")[0]
    if not _reachable(mongo_host):
        pytest.fail(f"document store is not running at {mongo_host}: run infra/up.sh")
    return s


async def create_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_auth("admin"))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names if n not in existing
        ]
        if new:
            await admin.create_topics(new)
    finally:
        await admin.close()


@pytest.fixture
async def mongo(settings: CommonSettings) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def tasks_runtime(settings: CommonSettings) -> AsyncIterator[ServiceRuntime]:
    """A bare runtime on Kafka as the ``tasks`` principal (it writes tasks.* and their dead letters),
    with its own database; its broker is started, nothing is subscribed."""
    s = settings.model_copy(
        update={"db_prefix": f"it_rt_{RUN_ID}_{uuid.uuid4().hex[:4]}", "kafka_username": "tasks"}
    )
    rt = ServiceRuntime("tasks", s)
    await rt.broker.start()
    try:
        yield rt
    finally:
        await rt.broker.stop()
        await rt.mongo.close()
