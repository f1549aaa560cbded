"""Handlers of the consultation's facts (``tasks.decisions``): who is asked, reminded, told.

Each one keeps the read model up to date (:func:`services.notify.readmodel.apply`), looks up its
recipients in the org copy, and stores links and deliveries (:mod:`services.notify.handlers.outbound`).
"""

from __future__ import annotations

from datetime import datetime

from services.notify.domain.opinion import Stance as FormStance
from services.notify.domain.templates import ConsultationRequested as ConsultationNotice
from services.notify.domain.templates import (
    Issued,
    OpinionNotRecorded,
    OpinionReceived,
    OverdueEscalated,
    Reminder,
)
from services.notify.handlers.context import Notify
from services.notify.handlers.outbound import IssuedLink, enqueue, no_recipient, opinion_link, recipient
from services.notify.readmodel import Draft, Names, channel_vi, ref_of
from services.notify.recipients import Contact, NoRecipient
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import (
    ConsultationRequested,
    DecisionDrafted,
    DecisionFact,
    DecisionIssued,
    DecisionRevised,
    Escalated,
    OpinionRecorded,
    OpinionSubmitted,
    ReminderDue,
    RequestRejected,
)


async def keep(n: Notify, env: Envelope, e: DecisionFact) -> None:
    """A fact that only changes the read model (the draft's text, an override, a withdrawal…)."""
    names = Names()
    if isinstance(e, DecisionDrafted):
        names = Names(issuer_name=n.recipients.unit_name(e.issuer_unit_id, e.occurred_at))
    await n.stores.drafts.apply(env, e.decision_id, e, names)


async def ask_opinion(
    n: Notify,
    env: Envelope,
    decision_id: str,
    draft: Draft | None,
    unit_id: str,
    version: int,
    deadline: datetime,
    at: datetime,
    note: str | None,
) -> None:
    """The consultee's person in charge gets the opinion link of this draft version."""
    target = n.recipients.in_charge(unit_id, at)
    if isinstance(target, NoRecipient):
        await no_recipient(n, env, target, "consultation_requested", decision_id)
        return
    link = await opinion_link(n, decision_id, unit_id, version, target, deadline)
    message = ConsultationNotice(
        recipient=recipient(target),
        decision=ref_of(draft, decision_id),
        deadline=deadline,
        action_url=link.url,
        note=note,
    )
    await enqueue(n, env, message, target, decision_id, link=link)


async def on_revised(n: Notify, env: Envelope, e: DecisionRevised) -> None:
    """New text; the consultees whose commented articles changed get a new link (new version)."""
    await keep(n, env, e)
    draft = await n.stores.drafts.get(e.decision_id)
    deadline = e.reconsultation_deadline or (draft.deadline if draft else None)
    if deadline is None:
        return
    note = (
        f"Dự thảo đã được chỉnh sửa (phiên bản {e.version}); các điều đã thay đổi: "
        f"{', '.join(e.changed_article_ids)}. Đề nghị đồng chí cho ý kiến lại đối với dự thảo mới."
    )
    for unit_id in e.reopened_consultee_unit_ids:
        await ask_opinion(n, env, e.decision_id, draft, unit_id, e.version, deadline, e.occurred_at, note)


async def on_consultation_requested(n: Notify, env: Envelope, e: ConsultationRequested) -> None:
    """Each consultee's person in charge gets a single-use opinion link."""
    await keep(n, env, e)
    draft = await n.stores.drafts.get(e.decision_id)
    req = e.requirement
    for c in req.consultees:
        await ask_opinion(
            n, env, e.decision_id, draft, c.unit_id, e.draft_version, req.deadline, e.occurred_at, None
        )


async def on_reminder_due(n: Notify, env: Envelope, e: ReminderDue) -> None:
    """The deadline approaches and the consultee has not answered: remind with the same link."""
    draft = await n.stores.drafts.get(e.decision_id)
    target = n.recipients.in_charge(e.consultee_unit_id, e.occurred_at)
    if isinstance(target, NoRecipient):
        await no_recipient(n, env, target, "reminder", e.decision_id)
        return
    version = draft.current_version if draft else 1
    link = await opinion_link(n, e.decision_id, e.consultee_unit_id, version, target, e.deadline)
    message = Reminder(
        recipient=recipient(target),
        decision=ref_of(draft, e.decision_id),
        deadline=e.deadline,
        action_url=link.url,
    )
    await enqueue(n, env, message, target, e.decision_id, link=link)


async def on_escalated(n: Notify, env: Envelope, e: Escalated) -> None:
    """Overdue: tell the leader the escalation names (head of the unit, or the standing
    committee of the party committee) and, with the link again, the late consultee.

    One mail per person and escalation step: the head of a unit is often also its person in
    charge of dân vận work (or stands in when that post is vacant); he then gets *one* mail,
    worded for the leader it is reported to, with the link to answer — not a second one telling
    him it "was reported to" himself. Delivery ids derive from the step, not the envelope, so a
    repeated fact for the same step writes nothing twice."""
    draft = await n.stores.drafts.get(e.decision_id)
    step = f"escalation:{e.decision_id}:{e.consultee_unit_id}:{e.round}:{e.level}"
    to_name = n.recipients.unit_name(e.escalate_to_unit_id, e.occurred_at)
    standing = e.escalate_to_role == "standing_committee"
    escalated_to = f"Thường trực {to_name}" if standing else f"người đứng đầu {to_name}"
    late_unit = n.recipients.unit_name(e.consultee_unit_id, e.occurred_at)
    late = n.recipients.in_charge(e.consultee_unit_id, e.occurred_at)
    link: IssuedLink | None = None
    if isinstance(late, Contact):
        version = draft.current_version if draft else 1
        link = await opinion_link(n, e.decision_id, e.consultee_unit_id, version, late, e.deadline)

    def message(target: Contact, *, answers: bool, to_leader: bool) -> OverdueEscalated:
        return OverdueEscalated(
            recipient=recipient(target),
            decision=ref_of(draft, e.decision_id),
            deadline=e.deadline,
            missing_units=(late_unit,),
            action_url=link.url if answers and link else None,
            escalated_to=escalated_to,
            to_leader=to_leader,
        )

    leaders: set[str] = set()
    for target in n.recipients.escalation(e.escalate_to_unit_id, e.escalate_to_role, e.occurred_at):
        if isinstance(target, NoRecipient):
            await no_recipient(n, env, target, "overdue_escalated", e.decision_id)
            continue
        if target.person_id in leaders:
            continue
        leaders.add(target.person_id)
        answers = link is not None and isinstance(late, Contact) and late.person_id == target.person_id
        mail = message(target, answers=answers, to_leader=True)
        await enqueue(n, env, mail, target, e.decision_id, link=link if answers else None, step=step)
    if isinstance(late, NoRecipient):
        await no_recipient(n, env, late, "overdue_escalated", e.decision_id)
        return
    if late.person_id in leaders or link is None:
        return  # already told, as the leader, with the link
    await enqueue(
        n, env, message(late, answers=True, to_leader=False), late, e.decision_id, link=link, step=step
    )


async def on_opinion_recorded(n: Notify, env: Envelope, e: OpinionRecorded) -> None:
    """A receipt to the person who gave the opinion: proof they answered, and when."""
    draft = await n.stores.drafts.get(e.decision_id)
    target = n.recipients.person(e.given_by, e.consultee_unit_id, e.occurred_at)
    if isinstance(target, NoRecipient):
        await no_recipient(n, env, target, "opinion_received", e.decision_id)
        return
    receipt_url = None
    if e.link_token_id:
        link = await n.stores.links.by_token_id(e.link_token_id)
        receipt_url = link.state["url"] if link else None
    previous = draft.opinions.get(e.supersedes_opinion_id or "") if draft else None
    await n.stores.drafts.apply(env, e.decision_id, e, Names(given_by_name=target.name))
    message = OpinionReceived(
        recipient=recipient(target),
        decision=ref_of(draft, e.decision_id),
        stance=FormStance(e.stance.value),
        submitted_at=e.occurred_at,
        receipt_url=receipt_url,
        amends_opinion_at=previous.at if (e.supersedes_opinion_id and previous) else None,
        channel_vi=channel_vi(e),
    )
    await enqueue(n, env, message, target, e.decision_id)


async def on_request_rejected(n: Notify, env: Envelope, e: RequestRejected) -> None:
    """An opinion sent through a link was refused by the workflow: tell its sender.

    The confirmation page could only say the opinion was *sent*; without this the
    person would believe it counts."""
    if e.request_type != OpinionSubmitted.event_type:
        return
    stored = await n.stores.pages.submission(e.request_id)  # request id = link token id
    if stored is None:
        return  # not sent through our pages
    unit_id = str(stored.state["recipient_unit_id"])
    target = n.recipients.person(str(stored.state["person_id"]), unit_id, e.occurred_at)
    if isinstance(target, NoRecipient):
        await no_recipient(n, env, target, "opinion_not_recorded", e.decision_id)
        return
    draft = await n.stores.drafts.get(e.decision_id)
    message = OpinionNotRecorded(
        recipient=recipient(target),
        decision=ref_of(draft, e.decision_id),
        reason_vi=e.message_vi,
        submitted_at=stored.state["submitted_at"],
    )
    await enqueue(n, env, message, target, e.decision_id)


async def on_issued(n: Notify, env: Envelope, e: DecisionIssued) -> None:
    """After issuance the board, the Front and the organisations get the information they
    need to mobilise people (357-QĐ/TU §5)."""
    await keep(n, env, e)
    draft = await n.stores.drafts.get(e.decision_id) or Draft.new(e.decision_id)
    units = [c.unit_id for c in draft.consultees]
    if draft.synthesiser_unit_id and draft.synthesiser_unit_id not in units:
        units.append(draft.synthesiser_unit_id)
    reasons = draft.override_reasons
    summary = (
        f"Văn bản được ban hành theo dự thảo phiên bản {e.draft_version}, sau khi lấy ý kiến "
        f"({len(e.opinion_ids)} ý kiến đã được ghi nhận)."
    )
    for unit_id in units:
        target = n.recipients.in_charge(unit_id, e.occurred_at)
        if isinstance(target, NoRecipient):
            await no_recipient(n, env, target, "issued", e.decision_id)
            continue
        message = Issued(
            recipient=recipient(target),
            decision=draft.ref(),
            issued_at=e.occurred_at,
            summary=summary,
            override_reason="; ".join(reasons) if (e.with_exception and reasons) else None,
        )
        await enqueue(n, env, message, target, e.decision_id)
