"""Load → decide → save for one aggregate, idempotent and conflict-safe.

Why: handlers stay thin. They give a pure ``decide`` function; this module
skips inputs already processed (the aggregate's inbox), retries on write
conflicts with a fresh read, and saves state + outbox + processed mark in one
atomic update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.contract.envelope import Envelope, Event
from shared.reliability.emit import Emitter
from shared.reliability.errors import ConcurrencyConflict
from shared.store import AggregateStore, Stored


@dataclass
class Change:
    """What a decision produces: the new state and the envelopes to publish."""

    state: Mapping[str, Any]
    outbox: Sequence[Envelope] = ()
    extra: Mapping[str, Any] | None = None
    result: Any = None


@dataclass
class Outcome:
    applied: bool
    duplicate: bool = False
    version: int = 0
    result: Any = None
    outbox: list[Envelope] = field(default_factory=list)


Decide = Callable[[Stored | None], Change | Awaitable[Change | None] | None]


async def apply(
    store: AggregateStore,
    aggregate_id: str,
    message_id: str | None,
    decide: Decide,
    *,
    conflict_retries: int = 5,
    on_saved: Callable[[], None] | None = None,
) -> Outcome:
    """Run ``decide`` on the current aggregate and save its change atomically.

    ``message_id`` (the input envelope id or request id) makes the call
    idempotent; ``None`` means the caller guarantees idempotency otherwise.
    ``decide`` returning ``None`` means "nothing to change" (still not recorded
    as processed, so it must be deterministic).
    """
    for attempt in range(conflict_retries + 1):
        current = await store.load(aggregate_id)
        if current is not None and message_id is not None and current.has_processed(message_id):
            return Outcome(applied=False, duplicate=True, version=current.version)
        maybe = decide(current)
        change = await maybe if isinstance(maybe, Awaitable) else maybe
        if change is None:
            return Outcome(applied=False, version=current.version if current else 0)
        try:
            version = await store.save(
                aggregate_id,
                expected_version=current.version if current else 0,
                state=change.state,
                outbox=change.outbox,
                processed=message_id,
                inbox=current.inbox if current else (),
                extra=change.extra,
            )
        except ConcurrencyConflict:
            if attempt >= conflict_retries:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
            continue
        if on_saved is not None:
            on_saved()
        return Outcome(applied=True, version=version, result=change.result, outbox=list(change.outbox))
    raise AssertionError("unreachable")


async def emit_once(
    store: AggregateStore,
    key: str,
    cause: Envelope,
    event: Event,
    emitter: Emitter,
    *,
    on_saved: Callable[[], None] | None = None,
) -> Outcome:
    """Store ``event`` under ``key`` with its outgoing envelope, once.

    For answers that belong to no aggregate (a refused request, say): keyed by the
    request id, a redelivered request is answered exactly once.
    """

    def decide(current: Stored | None) -> Change | None:
        if current is not None:
            return None  # already answered
        return Change(state=event.model_dump(mode="json"), outbox=[emitter.wrap(event, cause)])

    return await apply(store, key, cause.id, decide, on_saved=on_saved)
