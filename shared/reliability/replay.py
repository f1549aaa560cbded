"""Dead-letter replay: a service handles its own dead letters again, once each, on an operator's word.

Why: a message dead-lettered for a reason that has since gone away (a unit registered late, a bug
fixed, a policy published) would otherwise stay lost. Only the service that dead-lettered a record
(``dv-dlq-service``) replays it, through the same :class:`ReliableConsumer` as the first time — the
same authentication, limits, idempotent handlers — so a replay is an ordinary, at-least-once
delivery: processed, skipped, or dead-lettered again with the new reason.

Each replay is recorded in the service's ``dead_letter_replays`` collection under the dead letter's
coordinates (``<dlq topic>:<partition>:<offset>``): asking twice replays once. The original comes
from the dead-letter record itself or, when it was too big to travel with its reasons
(``dv-dlq-stored-as``), from the service's ``dead_letters`` collection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.contract.topics import dead_letter
from shared.kafka_auth import aiokafka_kwargs
from shared.reliability.catchup import partitions_of
from shared.reliability.consumer import Delivery, ReliableConsumer, delivery_of
from shared.settings import CommonSettings

log = logging.getLogger("shared.replay")


@dataclass(frozen=True)
class Replayed:
    dead_letter: str
    """``<dlq topic>:<partition>:<offset>``."""
    outcome: str
    """processed | skipped | dead_lettered (again, with a new reason) | already_replayed | not_ours | unknown"""
    detail: str = ""


class DeadLetterReplay:
    def __init__(
        self,
        service: str,
        consumers: Mapping[str, ReliableConsumer],
        settings: CommonSettings,
        principal: str,
        *,
        replays: AsyncCollection[dict[str, Any]],
        parked: AsyncCollection[dict[str, Any]],
    ) -> None:
        self.service = service
        self.consumers = consumers
        """Original topic → the consumer that handles it in this service (the runtime's live map)."""
        self.settings = settings
        self.principal = principal
        self.replays = replays
        self.parked = parked

    @property
    def dead_letter_topics(self) -> list[str]:
        return [dead_letter(t) for t in self.consumers]

    async def _client(self) -> AIOKafkaConsumer:
        kafka = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            **aiokafka_kwargs(self.settings, self.principal),
        )
        await kafka.start()
        return kafka

    async def one(self, dlq_topic: str, partition: int, offset: int, *, by: str) -> Replayed:
        """Replay the dead letter at these coordinates."""
        name = f"{dlq_topic}:{partition}:{offset}"
        if dlq_topic not in self.dead_letter_topics:
            return Replayed(name, "not_ours", f"{self.service} does not consume {dlq_topic[:-4]}")
        kafka = await self._client()
        try:
            tp = TopicPartition(dlq_topic, partition)
            if tp not in await partitions_of(kafka, dlq_topic):
                return Replayed(name, "unknown", "no such partition")
            kafka.assign([tp])
            end = (await kafka.end_offsets([tp]))[tp]
            if offset >= end:
                return Replayed(name, "unknown", "no record at this offset")
            kafka.seek(tp, offset)
            batch = await kafka.getmany(tp, timeout_ms=5000, max_records=1)
            records = [r for r in batch.get(tp, []) if r.offset == offset]
            if not records:
                return Replayed(name, "unknown", "no record at this offset (removed by retention?)")
            return await self._replay(records[0], by=by)
        finally:
            await kafka.stop()

    async def by_reason(self, contains: str, *, by: str, limit: int = 1000) -> list[Replayed]:
        """Replay every dead letter of this service whose reason contains ``contains``."""
        out: list[Replayed] = []
        kafka = await self._client()
        try:
            tps = [tp for t in self.dead_letter_topics for tp in await partitions_of(kafka, t)]
            if not tps:
                return out
            kafka.assign(tps)
            await kafka.seek_to_beginning(*tps)
            ends = await kafka.end_offsets(tps)
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining and len(out) < limit:
                batch = await kafka.getmany(*remaining, timeout_ms=2000, max_records=500)
                if not batch:
                    break
                for tp, records in batch.items():
                    for record in records:
                        h = delivery_of(record).headers
                        if h.get("dv-dlq-service") == self.service and contains in h.get("dv-dlq-reason", ""):
                            out.append(await self._replay(record, by=by))
                        if record.offset + 1 >= ends[tp]:
                            remaining.discard(tp)
        finally:
            await kafka.stop()
        return out

    async def _replay(self, record: Any, *, by: str) -> Replayed:
        name = f"{record.topic}:{record.partition}:{record.offset}"
        h = delivery_of(record).headers
        if h.get("dv-dlq-service") != self.service:
            return Replayed(name, "not_ours", f"dead-lettered by {h.get('dv-dlq-service') or 'unknown'}")
        original_topic = h.get("dv-dlq-original-topic", record.topic[:-4])
        consumer = self.consumers.get(original_topic)
        if consumer is None or "dv-dlq-original-offset" not in h:
            return Replayed(
                name, "not_ours", "no original message to handle again (an isolated outbox envelope?)"
            )
        value = record.value or b""
        stored_as = h.get("dv-dlq-stored-as")
        if stored_as and not value:
            kept = await self.parked.find_one({"_id": stored_as.rsplit("/", 1)[1]})
            if kept is None:
                return Replayed(name, "unknown", f"original not found at {stored_as}")
            value = bytes(kept["value"])
        try:
            await self.replays.insert_one({"_id": name, "by": by, "at": datetime.now(UTC), "outcome": None})
        except DuplicateKeyError:
            done = await self.replays.find_one({"_id": name})
            return Replayed(name, "already_replayed", str((done or {}).get("outcome") or ""))
        original_ts = h.get("dv-dlq-original-timestamp")
        delivery = Delivery(
            topic=original_topic,
            partition=int(h.get("dv-dlq-original-partition", record.partition)),
            offset=int(h["dv-dlq-original-offset"]),
            key=record.key,
            value=value,
            headers={k: v for k, v in h.items() if not k.startswith("dv-dlq-")},
            timestamp_ms=int(original_ts) if original_ts and original_ts.isdigit() else record.timestamp,
        )
        result = await consumer.handle(delivery)
        await self.replays.update_one({"_id": name}, {"$set": {"outcome": result.value}})
        log.info(
            "dead letter replayed",
            extra={"who": by, "what": name, "why": h.get("dv-dlq-reason", "")[:200], "outcome": result.value},
        )
        return Replayed(name, result.value)
