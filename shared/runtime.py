"""What every service process is made of: broker, database, relay, consumers, HTTP.

Why one runtime: the reliability rules (commit after processing, retries then
dead-letter, outbox relay, acks=all + idempotent producer, graceful shutdown)
must be the same in all four services, so they live here once and services only
declare their handlers and stores.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.middlewares import AckPolicy
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.envelope import Envelope
from shared.contract.topics import dead_letter
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.heads import MongoHeads
from shared.eventsourcing.repository import EventSourcedRepository
from shared.kafka_auth import aiokafka_kwargs, faststream_security, principal_of
from shared.metrics import (
    ServiceMetrics,
    Subscription,
    consumer_families,
    copies_lag,
    copy_families,
    gauge,
    relay_families,
    state_families,
    subscriptions_lag,
)
from shared.reliability.consumer import (
    Authenticator,
    Delivery,
    Handler,
    ReliableConsumer,
    dead_letter_headers,
    delivery_of,
)
from shared.reliability.emit import Emitter
from shared.reliability.outbox import OutboxRelay
from shared.reliability.publisher import Publisher
from shared.reliability.replay import DeadLetterReplay
from shared.reliability.topic_copy import TopicCopy
from shared.security.keys import load_signing_key
from shared.security.signing import SIGNATURE_HEADER, SigningKey, sign
from shared.settings import CommonSettings
from shared.store import AggregateStore, Doc, mongo_client
from shared.telemetry import configure_logging, configure_telemetry

A = TypeVar("A", bound=Aggregate[Any])

log = logging.getLogger("shared.runtime")


class ServiceRuntime:
    def __init__(self, name: str, settings: CommonSettings | None = None) -> None:
        self.name = name
        self.settings = settings or CommonSettings()
        configure_logging(name, self.settings)
        self.tracer_provider = configure_telemetry(name, self.settings)
        # who this process is on Kafka: the service's own principal unless KAFKA_USERNAME says otherwise
        self.principal = principal_of(self.settings, name)
        self.broker = KafkaBroker(
            self.settings.kafka_bootstrap,
            security=faststream_security(self.settings, self.principal),
            acks="all",
            enable_idempotence=True,
            client_id=name,
            middlewares=[KafkaTelemetryMiddleware(tracer_provider=self.tracer_provider)],
            graceful_timeout=15.0,
            logger=logging.getLogger(f"faststream.{name}"),
        )
        self.publisher = Publisher(self._make_producer, send_timeout=self.settings.kafka_send_timeout_seconds)
        self.mongo = mongo_client(self.settings.mongo_url)
        self.db: AsyncDatabase[Doc] = self.mongo[self.settings.database_name(name)]
        self.emitter = Emitter(name)
        self.signing_key: SigningKey | None = load_signing_key(name)
        self._stores: list[AggregateStore | MongoHeads] = []
        self.relay = OutboxRelay(
            [],
            self.publish_envelope,
            poll_seconds=self.settings.relay_poll_seconds,
            report_isolated=self.report_isolated,
        )
        self.consumers: list[ReliableConsumer] = []
        self.copies: list[TopicCopy] = []
        self.consumers_by_topic: dict[str, ReliableConsumer] = {}
        self.subscriptions: list[Subscription] = []
        """Every group subscription (for the lag in ``/metrics``)."""
        self.metrics = ServiceMetrics(name, timeout_seconds=self.settings.metrics_scrape_timeout_seconds)
        self._started = False
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_started: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    def on_start(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run before consuming starts (load local copies, seed data)."""
        self._on_start.append(fn)
        return fn

    def on_started(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run once consuming has started (background workers)."""
        self._on_started.append(fn)
        return fn

    def on_stop(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run first on shutdown (stop background workers)."""
        self._on_stop.append(fn)
        return fn

    # -- stores -----------------------------------------------------------------
    def store(self, collection: str) -> AggregateStore:
        """An aggregate collection whose outbox the relay publishes."""
        s = AggregateStore.of(self.db, collection, inbox_size=self.settings.inbox_size)
        self._stores.append(s)
        self.relay.collections.append(s.collection)
        return s

    def event_store(
        self, collection: str, *, new: Callable[[], A], restore: Callable[[Mapping[str, Any]], A]
    ) -> EventSourcedRepository[A]:
        """An event-sourced aggregate collection (head documents + ``<collection>_chunks``) whose
        outbox the relay publishes (:mod:`shared.eventsourcing.repository`)."""
        heads = MongoHeads(
            self.db[collection], self.db[f"{collection}_chunks"], inbox_size=self.settings.inbox_size
        )
        self._stores.append(heads)
        self.relay.collections.append(heads.collection)
        return EventSourcedRepository(
            heads,
            new=new,
            restore=restore,
            snapshot_every=self.settings.snapshot_every,
            cache_size=self.settings.aggregate_cache_size,
            on_saved=self.relay.wake,
        )

    # -- publishing ---------------------------------------------------------------
    def _make_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            client_id=f"{self.name}-publisher",
            request_timeout_ms=15000,
            **aiokafka_kwargs(self.settings, self.principal),
        )

    async def publish_envelope(self, env: Envelope) -> None:
        """Publish one envelope, signed with this service's key (``dv-signature``) when it has one."""
        value = env.to_bytes()
        headers = {"content-type": "application/json", "dv-event-type": env.type, "dv-event-id": env.id}
        if self.signing_key is not None:
            headers[SIGNATURE_HEADER] = sign(self.signing_key, value)
        await self.publisher.send(env.topic, value, key=env.subject.encode(), headers=headers)

    async def report_isolated(self, env: Envelope, reason: str, stored_as: str) -> None:
        """Tell operators (on ``<topic>.dlq``, without the envelope) that the relay isolated ``env``."""
        headers = {
            "dv-event-type": env.type,
            "dv-event-id": env.id,
            **dead_letter_headers(
                service=self.name,
                original_topic=env.topic,
                reason=reason,
                reason_vi=(
                    f"Sự kiện {env.type} ({env.id}) không gửi lên Kafka được và đã được tách riêng; "
                    f"bản gốc lưu tại {stored_as}. Lý do: {reason}"
                ),
            ),
            "dv-dlq-stored-as": stored_as,
        }
        await self.publish_raw(dead_letter(env.topic), env.subject.encode(), b"", headers)

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await self.publisher.send(topic, value, key=key, headers=headers)

    # -- consuming ----------------------------------------------------------------
    def _consumer(
        self,
        handlers: Mapping[str, Handler],
        authenticate: Authenticator | None,
        *,
        group: str = "",
        topics: tuple[str, ...] = (),
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> ReliableConsumer:
        consumer = ReliableConsumer(
            service=self.name,
            handlers=handlers,
            publish_raw=self.publish_raw,
            max_attempts=self.settings.max_attempts,
            retry_base_seconds=self.settings.retry_base_seconds,
            retry_max_seconds=self.settings.retry_max_seconds,
            authenticate=authenticate,
            max_message_bytes=self.settings.max_message_bytes,
            park=self.park_dead_letter,
            infra_backoff_max_seconds=self.settings.consumer_outage_backoff_max_seconds,
            group=group,
            topics=topics,
            ready=ready,
        )
        self.consumers.append(consumer)
        return consumer

    async def park_dead_letter(self, delivery: Delivery, headers: dict[str, str]) -> str:
        """Keep a dead letter's original bytes in this service's ``dead_letters`` collection (it could
        not be published with them); returns its reference for the ``dv-dlq-stored-as`` header."""
        doc_id = f"{self.name}:{delivery.topic}:{delivery.partition}:{delivery.offset}"
        await self.db["dead_letters"].update_one(
            {"_id": doc_id},
            {
                "$setOnInsert": {
                    "topic": delivery.topic,
                    "partition": delivery.partition,
                    "offset": delivery.offset,
                    "key": delivery.key,
                    "value": delivery.value,
                    "headers": dict(delivery.headers),
                    "reason": headers.get("dv-dlq-reason", ""),
                    "at": datetime.now(UTC),
                }
            },
            upsert=True,
        )
        return f"{self.settings.database_name(self.name)}/dead_letters/{doc_id}"

    def subscribe(
        self,
        topic: str,
        handlers: Mapping[str, Handler],
        *,
        group: str | None = None,
        offset_reset: Literal["earliest", "latest"] = "earliest",
        authenticate: Authenticator | None = None,
        after: TopicCopy | None = None,
    ) -> ReliableConsumer:
        """Consume ``topic`` in this service's group; commit only after handling. With ``after``
        (a registry copy), nothing is authenticated or handled until that copy has caught up."""
        group_id = group or self.name
        consumer = self._consumer(
            handlers,
            authenticate,
            group=group_id,
            topics=(topic,),
            ready=after.wait if after is not None else None,
        )
        self.consumers_by_topic[topic] = consumer

        async def on_message(message: KafkaMessage) -> None:
            raw = message.raw_message
            await consumer.handle(delivery_of(raw[0] if isinstance(raw, tuple) else raw))

        on_message.__name__ = f"{self.name}_{topic.replace('.', '_').replace('-', '_')}"
        self.raw_subscriber(
            (topic,), on_message, group=group_id, offset_reset=offset_reset, title=f"{self.name}:{topic}"
        )
        return consumer

    def raw_subscriber(
        self,
        topics: Sequence[str],
        handler: Callable[..., Awaitable[None]],
        *,
        group: str,
        offset_reset: Literal["earliest", "latest"] = "earliest",
        title: str,
    ) -> None:
        """A FastStream subscriber in ``group`` committing after ``handler`` returned; its lag is in
        ``/metrics``. (:meth:`subscribe` wraps one around a :class:`ReliableConsumer`.)"""
        subscriber = self.broker.subscriber(
            *topics,
            group_id=group,
            ack_policy=AckPolicy.ACK,
            auto_offset_reset=offset_reset,  # only for a group with no committed offset yet
            title=title,
        )
        subscriber(handler)
        self.subscriptions.append(Subscription(group, tuple(topics), lambda: subscriber.consumer))

    def replicate(self, topic: str, handlers: Mapping[str, Handler]) -> TopicCopy:
        """This process's own copy of all of ``topic`` (no group: every instance reads every record).

        The copy starts before the consumers (and is caught up or reading when they start); gate
        request handling on ``copy.wait()``."""
        consumer = self._consumer(handlers, None, group="", topics=(topic,))
        self.consumers_by_topic[topic] = consumer
        copy = TopicCopy(topic, consumer, self.settings, self.principal)
        self.copies.append(copy)
        return copy

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        for store in self._stores:
            await store.ensure_indexes()
        for fn in self._on_start:
            await fn()
        await self.broker.start()
        await self.publisher.start()  # the dead letters of a copy go out through it
        for copy in self.copies:
            await copy.start()
        self.relay.start()
        self._started = True
        for fn in self._on_started:
            await fn()
        log.info("service started", extra={"service": self.name})

    async def stop(self) -> None:
        """Graceful: stop taking messages, let in-flight handlers finish, flush the outbox."""
        if not self._started:
            return
        self._started = False
        for fn in self._on_stop:
            await fn()
        for copy in self.copies:
            await copy.stop()
        await self.broker.stop()  # consumers done (their dead letters sent), then one last relay pass
        await self.relay.stop()
        await self.publisher.stop()
        await self.mongo.close()
        self.tracer_provider.force_flush(2000)
        log.info("service stopped", extra={"service": self.name})

    def lifespan(self, app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
        @contextlib.asynccontextmanager
        async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        return _lifespan(app)

    async def outbox_pending(self, *, max_time_ms: int | None = None) -> int:
        """Documents whose outgoing events are not yet on Kafka (0 = everything published)."""
        bound: dict[str, Any] = {} if max_time_ms is None else {"maxTimeMS": max_time_ms}
        return sum(
            [await s.collection.count_documents({"outbox_pending": True}, **bound) for s in self._stores]
        )

    def waiting_for(self) -> list[str]:
        """Why this process is not ready: copies still reading, the store or broker unreachable."""
        reasons = [f"catching up {c.topic}" for c in self.copies if not c.is_open]
        reasons += [f"consumer paused: {c.paused}" for c in self.consumers if c.paused]
        if self.relay.paused:
            reasons.append(f"outbox relay paused: {self.relay.paused}")
        if not self._started:
            reasons.insert(0, "not started")
        return reasons

    def replay(self) -> DeadLetterReplay:
        """Operators' replay of this service's dead letters (see :mod:`shared.replay_api`)."""
        return DeadLetterReplay(
            self.name,
            self.consumers_by_topic,
            self.settings,
            self.principal,
            replays=self.db["dead_letter_replays"],
            parked=self.db["dead_letters"],
        )

    def install_ready(self, app: FastAPI, dependencies: Sequence[Any]) -> None:
        """``GET /ready``: 200 when the process can do its work, 503 with the reasons otherwise
        (still reading its org copy, store or broker unreachable). ``/health`` stays the liveness probe."""

        @app.get("/ready", dependencies=list(dependencies), tags=["ops"])
        async def ready() -> JSONResponse:
            waiting = self.waiting_for()
            return JSONResponse(
                {"ready": not waiting, "waiting_for": waiting}, status_code=503 if waiting else 200
            )

    def install_metrics(self, app: FastAPI, dependencies: Sequence[Any]) -> None:
        """``GET /metrics`` (Prometheus text, :mod:`shared.metrics`): the consumers' counts, pauses and
        lag, the copies' lag, the outbox; services add their own probes to ``self.metrics`` first."""
        metrics = self.metrics
        metrics.source("consumers", lambda: consumer_families(self.consumers))
        metrics.source("outbox_relay", lambda: relay_families(self.relay))
        metrics.source("copies", lambda: copy_families(self.copies))
        metrics.source("ready", lambda: state_families(started=self._started, ready=not self.waiting_for()))

        async def pending() -> list[Any]:
            return [
                gauge(
                    "dv_outbox_pending",
                    "Documents whose outgoing events are not yet on Kafka",
                    await self.outbox_pending(max_time_ms=metrics.timeout_ms),
                )
            ]

        async def group_lag() -> Any:
            return await subscriptions_lag(self.subscriptions)

        async def copy_lag() -> Any:
            return await copies_lag(self.copies)

        if self._stores:
            metrics.probe("outbox_pending", pending)
        metrics.probe("consumer_lag", group_lag)
        metrics.probe("topic_copy_lag", copy_lag)
        metrics.install(app, dependencies)

    def health(self) -> dict[str, Any]:
        return {
            "service": self.name,
            "started": self._started,
            "ready": not self.waiting_for(),
            "outbox_isolated": self.relay.isolated,
            "outbox_published": self.relay.published,
            "consumers": [c.health() for c in self.consumers],
            "copies": [c.health() for c in self.copies],
        }
