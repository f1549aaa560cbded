"""Delivery facts of the notify service (topic ``notify.events``).

Why publish them: a consultation notice that never reached the Front or the Dân vận board
must be *visible* — to the operator, and to the workflow or a dashboard that may want to act
(e.g. phone the unit). A message is either sent (``notify.delivery_sent``) or given up on
(``notify.delivery_failed``: dead-lettered after its retry budget, refused permanently by the
relay, or nobody to send it to). Nothing is dropped silently.

The subject is the delivery id (one document per outbound message in notify's own store).
Addresses are not carried (personal data stays in notify); the person and unit ids are.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.contract.envelope import Event
from shared.contract.topics import NOTIFY_EVENTS


class DeliveryFact(Event):
    """Abstract base of delivery facts."""

    topic: ClassVar[str] = NOTIFY_EVENTS
    subject_field: ClassVar[str] = "delivery_id"

    delivery_id: str = Field(min_length=1)
    channel: str = Field(min_length=1, description="email, sms or webhook")
    kind: str = Field(min_length=1, description="notification kind, e.g. consultation_requested")
    decision_id: str | None = None
    recipient_unit_id: str | None = None
    recipient_person_id: str | None = None
    attempts: int = Field(ge=0)
    occurred_at: AwareDatetime


class DeliverySent(DeliveryFact):
    """A notification left through its channel (accepted by the SMTP relay, the SMS gateway
    or the agency system). ``digest_id`` is set when it went out grouped with others."""

    event_type: ClassVar[str] = "notify.delivery_sent"

    digest_id: str | None = None


class DeliveryFailed(DeliveryFact):
    """A notification will not be delivered without an operator: it was dead-lettered after
    its retries or a permanent refusal, or no recipient / contact could be found for the unit.
    ``reason`` says why (operators read it)."""

    event_type: ClassVar[str] = "notify.delivery_failed"

    status: Literal["dead_lettered", "no_recipient"]
    reason: str = Field(min_length=1)


NOTIFY_EVENT_TYPES: tuple[type[DeliveryFact], ...] = (DeliverySent, DeliveryFailed)
