"""Wait until a local copy has caught up with its topic before acting on it.

Why: a service that keeps a replica of another service's facts (the org
registry in tasks and notify) must not answer requests from a stale copy — a
fresh instance joining a long topic would otherwise refuse valid requests
("unknown unit", "no policy in force") while it is still reading. At start-up
we take the topic's end offsets; the gate opens once the replica's consumer
has processed up to them (or its group had already committed past them).
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.kafka_auth import aiokafka_kwargs
from shared.settings import CommonSettings

log = logging.getLogger("shared.catchup")


async def end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    """End offset of every partition of ``topic``, through a started consumer."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # first contact: no metadata yet
        partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    return dict(await consumer.end_offsets(tps)) if tps else {}


async def topic_size(settings: CommonSettings, topic: str, *, principal: str) -> int:
    """Messages in ``topic`` now (sum of end offsets): a barrier for copies built from it.

    ``principal`` needs DESCRIBE on ``topic`` (the tests and the demo ask as ``admin``).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, **aiokafka_kwargs(settings, principal)
    )
    await consumer.start()
    try:
        return sum((await end_offsets(consumer, topic)).values())
    finally:
        await consumer.stop()


class CatchUp:
    def __init__(self, topic: str, group: str) -> None:
        self.topic = topic
        self.group = group
        self.targets: dict[int, int] = {}
        self.reached: set[int] = set()
        self._open = asyncio.Event()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    async def snapshot(self, settings: CommonSettings, principal: str) -> None:
        """Record the end offsets now, and what the group already committed.

        ``principal`` (the service's) needs DESCRIBE on the topic and on the group.
        """
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            **aiokafka_kwargs(settings, principal),
        )
        await consumer.start()
        try:
            ends = await end_offsets(consumer, self.topic)
            tps = sorted(ends, key=lambda tp: tp.partition)
            for tp in tps:
                end = ends.get(tp, 0)
                committed = await consumer.committed(tp)
                if end > 0 and (committed or 0) < end:
                    self.targets[tp.partition] = end
        finally:
            await consumer.stop()
        log.info("catch-up targets", extra={"topic": self.topic, "targets": self.targets})
        self._check()

    def observe(self, partition: int, offset: int) -> None:
        """Called after each processed record of the topic."""
        target = self.targets.get(partition)
        if target is not None and offset + 1 >= target:
            self.reached.add(partition)
            self._check()

    def _check(self) -> None:
        if not self._open.is_set() and set(self.targets) <= self.reached:
            log.info("caught up", extra={"topic": self.topic})
            self._open.set()

    async def wait(self) -> None:
        await self._open.wait()
