"""A sent message's outcome is kept and recorded once the store is back, never sent again.

Measured before (issue "No message wedges", item 5): a store outage between the SMTP send and the
record abandoned the pass; after the delivery's lease the next pass sent the e-mail again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from services.notify.domain.delivery import AttemptOutcome, DeliveryResult, RetryPolicy
from services.notify.domain.templates import RenderedMessage
from services.notify.worker import DeliveryWorker


class Worker(DeliveryWorker):
    def __init__(self, record_failures: list[BaseException]) -> None:
        super().__init__(
            deliveries=None,  # type: ignore[arg-type]
            emitter=None,  # type: ignore[arg-type]
            email=None,  # type: ignore[arg-type]
            sms=None,
            webhook=None,
            policy=RetryPolicy(),
            digest_window=timedelta(minutes=5),
            now=lambda: datetime(2026, 12, 3, tzinfo=UTC),
            record_retry_max_seconds=0.01,
        )
        self.failures = record_failures
        self.sends = 0
        self.records: list[tuple[str, AttemptOutcome]] = []

    async def _send(
        self, channel: str, to: str, key: str, m: RenderedMessage, docs: list[Any]
    ) -> DeliveryResult:
        self.sends += 1
        return DeliveryResult(AttemptOutcome.SENT, "250 ok")

    async def _record(self, delivery_id: str, result: DeliveryResult, digest_id: str | None) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.records.append((delivery_id, result.status))


def doc(delivery_id: str) -> dict[str, Any]:
    rendered = {"subject": "s", "text": "t", "html": "<p>t</p>", "sms": "t"}
    return {
        "_id": delivery_id,
        "state": {"channel": "email", "to": "a@b.vn", "kind": "reminder", "rendered": rendered},
    }


async def test_a_store_outage_after_the_send_delays_the_record_and_sends_once() -> None:
    w = Worker([AutoReconnect("store away"), AutoReconnect("still away"), AutoReconnect("again")])
    await w._dispatch([doc("d1")], grouped=False)
    assert w.sends == 1
    assert w.records == [("d1", AttemptOutcome.SENT)]


async def test_a_fault_that_is_not_the_store_s_is_not_retried_here() -> None:
    w = Worker([ValueError("a bug")])
    with pytest.raises(ValueError):
        await w._dispatch([doc("d1")], grouped=False)
    assert w.records == []


class SlowWorker(Worker):
    """Claims always succeed; each send takes a while (an SMTP round trip)."""

    def __init__(self, concurrency: int) -> None:
        super().__init__([])
        self.concurrency = concurrency
        self.in_flight = self.peak = 0

    async def _claim(self, doc: dict[str, Any], now: datetime) -> bool:
        return True

    async def _send(
        self, channel: str, to: str, key: str, m: RenderedMessage, docs: list[Any]
    ) -> DeliveryResult:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        return await super()._send(channel, to, key, m, docs)


def due(delivery_id: str, to: str) -> dict[str, Any]:
    d = doc(delivery_id)
    d["state"].update(to=to, created_at=datetime(2026, 12, 3, tzinfo=UTC))
    return d


async def test_a_pass_sends_several_recipients_at_once_each_once_and_never_more_than_the_bound() -> None:
    """``./dev chaos``: one message at a time, notify was still sending five minutes after the last
    decision was issued. A pass now has up to ``concurrency`` recipients' messages on the wire."""
    w = SlowWorker(concurrency=4)
    docs = [due(f"d{i}", f"p{i}@b.vn") for i in range(12)]
    assert await w._deliver(docs, datetime(2026, 12, 3, tzinfo=UTC)) == 12
    assert sorted(r[0] for r in w.records) == sorted(f"d{i}" for i in range(12))
    assert w.sends == 12
    assert 1 < w.peak <= 4
