"""Delivery channels: email (SMTP), SMS (HTTP gateway) and signed webhooks to agency systems.

Each channel implements :class:`Channel` (``async send(message) -> DeliveryResult``) and
classifies failures as retryable or permanent, so the pure delivery state machine
(:mod:`services.notify.domain.delivery`) decides what happens next. Channels never raise for
delivery failures; they raise only for programming errors (e.g. an invalid message).
"""

from services.notify.channels.base import Channel, EmailOut, SmsOut, WebhookOut
from services.notify.domain.delivery import AttemptOutcome, DeliveryResult

__all__ = ["AttemptOutcome", "Channel", "DeliveryResult", "EmailOut", "SmsOut", "WebhookOut"]
