"""One generic handle / reject / tick for every event-sourced aggregate.

A service gives, per aggregate kind, a repository, how to answer a refused request (its
``*.request_rejected`` event), the index fields it queries (status, ``next_timer_at``…) and, per
request, a small command function ``(aggregate, exists) -> facts`` from its dispatch table. This
module does the rest, the same way for decisions, complaints, situations, plans:

* **handle** — run the command in :meth:`EventSourcedRepository.execute`; the new facts go out as
  envelopes caused by the request; a :class:`DomainError` leaves the aggregate untouched and is
  answered once with the refusal event (stored keyed by request id: a redelivered request is
  answered once), logged with who, what and why;
* **tick_all** — load only the aggregates whose stored ``next_timer_at`` has come, let time pass
  (:meth:`Aggregate.tick`), store the facts and the next timer. Durable: what fired is in the
  aggregate and the save is version-checked, so a restart or a second instance never fires twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.contract.envelope import Envelope, Event
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.errors import DomainError
from shared.eventsourcing.repository import Append, EventSourcedRepository, Outcome, TamperedHistory
from shared.reliability.emit import Emitter
from shared.reliability.unit_of_work import emit_once
from shared.security.principal import Principal
from shared.security.principal import current as current_principal
from shared.store import AggregateStore

A = TypeVar("A", bound=Aggregate[Any])

Command = Callable[[A, bool], Sequence[Event]]
"""``command(aggregate, exists)`` → the new facts (already applied); raises :class:`DomainError`."""
Refusal = Callable[[Event, DomainError, str | None, datetime], Event]
"""``refusal(request, error, sender_system_id, at)`` → the ``*.request_rejected`` event."""
Index = Callable[[A, datetime], Mapping[str, Any]]


class Handler(Generic[A]):
    def __init__(
        self,
        *,
        name: str,
        repository: EventSourcedRepository[A],
        rejections: AggregateStore,
        emitter: Emitter,
        now: Callable[[], datetime],
        refusal: Refusal,
        index: Index[A],
        timer_actor: Any = None,
        on_saved: Callable[[], None] | None = None,
    ) -> None:
        self.log = logging.getLogger(f"tasks.{name}")
        self.repository = repository
        self.rejections = rejections
        self.emitter = emitter
        self.now = now
        self.refusal = refusal
        self.index = index
        self.timer_actor = timer_actor
        self.on_saved = on_saved

    async def handle(self, env: Envelope, request: Event, command: Command[A]) -> Outcome:
        refused: list[DomainError] = []
        sender = current_principal()

        def decide(aggregate: A, exists: bool) -> Append | None:
            try:
                facts = command(aggregate, exists)
            except DomainError as exc:
                refused.append(exc)
                return None
            if not facts:
                return None
            now = self.now()
            return Append(
                facts=facts,
                outbox=[self.emitter.wrap(f, env) for f in facts],
                extra=self.index(aggregate, now),
            )

        subject = request.subject()
        outcome = await self.repository.execute(subject, env.id, decide)
        if refused:
            system = sender.system_id if isinstance(sender, Principal) else None
            await self.reject(env, request, refused[-1], system)
        elif outcome.applied:
            self.log.info("request applied", extra={"type": request.event_type, "aggregate_id": subject})
        return outcome

    async def reject(self, env: Envelope, request: Event, error: DomainError, system_id: str | None) -> None:
        self.log.warning(
            "request rejected",
            extra={
                "type": request.event_type,
                "aggregate_id": request.subject(),
                "code": error.code,
                "reason": error.message_vi,
                "who": system_id or "unauthenticated",
            },
        )
        event = self.refusal(request, error, system_id, self.now())
        request_id = str(getattr(request, "request_id"))  # noqa: B009 - every request carries one
        await emit_once(self.rejections, request_id, env, event, self.emitter, on_saved=self.on_saved)

    async def tick_all(self) -> int:
        """Fire what is due on the aggregates whose stored next timer has come; how many facts."""
        fired = 0
        for aggregate_id in await self.repository.ids(due_before=self.now()):
            now = self.now()

            def decide(aggregate: A, exists: bool, now: datetime = now) -> Append | None:
                if not exists:
                    return None
                aggregate.acting = self.timer_actor
                facts = aggregate.tick(now)
                # also when nothing fired: the stored next timer has come, so it must move on
                return Append(
                    facts=facts,
                    outbox=[self.emitter.wrap(f) for f in facts],
                    extra=self.index(aggregate, now),
                    result=len(facts),
                )

            try:
                outcome = await self.repository.execute(aggregate_id, None, decide)
            except TamperedHistory:
                self.log.error(
                    "history does not verify; timers skipped", extra={"aggregate_id": aggregate_id}
                )
                continue
            fired += int(outcome.result or 0)
        return fired
