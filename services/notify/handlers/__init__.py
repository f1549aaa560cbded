"""notify's application layer: one small handler per decision fact, and the table that routes them.

Idempotency: every write goes through :func:`shared.reliability.unit_of_work.apply` with
deterministic document ids (see :mod:`services.notify.handlers.outbound`), and the read model is
marked processed per envelope, so a redelivered fact creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.notify.handlers import decisions, public_comment
from services.notify.handlers.context import Notify
from shared.contract.envelope import Envelope, Event
from shared.contract.events import decisions as facts
from shared.reliability.consumer import Handler

E = TypeVar("E", bound=Event)

__all__ = ["Notify", "decision_handlers"]


def _route(
    n: Notify, kind: type[E], fn: Callable[[Notify, Envelope, E], Awaitable[None]]
) -> tuple[str, Handler]:
    async def handle(env: Envelope, e: Event) -> None:
        assert isinstance(e, kind), f"{kind.event_type} handler got {type(e).__name__}"
        await fn(n, env, e)

    return kind.event_type, handle


def decision_handlers(n: Notify) -> dict[str, Handler]:
    """The ``tasks.decisions`` handlers of notify, by event type."""
    return dict(
        [
            _route(n, facts.DecisionDrafted, decisions.keep),
            _route(n, facts.DecisionRevised, decisions.on_revised),
            _route(n, facts.ConsultationRequested, decisions.on_consultation_requested),
            _route(n, facts.ReminderDue, decisions.on_reminder_due),
            _route(n, facts.Escalated, decisions.on_escalated),
            _route(n, facts.OpinionRecorded, decisions.on_opinion_recorded),
            _route(n, facts.RequestRejected, decisions.on_request_rejected),
            _route(n, facts.OverrideRecorded, decisions.keep),
            _route(n, facts.DecisionWithdrawn, decisions.keep),
            _route(n, facts.DecisionIssued, decisions.on_issued),
            _route(n, facts.PublicCommentOpened, public_comment.on_public_comment_opened),
            _route(n, facts.PublicCommentRecorded, decisions.keep),
            _route(n, facts.PublicCommentModerated, decisions.keep),
            _route(n, facts.PublicCommentClosed, decisions.keep),
        ]
    )
