"""The process's Kafka producer for envelopes and dead letters: replaced when a send hangs.

Why not the FastStream broker's producer: ``./dev chaos`` found both notify instances' outbox relays
stopped for good after a broker SIGKILL (issue "No message wedges"): the idempotent producer got
``NotLeaderForPartition`` / ``NodeNotReady`` while the broker was away and, once it was back, the send
it was retrying never completed — an idempotent aiokafka producer never expires a batch, so the
relay's ``await`` waited for ever while the process stayed "ready". Here every send is bounded
(``KAFKA_SEND_TIMEOUT_SECONDS``); a send that does not complete in time raises ``TimeoutError`` (an
infrastructure fault: the relay pauses, the consumer waits) and the producer is thrown away, so the
next send starts a fresh one (new producer id, nothing muted). A batch the old producer still held may
reach Kafka later: the same envelope twice, which every consumer recognises by its id.

Trace context is injected into the record headers (W3C ``traceparent``), as FastStream's middleware
did, inside a producer span.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.propagate import inject

log = logging.getLogger("shared.publisher")
tracer = trace.get_tracer("shared.publisher")


class Publisher:
    def __init__(self, make: Callable[[], AIOKafkaProducer], *, send_timeout: float) -> None:
        self._make = make
        self.send_timeout = send_timeout
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.replaced = 0
        """How many producers were thrown away because a send hung."""
        self._closing: set[asyncio.Task[None]] = set()

    async def _current(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = self._make()
                try:
                    await asyncio.wait_for(producer.start(), self.send_timeout)
                except BaseException:
                    self._discard(producer)
                    raise
                self._producer = producer
            return self._producer

    async def start(self) -> None:
        await self._current()

    async def send(self, topic: str, value: bytes, *, key: bytes | None, headers: dict[str, str]) -> None:
        producer = await self._current()
        with tracer.start_as_current_span(f"{topic} publish", kind=trace.SpanKind.PRODUCER) as span:
            span.set_attribute("messaging.destination.name", topic)
            carrier = dict(headers)
            inject(carrier)
            record_headers = [(k, v.encode()) for k, v in carrier.items()]
            try:
                await asyncio.wait_for(
                    producer.send_and_wait(topic, value, key=key, headers=record_headers), self.send_timeout
                )
            except TimeoutError:
                if self._producer is producer:
                    self._producer = None
                    self.replaced += 1
                    log.warning(
                        "a send to Kafka did not complete: replacing the producer",
                        extra={"topic": topic, "timeout_s": self.send_timeout},
                    )
                    self._discard(producer)
                raise

    def _discard(self, producer: AIOKafkaProducer) -> None:
        async def close() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 10)

        task = asyncio.create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 15)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
