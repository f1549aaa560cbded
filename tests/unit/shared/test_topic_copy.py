"""A per-process topic copy: offset-based catch-up, every record through the reliable consumer."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition

from shared.contract.envelope import Envelope, Event
from shared.reliability.consumer import ReliableConsumer
from shared.reliability.topic_copy import TopicCopy
from shared.settings import CommonSettings
from tests.unit.shared.sample_events import SampleHappened


class FakeKafka:
    """What the copy asks of its client after start: batches of records, then nothing."""

    def __init__(self, batches: list[dict[TopicPartition, list[Any]]]) -> None:
        self.batches = batches

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        if self.batches:
            return self.batches.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}


def record(partition: int, offset: int, value: bytes) -> Any:
    return SimpleNamespace(
        topic="org.events", partition=partition, offset=offset, key=b"k", value=value, headers=[], timestamp=0
    )


def sample(amount: int) -> bytes:
    return Envelope.wrap(SampleHappened(sample_id="s", amount=amount), source="t").to_bytes()


async def test_the_copy_opens_when_every_partition_reached_its_end_even_past_refused_records() -> None:
    seen: list[int] = []
    dead: list[bytes] = []

    async def handler(env: Envelope, event: Event) -> None:
        assert isinstance(event, SampleHappened)
        seen.append(event.amount)

    async def dlq(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        dead.append(value)

    consumer = ReliableConsumer(service="t", handlers={"test.sample_happened": handler}, publish_raw=dlq)
    copy = TopicCopy("org.events", consumer, CommonSettings(), "t")
    p0, p2 = TopicPartition("org.events", 0), TopicPartition("org.events", 2)
    copy.targets = {0: 3, 2: 1}
    copy.positions = {0: 0, 1: 5, 2: 0}  # partition 1 has nothing to read
    copy._kafka = FakeKafka(  # type: ignore[assignment]
        [
            {p0: [record(0, 0, sample(1)), record(0, 1, b"{not an envelope")]},
            {p0: [record(0, 2, sample(3))], p2: [record(2, 0, sample(4))]},
        ]
    )
    copy._check()
    assert not copy.is_open
    task = asyncio.create_task(copy._loop())
    await asyncio.wait_for(copy.wait(), 5)
    task.cancel()
    assert seen == [1, 3, 4] and len(dead) == 1  # the malformed one is dead-lettered, not counted
    assert copy.position == 3 + 5 + 1 and copy.health()["caught_up"] is True


async def test_an_empty_topic_is_caught_up_at_once() -> None:
    async def dlq(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        raise AssertionError

    copy = TopicCopy(
        "org.events", ReliableConsumer(service="t", handlers={}, publish_raw=dlq), CommonSettings(), "t"
    )
    copy._check()
    assert copy.is_open


async def test_the_copy_reports_its_distance_to_the_end_of_each_partition() -> None:
    async def dlq(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        raise AssertionError

    copy = TopicCopy(
        "org.events", ReliableConsumer(service="t", handlers={}, publish_raw=dlq), CommonSettings(), "t"
    )
    assert await copy.lag() == {}  # not started: nothing asked of the broker

    class Ends:
        async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
            return {tp: 10 * (tp.partition + 1) for tp in tps}

    copy._kafka = Ends()  # type: ignore[assignment]
    copy.positions = {0: 10, 1: 12, 2: 0}
    assert await copy.lag() == {0: (10, 10), 1: (20, 12), 2: (30, 0)}
