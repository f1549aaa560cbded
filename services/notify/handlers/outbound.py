"""What a handler sends: action links (issued once, then reused) and pending deliveries.

Ids are deterministic, so a redelivered fact writes nothing twice:

* links ``{decision}:{unit}:{draft version}:{person}`` — an opaque link (``/a/<random token>``,
  :mod:`services.notify.domain.opaque_links`) drawn once with its claims and stored (the look-up
  key is the token's SHA-256); a redelivery reuses the stored link (same URL in every reminder,
  also a signed link of the former format issued before). Moderation links
  ``{decision}:moderate:{unit}:{person}`` live under ``/kiem-duyet/``;
* deliveries ``{envelope id}:{unit}:{person}:{channel}`` — one outbound message each; an
  escalation's ``escalation:{decision}:{consultee}:{round}:{level}:{person}:{channel}`` — one per
  person and escalation step.

Link expiry (why ``deadline + LINK_GRACE_DAYS``, default 14 calendar days ≈ 10 working days):
the workflow accepts late opinions until the board synthesises (it records them as ``late``),
and an overdue consultee receives reminders and escalations *with the same link* after the
deadline. Expiring at the deadline would make those messages useless; never expiring would
leave a credential valid for ever. Two weeks after the deadline covers the escalation rounds
(level 2 after 3 working days) and a holiday, and bounds the exposure of a forwarded mail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.channels.base import LinkCase
from services.notify.domain.links import Action
from services.notify.domain.opaque_links import OPAQUE_KEY_ID, new_token, token_digest
from services.notify.domain.templates import Notification, Recipient, digest_entry
from services.notify.handlers.context import Notify
from services.notify.recipients import Contact, NoRecipient
from services.notify.stores.ports import NewLink
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import ActingAs
from shared.contract.events.notify import DeliveryFailed

log = logging.getLogger("notify.service")

NO_RECIPIENT = "no_recipient"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """An action link as put in a message: its URL and which decision and unit it is for."""

    url: str
    case: LinkCase


def recipient(c: Contact) -> Recipient:
    return Recipient(name=c.name, unit_name=c.unit_name, acting_as_substitute=c.acting_as_substitute)


# ---------------------------------------------------------------------------------------- links


async def ensure_link(
    n: Notify,
    link_id: str,
    *,
    action: Action,
    decision_id: str,
    unit_id: str,
    target: Contact,
    expires_at: datetime,
    extra: dict[str, Any] | None = None,
) -> IssuedLink:
    """The link stored under ``link_id``, issued on first use: an opaque ``/a/<token>`` (or
    ``/kiem-duyet/<token>`` for moderation) whose claims live in its document. A link issued
    before in the signed format is reused as it is (it keeps working until it expires)."""
    path = "kiem-duyet" if action is Action.MODERATE_PUBLIC_COMMENTS else "a"

    def issue() -> NewLink:
        token = new_token()
        state = {
            "token_id": new_token(),
            "key_id": OPAQUE_KEY_ID,
            "url": f"{n.base_url}/{path}/{token}",
            "action": action.value,
            "decision_id": decision_id,
            "unit_id": unit_id,
            "person_id": target.person_id,
            "role": target.role,
            **(extra or {}),
            "expires_at": expires_at.astimezone(UTC).replace(microsecond=0),
            "issued_at": n.now(),
        }
        return NewLink(state=state, token_hash=token_digest(token))

    stored = await n.stores.links.ensure_link(link_id, issue)
    url = str(stored["url"])
    case = LinkCase(
        token=url.rsplit("/", 1)[1],
        decision_id=str(stored["decision_id"]),
        unit_id=str(stored["unit_id"]),
        action=str(stored.get("action") or action.value),
    )
    return IssuedLink(url=url, case=case)


async def opinion_link(
    n: Notify, decision_id: str, unit_id: str, version: int, target: Contact, deadline: datetime
) -> IssuedLink:
    """The opinion link of (decision, unit, draft version, person): issued once, then reused."""
    return await ensure_link(
        n,
        f"{decision_id}:{unit_id}:{version}:{target.person_id}",
        action=Action.GIVE_OPINION,
        decision_id=decision_id,
        unit_id=unit_id,
        target=target,
        expires_at=deadline + timedelta(days=n.settings.link_grace_days),
        extra={
            "acting_as": (ActingAs.SUBSTITUTE if target.acting_as_substitute else ActingAs.HOLDER).value,
            "draft_version": version,
        },
    )


# ---------------------------------------------------------------------------------------- deliveries


def _channels(n: Notify, c: Contact) -> Iterator[tuple[str, str]]:
    if c.email:
        yield "email", c.email
    if c.phone and n.settings.sms_gateway_url:
        yield "sms", c.phone
    if c.webhook_url and n.settings.webhook_secret:
        yield "webhook", c.webhook_url


def _case(link: IssuedLink | None) -> dict[str, Any]:
    if link is None:
        return {}
    c = link.case
    return {
        "case": {"token": c.token, "decision_id": c.decision_id, "unit_id": c.unit_id, "action": c.action}
    }


async def enqueue(
    n: Notify,
    env: Envelope,
    message: Notification,
    target: Contact,
    decision_id: str | None,
    *,
    key: str | None = None,
    link: IssuedLink | None = None,
    step: str | None = None,
) -> None:
    """One pending delivery per channel the person can be reached on; the worker sends them.

    ``step`` (an escalation step) replaces the envelope id in the delivery id: one delivery per
    (step, person, channel). ``link`` is the message's action link (for its ``X-Danvan-Case``)."""
    rendered = n.renderer.render(message)
    entry = digest_entry(message)
    now = n.now()
    channels = list(_channels(n, target))
    if not channels:
        why = f"Không có kênh gửi khả dụng cho cán bộ {target.name}."
        nobody = NoRecipient(target.unit_id, target.unit_name, why)
        await no_recipient(n, env, nobody, message.kind.value, decision_id, key=key)
        return
    for channel, to in channels:
        delivery_id = (
            f"{step}:{target.person_id}:{channel}"
            if step
            else f"{env.id}:{key or target.unit_id}:{target.person_id}:{channel}"
        )
        state: dict[str, Any] = {
            "message_id": delivery_id,
            "channel": channel,
            "to": to,
            "kind": message.kind.value,
            "decision_id": decision_id,
            "unit_id": target.unit_id,
            "person_id": target.person_id,
            "recipient": {
                "name": target.name,
                "unit_name": target.unit_name,
                "acting_as_substitute": target.acting_as_substitute,
            },
            "rendered": {
                "subject": rendered.subject,
                "text": rendered.text,
                "html": rendered.html,
                "sms": rendered.sms,
            },
            "entry": {
                "kind": entry.kind.value,
                "label": entry.label,
                "title": entry.title,
                "issuer_name": entry.issuer_name,
                "deadline": entry.deadline,
                "url": entry.url,
                "reference": entry.reference,
            },
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": None,
            "history": [],
            "created_at": now,
            "cause_id": env.id,
            **_case(link),
        }
        await n.stores.deliveries.create_once(delivery_id, env.id, state)
    n.on_delivery()


async def no_recipient(
    n: Notify, env: Envelope, nr: NoRecipient, kind: str, decision_id: str | None, *, key: str | None = None
) -> None:
    """Nobody to notify: an operator-visible failure (listed, and published), never silence."""
    delivery_id = f"{env.id}:{key or nr.unit_id}:{NO_RECIPIENT}:{kind}"
    now = n.now()
    log.error(
        "no recipient for notification",
        extra={"unit_id": nr.unit_id, "decision_id": decision_id, "kind": kind, "reason": nr.reason_vi},
    )
    state: dict[str, Any] = {
        "message_id": delivery_id,
        "channel": "none",
        "to": None,
        "kind": kind,
        "decision_id": decision_id,
        "unit_id": nr.unit_id,
        "person_id": None,
        "recipient": {"name": "", "unit_name": nr.unit_name, "acting_as_substitute": False},
        "status": NO_RECIPIENT,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": nr.reason_vi,
        "history": [],
        "created_at": now,
        "cause_id": env.id,
    }
    fact = DeliveryFailed(
        delivery_id=delivery_id,
        channel="none",
        kind=kind,
        decision_id=decision_id,
        recipient_unit_id=nr.unit_id,
        recipient_person_id=None,
        attempts=0,
        occurred_at=now,
        status="no_recipient",
        reason=nr.reason_vi,
    )
    if await n.stores.deliveries.create_once(delivery_id, env.id, state, [n.emitter.wrap(fact, env)]):
        n.on_outbox()
