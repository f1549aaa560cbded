"""The reliable consumer's decisions, with a fake dead-letter publisher."""

import asyncio

import pytest

from shared.contract.envelope import Envelope, Event
from shared.reliability.consumer import Delivery, ReliableConsumer, Result
from shared.reliability.errors import PermanentError
from tests.unit.shared.sample_events import SampleHappened


class FakeDeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, dict[str, str]]] = []

    async def __call__(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        self.sent.append((topic, key, value, headers))


def delivery(value: bytes, offset: int = 7) -> Delivery:
    return Delivery(
        topic="test.samples", partition=0, offset=offset, key=b"k", value=value, headers={"x": "1"}
    )


def env_bytes(amount: int = 1) -> bytes:
    return Envelope.wrap(SampleHappened(sample_id="s1", amount=amount), source="t").to_bytes()


def make(handler, dlq: FakeDeadLetters, attempts: int = 3) -> ReliableConsumer:  # type: ignore[no-untyped-def]
    return ReliableConsumer(
        service="svc",
        handlers={"test.sample_happened": handler},
        publish_raw=dlq,
        max_attempts=attempts,
        retry_base_seconds=0.001,
        retry_max_seconds=0.002,
    )


async def test_processes_valid_event_once() -> None:
    seen: list[int] = []

    async def handler(env: Envelope, event: Event) -> None:
        assert isinstance(event, SampleHappened)
        seen.append(event.amount)

    dlq = FakeDeadLetters()
    assert await make(handler, dlq).handle(delivery(env_bytes(5))) is Result.PROCESSED
    assert seen == [5]
    assert dlq.sent == []


async def test_malformed_goes_to_dead_letter_with_reason_and_original_bytes() -> None:
    async def handler(env: Envelope, event: Event) -> None:
        raise AssertionError("must not be called")

    dlq = FakeDeadLetters()
    consumer = make(handler, dlq)
    assert await consumer.handle(delivery(b"{broken")) is Result.DEAD_LETTERED
    topic, key, value, headers = dlq.sent[0]
    assert topic == "test.samples.dlq"
    assert value == b"{broken"
    assert key == b"k"
    assert headers["dv-dlq-reason"].startswith("malformed: envelope is not valid")
    assert headers["dv-dlq-reason-vi"].startswith("Thông điệp sai định dạng")
    assert headers["dv-dlq-original-offset"] == "7"
    assert headers["x"] == "1"
    assert consumer.stats[Result.DEAD_LETTERED] == 1


async def test_transient_failure_is_retried_then_succeeds() -> None:
    calls = 0

    async def handler(env: Envelope, event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("store away")

    dlq = FakeDeadLetters()
    assert await make(handler, dlq, attempts=3).handle(delivery(env_bytes())) is Result.PROCESSED
    assert calls == 3
    assert dlq.sent == []


async def test_retries_are_bounded_then_dead_lettered() -> None:
    calls = 0

    async def handler(env: Envelope, event: Event) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug for this message")

    dlq = FakeDeadLetters()
    assert await make(handler, dlq, attempts=4).handle(delivery(env_bytes())) is Result.DEAD_LETTERED
    assert calls == 4
    assert "gave up after 4 attempts: RuntimeError: a bug for this message" in dlq.sent[0][3]["dv-dlq-reason"]
    assert dlq.sent[0][3]["dv-dlq-attempts"] == "4"


async def test_permanent_error_is_not_retried() -> None:
    calls = 0

    async def handler(env: Envelope, event: Event) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("đơn vị không tồn tại")

    dlq = FakeDeadLetters()
    assert await make(handler, dlq).handle(delivery(env_bytes())) is Result.DEAD_LETTERED
    assert calls == 1
    assert dlq.sent[0][3]["dv-dlq-reason"] == "rejected: đơn vị không tồn tại"


async def test_known_type_without_handler_is_skipped() -> None:
    dlq = FakeDeadLetters()
    consumer = ReliableConsumer(service="svc", handlers={}, publish_raw=dlq)
    assert await consumer.handle(delivery(env_bytes())) is Result.SKIPPED
    assert dlq.sent == []


async def test_cancellation_propagates_so_offset_is_not_committed() -> None:
    async def handler(env: Envelope, event: Event) -> None:
        await asyncio.sleep(10)

    consumer = make(handler, FakeDeadLetters())
    task = asyncio.create_task(consumer.handle(delivery(env_bytes())))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_authenticating_consumer_hands_the_sender_to_the_handler_and_refuses_a_wrong_key() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from shared.security.principal import Principal, current

    seen: list[object] = []

    async def handler(env: Envelope, event: Event) -> None:
        seen.append(current())

    who = Principal(system_id="sys", kid="k", kind="agency", signed_at=datetime.now(UTC))
    dlq = FakeDeadLetters()
    consumer = ReliableConsumer(
        service="svc",
        handlers={"test.sample_happened": handler},
        publish_raw=dlq,
        authenticate=lambda headers, value, ts: who,
    )
    good = replace(delivery(env_bytes()), key=b"s1")
    assert await consumer.handle(good) is Result.PROCESSED
    assert seen == [who] and current() is None  # set only while the handler runs
    assert await consumer.handle(delivery(env_bytes())) is Result.DEAD_LETTERED  # key b"k" ≠ subject "s1"
    assert seen == [who]
    assert dlq.sent[0][3]["dv-dlq-reason"].startswith("key_mismatch")


# -- the store or the broker away: pause, never dead-letter ---------------------------------------


async def test_a_store_outage_longer_than_the_retry_budget_waits_instead_of_dead_lettering() -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    calls = 0

    async def handler(env: Envelope, event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls <= 12:  # four times the budget of 3 attempts
            raise ServerSelectionTimeoutError("127.0.0.1:27017: connection refused")

    dlq = FakeDeadLetters()
    consumer = make(handler, dlq, attempts=3)
    consumer.infra_backoff_max_seconds = 0.002
    paused_seen: list[str | None] = []

    async def watch() -> None:
        while True:
            paused_seen.append(consumer.paused)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    assert await consumer.handle(delivery(env_bytes())) is Result.PROCESSED
    watcher.cancel()
    assert calls == 13 and dlq.sent == []
    assert any(p and "ServerSelectionTimeoutError" in p for p in paused_seen)  # readiness was red
    assert consumer.paused is None  # and green again


async def test_the_messages_own_fault_still_ends_on_the_dead_letter_topic_after_an_outage() -> None:
    from pymongo.errors import AutoReconnect

    calls = 0

    async def handler(env: Envelope, event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls <= 4:
            raise AutoReconnect("primary went away")
        raise ValueError("a bug for this message")

    dlq = FakeDeadLetters()
    consumer = make(handler, dlq, attempts=3)
    consumer.infra_backoff_max_seconds = 0.002
    assert await consumer.handle(delivery(env_bytes())) is Result.DEAD_LETTERED
    assert calls == 4 + 3  # the outage did not use up the message's three attempts
    assert "gave up after 3 attempts" in dlq.sent[0][3]["dv-dlq-reason"]


# -- limits and a dead letter too big to carry its original ----------------------------------------


async def test_a_record_over_the_limit_is_dead_lettered_unread() -> None:
    async def handler(env: Envelope, event: Event) -> None:
        raise AssertionError("must not be called")

    dlq = FakeDeadLetters()
    consumer = make(handler, dlq)
    consumer.max_message_bytes = 1024
    assert await consumer.handle(delivery(b"x" * 2048)) is Result.DEAD_LETTERED
    headers = dlq.sent[0][3]
    assert headers["dv-dlq-reason"].startswith("too_large: 2048 bytes")
    assert "quá lớn" in headers["dv-dlq-reason-vi"]


async def test_a_dead_letter_the_broker_cannot_take_is_kept_in_the_store_and_referenced() -> None:
    from aiokafka.errors import MessageSizeTooLargeError

    parked: list[tuple[Delivery, dict[str, str]]] = []
    sent: list[tuple[str, bytes]] = []

    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        if len(value) > 100:
            raise MessageSizeTooLargeError("the record is larger than the broker accepts")
        sent.append((topic, value))
        sent_headers.update(headers)

    async def park(d: Delivery, headers: dict[str, str]) -> str:
        parked.append((d, headers))
        return "db/dead_letters/svc:test.samples:0:7"

    sent_headers: dict[str, str] = {}
    consumer = ReliableConsumer(
        service="svc", handlers={}, publish_raw=publish, park=park, retry_base_seconds=0.001
    )
    assert await consumer.handle(delivery(b"{not json" + b" " * 500)) is Result.DEAD_LETTERED
    assert parked and parked[0][0].offset == 7
    assert sent == [("test.samples.dlq", b"")]  # the reasons, without the original
    assert sent_headers["dv-dlq-stored-as"] == "db/dead_letters/svc:test.samples:0:7"
    assert sent_headers["dv-dlq-original-bytes"] == "509"
    assert sent_headers["dv-dlq-reason"].startswith("malformed")


async def test_a_broker_outage_while_dead_lettering_waits_and_then_sends_the_original() -> None:
    from aiokafka.errors import KafkaConnectionError

    tries = 0
    sent: list[bytes] = []

    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        nonlocal tries
        tries += 1
        if tries <= 3:
            raise KafkaConnectionError("broker unreachable")
        sent.append(value)

    consumer = ReliableConsumer(
        service="svc",
        handlers={},
        publish_raw=publish,
        retry_base_seconds=0.001,
        infra_backoff_max_seconds=0.002,
    )
    assert await consumer.handle(delivery(b"{not json")) is Result.DEAD_LETTERED
    assert sent == [b"{not json"] and consumer.paused is None


async def test_nothing_is_authenticated_before_the_registry_copy_is_ready() -> None:
    """``./dev chaos``: a restarted tasks instance refused a good draft as ``unknown_key`` two seconds
    after it started — its copy of ``org.events`` (where agency keys live) was still empty. The
    consumer now waits for the copy before it even authenticates."""
    from dataclasses import replace

    keys: set[str] = set()
    ready = asyncio.Event()
    seen: list[int] = []

    def authenticate(headers: dict[str, str], value: bytes, ts: int | None) -> None:
        if "agency-key" not in keys:
            raise PermanentError("unknown_key")

    async def handler(env: Envelope, event: Event) -> None:
        assert isinstance(event, SampleHappened)
        seen.append(event.amount)

    dlq = FakeDeadLetters()
    consumer = ReliableConsumer(
        service="svc",
        handlers={"test.sample_happened": handler},
        publish_raw=dlq,
        authenticate=authenticate,  # type: ignore[arg-type]
        ready=ready.wait,
    )
    task = asyncio.create_task(consumer.handle(replace(delivery(env_bytes(3)), key=b"s1")))
    await asyncio.sleep(0.01)
    assert not task.done() and seen == []  # held, not refused
    keys.add("agency-key")  # the copy catches up
    ready.set()
    assert await task is Result.PROCESSED
    assert seen == [3] and dlq.sent == []
