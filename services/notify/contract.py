"""The notify service's published contract (read by ``scripts/asyncapi.py``)."""

from __future__ import annotations

from shared.contract.envelope import Event
from shared.contract.events.decisions import (
    ConsultationRequested,
    DecisionDrafted,
    DecisionIssued,
    DecisionRevised,
    DecisionWithdrawn,
    Escalated,
    OpinionRecorded,
    OpinionSubmitted,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentModerationSubmitted,
    PublicCommentOpened,
    PublicCommentRecorded,
    PublicCommentSubmitted,
    ReminderDue,
    RequestRejected,
)
from shared.contract.events.notify import DeliveryFailed, DeliverySent
from shared.contract.events.org import ORG_EVENT_TYPES

DESCRIPTION = (
    "Notifications of the consultation workflow (thông báo lấy ý kiến): e-mail, SMS and signed "
    "webhooks to the person in charge of dân vận work of each consultee unit, with signed, "
    "expiring, single-use action links behind which the Dân vận board, the Fatherland Front and "
    "the socio-political organisations read the draft by article and give their opinion without an "
    "account. Opinions go to the workflow as decision.opinion_submitted; every delivery ends as "
    "notify.delivery_sent or notify.delivery_failed (dead-lettered or no recipient). Drafts published "
    "for public comment (lấy ý kiến nhân dân) get a public page where citizens comment without an "
    "account (decision.public_comment_submitted), and the Dân vận board moderates them through a "
    "signed link (decision.public_comment_moderation_submitted)."
)

PUBLISHES: list[type[Event]] = [
    OpinionSubmitted,
    PublicCommentSubmitted,
    PublicCommentModerationSubmitted,
    DeliverySent,
    DeliveryFailed,
]

CONSUMES: list[type[Event]] = [
    *ORG_EVENT_TYPES,
    DecisionDrafted,
    DecisionRevised,
    ConsultationRequested,
    ReminderDue,
    Escalated,
    OpinionRecorded,
    RequestRejected,
    PublicCommentOpened,
    PublicCommentRecorded,
    PublicCommentModerated,
    PublicCommentClosed,
    OverrideRecorded,
    DecisionWithdrawn,
    DecisionIssued,
]
