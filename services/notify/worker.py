"""The delivery worker: sends what is due, groups floods into digests, retries, dead-letters.

Why a background task over stored deliveries rather than sending inside the event handler: an
SMTP relay or SMS gateway outage must neither block the consumer (and the other decisions
behind it on the partition) nor lose a message. The handler only stores a pending delivery;
this loop owns the sending, and every state change is data (next attempt time, history), so a
restart resumes where it stopped.

One pass: load the due deliveries (:meth:`~services.notify.stores.ports.DeliveryStore.due`: pending /
failed-retryable whose time has come, each checked with
:func:`~services.notify.domain.delivery.is_due`), plan the
dispatch per (channel, address) with :func:`~services.notify.domain.digest.plan_digest` —
two or more for the same person become one grouped message — claim each delivery with a short
lease (so two instances never send the same message), send, and record the attempt with
:func:`~services.notify.domain.delivery.record_attempt`. A sent delivery publishes
``notify.delivery_sent``; one that exhausts its retries (or is refused permanently) becomes
``dead_lettered`` and publishes ``notify.delivery_failed`` — both through the delivery
document's outbox, in the same write as the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from services.notify.channels.base import EmailOut, LinkCase, SmsOut, WebhookOut
from services.notify.domain.delivery import (
    Attempt,
    AttemptOutcome,
    DeliveryResult,
    DeliveryState,
    DeliveryStatus,
    RetryPolicy,
    is_due,
    record_attempt,
)
from services.notify.domain.digest import Grouped, Immediate, Pending, plan_digest
from services.notify.domain.templates import (
    Digest,
    DigestEntry,
    NotificationKind,
    Recipient,
    RenderedMessage,
    Renderer,
)
from services.notify.readmodel import aware
from services.notify.stores.mongo import MongoDeliveryStore
from services.notify.stores.ports import DeliveryStore
from shared.contract.events.notify import DeliveryFailed, DeliverySent
from shared.reliability.emit import Emitter
from shared.reliability.faults import is_infrastructure
from shared.reliability.unit_of_work import Change
from shared.store import AggregateStore, Doc, Stored
from shared.telemetry import BackgroundPass

log = logging.getLogger("notify.worker")

LEASE = timedelta(minutes=2)
BATCH = 500
"""Deliveries one pass loads at the most (oldest first)."""

Out = TypeVar("Out", contravariant=True)


class Sender(Protocol[Out]):
    """A channel: sends one message and says how it went (never raises for a refused message)."""

    async def send(self, out: Out) -> DeliveryResult: ...


def state_of(s: Mapping[str, Any]) -> DeliveryState:
    return DeliveryState(
        message_id=str(s["message_id"]),
        channel=str(s["channel"]),
        status=DeliveryStatus(s["status"]),
        attempts=int(s.get("attempts", 0)),
        next_attempt_at=aware(s.get("next_attempt_at")),
        last_error=s.get("last_error"),
        history=tuple(
            Attempt(
                at=aware(h["at"]) or datetime.now(UTC),
                outcome=AttemptOutcome(h["outcome"]),
                detail=h["detail"],
            )
            for h in s.get("history", [])
        ),
    )


def wire_id(text: str) -> str:
    """A Message-ID / idempotency key safe for every transport (doc ids contain ':')."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def cases_of(docs: list[Doc]) -> tuple[LinkCase, ...]:
    """The action links of the deliveries in one message (a digest has several), for its headers."""
    found: dict[str, LinkCase] = {}
    for d in docs:
        c = d["state"].get("case")
        if c:
            found.setdefault(
                str(c["token"]),
                LinkCase(str(c["token"]), str(c["decision_id"]), str(c["unit_id"]), str(c["action"])),
            )
    return tuple(found.values())


class DeliveryWorker:
    def __init__(
        self,
        *,
        deliveries: DeliveryStore | AggregateStore,
        emitter: Emitter,
        email: Sender[EmailOut],
        sms: Sender[SmsOut] | None,
        webhook: Sender[WebhookOut] | None,
        policy: RetryPolicy,
        digest_window: timedelta,
        now: Callable[[], datetime],
        poll_seconds: float = 1.0,
        on_outbox: Callable[[], None] = lambda: None,
        renderer: Renderer | None = None,
        record_retry_max_seconds: float = 5.0,
        concurrency: int = 8,
    ) -> None:
        self.deliveries = (
            deliveries if isinstance(deliveries, DeliveryStore) else MongoDeliveryStore(deliveries)
        )
        """The deliveries' store (a bare aggregate store is read through the document store's queries)."""
        self.concurrency = max(1, concurrency)
        """Dispatches of one pass in flight at once (each claimed, sent and recorded on its own)."""
        self.record_retry_max_seconds = record_retry_max_seconds
        self.emitter = emitter
        self.email = email
        self.sms = sms
        self.webhook = webhook
        self.policy = policy
        self.digest_window = digest_window
        self.now = now
        self.poll_seconds = poll_seconds
        self.on_outbox = on_outbox
        self.renderer = renderer or Renderer()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed_attempts = 0

    # -- lifecycle ------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="notify-delivery-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # stopped on purpose
                # a library cancelled an await of ours (not a stop): the loop must not die of it
                log.exception("delivery pass cancelled from inside; going on")
            except Exception:  # the store or a channel misbehaved: keep the loop alive, retry next pass
                log.exception("delivery pass failed; will retry")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    # -- one pass -----------------------------------------------------------------------
    async def run_once(self) -> int:
        """Send everything due now; returns how many deliveries were attempted."""
        now = self.now()
        with BackgroundPass("notify delivery pass") as work:  # a pass with nothing due leaves no span
            found = await self.deliveries.due(now, BATCH)
            docs = [d for d in found if is_due(state_of(d["state"]), now)]
            if not docs:
                return 0
            work.found(**{"dv.deliveries.due": len(docs)})
            attempted = await self._deliver(docs, now)
            work.set(**{"dv.deliveries.attempted": attempted})
        return attempted

    async def _deliver(self, docs: list[Doc], now: datetime) -> int:
        pending = [
            Pending(
                notification_id=str(d["_id"]),
                recipient_id=(d["state"]["channel"], d["state"]["to"]),
                kind=str(d["state"]["kind"]),
                created_at=aware(d["state"]["created_at"]) or now,
                content=d,
            )
            for d in docs
        ]
        plan = plan_digest(pending, now=now, window=self.digest_window)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(dispatch: Immediate[Doc] | Grouped[Doc]) -> int:
            # one recipient's message: claimed, sent and recorded while others are on the wire
            async with gate:
                items = [dispatch.item] if isinstance(dispatch, Immediate) else list(dispatch.items)
                claimed = [p.content for p in items if await self._claim(p.content, now)]
                if claimed:
                    await self._dispatch(claimed, grouped=isinstance(dispatch, Grouped) and len(claimed) > 1)
                return len(claimed)

        outcomes = await asyncio.gather(*(one(d) for d in plan.dispatches), return_exceptions=True)
        attempted = sum(n for n in outcomes if isinstance(n, int))
        for failure in outcomes:
            if isinstance(failure, BaseException):
                raise failure  # the store went away mid-pass (the others finished): the loop retries
        return attempted

    async def _claim(self, doc: Doc, now: datetime) -> bool:
        """A short lease so that two instances (or two passes) never send the same delivery."""
        return await self.deliveries.claim(str(doc["_id"]), now, now + LEASE)

    async def _dispatch(self, docs: list[Doc], *, grouped: bool) -> None:
        first = docs[0]["state"]
        channel, to = str(first["channel"]), str(first["to"])
        if grouped:
            ids = sorted(str(d["_id"]) for d in docs)
            digest_id = "digest-" + wire_id("|".join(ids))
            rendered = self.renderer.render(self._digest(docs))
            message_key = digest_id
        else:
            digest_id = None
            r = first["rendered"]
            rendered = RenderedMessage(
                kind=NotificationKind(first["kind"]),
                subject=r["subject"],
                text=r["text"],
                html=r["html"],
                sms=r["sms"],
            )
            message_key = str(docs[0]["_id"])
        try:
            result = await self._send(channel, to, message_key, rendered, docs)
        except Exception as exc:  # a channel must not raise; if it does, it is a retryable failure
            log.exception("channel raised")
            result = DeliveryResult(AttemptOutcome.RETRYABLE_FAILURE, f"{type(exc).__name__}: {exc}")
        if not result.ok:
            self.failed_attempts += 1
            log.warning("delivery attempt failed", extra={"channel": channel, "detail": result.detail})
        for d in docs:
            await self._record_until_stored(str(d["_id"]), result, digest_id)

    async def _record_until_stored(
        self, delivery_id: str, result: DeliveryResult, digest_id: str | None
    ) -> None:
        """Record an attempt whose message has left: while the store is unreachable, keep the outcome
        here and retry (with backoff) rather than give the pass up. Giving up would leave the delivery
        pending under its lease, and the next pass after the lease would send the message again
        (issue "No message wedges", item 5: an e-mail twice after a store outage)."""
        delay = 0.2
        while True:
            try:
                await self._record(delivery_id, result, digest_id)
                return
            except Exception as exc:
                if not is_infrastructure(exc):
                    raise
                log.warning(
                    "store unreachable while recording a sent delivery; retrying",
                    extra={"delivery_id": delivery_id, "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.record_retry_max_seconds)

    def _digest(self, docs: list[Doc]) -> Digest:
        first = docs[0]["state"]["recipient"]
        entries = []
        for d in docs:
            e = d["state"]["entry"]
            entries.append(
                DigestEntry(
                    kind=NotificationKind(e["kind"]),
                    label=e["label"],
                    title=e["title"],
                    issuer_name=e["issuer_name"],
                    deadline=aware(e.get("deadline")),
                    url=e.get("url"),
                    reference=str(e.get("reference") or ""),
                )
            )
        entries.sort(key=lambda e: (e.deadline is None, e.deadline.timestamp() if e.deadline else 0.0))
        recipient = Recipient(
            name=first["name"],
            unit_name=first["unit_name"],
            acting_as_substitute=bool(first["acting_as_substitute"]),
        )
        return Digest(recipient=recipient, entries=tuple(entries))

    async def _send(
        self, channel: str, to: str, key: str, m: RenderedMessage, docs: list[Doc]
    ) -> DeliveryResult:
        if channel == "email":
            return await self.email.send(
                EmailOut(
                    message_id=wire_id(key),
                    to=(to,),
                    subject=m.subject,
                    text=m.text,
                    html=m.html,
                    cases=cases_of(docs),
                )
            )
        if channel == "sms" and self.sms is not None:
            return await self.sms.send(SmsOut(message_id=wire_id(key), to=to, text=m.sms))
        if channel == "webhook" and self.webhook is not None:
            payload = {
                "kind": m.kind.value,
                "subject": m.subject,
                "text": m.text,
                "items": [
                    {"delivery_id": str(d["_id"]), "decision_id": d["state"].get("decision_id")} for d in docs
                ],
            }
            units = tuple(dict.fromkeys(str(d["state"].get("unit_id") or "") for d in docs))
            return await self.webhook.send(
                WebhookOut(
                    delivery_id=wire_id(key),
                    url=to,
                    event_type=f"notify.{m.kind.value}",
                    payload=payload,
                    unit_ids=units,
                )
            )
        return DeliveryResult(AttemptOutcome.PERMANENT_FAILURE, f"channel {channel!r} is not configured")

    async def _record(self, delivery_id: str, result: DeliveryResult, digest_id: str | None) -> None:
        now = self.now()

        def decide(current: Stored | None) -> Change | None:
            if current is None:
                return None
            s = dict(current.state)
            before = state_of(s)
            if before.terminal:
                return None
            after = record_attempt(before, result, now, self.policy)
            s.update(
                status=after.status.value,
                attempts=after.attempts,
                next_attempt_at=after.next_attempt_at,
                last_error=after.last_error,
                history=[{"at": h.at, "outcome": h.outcome.value, "detail": h.detail} for h in after.history],
                digest_id=digest_id,
            )
            outbox = []
            common: dict[str, Any] = {
                "delivery_id": delivery_id,
                "channel": s["channel"],
                "kind": s["kind"],
                "decision_id": s.get("decision_id"),
                "recipient_unit_id": s.get("unit_id"),
                "recipient_person_id": s.get("person_id"),
                "attempts": after.attempts,
                "occurred_at": now,
            }
            if after.status is DeliveryStatus.SENT:
                outbox.append(self.emitter.wrap(DeliverySent(**common, digest_id=digest_id)))
            elif after.status is DeliveryStatus.DEAD_LETTERED:
                log.error(
                    "delivery dead-lettered", extra={"delivery_id": delivery_id, "reason": after.last_error}
                )
                outbox.append(
                    self.emitter.wrap(
                        DeliveryFailed(**common, status="dead_lettered", reason=after.last_error or "unknown")
                    )
                )
            extra = {
                "status": s["status"],
                "next_attempt_at": s["next_attempt_at"],
                "lease_until": now,
            }
            return Change(state=s, outbox=outbox, extra=extra, result=after.status)

        outcome = await self.deliveries.change(delivery_id, decide)
        if outcome.applied:
            if outcome.result is DeliveryStatus.SENT:
                self.sent += 1
            if outcome.outbox:
                self.on_outbox()
