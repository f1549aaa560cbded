"""Spans only for real work: a background pass that finds nothing to do exports no span.

Measured before: 95 % of the spans in the demo's TRACE_FILE were the PyMongo spans of background
polls (outbox relay every 0.5 s, delivery worker every second, timer pass), each its own trace.
The store is stood in for by a collection that reports its commands to PyMongo's real
OpenTelemetry command listener, as the instrumented driver does.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from opentelemetry import trace
from opentelemetry.instrumentation.pymongo import CommandTracer
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.notify.domain.delivery import RetryPolicy
from services.notify.worker import DeliveryWorker
from shared.contract.envelope import Envelope, Event
from shared.reliability.consumer import ReliableConsumer
from shared.reliability.outbox import OutboxRelay
from shared.reliability.topic_copy import TopicCopy
from shared.settings import CommonSettings
from shared.telemetry import BackgroundPass
from tests.unit.shared.sample_events import SampleHappened

_EXPORTER = InMemorySpanExporter()


def _provider() -> TracerProvider:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    return provider


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = _provider()
    if not getattr(provider, "_dv_test_exporter", False):
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        provider._dv_test_exporter = True  # type: ignore[attr-defined]
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


_ids = itertools.count(1)


class Mongo:
    """Reports every command to PyMongo's OpenTelemetry listener, like the instrumented driver."""

    def __init__(self) -> None:
        self.listener = CommandTracer(trace.get_tracer("test.pymongo"))

    def command(self, name: str, collection: str) -> None:
        event = SimpleNamespace(
            command_name=name,
            database_name="dv_test",
            command={name: collection},
            request_id=next(_ids),
            connection_id=("127.0.0.1", 27017),
            operation_id=None,
        )
        self.listener.started(event)  # type: ignore[arg-type]
        self.listener.succeeded(event)  # type: ignore[arg-type]


class OutboxCollection:
    """The relay's side of an aggregate collection: claims, then the clean-up writes."""

    def __init__(self, mongo: Mongo, pending: list[dict[str, Any]]) -> None:
        self.mongo = mongo
        self.pending = pending
        self.name = "decisions"
        self.database = SimpleNamespace(name="dv_test")

    def find(self, *args: Any, **kwargs: Any) -> Cursor:
        self.mongo.command("find", self.name)
        return Cursor(self.pending)

    async def update_many(self, filter: dict[str, Any], *args: Any, **kwargs: Any) -> SimpleNamespace:
        self.mongo.command("update", self.name)
        ids = set(filter["_id"]["$in"])
        taken = [d for d in self.pending if d["_id"] in ids]
        self.pending[:] = [d for d in self.pending if d["_id"] not in ids]
        return SimpleNamespace(modified_count=len(taken))

    async def bulk_write(self, *args: Any, **kwargs: Any) -> None:
        self.mongo.command("update", self.name)

    async def update_one(self, *args: Any, **kwargs: Any) -> None:
        self.mongo.command("update", self.name)


class Cursor:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.n = len(docs)

    def limit(self, n: int) -> Cursor:
        self.n = n
        return self

    async def to_list(self) -> list[dict[str, Any]]:
        return list(self.docs[: self.n])


def names(exporter: InMemorySpanExporter) -> list[str]:
    return [s.name for s in exporter.get_finished_spans()]


def test_a_pass_without_work_exports_nothing_and_one_with_work_exports_its_span_and_children(
    spans: InMemorySpanExporter,
) -> None:
    mongo = Mongo()
    with BackgroundPass("idle pass"):
        mongo.command("find", "outbox")
    assert names(spans) == []

    with BackgroundPass("busy pass") as work:
        mongo.command("find", "outbox")  # the poll, before any work: not recorded
        work.found(**{"dv.items": 1})
        mongo.command("update", "outbox")
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == ["dv_test.update", "busy pass"]
    child, parent = finished
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert parent.attributes is not None and parent.attributes["dv.items"] == 1

    # after the pass the libraries record again (the loop's own context is untouched)
    mongo.command("find", "other")
    assert names(spans)[-1] == "dv_test.find"


def test_a_pass_that_fails_after_finding_work_records_the_error(spans: InMemorySpanExporter) -> None:
    with pytest.raises(RuntimeError), BackgroundPass("failing pass") as work:
        work.found()
        raise RuntimeError("store away")
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is trace.StatusCode.ERROR


async def test_an_empty_outbox_relay_pass_exports_no_span(spans: InMemorySpanExporter) -> None:
    published: list[Envelope] = []

    async def publish(env: Envelope) -> None:
        published.append(env)

    coll = OutboxCollection(Mongo(), [])
    relay = OutboxRelay([coll], publish)  # type: ignore[list-item]
    for _ in range(3):
        assert await relay.run_once() == 0
    assert names(spans) == []

    env = Envelope.wrap(SampleHappened(sample_id="s", amount=1), source="t")
    coll.pending.append({"_id": "d1", "outbox": [env.model_dump(mode="json")]})
    assert await relay.run_once() == 1
    assert [e.id for e in published] == [env.id]
    finished = spans.get_finished_spans()
    relay_span = [s for s in finished if s.name == "outbox relay"]
    assert len(relay_span) == 1 and relay_span[0].attributes is not None
    assert relay_span[0].attributes["dv.outbox.published"] == 1
    writes = [s for s in finished if s.name == "dv_test.update"]
    assert writes and all(_child_of(s, relay_span[0]) for s in writes)


def _child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    return span.parent is not None and span.parent.span_id == parent.context.span_id


class DeliveryCollection:
    def __init__(self, mongo: Mongo) -> None:
        self.mongo = mongo

    def find(self, *args: Any, **kwargs: Any) -> DeliveryCollection:
        self.mongo.command("find", "deliveries")
        return self

    def sort(self, *args: Any) -> DeliveryCollection:
        return self

    def limit(self, n: int) -> DeliveryCollection:
        return self

    def __aiter__(self) -> DeliveryCollection:
        return self

    async def __anext__(self) -> dict[str, Any]:
        raise StopAsyncIteration


async def test_an_empty_delivery_worker_pass_exports_no_span(spans: InMemorySpanExporter) -> None:
    worker = DeliveryWorker(
        deliveries=SimpleNamespace(collection=DeliveryCollection(Mongo())),  # type: ignore[arg-type]
        emitter=None,  # type: ignore[arg-type]
        email=None,  # type: ignore[arg-type]
        sms=None,
        webhook=None,
        policy=RetryPolicy(),
        digest_window=timedelta(minutes=5),
        now=lambda: datetime(2026, 12, 3, tzinfo=UTC),
    )
    for _ in range(3):
        assert await worker.run_once() == 0
    assert names(spans) == []


class IdleKafka:
    def __init__(self) -> None:
        self.polls = 0
        self.polled_five_times = asyncio.Event()

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        self.polls += 1
        if self.polls >= 5:
            self.polled_five_times.set()
        await asyncio.sleep(0.001)
        return {}


async def test_an_idle_topic_copy_exports_no_span(spans: InMemorySpanExporter) -> None:
    async def handler(env: Envelope, event: Event) -> None:
        raise AssertionError("no record")

    async def dlq(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        raise AssertionError("no record")

    consumer = ReliableConsumer(service="t", handlers={"test.sample_happened": handler}, publish_raw=dlq)
    copy = TopicCopy("org.events", consumer, CommonSettings(), "t")
    kafka = IdleKafka()
    copy._kafka = kafka  # type: ignore[assignment]
    task = asyncio.create_task(copy._loop())
    await asyncio.wait_for(kafka.polled_five_times.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert names(spans) == []
