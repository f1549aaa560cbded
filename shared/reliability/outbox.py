"""Outbox relay: publishes envelopes saved in aggregate documents, then removes them.

Why: the state change and its events are written in one atomic document
update (see :mod:`shared.store`); publishing happens afterwards, here. A crash
between publishing and removal re-publishes on restart — consumers are
idempotent, so that is a duplicate delivery, never a loss. Order per
aggregate is kept: one document's envelopes go out in order, keyed by the
aggregate id (same partition).

Several instances of a service share its database: each *claims* a document (``outbox_claim``,
a lease of ``lease_seconds``) before publishing it, so in normal operation each envelope is
published once; a claim of an instance that died expires and another takes the document over.

An envelope the broker can never take (over its size limit, or refused for a reason of its own)
is *isolated*: moved from ``outbox`` to ``outbox_failed`` with the reason, reported on the topic's
dead-letter twin (a reference, without the envelope) and in the relay's counters — and the relay
goes on with everything else. Only an unreachable broker or store stops a pass (it is retried).

Traces: a pass is a :class:`~shared.telemetry.BackgroundPass` (an ``outbox relay`` span, exported
only if the pass claimed a document); each publish joins the trace of the request that wrote the
envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.propagate import extract
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from shared.contract.envelope import Envelope
from shared.reliability.faults import is_infrastructure
from shared.telemetry import BackgroundPass

log = logging.getLogger("shared.outbox")

Publish = Callable[[Envelope], Awaitable[None]]
ReportIsolated = Callable[[Envelope, str, str], Awaitable[None]]
"""``(envelope, reason, stored_as)``: tell operators an envelope was isolated (a dead-letter reference)."""


class OutboxRelay:
    def __init__(
        self,
        collections: Sequence[AsyncCollection[dict[str, Any]]],
        publish: Publish,
        *,
        poll_seconds: float = 0.5,
        batch: int = 100,
        lease_seconds: float = 15.0,
        report_isolated: ReportIsolated | None = None,
        owner: str | None = None,
    ) -> None:
        self.collections = list(collections)
        self.publish = publish
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.report_isolated = report_isolated
        self.owner = owner or uuid.uuid4().hex
        """This relay's claim mark (one per process)."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.isolated = 0
        self.paused: str | None = None
        """Why the last pass stopped early (broker or store unreachable); None when it completed."""

    def wake(self) -> None:
        """Called after a save so events leave at once instead of at the next poll."""
        self._wake.set()

    def _claimable(self, now: datetime) -> dict[str, Any]:
        return {
            "$or": [
                {"outbox_claim": {"$exists": False}},
                {"outbox_claim": None},
                {"outbox_claim": self.owner},
                {"outbox_claim_until": {"$lt": now}},
            ]
        }

    async def _claim_batch(self, coll: AsyncCollection[dict[str, Any]]) -> list[dict[str, Any]]:
        """Claim up to ``batch`` pending documents no other instance holds, in two store operations
        (three when another instance took some of them meanwhile): read candidates with their outbox,
        claim them all in one ``update_many``; if not all were claimed, read back the ones that are."""
        now = datetime.now(UTC)
        candidates = (
            await coll.find({"outbox_pending": True, **self._claimable(now)}, projection={"outbox": 1})
            .limit(self.batch)
            .to_list()
        )
        if not candidates:
            return []
        ids = [d["_id"] for d in candidates]
        mark = uuid.uuid4().hex
        claimed = await coll.update_many(
            {"_id": {"$in": ids}, **self._claimable(now)},
            {
                "$set": {
                    "outbox_claim": self.owner,
                    "outbox_claim_until": now + self.lease,
                    "outbox_claim_pass": mark,
                }
            },
        )
        if claimed.modified_count == len(ids):
            return candidates
        # another instance claimed some in between: keep only ours (read again: an outbox may have grown)
        return await coll.find(
            {"_id": {"$in": ids}, "outbox_claim_pass": mark}, projection={"outbox": 1}
        ).to_list()

    async def run_once(self) -> int:
        """Publish one batch of pending documents per collection (that no other instance holds);
        returns how many envelopes went out. Documents are published concurrently (one producer
        batches them), each document's envelopes in order; the clean-up is one bulk write."""
        sent = 0
        try:
            with BackgroundPass("outbox relay") as work:  # claims are polls: an empty pass leaves no span
                for coll in self.collections:
                    docs = await self._claim_batch(coll)
                    if not docs:
                        continue
                    work.found()
                    sent += await self._relay_batch(coll, docs)
                work.set(**{"dv.outbox.published": sent})
        except Exception as exc:
            if not is_infrastructure(exc):
                raise
            if self.paused is None:  # once per outage, not at every pass
                log.warning(
                    "outbox relay paused: broker or store unreachable", extra={"error": str(exc)[:300]}
                )
            self.paused = f"{type(exc).__name__}: {exc}"[:300]
            return sent
        finally:
            self.published += sent
        if self.paused is not None:
            log.info("outbox relay resumed")
            self.paused = None
        return sent

    async def _relay_batch(self, coll: AsyncCollection[dict[str, Any]], docs: list[dict[str, Any]]) -> int:
        outcomes = await asyncio.gather(
            *(self._relay_document(coll, d) for d in docs), return_exceptions=True
        )
        writes: list[UpdateOne] = []
        fault: BaseException | None = None
        sent = 0
        for doc, outcome in zip(docs, outcomes, strict=True):
            done, failed = outcome if isinstance(outcome, tuple) else ([], outcome)
            if done:
                writes.append(UpdateOne({"_id": doc["_id"]}, {"$pull": {"outbox": {"id": {"$in": done}}}}))
                sent += len(done)
            if failed is None:
                # cleared (and released) only if nothing was added meanwhile (a save sets it again)
                writes.append(
                    UpdateOne(
                        {
                            "_id": doc["_id"],
                            "$or": [{"outbox": {"$size": 0}}, {"outbox": {"$exists": False}}],
                        },
                        {"$set": {"outbox_pending": False, "outbox_claim": None}},
                    )
                )
            elif fault is None or not is_infrastructure(fault):
                fault = failed
        if writes:
            await coll.bulk_write(writes, ordered=True)
        if fault is not None:
            raise fault
        return sent

    async def _relay_document(
        self, coll: AsyncCollection[dict[str, Any]], doc: dict[str, Any]
    ) -> tuple[list[str], BaseException | None]:
        """Publish one document's envelopes in order; returns the ids that went out and the fault
        that stopped it (an unreachable broker or store: the rest waits for the next pass)."""
        envelopes = [Envelope.model_validate(e) for e in doc.get("outbox", [])]
        done: list[str] = []
        for env in envelopes:
            try:
                await self._publish_in_trace(env)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_infrastructure(exc):
                    return done, exc
                try:
                    await self._isolate(coll, doc["_id"], env, exc)
                except Exception as isolate_exc:
                    return done, isolate_exc
                continue
            done.append(env.id)
        return done, None

    async def _isolate(
        self, coll: AsyncCollection[dict[str, Any]], doc_id: Any, env: Envelope, exc: BaseException
    ) -> None:
        reason = f"unpublishable: {type(exc).__name__}: {exc}"[:1000]
        await coll.update_one(
            {"_id": doc_id},
            {
                "$pull": {"outbox": {"id": env.id}},
                "$push": {
                    "outbox_failed": {
                        "envelope": env.model_dump(mode="json"),
                        "reason": reason,
                        "at": datetime.now(UTC),
                    }
                },
            },
        )
        self.isolated += 1
        stored_as = f"{coll.database.name}/{coll.name}/{doc_id}#outbox_failed/{env.id}"
        log.error(
            "envelope isolated: the broker cannot take it",
            extra={"event_type": env.type, "event_id": env.id, "reason": reason, "stored_as": stored_as},
        )
        if self.report_isolated is not None:
            await self.report_isolated(env, reason, stored_as)

    async def _publish_in_trace(self, env: Envelope) -> None:
        """The publish span joins the trace of the request that produced the envelope."""
        carrier = {k: v for k, v in (("traceparent", env.traceparent), ("tracestate", env.tracestate)) if v}
        token = otel_context.attach(extract(carrier, context=otel_context.get_current())) if carrier else None
        try:
            await self.publish(env)
        finally:
            if token is not None:
                otel_context.detach(token)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # stopped on purpose
                # a library cancelled an await of ours (not a stop): the loop must not die of it
                log.exception("outbox relay pass cancelled from inside; going on")
            except Exception:  # keep relaying: nothing may kill the relay
                log.exception("outbox relay pass failed; will retry")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def stop(self) -> None:
        """Graceful: one last pass so nothing written before shutdown waits for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.run_once()
