"""A per-process copy of a whole topic: every partition, from its beginning, in no consumer group.

Why: tasks, notify and reports keep the org registry in memory, built from ``org.events``. Read
through the service's consumer group, each record reaches *one* instance of the group, so with two
instances each copy missed what the other read (issue "No message wedges", item 8: tasks#1 stayed
at 288 events while tasks#2 had 289). A copy is per process, like Kafka Streams' global tables: each
process assigns itself every partition, reads from the beginning at start and keeps reading. No
offset is committed — the topic itself is the durable copy; duplicates are the handler's to ignore
(the org copy deduplicates by envelope id).

Readiness is offset-based: at start the end offset of every partition is recorded, and the copy is
*caught up* once its position has reached each of them — whether or not every record there was a
type the handlers know or could be applied (counting applied events against the topic size never
reaches a topic holding a record the copy refused).

Records go through a :class:`ReliableConsumer`, so a record the copy cannot apply is retried and
dead-lettered with its reason like any other; each instance reports it, under the service's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.kafka_auth import aiokafka_kwargs
from shared.reliability.catchup import partitions_of
from shared.reliability.consumer import ReliableConsumer, delivery_of
from shared.settings import CommonSettings

log = logging.getLogger("shared.topic_copy")


class TopicCopy:
    def __init__(
        self,
        topic: str,
        consumer: ReliableConsumer,
        settings: CommonSettings,
        principal: str,
        *,
        max_records: int = 500,
    ) -> None:
        self.topic = topic
        self.consumer = consumer
        self.settings = settings
        self.principal = principal
        self.max_records = max_records
        self.targets: dict[int, int] = {}
        """Partition → end offset at start: the copy is caught up once it has read up to these."""
        self.positions: dict[int, int] = {}
        """Partition → next offset to read."""
        self._open = asyncio.Event()
        self._kafka: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    # -- readiness ------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    async def wait(self) -> None:
        await self._open.wait()

    @property
    def position(self) -> int:
        """Sum of the next offsets to read over all partitions (compare with the topic's end offsets)."""
        return sum(self.positions.values())

    def _check(self) -> None:
        if self._open.is_set():
            return
        if all(self.positions.get(p, 0) >= end for p, end in self.targets.items()):
            log.info("copy caught up", extra={"topic": self.topic, "position": self.position})
            self._open.set()

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        kafka = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **aiokafka_kwargs(self.settings, self.principal),
        )
        await kafka.start()
        self._kafka = kafka
        tps = await partitions_of(kafka, self.topic)
        kafka.assign(tps)
        if tps:
            await kafka.seek_to_beginning(*tps)
            begins = await kafka.beginning_offsets(tps)
            ends = await kafka.end_offsets(tps)
            for tp in tps:
                self.positions[tp.partition] = begins[tp]
                if ends[tp] > begins[tp]:
                    self.targets[tp.partition] = ends[tp]
        log.info("copy targets", extra={"topic": self.topic, "targets": self.targets})
        self._check()
        self._task = asyncio.create_task(self._loop(), name=f"copy-{self.topic}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._kafka is not None:
            with contextlib.suppress(Exception):
                await self._kafka.stop()
            self._kafka = None

    async def _loop(self) -> None:
        assert self._kafka is not None
        while True:
            try:
                batch = await self._kafka.getmany(timeout_ms=1000, max_records=self.max_records)
            except asyncio.CancelledError:
                raise
            except Exception:  # the client reconnects by itself; a broker outage only pauses the copy
                log.exception("copy read failed; retrying", extra={"topic": self.topic})
                await asyncio.sleep(1.0)
                continue
            for tp, records in batch.items():
                for record in records:
                    await self.consumer.handle(delivery_of(record))
                    self.positions[tp.partition] = record.offset + 1
            self._check()

    async def lag(self) -> dict[int, tuple[int, int]]:
        """Partition → (end offset now, next offset to read): how far the copy is from the topic's end
        (asks the broker; empty before start)."""
        if self._kafka is None:
            return {}
        tps = [TopicPartition(self.topic, p) for p in sorted(self.positions)]
        ends = await self._kafka.end_offsets(tps) if tps else {}
        return {tp.partition: (ends.get(tp, 0), self.positions.get(tp.partition, 0)) for tp in tps}

    def health(self) -> dict[str, Any]:
        return {"topic": self.topic, "position": self.position, "caught_up": self.is_open}
