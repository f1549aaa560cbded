"""Consumer handlers of the reports service: thin adapters from Kafka to the read models.

Why thin: all the meaning is in the pure projection (:mod:`services.reports.domain`); a
handler only hands one input to the store, which saves it idempotently. Failures are left
to the reliable consumer (bounded retries, then dead-letter) — except for dead letters
themselves, see :meth:`ReportsHandlers.on_dead_letter`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from faststream.kafka.annotations import KafkaMessage

from services.reports.domain.dead_letters import DeadLetter, from_record
from services.reports.ports import ReportsStorePort
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import DECISION_FACTS, DecisionFact, RequestRejected
from shared.contract.events.org import ORG_EVENT_TYPES
from shared.orgmodel.replica import OrgReplica
from shared.reliability.consumer import Handler

log = logging.getLogger("reports.handlers")


class ReportsHandlers:
    def __init__(
        self, store: ReportsStorePort, replica: OrgReplica, *, retry_max_seconds: float = 5.0
    ) -> None:
        self.store = store
        self.replica = replica
        self.retry_max_seconds = retry_max_seconds
        self.dead_letters_seen = 0

    async def on_decision_event(self, env: Envelope, event: Event) -> None:
        """A decision fact or a refused request: add it to that decision's view (once)."""
        if isinstance(event, DecisionFact | RequestRejected):
            await self.store.record_decision_event(env.id, event)

    def decision_handlers(self) -> Mapping[str, Handler]:
        types = [*(c.event_type for c in DECISION_FACTS), RequestRejected.event_type]
        return dict.fromkeys(types, self.on_decision_event)

    def org_handlers(self) -> Mapping[str, Handler]:
        """The org registry copy, only for unit and person names on pages and reports."""
        return {c.event_type: self.replica.on_event for c in ORG_EVENT_TYPES}

    async def on_dead_letter(self, message: KafkaMessage) -> None:
        """Store one dead letter for the console.

        Why a raw subscriber and a retry loop: a dead letter is the original bytes (often
        not an envelope), so the envelope-decoding consumer does not fit; and the
        subscription commits after the handler *even if it raised*, while there is no
        dead-letter topic for dead letters. So storing is retried until it succeeds (or
        the service shuts down, which leaves the offset uncommitted): none is lost.
        """
        dl = dead_letter_of(message)
        delay = 0.2
        while True:
            try:
                if await self.store.add_dead_letter(dl):
                    self.dead_letters_seen += 1
                    log.warning(
                        "dead letter recorded",
                        extra={
                            "topic": dl.topic,
                            "offset": dl.offset,
                            "reason": dl.reason,
                            "service": dl.service,
                        },
                    )
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("storing a dead letter failed; retrying", extra={"key": dl.key})
                await asyncio.sleep(delay)
                delay = min(self.retry_max_seconds, delay * 2)


def dead_letter_of(message: KafkaMessage) -> DeadLetter:
    raw = message.raw_message
    record: Any = raw[0] if isinstance(raw, tuple) else raw
    headers: dict[str, bytes | str] = {k: v for k, v in (record.headers or [])}
    return from_record(
        dlq_topic=record.topic,
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        key=record.key,
        value=record.value,
        headers=headers,
        timestamp_ms=getattr(record, "timestamp", None),
    )
