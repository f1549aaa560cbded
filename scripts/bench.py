"""Benchmark of the reliability pipeline on the real broker and store. Prints figures.

What it measures (one process, loopback servers):
1. store: ``apply`` (load → decide → atomic save with outbox and inbox) per second;
2. pipeline: requests published to Kafka → reliable consumer → atomic save with
   outbox → relay → Kafka, end to end: throughput and latency percentiles;
3. relay: envelopes published per second from a backlog.

Usage: ./dev bench [--n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import ClassVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.contract.envelope import Envelope, Event
from shared.kafka_auth import aiokafka_kwargs
from shared.reliability.unit_of_work import Change, apply
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from shared.store import Stored

RUN = uuid.uuid4().hex[:8]


class BenchRequested(Event):
    """Benchmark input."""

    event_type: ClassVar[str] = "bench.requested"
    topic: ClassVar[str] = f"bench.requests.{RUN}"
    subject_field: ClassVar[str] = "item_id"
    item_id: str
    sent_ns: int


class BenchDone(Event):
    """Benchmark output, published through the outbox."""

    event_type: ClassVar[str] = "bench.done"
    topic: ClassVar[str] = f"bench.done.{RUN}"
    subject_field: ClassVar[str] = "item_id"
    item_id: str
    sent_ns: int


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


async def main(n: int, keys: int) -> None:
    # the benchmark's topics belong to no service: everything here connects as admin
    settings = CommonSettings(DB_PREFIX=f"bench_{RUN}", KAFKA_USERNAME="admin")
    auth = aiokafka_kwargs(settings, "admin")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **auth)
    await admin.start()
    await admin.create_topics(
        [
            NewTopic(t, num_partitions=3, replication_factor=1)
            for t in (BenchRequested.topic, BenchDone.topic, BenchRequested.topic + ".dlq")
        ]
    )
    await admin.close()

    rt = ServiceRuntime("bench", settings)
    items = rt.store("items")

    # 1. store
    t0 = time.perf_counter()
    for i in range(n):
        await apply(
            items,
            f"direct-{i % keys}",
            f"m{i}",
            lambda cur: Change(state={"n": (cur.state["n"] if cur else 0) + 1}),
        )
    dt = time.perf_counter() - t0
    print(f"store  : {n} apply() calls on {keys} aggregates in {dt:.2f} s = {n / dt:,.0f} ops/s")

    # 2. pipeline
    async def on_request(env: Envelope, event: Event) -> None:
        assert isinstance(event, BenchRequested)

        def decide(cur: Stored | None) -> Change:
            out = rt.emitter.wrap(BenchDone(item_id=event.item_id, sent_ns=event.sent_ns), env)
            return Change(state={"n": (cur.state["n"] if cur else 0) + 1}, outbox=[out])

        await apply(items, event.item_id, env.id, decide, on_saved=rt.relay.wake)

    rt.subscribe(BenchRequested.topic, {BenchRequested.event_type: on_request}, group=f"bench-{RUN}")
    await rt.start()
    out = AIOKafkaConsumer(
        BenchDone.topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", **auth
    )
    await out.start()
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **auth
    )
    await producer.start()
    t0 = time.perf_counter()
    for i in range(n):
        env = Envelope.wrap(BenchRequested(item_id=f"p-{i % keys}", sent_ns=time.time_ns()), source="bench")
        await producer.send(env.topic, env.to_bytes(), key=env.subject.encode())
    await producer.flush()
    latencies: list[float] = []
    while len(latencies) < n:
        batch = await out.getmany(timeout_ms=1000)
        now = time.time_ns()
        for records in batch.values():
            for r in records:
                latencies.append((now - Envelope.from_bytes(r.value).payload["sent_ns"]) / 1e6)
        if time.perf_counter() - t0 > 600:
            break
    dt = time.perf_counter() - t0
    print(
        f"pipeline: {len(latencies)}/{n} requests end to end in {dt:.2f} s = {len(latencies) / dt:,.0f} msg/s; "
        f"latency ms p50={statistics.median(latencies):.0f} p95={pct(latencies, 95):.0f} p99={pct(latencies, 99):.0f}"
    )
    await producer.stop()
    await out.stop()
    await rt.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--keys", type=int, default=50)
    a = ap.parse_args()
    asyncio.run(main(a.n, a.keys))
