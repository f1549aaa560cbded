"""Reliable consumption: decode, dispatch, bounded retries, dead-letter, then commit.

Why: FastStream's Kafka subscriber has no retry limit or dead-letter topic and
by default commits before handling. We subscribe with ``AckPolicy.ACK`` (commit
after the handler returns) and make the handler itself total: every message
ends as *processed*, *skipped* (a type this consumer does not handle) or
*dead-lettered* with a reason. Only cancellation (shutdown) or a crash leaves
the offset uncommitted, so the message is delivered again — and the idempotent
handlers recognise it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from shared.contract.envelope import Envelope, Event, MalformedEvent
from shared.contract.topics import dead_letter
from shared.reliability.errors import PermanentError
from shared.reliability.faults import is_infrastructure
from shared.security.principal import Authentication, reset_current, set_current

log = logging.getLogger("shared.consumer")
tracer = trace.get_tracer("shared.consumer")

Handler = Callable[[Envelope, Event], Awaitable[None]]
Authenticator = Callable[[Mapping[str, str], bytes, int | None], Authentication]
PublishRaw = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]
Park = Callable[["Delivery", dict[str, str]], Awaitable[str]]
"""Keep a dead letter's original in the service's store; returns where (``dv-dlq-stored-as``)."""


class Result(enum.StrEnum):
    PROCESSED = "processed"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as the consumer sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]
    timestamp_ms: int | None = None
    """When the broker appended the record (request topics use ``LogAppendTime``)."""


def dead_letter_headers(*, service: str, original_topic: str, reason: str, reason_vi: str) -> dict[str, str]:
    """The ``dv-dlq-*`` headers every dead letter carries (the reports console reads them)."""
    return {
        "dv-dlq-reason": reason[:2000],
        "dv-dlq-reason-vi": reason_vi[:2000],  # operators read the console in Vietnamese
        "dv-dlq-original-topic": original_topic,
        "dv-dlq-service": service,
        "dv-dlq-attempts": "1",
        "dv-dlq-at": datetime.now(UTC).isoformat(),
    }


def delivery_of(record: Any) -> Delivery:
    """An aiokafka ``ConsumerRecord`` as a :class:`Delivery` (headers decoded as UTF-8)."""
    return Delivery(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value or b"",
        headers={
            k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
            for k, v in (record.headers or [])
        },
        timestamp_ms=getattr(record, "timestamp", None),
    )


class ReliableConsumer:
    def __init__(
        self,
        *,
        service: str,
        handlers: Mapping[str, Handler],
        publish_raw: PublishRaw,
        max_attempts: int = 5,
        retry_base_seconds: float = 0.2,
        retry_max_seconds: float = 5.0,
        authenticate: Authenticator | None = None,
        max_message_bytes: int | None = None,
        park: Park | None = None,
        infra_backoff_max_seconds: float = 30.0,
        group: str = "",
        topics: tuple[str, ...] = (),
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.service = service
        self.ready = ready
        """Awaited before each message is even authenticated: a consumer whose senders' keys (and
        whatever its handlers read) live in a registry copy waits for that copy to catch up. Found
        by ``./dev chaos``: a tasks instance restarted after an outage refused a good draft with
        ``unknown_key`` two seconds after it started, its copy of ``org.events`` still empty."""
        self.group = group
        """The consumer group it reads in (empty: the process's own copy of a topic, no group)."""
        self.topics = topics
        """What it reads (named in ``/health`` and ``/metrics``)."""
        self.handlers = dict(handlers)
        self.publish_raw = publish_raw
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self.authenticate = authenticate
        self.max_message_bytes = max_message_bytes
        self.park = park
        self.infra_backoff_max_seconds = infra_backoff_max_seconds
        self.paused: str | None = None
        """Why this consumer is waiting for the store or the broker (None: it is not)."""
        self.stats: dict[Result, int] = dict.fromkeys(Result, 0)

    def health(self) -> dict[str, Any]:
        """Who it is (group, topics), its counts and whether it waits for the store or the broker."""
        return {
            "group": self.group,
            "topics": list(self.topics),
            **{k.value: v for k, v in self.stats.items()},
            "paused": self.paused,
        }

    async def handle(self, delivery: Delivery) -> Result:
        if self.ready is not None:
            await self.ready()
        result = await self._handle(delivery)
        self.stats[result] += 1
        return result

    async def _handle(self, delivery: Delivery) -> Result:
        limit = self.max_message_bytes
        if limit is not None and len(delivery.value) > limit:
            await self._dead_letter(
                delivery,
                f"too_large: {len(delivery.value)} bytes, the limit is {limit}",
                attempts=1,
                reason_vi=(
                    f"Thông điệp quá lớn ({len(delivery.value)} byte, giới hạn {limit} byte): không xử lý; "
                    "đề nghị chia nhỏ nội dung hoặc gửi kèm tài liệu theo đường khác."
                ),
            )
            return Result.DEAD_LETTERED
        try:
            envelope = Envelope.from_bytes(delivery.value)
            handler = self.handlers.get(envelope.type)
            if handler is None:
                envelope.event()  # unknown types are malformed; known but not ours are skipped
                return Result.SKIPPED
            event = envelope.event()
        except MalformedEvent as exc:
            await self._dead_letter(
                delivery,
                f"malformed: {exc}",
                attempts=1,
                reason_vi=f"Thông điệp sai định dạng, không xử lý được: {exc}",
            )
            return Result.DEAD_LETTERED
        if self.authenticate is not None and (delivery.key or b"") != envelope.subject.encode():
            # requests keep their order only within a partition: a request keyed by anything but its
            # subject could overtake (or be overtaken by) the others of the same aggregate
            await self._dead_letter(
                delivery,
                f"key_mismatch: Kafka key {delivery.key!r} is not the envelope subject {envelope.subject!r}",
                attempts=1,
                reason_vi=(
                    f"Khóa phân vùng Kafka ({(delivery.key or b'').decode('utf-8', 'replace')[:80]!r}) khác "
                    f"mã đối tượng của yêu cầu ({envelope.subject[:80]!r}): yêu cầu phải dùng mã đối tượng làm khóa."
                ),
            )
            return Result.DEAD_LETTERED

        principal = (
            self.authenticate(delivery.headers, delivery.value, delivery.timestamp_ms)
            if self.authenticate is not None
            else None
        )
        token = set_current(principal)
        try:
            return await self._dispatch(delivery, envelope, event, handler)
        finally:
            reset_current(token)

    async def _dispatch(
        self, delivery: Delivery, envelope: Envelope, event: Event, handler: Handler
    ) -> Result:
        attempt = 0
        outage = 0
        while True:
            attempt += 1
            try:
                with tracer.start_as_current_span(f"handle {envelope.type}") as span:
                    span.set_attribute("dv.event.id", envelope.id)
                    span.set_attribute("dv.event.subject", envelope.subject)
                    span.set_attribute("dv.attempt", attempt)
                    await handler(envelope, event)
                self._resume()
                return Result.PROCESSED
            except asyncio.CancelledError:
                raise
            except PermanentError as exc:
                await self._dead_letter(
                    delivery,
                    f"rejected: {exc}",
                    attempts=attempt,
                    reason_vi=f"Bị từ chối, thử lại không có ích: {exc}",
                )
                return Result.DEAD_LETTERED
            except Exception as exc:
                if is_infrastructure(exc):  # not the message's fault: wait for the server, uncounted
                    attempt -= 1
                    outage += 1
                    await self._wait_out(exc, outage, envelope.type)
                    continue
                if attempt >= self.max_attempts:
                    await self._dead_letter(
                        delivery,
                        f"gave up after {attempt} attempts: {type(exc).__name__}: {exc}",
                        attempts=attempt,
                        reason_vi=f"Đã thử {attempt} lần không thành công: {type(exc).__name__}: {exc}",
                    )
                    return Result.DEAD_LETTERED
                delay = min(self.retry_max_seconds, self.retry_base_seconds * 2 ** (attempt - 1))
                log.warning(
                    "handler failed, retrying",
                    extra={
                        "event_type": envelope.type,
                        "event_id": envelope.id,
                        "attempt": attempt,
                        "error": str(exc),
                    },
                )
                await asyncio.sleep(delay)

    async def _wait_out(self, exc: BaseException, outage: int, what: str) -> None:
        """Pause on an unreachable store or broker: backoff up to ``infra_backoff_max_seconds``."""
        reason = f"{type(exc).__name__}: {exc}"[:300]
        if self.paused is None:
            log.error("store or broker unavailable: pausing", extra={"event_type": what, "error": reason})
        self.paused = reason
        delay = min(self.infra_backoff_max_seconds, self.retry_base_seconds * 2 ** min(outage, 10))
        await asyncio.sleep(delay)

    def _resume(self) -> None:
        if self.paused is not None:
            log.warning("store and broker reachable again: resuming", extra={"service": self.service})
            self.paused = None

    async def _dead_letter(self, delivery: Delivery, reason: str, *, attempts: int, reason_vi: str) -> None:
        headers = {
            **{k: v for k, v in delivery.headers.items() if not k.startswith("dv-dlq-")},
            **dead_letter_headers(
                service=self.service, original_topic=delivery.topic, reason=reason, reason_vi=reason_vi
            ),
            "dv-dlq-original-partition": str(delivery.partition),
            "dv-dlq-original-offset": str(delivery.offset),
            "dv-dlq-attempts": str(attempts),
        }
        if delivery.timestamp_ms is not None:
            headers["dv-dlq-original-timestamp"] = str(delivery.timestamp_ms)
        log.error(
            "message dead-lettered",
            extra={
                "topic": delivery.topic,
                "offset": delivery.offset,
                "reason": reason,
                "service": self.service,
            },
        )
        value = delivery.value
        outage = 0
        while True:
            try:
                await self.publish_raw(dead_letter(delivery.topic), delivery.key, value, headers)
                self._resume()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_infrastructure(exc):  # the broker is away: the message waits, nothing is lost
                    outage += 1
                    await self._wait_out(exc, outage, "dead letter")
                    continue
                if value and self.park is not None:
                    # too big to carry (or refused for another reason of its own): keep the original in
                    # the store and send the reasons with a reference instead, so the consumer moves on
                    headers["dv-dlq-stored-as"] = await self._park(delivery, headers)
                    headers["dv-dlq-original-bytes"] = str(len(delivery.value))
                    headers["dv-dlq-publish-error"] = f"{type(exc).__name__}: {exc}"[:300]
                    value = b""
                    continue
                log.exception("dead letter could not be published; dropped after logging")
                return

    async def _park(self, delivery: Delivery, headers: dict[str, str]) -> str:
        assert self.park is not None
        outage = 0
        while True:
            try:
                return await self.park(delivery, headers)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_infrastructure(exc):
                    raise
                outage += 1
                await self._wait_out(exc, outage, "dead letter kept in the store")
