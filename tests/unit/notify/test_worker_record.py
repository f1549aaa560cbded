"""A sent message's outcome is kept and recorded once the store is back, never sent again.

Measured before (issue "No message wedges", item 5): a store outage between the SMTP send and the
record abandoned the pass; after the delivery's lease the next pass sent the e-mail again.
"""

from __future__ import annotations

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
