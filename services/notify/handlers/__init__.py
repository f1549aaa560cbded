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
from shared.contract.events.decisions import (
    ConsultationRequested,
    DecisionDrafted,
    DecisionIssued,
    DecisionRevised,
    DecisionWithdrawn,
    Escalated,
    OpinionRecorded,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentOpened,
    PublicCommentRecorded,
    ReminderDue,
    RequestRejected,
)
from shared.reliability.consumer import Handler

E = TypeVar("E", bound=Event)

__all__ = ["Notify", "decision_handlers"]


def _bound(n: Notify, kind: type[E], fn: Callable[[Notify, Envelope, E], Awaitable[None]]) -> Handler:
    async def handle(env: Envelope, e: Event) -> None:
        assert isinstance(e, kind), f"{kind.event_type} handler got {type(e).__name__}"
        await fn(n, env, e)

    return handle


def decision_handlers(n: Notify) -> dict[str, Handler]:
    """The ``tasks.decisions`` handlers of notify, by event type."""
    return {
        DecisionDrafted.event_type: _bound(n, DecisionDrafted, decisions.keep),
        DecisionRevised.event_type: _bound(n, DecisionRevised, decisions.on_revised),
        ConsultationRequested.event_type: _bound(
            n, ConsultationRequested, decisions.on_consultation_requested
        ),
        ReminderDue.event_type: _bound(n, ReminderDue, decisions.on_reminder_due),
        Escalated.event_type: _bound(n, Escalated, decisions.on_escalated),
        OpinionRecorded.event_type: _bound(n, OpinionRecorded, decisions.on_opinion_recorded),
        RequestRejected.event_type: _bound(n, RequestRejected, decisions.on_request_rejected),
        OverrideRecorded.event_type: _bound(n, OverrideRecorded, decisions.keep),
        DecisionWithdrawn.event_type: _bound(n, DecisionWithdrawn, decisions.keep),
        DecisionIssued.event_type: _bound(n, DecisionIssued, decisions.on_issued),
        PublicCommentOpened.event_type: _bound(
            n, PublicCommentOpened, public_comment.on_public_comment_opened
        ),
        PublicCommentRecorded.event_type: _bound(n, PublicCommentRecorded, decisions.keep),
        PublicCommentModerated.event_type: _bound(n, PublicCommentModerated, decisions.keep),
        PublicCommentClosed.event_type: _bound(n, PublicCommentClosed, decisions.keep),
    }
