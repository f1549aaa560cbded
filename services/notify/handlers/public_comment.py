"""Handlers of the public comment window (lấy ý kiến nhân dân) and of a contact change."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.notify.domain.contact_change import ContactChange, Contacts
from services.notify.domain.links import Action
from services.notify.domain.templates import ContactChanged, PublicCommentModeration
from services.notify.domain.vi_time import vn_date
from services.notify.handlers.context import Notify
from services.notify.handlers.decisions import keep
from services.notify.handlers.outbound import enqueue, ensure_link, no_recipient, recipient
from services.notify.recipients import Contact, NoRecipient
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import PublicCommentOpened
from shared.orgmodel.errors import OrgDomainError

log = logging.getLogger("notify.service")


async def on_public_comment_opened(n: Notify, env: Envelope, e: PublicCommentOpened) -> None:
    """The window opens: the public page starts accepting comments, and the person in charge of
    the synthesiser unit (the Dân vận board) gets the moderation link by e-mail."""
    await keep(n, env, e)
    draft = await n.stores.drafts.get(e.decision_id)
    unit_id = draft.synthesiser_unit_id if draft else None
    if not unit_id or draft is None:
        log.error("public comment opened without a synthesiser unit", extra={"decision_id": e.decision_id})
        return
    target = n.recipients.in_charge(unit_id, e.occurred_at)
    if isinstance(target, NoRecipient):
        await no_recipient(n, env, target, "public_comment_moderation", e.decision_id)
        return
    # Reusable (not single-use); expires LINK_GRACE_DAYS after the window closes: moderation
    # stays possible after the close (pending comments block issuance until moderated).
    link = await ensure_link(
        n,
        f"{e.decision_id}:moderate:{unit_id}:{target.person_id}",
        action=Action.MODERATE_PUBLIC_COMMENTS,
        decision_id=e.decision_id,
        unit_id=unit_id,
        target=target,
        expires_at=e.closes_at + timedelta(days=n.settings.link_grace_days),
    )
    message = PublicCommentModeration(
        recipient=recipient(target),
        decision=draft.ref(),
        deadline=e.closes_at,
        action_url=link.url,
        public_url=n.public_url(e.decision_id),
    )
    await enqueue(n, env, message, target, e.decision_id, link=link)


async def on_contact_changed(
    n: Notify,
    env: Envelope,
    person_id: str,
    name: str,
    before: Contacts,
    changes: tuple[ContactChange, ...],
    changed_at: datetime,
) -> None:
    """Tell the person, at the addresses they had *before* the change, that their e-mail, phone or
    webhook changed (new values masked). Through the ordinary deliveries: recorded, retried, listed
    and published like every other message; the delivery ids derive from the org envelope, so a
    redelivered event writes nothing twice. Who has no old address (or no usable channel) is an
    operator-visible ``no_recipient`` failure, as for any notification."""
    unit_id, unit_name = "", ""
    try:
        positions = n.recipients.replica.registry.people.positions_of(person_id, vn_date(changed_at))
    except OrgDomainError:
        positions = ()
    if positions:
        unit_id = positions[0].unit_id
        unit_name = n.recipients.unit_name(unit_id, changed_at)
    old = Contact(
        person_id=person_id,
        name=name,
        unit_id=unit_id,
        unit_name=unit_name or "Hệ thống phối hợp công tác dân vận",
        role="",
        acting_as_substitute=False,
        email=before.email,
        phone=before.phone,
        webhook_url=before.webhook_url,
    )
    message = ContactChanged(recipient=recipient(old), changed_at=changed_at, changes=changes)
    key = f"contact_changed:{person_id}"
    log.info(
        "contact change notice",
        extra={
            "who": person_id,
            "what": ",".join(c.field for c in changes),
            "why": "org.person_updated changed contact channels",
        },
    )
    if not old.reachable:
        why = f"Cán bộ {name} ({person_id}) không có địa chỉ cũ để báo việc thay đổi thông tin liên lạc."
        nobody = NoRecipient(unit_id, old.unit_name, why)
        await no_recipient(n, env, nobody, message.kind.value, None, key=key)
        return
    await enqueue(n, env, message, old, None, key=key)
