"""Two relays over one database publish each envelope once (issue "No message wedges", item 8).

Measured before: two instances' relays published the same pending documents with no claim — 16 %
of decision events went out twice. Here two :class:`OutboxRelay` instances (two processes' worth:
different owners) share a real store collection and run concurrently over 150 documents; every
envelope is published exactly once. A document claimed by an instance that died is left alone until
its lease expires, then taken over. (The broker is not needed to prove the claim: the relays'
publish records what they would send.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient, monitoring

from shared.contract.envelope import Envelope
from shared.reliability.outbox import OutboxRelay
from shared.settings import CommonSettings
from shared.store import AggregateStore
from tests.integration.conftest import RUN_ID
from tests.unit.shared.sample_events import SampleHappened

pytestmark = pytest.mark.integration


async def test_two_relays_publish_each_envelope_once_and_take_over_an_expired_claim(
    settings: CommonSettings,
) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    db = client[f"it_claims_{RUN_ID}_{uuid.uuid4().hex[:4]}"]
    store = AggregateStore.of(db, "aggregates")  # type: ignore[arg-type]
    try:
        await store.ensure_indexes()
        expected: list[str] = []
        for i in range(150):
            envs = [Envelope.wrap(SampleHappened(sample_id=f"a{i}", amount=n), source="it") for n in range(2)]
            expected += [e.id for e in envs]
            await store.save(f"a{i}", expected_version=0, state={"i": i}, outbox=envs)
        sent: Counter[str] = Counter()

        async def publish(env: Envelope) -> None:
            await asyncio.sleep(0.001)  # a broker round trip: lets the other relay interleave
            sent[env.id] += 1

        one = OutboxRelay([store.collection], publish, batch=20, owner="instance-1")
        two = OutboxRelay([store.collection], publish, batch=20, owner="instance-2")
        for _ in range(20):
            await asyncio.gather(one.run_once(), two.run_once())
            if await store.collection.count_documents({"outbox_pending": True}) == 0:
                break
        assert set(sent) == set(expected) and max(sent.values()) == 1
        assert one.published + two.published == len(expected)

        # a document an instance claimed just before it died
        late = Envelope.wrap(SampleHappened(sample_id="late", amount=1), source="it")
        await store.save("late", expected_version=0, state={}, outbox=[late])
        until = datetime.now(UTC) + timedelta(seconds=15)
        await store.collection.update_one(
            {"_id": "late"}, {"$set": {"outbox_claim": "instance-dead", "outbox_claim_until": until}}
        )
        assert await two.run_once() == 0 and late.id not in sent  # its lease still runs
        await store.collection.update_one(
            {"_id": "late"}, {"$set": {"outbox_claim_until": datetime.now(UTC) - timedelta(seconds=1)}}
        )
        assert await two.run_once() == 1 and sent[late.id] == 1  # expired: taken over
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_document_that_stays_pending_does_not_starve_the_others(settings: CommonSettings) -> None:
    """``./dev chaos`` left 46 sent deliveries unpublished for minutes behind a document the relay took
    again and again in one pass (batch of 100 claims on one document). Here the first document in
    the collection stays pending whatever the relay does (a save adds to it during its turn); the
    other documents are published in the same pass, and a pending document with no outbox at all
    (left by a crash) is cleared."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    db = client[f"it_sticky_{RUN_ID}_{uuid.uuid4().hex[:4]}"]
    store = AggregateStore.of(db, "aggregates")  # type: ignore[arg-type]
    try:
        await store.collection.insert_one({"_id": "0-empty", "version": 1, "outbox_pending": True})
        sticky = Envelope.wrap(SampleHappened(sample_id="sticky", amount=0), source="it")
        await store.save("1-sticky", expected_version=0, state={}, outbox=[sticky])
        others: list[str] = []
        for i in range(5):
            env = Envelope.wrap(SampleHappened(sample_id=f"o{i}", amount=i), source="it")
            others.append(env.id)
            await store.save(f"2-other-{i}", expected_version=0, state={}, outbox=[env])
        sent: Counter[str] = Counter()

        async def publish(env: Envelope) -> None:
            sent[env.id] += 1
            if env.subject == "sticky":  # each turn of the sticky document adds to it
                again = Envelope.wrap(SampleHappened(sample_id="sticky", amount=sent[env.id]), source="it")
                await store.collection.update_one(
                    {"_id": "1-sticky"}, {"$push": {"outbox": again.model_dump(mode="json")}}
                )

        relay = OutboxRelay([store.collection], publish, batch=100, owner="one")
        await relay.run_once()
        assert all(sent[e] == 1 for e in others)  # in the first pass, despite the sticky document
        assert sum(1 for e in sent if e not in others) <= 1  # the sticky one had one turn
        assert await store.collection.count_documents({"_id": "0-empty", "outbox_pending": True}) == 0
    finally:
        await client.drop_database(db.name)
        await client.close()


class _Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_batch_costs_a_few_store_operations_and_is_published_concurrently_in_order_per_document(
    settings: CommonSettings,
) -> None:
    """Issue "Throughput": the relay cost 3 store operations per document and awaited each send, so
    ``./dev chaos`` saw notify's outbox fall 600 documents behind. A pass over 60 documents now costs
    a claim read, one claim write and one bulk clean-up; the documents' sends overlap, and each
    document's envelopes still go out in the order they were saved."""
    commands = _Commands()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_url, tz_aware=True, event_listeners=[commands]
    )
    db = client[f"it_batch_{RUN_ID}_{uuid.uuid4().hex[:4]}"]
    store = AggregateStore.of(db, "aggregates")  # type: ignore[arg-type]
    try:
        order: dict[str, list[str]] = {}
        for i in range(60):
            envs = [Envelope.wrap(SampleHappened(sample_id=f"b{i}", amount=n), source="it") for n in range(3)]
            order[f"b{i}"] = [e.id for e in envs]
            await store.save(f"b{i}", expected_version=0, state={}, outbox=envs)
        seen: dict[str, list[str]] = {}
        in_flight = peak = 0

        async def publish(env: Envelope) -> None:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.002)  # a broker round trip
            in_flight -= 1
            seen.setdefault(env.subject, []).append(env.id)

        relay = OutboxRelay([store.collection], publish, batch=100, owner="one")
        commands.names.clear()
        assert await relay.run_once() == 180
        assert seen == order  # every envelope once, in order per document
        assert peak > 1  # documents overlap
        assert len(commands.names) <= 3, commands.names  # find, update (claim), update (bulk clean-up)
        assert await store.collection.count_documents({"outbox_pending": True}) == 0
        assert await relay.run_once() == 0
    finally:
        await client.drop_database(db.name)
        await client.close()
