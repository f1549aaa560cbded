"""Operators replay a dead letter on the real broker and store: once, by coordinates or by reason."""

from __future__ import annotations

import uuid

import pytest

from shared.contract import topics
from shared.contract.envelope import Envelope, Event
from shared.reliability.consumer import Delivery, Result
from shared.reliability.errors import PermanentError
from shared.runtime import ServiceRuntime
from tests.integration.test_near_limit import ends, read_from
from tests.unit.shared.sample_events import SampleHappened

pytestmark = pytest.mark.integration


async def test_a_dead_letter_is_replayed_once_after_its_cause_went_away(
    tasks_runtime: ServiceRuntime,
) -> None:
    refused = {"yes"}
    handled: list[str] = []

    async def handler(env: Envelope, event: Event) -> None:
        if refused:
            raise PermanentError("đơn vị chưa được đăng ký")
        handled.append(env.id)

    consumer = tasks_runtime._consumer({"test.sample_happened": handler}, None)
    tasks_runtime.consumers_by_topic[topics.WORKFLOW_REQUESTS] = consumer
    dlq = topics.dead_letter(topics.WORKFLOW_REQUESTS)
    before = await ends(dlq)
    env = Envelope.wrap(SampleHappened(sample_id=f"s-{uuid.uuid4().hex[:6]}", amount=1), source="it")
    marker = f"{uuid.uuid4().int % 10**9}"
    delivery = Delivery(
        topic=topics.WORKFLOW_REQUESTS,
        partition=0,
        offset=int(marker),
        key=b"k",
        value=env.to_bytes(),
        headers={},
    )
    assert await consumer.handle(delivery) is Result.DEAD_LETTERED
    [record] = [
        r for r in await read_from(before) if dict(r.headers).get("dv-dlq-original-offset") == marker.encode()
    ]

    replay = tasks_runtime.replay()
    refused.clear()  # the cause went away (the unit was registered)
    first = await replay.one(dlq, record.partition, record.offset, by="vanhanh")
    assert first.outcome == "processed" and handled == [env.id]
    again = await replay.one(dlq, record.partition, record.offset, by="vanhanh")
    assert again.outcome == "already_replayed" and handled == [env.id]
    by_reason = await replay.by_reason("chưa được đăng ký", by="vanhanh")
    mine = [r for r in by_reason if r.dead_letter == f"{dlq}:{record.partition}:{record.offset}"]
    assert [r.outcome for r in mine] == ["already_replayed"] and handled == [env.id]
    other = await replay.one(topics.dead_letter(topics.DECISION_EVENTS), 0, 0, by="vanhanh")
    assert other.outcome == "not_ours"  # tasks does not consume its own facts
    kept = await tasks_runtime.db["dead_letter_replays"].find_one({"_id": first.dead_letter})
    assert kept is not None and kept["by"] == "vanhanh" and kept["outcome"] == "processed"
