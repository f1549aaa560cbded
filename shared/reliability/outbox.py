"""Outbox relay: publishes envelopes saved in aggregate documents, then removes them.

Why: the state change and its events are written in one atomic document
update (see :mod:`shared.store`); publishing happens afterwards, here. A crash
between publishing and removal re-publishes on restart — consumers are
idempotent, so that is a duplicate delivery, never a loss. Order per
aggregate is kept: one document's envelopes go out in order, keyed by the
aggregate id (same partition).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.propagate import extract
from pymongo.asynchronous.collection import AsyncCollection

from shared.contract.envelope import Envelope

log = logging.getLogger("shared.outbox")

Publish = Callable[[Envelope], Awaitable[None]]


class OutboxRelay:
    def __init__(
        self,
        collections: Sequence[AsyncCollection[dict[str, Any]]],
        publish: Publish,
        *,
        poll_seconds: float = 0.5,
        batch: int = 100,
    ) -> None:
        self.collections = list(collections)
        self.publish = publish
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def wake(self) -> None:
        """Called after a save so events leave at once instead of at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish everything pending; returns how many envelopes went out."""
        sent = 0
        for coll in self.collections:
            cursor = coll.find({"outbox_pending": True}, {"outbox": 1}).limit(self.batch)
            async for doc in cursor:
                envelopes = [Envelope.model_validate(e) for e in doc.get("outbox", [])]
                done: list[str] = []
                try:
                    for env in envelopes:
                        await self._publish_in_trace(env)
                        done.append(env.id)
                finally:
                    if done:
                        await coll.update_one(
                            {"_id": doc["_id"]}, {"$pull": {"outbox": {"id": {"$in": done}}}}
                        )
                # cleared only if nothing was added meanwhile (a save sets it again with its push)
                await coll.update_one(
                    {"_id": doc["_id"], "outbox": {"$size": 0}}, {"$set": {"outbox_pending": False}}
                )
                sent += len(done)
        self.published += sent
        return sent

    async def _publish_in_trace(self, env: Envelope) -> None:
        carrier = {k: v for k, v in (("traceparent", env.traceparent), ("tracestate", env.tracestate)) if v}
        token = otel_context.attach(extract(carrier)) if carrier else None
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
                raise
            except Exception:  # keep relaying: a broker outage must not kill the service
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
