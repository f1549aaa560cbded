"""Channel protocol and the outbound message types, one per channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from services.notify.domain.delivery import DeliveryResult

M_contra = TypeVar("M_contra", contravariant=True)


class Channel(Protocol[M_contra]):
    """Anything that can try to deliver one message and say how it went."""

    async def send(self, message: M_contra) -> DeliveryResult: ...


@dataclass(frozen=True, slots=True)
class LinkCase:
    """Which decision and unit an action link in a message is for (the link itself is opaque)."""

    token: str
    decision_id: str
    unit_id: str
    action: str


@dataclass(frozen=True, slots=True)
class EmailOut:
    """An email. ``message_id`` is the delivery id, reused as the Message-ID so retries are traceable
    (and a receiving MTA can drop duplicates)."""

    message_id: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    cases: tuple[LinkCase, ...] = ()
    """One ``X-Danvan-Case`` header each (:mod:`services.notify.channels.email`)."""


@dataclass(frozen=True, slots=True)
class SmsOut:
    message_id: str
    to: str
    text: str


@dataclass(frozen=True, slots=True)
class WebhookOut:
    """A JSON event to an agency system. ``delivery_id`` lets the receiver deduplicate retries.
    ``unit_ids`` are the recipients' units: the target host must be on the webhook allow-list of
    each of them (:mod:`services.notify.channels.targets`)."""

    delivery_id: str
    url: str
    event_type: str
    payload: Mapping[str, Any]
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    unit_ids: tuple[str, ...] = ()
