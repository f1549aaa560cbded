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
        raise ConnectionError("store away")

    dlq = FakeDeadLetters()
    assert await make(handler, dlq, attempts=4).handle(delivery(env_bytes())) is Result.DEAD_LETTERED
    assert calls == 4
    assert "gave up after 4 attempts: ConnectionError: store away" in dlq.sent[0][3]["dv-dlq-reason"]
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
