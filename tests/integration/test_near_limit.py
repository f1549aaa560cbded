"""Near-limit records on the real broker and store: nothing wedges (issue "No message wedges" 1 and 2).

1. A record of ~1,048,000 bytes fits the broker but not its own dead letter (the original plus the
   ``dv-dlq-*`` headers): the consumer used to retry that publish for ever and never commit. Now it
   is refused as too large at the entrance, its original is kept in the service's store and the
   dead-letter topic gets the reasons with a reference — the consumer moves on.
2. An envelope the broker can never take used to abort every relay pass, so nothing stored after
   it reached Kafka. Now it is isolated (kept in ``outbox_failed`` with the reason, reported on the
   dead-letter topic) and the relay publishes everything else.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contract import topics
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import Article, DecisionDrafted, DocType
from shared.reliability.catchup import end_offsets
from shared.reliability.consumer import Delivery, Result
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.integration.helpers import kafka_auth

pytestmark = pytest.mark.integration

NEAR_LIMIT = 1_048_000


async def ends(topic: str) -> dict[TopicPartition, int]:
    c = AIOKafkaConsumer(bootstrap_servers=CommonSettings().kafka_bootstrap, **kafka_auth())
    await c.start()
    try:
        return await end_offsets(c, topic)
    finally:
        await c.stop()


async def read_from(start: dict[TopicPartition, int]) -> list[Any]:
    c = AIOKafkaConsumer(bootstrap_servers=CommonSettings().kafka_bootstrap, **kafka_auth())
    await c.start()
    out: list[Any] = []
    try:
        c.assign(list(start))
        for tp, offset in start.items():
            c.seek(tp, offset)
        for _ in range(6):
            batch = await c.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend(records)
    finally:
        await c.stop()
    return out


def drafted(decision_id: str, text_bytes: int) -> Envelope:
    fact = DecisionDrafted(
        decision_id=decision_id,
        seq=1,
        occurred_at=datetime.now(UTC),
        issuer_unit_id="kg.ubnd",
        doc_type=DocType.DECISION,
        title="Quyết định rất dài",
        articles=(Article(article_id="d1", text="x" * text_bytes),),
    )
    return Envelope.wrap(fact, source="tasks")


async def test_a_near_limit_record_is_dead_lettered_by_reference_and_the_consumer_moves_on(
    tasks_runtime: ServiceRuntime,
) -> None:
    consumer = tasks_runtime._consumer({}, None)
    dlq_before = await ends(topics.dead_letter(topics.DECISION_REQUESTS))
    offset = 10_000_000 + int(uuid.uuid4().int % 1_000_000)  # coordinates only: nothing is read here
    value = b'{"x": "' + b"y" * (NEAR_LIMIT - 9) + b'"}'
    result = await consumer.handle(
        Delivery(
            topic=topics.DECISION_REQUESTS,
            partition=0,
            offset=offset,
            key=b"k",
            value=value,
            headers={"dv-signature": "s" * 200},
        )
    )
    assert result is Result.DEAD_LETTERED
    records = [
        r
        for r in await read_from(dlq_before)
        if dict(r.headers).get("dv-dlq-original-offset") == str(offset).encode()
    ]
    assert len(records) == 1 and records[0].value in (b"", None)
    headers = {k: v.decode() for k, v in records[0].headers}
    assert headers["dv-dlq-reason"].startswith(f"too_large: {len(value)} bytes")
    assert headers["dv-dlq-original-bytes"] == str(len(value))
    stored_id = headers["dv-dlq-stored-as"].rsplit("/", 1)[1]
    kept = await tasks_runtime.db["dead_letters"].find_one({"_id": stored_id})
    assert kept is not None and bytes(kept["value"]) == value and kept["reason"].startswith("too_large")


async def test_the_relay_isolates_an_envelope_the_broker_cannot_take_and_publishes_the_rest(
    tasks_runtime: ServiceRuntime,
) -> None:
    store = tasks_runtime.store("decisions")
    await store.ensure_indexes()
    big_id, small_id = f"limit-big-{uuid.uuid4().hex[:6]}", f"limit-ok-{uuid.uuid4().hex[:6]}"
    big, small = drafted(big_id, NEAR_LIMIT), drafted(small_id, 100)
    await store.save(big_id, expected_version=0, state={"decision_id": big_id}, outbox=[big])
    await store.save(small_id, expected_version=0, state={"decision_id": small_id}, outbox=[small])
    facts_before = await ends(topics.DECISION_EVENTS)
    dlq_before = await ends(topics.dead_letter(topics.DECISION_EVENTS))

    await tasks_runtime.relay.run_once()
    assert await tasks_runtime.relay.run_once() == 0  # nothing left, nothing stuck
    assert tasks_runtime.relay.isolated >= 1 and tasks_runtime.relay.paused is None

    published = [r.key for r in await read_from(facts_before)]
    assert small_id.encode() in published and big_id.encode() not in published
    doc = await store.collection.find_one({"_id": big_id})
    assert doc is not None and doc["outbox"] == [] and doc["outbox_pending"] is False
    assert [f["envelope"]["id"] for f in doc["outbox_failed"]] == [big.id]
    assert "MessageSizeTooLarge" in doc["outbox_failed"][0]["reason"]
    reports = [r for r in await read_from(dlq_before) if r.key == big_id.encode()]
    assert len(reports) == 1
    headers = {k: v.decode() for k, v in reports[0].headers}
    assert headers["dv-event-id"] == big.id and headers["dv-dlq-stored-as"].endswith(
        f"{big_id}#outbox_failed/{big.id}"
    )
