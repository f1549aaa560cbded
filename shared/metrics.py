"""``GET /metrics``: what operators watch, in the Prometheus text format (``prometheus-client``).

Why a registry per runtime and not the library's global default: the tests build several runtimes
in one process (and each would register the same names twice); each :class:`ServiceMetrics` owns a
``CollectorRegistry`` of its own.

Two kinds of sources:

* *collectors* — read the process's own counters (consumers, relay, copies) at scrape time; cheap,
  synchronous, never fail for an outage;
* *probes* — ask the store or the broker (outbox pending, consumer lag, deliveries by state, timers
  due). They run concurrently, each bounded by ``timeout_seconds``; one that fails or times out is
  left out of the answer and counted in ``dv_metrics_scrape_errors_total{probe}``, so a store or
  broker outage never makes ``/metrics`` hang or answer 500 — it reports what it knows.

Access: ``/metrics`` is an entrance like any other (``Access.metrics()`` in
:mod:`shared.access.guard`): an ``operator`` access token, or the scrape secret ``METRICS_TOKEN``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from shared.reliability.consumer import ReliableConsumer
    from shared.reliability.outbox import OutboxRelay
    from shared.reliability.topic_copy import TopicCopy

log = logging.getLogger("shared.metrics")

Families = Iterable[Metric]
Probe = Callable[[], Awaitable[Families]]
"""An async source of metric families (asks the store or the broker); bounded by the scrape timeout."""
Source = Callable[[], Families]
"""A synchronous source read from the process's memory."""


class _Scrape(Collector):
    """One scrape: what the probes and sources answered this time, then the registry (the error counter)."""

    def __init__(self, registry: CollectorRegistry, families: Sequence[Metric]) -> None:
        self.registry = registry
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families
        yield from self.registry.collect()


class ServiceMetrics:
    def __init__(self, service: str, *, timeout_seconds: float = 2.0) -> None:
        self.service = service
        self.timeout_seconds = timeout_seconds
        self.registry = CollectorRegistry(auto_describe=True)
        self.sources: list[tuple[str, Source]] = []
        self.probes: list[tuple[str, Probe]] = []
        self.scrape_errors = Counter(
            "dv_metrics_scrape_errors",
            "Probes of /metrics that failed or timed out (store or broker unreachable), by probe",
            ["probe"],
            registry=self.registry,
        )

    @property
    def timeout_ms(self) -> int:
        """The probe bound for a store query's ``maxTimeMS`` (the server gives up too)."""
        return max(1, int(self.timeout_seconds * 1000))

    def source(self, name: str, fn: Source) -> None:
        """Add a synchronous source (the process's own counters)."""
        self.sources.append((name, fn))

    def probe(self, name: str, fn: Probe) -> None:
        """Add an async probe (store or broker); it must not outlive ``timeout_seconds``."""
        self.probes.append((name, fn))

    async def _run(self, name: str, fn: Probe) -> list[Metric]:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return list(await fn())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # TimeoutError included: report what is known, count the gap
            log.warning(
                "metrics probe failed", extra={"probe": name, "error": f"{type(exc).__name__}: {exc}"[:300]}
            )
            self.scrape_errors.labels(probe=name).inc()
            return []

    def _read(self, name: str, fn: Source) -> list[Metric]:
        try:
            return list(fn())
        except Exception:  # a bug in one source must not take the others down
            log.exception("metrics source failed", extra={"probe": name})
            self.scrape_errors.labels(probe=name).inc()
            return []

    async def render(self) -> bytes:
        """The Prometheus text exposition of everything known now (the error counter last, so it
        includes this scrape's failures)."""
        answers = await asyncio.gather(*(self._run(name, fn) for name, fn in self.probes))
        answers += [self._read(name, fn) for name, fn in self.sources]
        return generate_latest(_Scrape(self.registry, [f for families in answers for f in families]))

    def install(self, app: FastAPI, dependencies: Sequence[Any]) -> None:
        """``GET /metrics`` with the given access rule."""

        @app.get("/metrics", dependencies=list(dependencies), tags=["ops"])
        async def metrics() -> Response:
            return Response(await self.render(), media_type=CONTENT_TYPE_LATEST)


# --------------------------------------------------------------------------- the runtime's sources


@dataclass(frozen=True)
class Subscription:
    """A group subscription of the runtime: who it is, and the aiokafka consumer once started."""

    group: str
    topics: tuple[str, ...]
    client: Callable[[], AIOKafkaConsumer | None]


def consumer_families(consumers: Iterable[ReliableConsumer]) -> Families:
    """Messages per consumer (group, topic) and result; whether it is paused by an outage."""
    messages = CounterMetricFamily(
        "dv_consumer_messages",
        "Messages handled by a consumer, by result (processed, skipped, dead_lettered); "
        "group empty: the process's own copy of the topic",
        labels=["group", "topic", "result"],
    )
    paused = GaugeMetricFamily(
        "dv_consumer_paused",
        "1 while a consumer waits for the store or the broker (an outage), else 0",
        labels=["group", "topic"],
    )
    for c in consumers:
        topic = ",".join(c.topics)
        for result, count in c.stats.items():
            messages.add_metric([c.group, topic, result.value], count)
        paused.add_metric([c.group, topic], 1 if c.paused else 0)
    return [messages, paused]


def relay_families(relay: OutboxRelay) -> Families:
    published = CounterMetricFamily(
        "dv_outbox_published", "Envelopes this process's relay published from the outbox"
    )
    published.add_metric([], relay.published)
    isolated = CounterMetricFamily(
        "dv_outbox_isolated", "Envelopes the broker could never take, moved to outbox_failed"
    )
    isolated.add_metric([], relay.isolated)
    paused = GaugeMetricFamily("dv_outbox_relay_paused", "1 while the relay waits for the store or broker")
    paused.add_metric([], 1 if relay.paused else 0)
    return [published, isolated, paused]


def state_families(*, started: bool, ready: bool) -> Families:
    up = GaugeMetricFamily("dv_ready", "1 when the process can do its work (GET /ready is 200)")
    up.add_metric([], 1 if started and ready else 0)
    return [up]


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def counts_family(name: str, documentation: str, label: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(counts.items()):
        family.add_metric([key], value)
    return family


# --------------------------------------------------------------------------- lag


class Lagging(Protocol):
    """What lag needs of an aiokafka consumer (a protocol, so the tests can give a fake)."""

    def assignment(self) -> set[TopicPartition]: ...

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]: ...

    async def committed(self, partition: TopicPartition) -> int | None: ...

    async def position(self, partition: TopicPartition) -> int: ...


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    end: int
    at: int
    """The group's committed offset (or this consumer's position before its first commit)."""

    @property
    def lag(self) -> int:
        return max(0, self.end - self.at)


async def group_lag(group: str, consumer: Lagging) -> list[PartitionLag]:
    """Lag of the partitions assigned to this process in ``group``: end offset minus committed offset.

    Each instance of a service reports the partitions it holds; together they cover the group."""
    tps = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
    if not tps:
        return []
    ends = await consumer.end_offsets(tps)
    out = []
    for tp in tps:
        committed = await consumer.committed(tp)
        at = committed if committed is not None and committed >= 0 else await consumer.position(tp)
        out.append(PartitionLag(group, tp.topic, tp.partition, ends.get(tp, at), at))
    return out


def lag_families(lags: Iterable[PartitionLag]) -> Families:
    lag = GaugeMetricFamily(
        "dv_consumer_lag",
        "Records not yet committed by the group: end offset minus committed offset, per partition "
        "held by this process",
        labels=["group", "topic", "partition"],
    )
    end = GaugeMetricFamily(
        "dv_consumer_end_offset", "End offset of a partition", labels=["group", "topic", "partition"]
    )
    for item in lags:
        labels = [item.group, item.topic, str(item.partition)]
        lag.add_metric(labels, item.lag)
        end.add_metric(labels, item.end)
    return [lag, end]


async def subscriptions_lag(subscriptions: Iterable[Subscription]) -> Families:
    lags: list[PartitionLag] = []
    for sub in subscriptions:
        client = sub.client()
        if client is not None:  # not started yet (or stopping): nothing to report
            lags += await group_lag(sub.group, client)
    return lag_families(lags)


def copy_families(copies: Iterable[TopicCopy]) -> Families:
    """Whether each copy has caught up, and its position (the sum over partitions, as in ``/health``)."""
    caught_up = GaugeMetricFamily(
        "dv_topic_copy_caught_up",
        "1 once the copy has read what was on the topic at start (requests are held until then)",
        labels=["topic"],
    )
    position = GaugeMetricFamily(
        "dv_topic_copy_position", "Next offsets to read, summed over the partitions", labels=["topic"]
    )
    for copy in copies:
        caught_up.add_metric([copy.topic], 1 if copy.is_open else 0)
        position.add_metric([copy.topic], copy.position)
    return [caught_up, position]


async def copies_lag(copies: Iterable[TopicCopy]) -> Families:
    """Each copy's distance to the end of its topic (the org copy: to the end of ``org.events``)."""
    lag = GaugeMetricFamily(
        "dv_topic_copy_lag",
        "Records of the topic this process's copy has not read yet, per partition",
        labels=["topic", "partition"],
    )
    for copy in copies:
        for partition, (end, position) in sorted((await copy.lag()).items()):
            lag.add_metric([copy.topic, str(partition)], max(0, end - position))
    return [lag]
