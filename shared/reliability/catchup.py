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

log = logging.getLogger("shared.catchup")


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

    async def snapshot(self, bootstrap: str) -> None:
        """Record the end offsets now, and what the group already committed."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=self.group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                await consumer._client.force_metadata_update()  # first contact: no metadata yet
                partitions = consumer.partitions_for_topic(self.topic) or set()
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            ends = await consumer.end_offsets(tps) if tps else {}
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
