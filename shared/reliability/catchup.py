"""End offsets of a topic: the barrier a copy of it must reach (see :mod:`shared.reliability.topic_copy`).

``topic_size`` lets the tests and the demo wait until every service's copy has read what is on the
topic now (compare with the ``position`` of the copy in the service's ``/health``).
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.kafka_auth import aiokafka_kwargs
from shared.settings import CommonSettings

log = logging.getLogger("shared.catchup")


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``, in order, through a started consumer (asking the broker on first
    contact, when the client has no metadata yet)."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(partitions)]


async def end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    """End offset of every partition of ``topic``, through a started consumer."""
    tps = await partitions_of(consumer, topic)
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
