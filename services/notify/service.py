"""Application layer of notify: decision facts → links and deliveries; the pages' storage.

Thin on purpose: the rules live in the pure domain (links, templates, delivery states) and in
the org domain (who is in charge). Each handler here only looks things up, renders and saves.

Idempotency: every write goes through :func:`shared.reliability.unit_of_work.apply` with
deterministic document ids, so a redelivered event creates nothing twice:

* links ``{decision}:{unit}:{draft version}:{person}`` — an opaque link (``/a/<random token>``,
  :mod:`services.notify.domain.opaque_links`) drawn once with its claims and stored (the lookup
  key is the token's SHA-256); a redelivery reuses the stored link (same URL in every reminder,
  also a signed link of the former format issued before);
* deliveries ``{envelope id}:{unit}:{person}:{channel}`` — one outbound message each; an
  escalation's ``escalation:{decision}:{consultee}:{round}:{level}:{person}:{channel}`` — one per
  person and escalation step, whatever role(s) the person has in it (:meth:`NotifyService.on_escalated`);
* submissions ``{token id}`` — created, never updated: the insert itself enforces single use;
* drafts ``{decision id}`` — the local read model the pages show (marked processed per envelope),
  including the public comment window and the recorded comments with their moderation state;
* public comments ``{random request id}`` — a citizen's comment with its
  ``decision.public_comment_submitted`` request, in one write;
* moderations ``{comment id}`` — one moderation sent from the board's page per comment, with its
  ``decision.public_comment_moderation_submitted`` request (request id per (comment, outcome));
* moderation links ``{decision}:moderate:{unit}:{person}`` — reusable, expiring at the window's
  close + ``LINK_GRACE_DAYS`` (moderation stays possible after the close: pending comments block
  issuance until moderated).

Link expiry (why ``deadline + LINK_GRACE_DAYS``, default 14 calendar days ≈ 10 working days):
the workflow accepts late opinions until the board synthesises (it records them as ``late``),
and an overdue consultee receives reminders and escalations *with the same link* after the
deadline. Expiring at the deadline would make those messages useless; never expiring would
leave a credential valid for ever. Two weeks after the deadline covers the escalation rounds
(level 2 after 3 working days) and a holiday, and bounds the exposure of a forwarded mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from services.notify.channels.base import LinkCase
from services.notify.domain.contact_change import ContactChange, Contacts
from services.notify.domain.links import (
    Action,
    AlreadyUsed,
    LinkClaims,
    NotOnRecord,
    Revoked,
    SigningKey,
    VerifiedLink,
)
from services.notify.domain.opaque_links import OPAQUE_KEY_ID, LinkRecord, new_token, token_digest
from services.notify.domain.opinion import OpinionForm
from services.notify.domain.opinion import Stance as FormStance
from services.notify.domain.public_comment import (
    ModerationForm,
    PublicCommentForm,
    moderation_request_id,
    new_comment_request_id,
    reference_code,
)
from services.notify.domain.public_comment import Outcome as PublicOutcome
from services.notify.domain.templates import (
    ConsultationRequested as ConsultationNotice,
)
from services.notify.domain.templates import (
    ContactChanged,
    DecisionRef,
    Issued,
    Notification,
    OpinionNotRecorded,
    OpinionReceived,
    OverdueEscalated,
    PublicCommentModeration,
    Recipient,
    Reminder,
    Renderer,
    digest_entry,
)
from services.notify.domain.vi_time import VN_TZ, vn_date
from services.notify.pages.deps import Article as PageArticle
from services.notify.pages.deps import (
    CommentReceipt,
    DraftView,
    ModerationConflict,
    ModerationReceipt,
    ModerationView,
    PublicCommentView,
    PublicDraft,
    Submission,
)
from services.notify.recipients import Contact, NoRecipient, Recipients
from services.notify.settings import NotifySettings
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import (
    ActingAs,
    ArticleComment,
    ConsultationRequested,
    DecisionDrafted,
    DecisionIssued,
    DecisionRevised,
    DecisionWithdrawn,
    Escalated,
    ModerationOutcome,
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
from shared.contract.events.decisions import Stance as ContractStance
from shared.contract.events.notify import DeliveryFailed
from shared.orgmodel.errors import OrgDomainError
from shared.reliability.emit import Emitter
from shared.reliability.errors import ConcurrencyConflict
from shared.reliability.unit_of_work import Change, apply
from shared.store import AggregateStore, Stored

log = logging.getLogger("notify.service")

NO_RECIPIENT = "no_recipient"


def _dt(value: Any) -> datetime | None:
    """Datetimes come back from the store aware (tz_aware client) or as ISO text (JSON dumps)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def split_heading(index: int, text: str) -> tuple[str, str]:
    """Drafts often start an article with its heading ("Điều 1. Phạm vi …"); show it as the heading."""
    first, _, rest = text.strip().partition("\n")
    if first.startswith(("Điều ", "Khoản ")) and len(first) <= 200:
        return first.strip(), rest.strip()
    return f"Điều {index}", text.strip()


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """An action link as put in a message: its URL and which decision and unit it is for."""

    url: str
    case: LinkCase


class NotifyService:
    def __init__(
        self,
        *,
        settings: NotifySettings,
        recipients: Recipients,
        drafts: AggregateStore,
        links: AggregateStore,
        deliveries: AggregateStore,
        submissions: AggregateStore,
        emitter: Emitter,
        public_comments: AggregateStore,
        moderations: AggregateStore,
        now: Callable[[], datetime],
        on_delivery: Callable[[], None] = lambda: None,
        on_outbox: Callable[[], None] = lambda: None,
        renderer: Renderer | None = None,
    ) -> None:
        self.settings = settings
        self.recipients = recipients
        self.drafts = drafts
        self.links = links
        self.deliveries = deliveries
        self.submissions = submissions
        self.public_comments = public_comments
        self.moderations = moderations
        self.emitter = emitter
        self.now = now
        self.on_delivery = on_delivery
        self.on_outbox = on_outbox
        self.renderer = renderer or Renderer()
        self.key = SigningKey(settings.link_key_id, settings.link_secret.encode("utf-8"))

    # ================================================================ read model of drafts

    async def _update_draft(self, env: Envelope, decision_id: str, seq: int, patch: dict[str, Any]) -> None:
        """Merge ``patch`` into the draft read model once per envelope, ignoring stale facts."""
        await self._mutate_draft(env, decision_id, seq, lambda state: state.update(patch))

    async def _mutate_draft(
        self, env: Envelope, decision_id: str, seq: int, mutate: Callable[[dict[str, Any]], None]
    ) -> None:
        """Apply ``mutate`` to (a copy of) the draft read model once per envelope, ignoring stale facts."""

        def decide(current: Stored | None) -> Change | None:
            state: dict[str, Any] = dict(current.state) if current else {"decision_id": decision_id, "seq": 0}
            if seq <= int(state.get("seq", 0)):
                return None
            mutate(state)
            state["seq"] = seq
            return Change(state=state)

        await apply(self.drafts, decision_id, env.id, decide)

    async def draft_state(self, decision_id: str) -> dict[str, Any] | None:
        stored = await self.drafts.load(decision_id)
        return stored.state if stored else None

    def _ref(self, draft: dict[str, Any] | None, decision_id: str) -> DecisionRef:
        if draft is None:
            return DecisionRef(decision_id=decision_id, title=decision_id, issuer_name="")
        return DecisionRef(
            decision_id=decision_id,
            title=str(draft.get("title") or decision_id),
            issuer_name=str(draft.get("issuer_name") or draft.get("issuer_unit_id") or ""),
            version=int(draft["version"]) if draft.get("version") else None,
        )

    # ================================================================ handlers (tasks.decisions)

    async def on_drafted(self, env: Envelope, e: Event) -> None:
        """Keep the draft's text so the opinion page can show it by article."""
        assert isinstance(e, DecisionDrafted)
        await self._update_draft(
            env,
            e.decision_id,
            e.seq,
            {
                "title": e.title,
                "issuer_unit_id": e.issuer_unit_id,
                "issuer_name": self.recipients.unit_name(e.issuer_unit_id, e.occurred_at),
                "doc_type": e.doc_type.value,
                "version": e.version,
                "articles": [a.model_dump() for a in e.articles],
                "status": "drafted",
            },
        )

    async def on_revised(self, env: Envelope, e: Event) -> None:
        """New text; the consultees whose commented articles changed get a new link (new version)."""
        assert isinstance(e, DecisionRevised)
        patch: dict[str, Any] = {"version": e.version, "articles": [a.model_dump() for a in e.articles]}
        if e.reconsultation_deadline is not None:
            patch["deadline"] = e.reconsultation_deadline
        await self._update_draft(env, e.decision_id, e.seq, patch)
        draft = await self.draft_state(e.decision_id)
        deadline = e.reconsultation_deadline or _dt((draft or {}).get("deadline"))
        if deadline is None:
            return
        changed = ", ".join(e.changed_article_ids)
        note = (
            f"Dự thảo đã được chỉnh sửa (phiên bản {e.version}); các điều đã thay đổi: {changed}. "
            "Đề nghị đồng chí cho ý kiến lại đối với dự thảo mới."
        )
        for unit_id in e.reopened_consultee_unit_ids:
            await self._ask_opinion(
                env, draft, e.decision_id, unit_id, e.version, deadline, e.occurred_at, note
            )

    async def on_consultation_requested(self, env: Envelope, e: Event) -> None:
        """Each consultee's person in charge gets a signed, single-use opinion link."""
        assert isinstance(e, ConsultationRequested)
        req = e.requirement
        await self._update_draft(
            env,
            e.decision_id,
            e.seq,
            {
                "version": e.draft_version,
                "deadline": req.deadline,
                "consultees": [c.model_dump() for c in req.consultees],
                "synthesiser_unit_id": req.synthesiser_unit_id,
                "escalation_unit_id": req.escalation_unit_id,
                "report_to_unit_ids": list(req.report_to_unit_ids),
                "public_comment_required": req.public_comment_required,
                "status": "consulting",
            },
        )
        draft = await self.draft_state(e.decision_id)
        for c in req.consultees:
            await self._ask_opinion(
                env, draft, e.decision_id, c.unit_id, e.draft_version, req.deadline, e.occurred_at, None
            )

    async def on_reminder_due(self, env: Envelope, e: Event) -> None:
        """The deadline approaches and the consultee has not answered: remind with the same link."""
        assert isinstance(e, ReminderDue)
        draft = await self.draft_state(e.decision_id)
        target = self.recipients.in_charge(e.consultee_unit_id, e.occurred_at)
        if isinstance(target, NoRecipient):
            await self._no_recipient(env, target, "reminder", e.decision_id)
            return
        version = int((draft or {}).get("version") or 1)
        link = await self._opinion_link(e.decision_id, e.consultee_unit_id, version, target, e.deadline)
        n = Reminder(
            recipient=_recipient(target),
            decision=self._ref(draft, e.decision_id),
            deadline=e.deadline,
            action_url=link.url,
        )
        await self._enqueue(env, n, target, e.decision_id, link=link)

    async def on_escalated(self, env: Envelope, e: Event) -> None:
        """Overdue: tell the leader the escalation names (head of the unit, or the standing
        committee of the party committee) and, with the link again, the late consultee.

        One mail per person and escalation step: the head of a unit is often also its person in
        charge of dân vận work (or stands in when that post is vacant); he then gets *one* mail,
        worded for the leader it is reported to, with the link to answer — not a second one telling
        him it "was reported to" himself. Delivery ids derive from the step, not the envelope, so a
        repeated fact for the same step writes nothing twice."""
        assert isinstance(e, Escalated)
        draft = await self.draft_state(e.decision_id)
        ref = self._ref(draft, e.decision_id)
        step = f"escalation:{e.decision_id}:{e.consultee_unit_id}:{e.round}:{e.level}"
        late_unit = self.recipients.unit_name(e.consultee_unit_id, e.occurred_at)
        to_name = self.recipients.unit_name(e.escalate_to_unit_id, e.occurred_at)
        escalated_to = (
            f"Thường trực {to_name}"
            if e.escalate_to_role == "standing_committee"
            else f"người đứng đầu {to_name}"
        )
        late = self.recipients.in_charge(e.consultee_unit_id, e.occurred_at)
        link: IssuedLink | None = None
        if isinstance(late, Contact):
            version = int((draft or {}).get("version") or 1)
            link = await self._opinion_link(e.decision_id, e.consultee_unit_id, version, late, e.deadline)
        leaders: set[str] = set()
        for target in self.recipients.escalation(e.escalate_to_unit_id, e.escalate_to_role, e.occurred_at):
            if isinstance(target, NoRecipient):
                await self._no_recipient(env, target, "overdue_escalated", e.decision_id)
                continue
            if target.person_id in leaders:
                continue
            leaders.add(target.person_id)
            answers = link is not None and isinstance(late, Contact) and late.person_id == target.person_id
            n = OverdueEscalated(
                recipient=_recipient(target),
                decision=ref,
                deadline=e.deadline,
                missing_units=(late_unit,),
                action_url=link.url if answers and link else None,
                escalated_to=escalated_to,
                to_leader=True,
            )
            await self._enqueue(env, n, target, e.decision_id, link=link if answers else None, step=step)
        if isinstance(late, NoRecipient):
            await self._no_recipient(env, late, "overdue_escalated", e.decision_id)
            return
        if late.person_id in leaders or link is None:
            return  # already told, as the leader, with the link
        n = OverdueEscalated(
            recipient=_recipient(late),
            decision=ref,
            deadline=e.deadline,
            missing_units=(late_unit,),
            action_url=link.url,
            escalated_to=escalated_to,
        )
        await self._enqueue(env, n, late, e.decision_id, link=link, step=step)

    async def on_opinion_recorded(self, env: Envelope, e: Event) -> None:
        """A receipt to the person who gave the opinion: proof they answered, and when."""
        assert isinstance(e, OpinionRecorded)
        draft = await self.draft_state(e.decision_id)
        target = self.recipients.person(e.given_by, e.consultee_unit_id, e.occurred_at)
        if isinstance(target, NoRecipient):
            await self._no_recipient(env, target, "opinion_received", e.decision_id)
            return
        receipt_url = None
        if e.link_token_id:
            link = await self.links.collection.find_one({"token_id": e.link_token_id}, {"state.url": 1})
            receipt_url = link["state"]["url"] if link else None
        previous = ((draft or {}).get("opinions") or {}).get(e.supersedes_opinion_id or "", {})
        channel_vi = _channel_vi(e)
        await self._mutate_draft(
            env, e.decision_id, e.seq, _record_opinion(e, previous, channel_vi, target.name)
        )
        n = OpinionReceived(
            recipient=_recipient(target),
            decision=self._ref(draft, e.decision_id),
            stance=FormStance(e.stance.value),
            submitted_at=e.occurred_at,
            receipt_url=receipt_url,
            amends_opinion_at=_dt(previous.get("at")) if e.supersedes_opinion_id else None,
            channel_vi=channel_vi,
        )
        await self._enqueue(env, n, target, e.decision_id)

    async def on_request_rejected(self, env: Envelope, e: Event) -> None:
        """An opinion sent through a link was refused by the workflow: tell its sender.

        The confirmation page could only say the opinion was *sent*; without this the
        person would believe it counts."""
        assert isinstance(e, RequestRejected)
        if e.request_type != OpinionSubmitted.event_type:
            return
        stored = await self.submissions.load(e.request_id)  # request id = link token id
        if stored is None:
            return  # not sent through our pages
        unit_id = str(stored.state["recipient_unit_id"])
        target = self.recipients.person(str(stored.state["person_id"]), unit_id, e.occurred_at)
        if isinstance(target, NoRecipient):
            await self._no_recipient(env, target, "opinion_not_recorded", e.decision_id)
            return
        draft = await self.draft_state(e.decision_id)
        n = OpinionNotRecorded(
            recipient=_recipient(target),
            decision=self._ref(draft, e.decision_id),
            reason_vi=e.message_vi,
            submitted_at=stored.state["submitted_at"],
        )
        await self._enqueue(env, n, target, e.decision_id)

    async def on_override_recorded(self, env: Envelope, e: Event) -> None:
        """Remember the override reason: the issuance notice must report it as an exception."""
        assert isinstance(e, OverrideRecorded)
        draft = await self.draft_state(e.decision_id) or {}
        reasons = [*draft.get("override_reasons", []), e.reason]
        await self._update_draft(env, e.decision_id, e.seq, {"override_reasons": reasons})

    async def on_withdrawn(self, env: Envelope, e: Event) -> None:
        """A withdrawn draft is no longer shown behind its links."""
        assert isinstance(e, DecisionWithdrawn)
        await self._update_draft(env, e.decision_id, e.seq, {"status": "withdrawn"})

    async def on_issued(self, env: Envelope, e: Event) -> None:
        """After issuance the board, the Front and the organisations get the information they
        need to mobilise people (357-QĐ/TU §5)."""
        assert isinstance(e, DecisionIssued)
        await self._update_draft(env, e.decision_id, e.seq, {"status": "issued"})
        draft = await self.draft_state(e.decision_id) or {}
        units: list[str] = [c["unit_id"] for c in draft.get("consultees", [])]
        for extra in (draft.get("synthesiser_unit_id"),):
            if extra and extra not in units:
                units.append(str(extra))
        reasons = draft.get("override_reasons") or []
        summary = (
            f"Văn bản được ban hành theo dự thảo phiên bản {e.draft_version}, sau khi lấy ý kiến "
            f"({len(e.opinion_ids)} ý kiến đã được ghi nhận)."
        )
        ref = self._ref(draft, e.decision_id)
        for unit_id in units:
            target = self.recipients.in_charge(unit_id, e.occurred_at)
            if isinstance(target, NoRecipient):
                await self._no_recipient(env, target, "issued", e.decision_id)
                continue
            n = Issued(
                recipient=_recipient(target),
                decision=ref,
                issued_at=e.occurred_at,
                summary=summary,
                override_reason="; ".join(reasons) if (e.with_exception and reasons) else None,
            )
            await self._enqueue(env, n, target, e.decision_id)

    # ---------------------------------------------------------------- public comment (lấy ý kiến nhân dân)

    async def on_public_comment_opened(self, env: Envelope, e: Event) -> None:
        """The window opens: the public page starts accepting comments, and the person in charge of
        the synthesiser unit (the Dân vận board) gets the moderation link by e-mail."""
        assert isinstance(e, PublicCommentOpened)
        await self._update_draft(
            env,
            e.decision_id,
            e.seq,
            {"public_comment_open": True, "public_comment_closes_at": e.closes_at},
        )
        draft = await self.draft_state(e.decision_id) or {}
        unit_id = draft.get("synthesiser_unit_id")
        if not unit_id:
            log.error(
                "public comment opened without a synthesiser unit", extra={"decision_id": e.decision_id}
            )
            return
        target = self.recipients.in_charge(str(unit_id), e.occurred_at)
        if isinstance(target, NoRecipient):
            await self._no_recipient(env, target, "public_comment_moderation", e.decision_id)
            return
        # Reusable (not single-use); expires LINK_GRACE_DAYS after the window closes: moderation
        # stays possible after the close (pending comments block issuance until moderated).
        link = await self.ensure_link(
            f"{e.decision_id}:moderate:{unit_id}:{target.person_id}",
            action=Action.MODERATE_PUBLIC_COMMENTS,
            decision_id=e.decision_id,
            unit_id=str(unit_id),
            target=target,
            expires_at=e.closes_at + timedelta(days=self.settings.link_grace_days),
        )
        n = PublicCommentModeration(
            recipient=_recipient(target),
            decision=self._ref(draft, e.decision_id),
            deadline=e.closes_at,
            action_url=link.url,
            public_url=self.public_url(e.decision_id),
        )
        await self._enqueue(env, n, target, e.decision_id, link=link)

    async def on_public_comment_recorded(self, env: Envelope, e: Event) -> None:
        """Keep the recorded comment (with its workflow comment id) for the moderation page."""
        assert isinstance(e, PublicCommentRecorded)
        entry = {
            "comment_id": e.comment_id,
            "text": e.text,
            "article_id": e.article_id,
            "author_ref": e.author_ref,
            "channel": e.channel,
            "recorded_at": e.occurred_at,
            "request_id": e.command_id,
            "outcome": None,
            "reason": "",
            "moderator_id": None,
        }

        def add(state: dict[str, Any]) -> None:
            comments = [c for c in state.get("public_comments", []) if c.get("comment_id") != e.comment_id]
            state["public_comments"] = [*comments, entry]

        await self._mutate_draft(env, e.decision_id, e.seq, add)

    async def on_public_comment_moderated(self, env: Envelope, e: Event) -> None:
        """The workflow recorded the moderation: the page shows it as final."""
        assert isinstance(e, PublicCommentModerated)

        def moderate(state: dict[str, Any]) -> None:
            comments = []
            for c in state.get("public_comments", []):
                if c.get("comment_id") == e.comment_id:
                    c = {**c, "outcome": e.outcome.value, "reason": e.reason, "moderator_id": e.moderator_id}
                comments.append(c)
            state["public_comments"] = comments

        await self._mutate_draft(env, e.decision_id, e.seq, moderate)

    async def on_public_comment_closed(self, env: Envelope, e: Event) -> None:
        """The window closed: the public page refuses new comments (410)."""
        assert isinstance(e, PublicCommentClosed)
        await self._update_draft(
            env,
            e.decision_id,
            e.seq,
            {
                "public_comment_open": False,
                "public_comment_counts": {
                    "approved": e.approved_count,
                    "rejected": e.rejected_count,
                    "pending": e.pending_count,
                },
            },
        )

    def public_url(self, decision_id: str) -> str:
        return f"{self.settings.public_base_url.rstrip('/')}/gop-y/{quote(decision_id, safe='')}"

    def handlers(self) -> dict[str, Any]:
        return {
            PublicCommentOpened.event_type: self.on_public_comment_opened,
            PublicCommentRecorded.event_type: self.on_public_comment_recorded,
            PublicCommentModerated.event_type: self.on_public_comment_moderated,
            PublicCommentClosed.event_type: self.on_public_comment_closed,
            DecisionDrafted.event_type: self.on_drafted,
            DecisionRevised.event_type: self.on_revised,
            ConsultationRequested.event_type: self.on_consultation_requested,
            ReminderDue.event_type: self.on_reminder_due,
            Escalated.event_type: self.on_escalated,
            OpinionRecorded.event_type: self.on_opinion_recorded,
            RequestRejected.event_type: self.on_request_rejected,
            OverrideRecorded.event_type: self.on_override_recorded,
            DecisionWithdrawn.event_type: self.on_withdrawn,
            DecisionIssued.event_type: self.on_issued,
        }

    # ================================================================ contact changes (org.person_updated)

    async def on_contact_changed(
        self,
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
        on = changed_at
        unit_id, unit_name = "", ""
        try:
            positions = self.recipients.replica.registry.people.positions_of(person_id, vn_date(on))
        except OrgDomainError:
            positions = ()
        if positions:
            unit_id = positions[0].unit_id
            unit_name = self.recipients.unit_name(unit_id, on)
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
        n = ContactChanged(recipient=_recipient(old), changed_at=changed_at, changes=changes)
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
            await self._no_recipient(
                env,
                NoRecipient(
                    unit_id,
                    old.unit_name,
                    f"Cán bộ {name} ({person_id}) không có địa chỉ cũ để báo việc thay đổi thông tin liên lạc.",
                ),
                n.kind.value,
                None,
                key=key,
            )
            return
        await self._enqueue(env, n, old, None, key=key)

    # ================================================================ links and deliveries

    async def _ask_opinion(
        self,
        env: Envelope,
        draft: dict[str, Any] | None,
        decision_id: str,
        unit_id: str,
        version: int,
        deadline: datetime,
        at: datetime,
        note: str | None,
    ) -> None:
        target = self.recipients.in_charge(unit_id, at)
        if isinstance(target, NoRecipient):
            await self._no_recipient(env, target, "consultation_requested", decision_id)
            return
        link = await self._opinion_link(decision_id, unit_id, version, target, deadline)
        n = ConsultationNotice(
            recipient=_recipient(target),
            decision=self._ref(draft, decision_id),
            deadline=deadline,
            action_url=link.url,
            note=note,
        )
        await self._enqueue(env, n, target, decision_id, link=link)

    async def _opinion_link(
        self, decision_id: str, unit_id: str, version: int, target: Contact, deadline: datetime
    ) -> IssuedLink:
        """The opinion link of (decision, unit, draft version, person): issued once, then reused."""
        return await self.ensure_link(
            f"{decision_id}:{unit_id}:{version}:{target.person_id}",
            action=Action.GIVE_OPINION,
            decision_id=decision_id,
            unit_id=unit_id,
            target=target,
            expires_at=deadline + timedelta(days=self.settings.link_grace_days),
            extra={
                "acting_as": (ActingAs.SUBSTITUTE if target.acting_as_substitute else ActingAs.HOLDER).value,
                "draft_version": version,
            },
        )

    async def ensure_link(
        self,
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
        ``/kiem-duyet/<token>`` for moderation) whose claims live in this document. A link issued
        before in the signed format is reused as it is (it keeps working until it expires)."""
        path = "kiem-duyet" if action is Action.MODERATE_PUBLIC_COMMENTS else "a"

        def decide(current: Stored | None) -> Change | None:
            if current is not None:
                return None
            token = new_token()
            state = {
                "token_id": new_token(),
                "key_id": OPAQUE_KEY_ID,
                "url": f"{self.settings.public_base_url.rstrip('/')}/{path}/{token}",
                "action": action.value,
                "decision_id": decision_id,
                "unit_id": unit_id,
                "person_id": target.person_id,
                "role": target.role,
                **(extra or {}),
                "expires_at": expires_at.astimezone(UTC).replace(microsecond=0),
                "issued_at": self.now(),
            }
            index = {
                "token_id": state["token_id"],
                "decision_id": decision_id,
                "token_hash": token_digest(token),
            }
            return Change(state=state, extra=index)

        await apply(self.links, link_id, None, decide)
        stored = await self.links.load(link_id)
        assert stored is not None
        url = str(stored.state["url"])
        case = LinkCase(
            token=url.rsplit("/", 1)[1],
            decision_id=str(stored.state["decision_id"]),
            unit_id=str(stored.state["unit_id"]),
            action=str(stored.state.get("action") or action.value),
        )
        return IssuedLink(url=url, case=case)

    async def find_link(self, token: str) -> LinkRecord | None:
        """The stored claims of an opaque link (the pages' look-up), ``None`` if never issued."""
        doc = await self.links.collection.find_one({"token_hash": token_digest(token)}, {"state": 1})
        if doc is None:
            return None
        s = doc.get("state") or {}
        expires_at = _dt(s.get("expires_at"))
        if expires_at is None:
            return None
        claims = LinkClaims(
            token_id=str(s["token_id"]),
            recipient_unit_id=str(s["unit_id"]),
            recipient_role=str(s.get("role") or ""),
            person_id=str(s["person_id"]),
            decision_id=str(s["decision_id"]),
            action=Action(s.get("action") or Action.GIVE_OPINION.value),
            expires_at=expires_at,
        )
        return LinkRecord(claims=claims, revoked=bool(s.get("revoked_at")))

    def _channels(self, c: Contact) -> Iterable[tuple[str, str]]:
        if c.email:
            yield "email", c.email
        if c.phone and self.settings.sms_gateway_url:
            yield "sms", c.phone
        if c.webhook_url and self.settings.webhook_secret:
            yield "webhook", c.webhook_url

    async def _enqueue(
        self,
        env: Envelope,
        n: Notification,
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
        rendered = self.renderer.render(n)
        entry = digest_entry(n)
        now = self.now()
        channels = list(self._channels(target))
        if not channels:
            await self._no_recipient(
                env,
                NoRecipient(
                    target.unit_id, target.unit_name, f"Không có kênh gửi khả dụng cho cán bộ {target.name}."
                ),
                n.kind.value,
                decision_id,
                key=key,
            )
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
                "kind": n.kind.value,
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
            }
            if link is not None:
                c = link.case
                state["case"] = {
                    "token": c.token,
                    "decision_id": c.decision_id,
                    "unit_id": c.unit_id,
                    "action": c.action,
                }
            await apply(self.deliveries, delivery_id, env.id, _create_once(state))
        self.on_delivery()

    async def _no_recipient(
        self, env: Envelope, nr: NoRecipient, kind: str, decision_id: str | None, *, key: str | None = None
    ) -> None:
        """Nobody to notify: an operator-visible failure (listed, and published), never silence."""
        delivery_id = f"{env.id}:{key or nr.unit_id}:{NO_RECIPIENT}:{kind}"
        now = self.now()
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
        outcome = await apply(
            self.deliveries,
            delivery_id,
            env.id,
            lambda current: (
                None
                if current
                else Change(state=state, outbox=[self.emitter.wrap(fact, env)], extra=_index(state))
            ),
        )
        if outcome.applied:
            self.on_outbox()

    # ================================================================ pages (PagesDeps)

    async def load_draft(self, decision_id: str) -> DraftView | None:
        draft = await self.draft_state(decision_id)
        if draft is None or draft.get("status") == "withdrawn":
            return None
        deadline = _dt(draft.get("deadline"))
        if deadline is None or not draft.get("articles"):
            return None
        articles = []
        for i, a in enumerate(draft["articles"], start=1):
            heading, text = split_heading(i, str(a["text"]))
            articles.append(PageArticle(article_id=str(a["article_id"]), heading=heading, text=text))
        return DraftView(
            decision_id=decision_id,
            title=str(draft.get("title") or decision_id),
            issuer_name=str(draft.get("issuer_name") or ""),
            version=int(draft.get("version") or 1),
            deadline=deadline,
            articles=tuple(articles),
        )

    async def link_on_record(self, link: VerifiedLink) -> None:
        """A verified signature is not enough: notify must have issued exactly this link, to this
        person and unit, for this decision, and not revoked it."""
        claims = link.claims
        doc = await self.links.collection.find_one({"token_id": claims.token_id}, {"state": 1, "_id": 1})
        state = (doc or {}).get("state") or {}
        if (
            doc is None
            or state.get("decision_id") != claims.decision_id
            or state.get("unit_id") != claims.recipient_unit_id
            or state.get("person_id") != claims.person_id
        ):
            log.warning(
                "link refused: not on record",
                extra={"who": claims.recipient_unit_id, "what": claims.decision_id, "why": "not_on_record"},
            )
            raise NotOnRecord("no link with this token id was issued to this recipient")
        if state.get("revoked_at"):
            log.warning(
                "link refused: revoked",
                extra={"who": claims.recipient_unit_id, "what": claims.decision_id, "why": "revoked"},
            )
            raise Revoked("link revoked")

    async def revoke_link(self, token_id: str, reason: str) -> dict[str, Any] | None:
        """Revoke an issued link (its page then answers 410); idempotent. ``None`` if unknown."""
        doc = await self.links.collection.find_one({"token_id": token_id}, {"_id": 1})
        if doc is None:
            return None
        now = self.now()

        def decide(current: Stored | None) -> Change | None:
            if current is None or current.state.get("revoked_at"):
                return None
            return Change(state={**current.state, "revoked_at": now, "revoked_reason": reason})

        await apply(self.links, str(doc["_id"]), None, decide)
        stored = await self.links.load(str(doc["_id"]))
        assert stored is not None
        return {
            "token_id": token_id,
            "decision_id": stored.state.get("decision_id"),
            "unit_id": stored.state.get("unit_id"),
            "revoked_at": stored.state.get("revoked_at"),
        }

    async def find_submission(self, token_id: str) -> Submission | None:
        stored = await self.submissions.load(token_id)
        if stored is None:
            return None
        draft = await self.draft_state(str(stored.state["decision_id"])) or {}
        note = (draft.get("superseded_links") or {}).get(token_id.replace(".", "_"))
        return _submission(stored.state, note)

    async def submit_opinion(self, link: VerifiedLink, form: OpinionForm) -> Submission:
        """Record the opinion once per token and, in the same document write, the request to the
        workflow (``decision.opinion_submitted``, request id = token id so it dedupes too)."""
        claims = link.claims
        link_doc = await self.links.collection.find_one({"token_id": claims.token_id}, {"state": 1})
        acting_as = ActingAs((link_doc or {}).get("state", {}).get("acting_as", ActingAs.HOLDER.value))
        draft = await self.draft_state(claims.decision_id) or {}
        version = form.draft_version or int(draft.get("version") or 1)
        now = self.now()
        request = OpinionSubmitted(
            request_id=claims.token_id,
            decision_id=claims.decision_id,
            submitted_at=now,
            link_token_id=claims.token_id,
            consultee_unit_id=claims.recipient_unit_id,
            person_id=claims.person_id,
            acting_as=acting_as,
            stance=ContractStance(form.stance.value),
            general_comment=form.general_comment,
            comments=tuple(ArticleComment(article_id=a, text=t) for a, t in form.article_comments),
            draft_version=version,
        )
        state = {
            "token_id": claims.token_id,
            "decision_id": claims.decision_id,
            "decision_version": version,
            "recipient_unit_id": claims.recipient_unit_id,
            "person_id": claims.person_id,
            "acting_as": acting_as.value,
            "stance": form.stance.value,
            "general_comment": form.general_comment,
            "article_comments": [list(p) for p in form.article_comments],
            "submitted_at": now,
        }
        try:
            await self.submissions.save(
                claims.token_id,
                expected_version=0,
                state=state,
                outbox=[self.emitter.wrap(request)],
                extra={"decision_id": claims.decision_id},
            )
        except ConcurrencyConflict as exc:
            raise AlreadyUsed(str(exc), token_id=claims.token_id) from exc
        self.on_outbox()
        log.info(
            "opinion submitted", extra={"decision_id": claims.decision_id, "unit": claims.recipient_unit_id}
        )
        return _submission(state)

    # ================================================================ public comment pages

    def _public_draft(self, draft: dict[str, Any]) -> PublicDraft | None:
        if not draft.get("articles"):
            return None
        articles = []
        for i, a in enumerate(draft["articles"], start=1):
            heading, text = split_heading(i, str(a["text"]))
            articles.append(PageArticle(article_id=str(a["article_id"]), heading=heading, text=text))
        decision_id = str(draft["decision_id"])
        return PublicDraft(
            decision_id=decision_id,
            title=str(draft.get("title") or decision_id),
            issuer_name=str(draft.get("issuer_name") or ""),
            version=int(draft.get("version") or 1),
            articles=tuple(articles),
            closes_at=_dt(draft.get("public_comment_closes_at")),
            window_open=bool(draft.get("public_comment_open")),
            status=str(draft.get("status") or "drafted"),
            synthesiser_unit_id=draft.get("synthesiser_unit_id"),
        )

    async def load_public_draft(self, decision_id: str) -> PublicDraft | None:
        draft = await self.draft_state(decision_id)
        return self._public_draft(draft) if draft else None

    async def submit_public_comment(self, draft: PublicDraft, form: PublicCommentForm) -> CommentReceipt:
        """Store the citizen's comment (its own document, a random id) and, in the same write, the
        request to the workflow (``decision.public_comment_submitted``, request id = that id)."""
        for _ in range(3):
            request_id = new_comment_request_id()
            now = self.now()
            request = PublicCommentSubmitted(
                request_id=request_id,
                decision_id=draft.decision_id,
                submitted_at=now,
                text=form.text,
                article_id=form.article_id,
                author_ref=form.author_ref,
                channel="web",
            )
            state = {
                "request_id": request_id,
                "reference": reference_code(request_id),
                "decision_id": draft.decision_id,
                "draft_version": draft.version,
                "text": form.text,
                "article_id": form.article_id,
                "author_ref": form.author_ref,
                "channel": "web",
                "submitted_at": now,
            }
            try:
                await self.public_comments.save(
                    request_id,
                    expected_version=0,
                    state=state,
                    outbox=[self.emitter.wrap(request)],
                    extra={"decision_id": draft.decision_id},
                )
            except ConcurrencyConflict:
                continue  # a random id collided (astronomically unlikely): draw another
            self.on_outbox()
            log.info("public comment submitted", extra={"decision_id": draft.decision_id})
            return CommentReceipt(
                request_id=request_id,
                reference=str(state["reference"]),
                decision_id=draft.decision_id,
                text=form.text,
                article_id=form.article_id,
                author_ref=form.author_ref,
                submitted_at=now,
            )
        raise RuntimeError("could not draw a fresh public comment id")

    async def load_moderation(self, decision_id: str) -> ModerationView | None:
        draft = await self.draft_state(decision_id)
        view = self._public_draft(draft) if draft else None
        if draft is None or view is None:
            return None
        sent: dict[str, dict[str, Any]] = {}
        async for doc in self.moderations.collection.find({"decision_id": decision_id}, {"state": 1}):
            st = doc.get("state", {})
            sent[str(st.get("comment_id"))] = st
        comments = []
        for c in draft.get("public_comments", []):
            s = sent.get(str(c["comment_id"]), {})
            comments.append(
                PublicCommentView(
                    comment_id=str(c["comment_id"]),
                    text=str(c.get("text") or ""),
                    article_id=c.get("article_id"),
                    author_ref=c.get("author_ref"),
                    recorded_at=_dt(c.get("recorded_at")),
                    outcome=PublicOutcome(c["outcome"]) if c.get("outcome") else None,
                    reason=str(c.get("reason") or ""),
                    sent_outcome=PublicOutcome(s["outcome"]) if s.get("outcome") else None,
                    sent_reason=str(s.get("reason") or ""),
                )
            )
        return ModerationView(draft=view, comments=tuple(comments))

    async def submit_moderation(self, link: VerifiedLink, form: ModerationForm) -> ModerationReceipt:
        """One moderation per comment from the page, with its request in the same write; the
        request id is deterministic per (comment, outcome), so a double click sends one request."""
        claims = link.claims
        request_id = moderation_request_id(form.comment_id, form.outcome)
        now = self.now()
        request = PublicCommentModerationSubmitted(
            request_id=request_id,
            decision_id=claims.decision_id,
            submitted_at=now,
            comment_id=form.comment_id,
            outcome=ModerationOutcome(form.outcome.value),
            moderator_id=claims.person_id,
            reason=form.reason,
        )
        state = {
            "request_id": request_id,
            "decision_id": claims.decision_id,
            "comment_id": form.comment_id,
            "outcome": form.outcome.value,
            "reason": form.reason,
            "moderator_id": claims.person_id,
            "unit_id": claims.recipient_unit_id,
            "link_token_id": claims.token_id,
            "submitted_at": now,
        }
        try:
            await self.moderations.save(
                form.comment_id,
                expected_version=0,
                state=state,
                outbox=[self.emitter.wrap(request)],
                extra={"decision_id": claims.decision_id},
            )
        except ConcurrencyConflict as exc:
            existing = await self.moderations.load(form.comment_id)
            if existing is not None and existing.state.get("outcome") == form.outcome.value:
                return ModerationReceipt(form.comment_id, form.outcome, request_id, duplicate=True)
            raise ModerationConflict(form.comment_id) from exc
        self.on_outbox()
        log.info(
            "public comment moderation submitted",
            extra={"decision_id": claims.decision_id, "comment_id": form.comment_id},
        )
        return ModerationReceipt(form.comment_id, form.outcome, request_id)


def _create_once(state: dict[str, Any]) -> Callable[[Stored | None], Change | None]:
    """A decide function that creates the document once and never changes it afterwards."""

    def decide(current: Stored | None) -> Change | None:
        return None if current is not None else Change(state=state, extra=_index(state))

    return decide


def _recipient(c: Contact) -> Recipient:
    return Recipient(name=c.name, unit_name=c.unit_name, acting_as_substitute=c.acting_as_substitute)


def _index(state: dict[str, Any]) -> dict[str, Any]:
    """Top-level fields beside the state, for the worker's and the operator's queries."""
    return {
        "status": state["status"],
        "next_attempt_at": state["next_attempt_at"],
        "created_at": state["created_at"],
        "channel": state["channel"],
        "decision_id": state["decision_id"],
        "lease_until": state["created_at"],
    }


def _channel_vi(e: OpinionRecorded) -> str:
    channel = e.actor.channel.value if e.actor else ("link" if e.link_token_id else "")
    return {
        "link": "qua liên kết trong thông báo",
        "agency_system": f"qua hệ thống của đơn vị ({e.actor.system_id})"
        if e.actor
        else "qua hệ thống của đơn vị",
    }.get(channel, "")


def _record_opinion(
    e: OpinionRecorded, previous: dict[str, Any], channel_vi: str, given_by_name: str
) -> Callable[[dict[str, Any]], None]:
    """Keep each opinion's time and link in the draft read model, and mark the link of an opinion that
    this one amends, so that link's receipt page says who replaced it, when and how."""

    def mutate(state: dict[str, Any]) -> None:
        opinions = dict(state.get("opinions") or {})
        opinions[e.opinion_id] = {
            "at": e.occurred_at,
            "link_token_id": e.link_token_id,
            "unit_id": e.consultee_unit_id,
        }
        state["opinions"] = opinions
        old_link = previous.get("link_token_id")
        if e.supersedes_opinion_id and old_link:
            notes = dict(state.get("superseded_links") or {})
            when = e.occurred_at.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
            notes[str(old_link).replace(".", "_")] = (
                f"Đơn vị đã gửi ý kiến sửa đổi lúc {when}"
                + (f", do đồng chí {given_by_name} gửi" if given_by_name else "")
                + (f" {channel_vi}" if channel_vi else "")
                + ". Ý kiến sửa đổi là ý kiến được dùng để tổng hợp; nội dung dưới đây được lưu trong lịch sử."
            )
            state["superseded_links"] = notes

    return mutate


def _submission(state: dict[str, Any], superseded_note: str | None = None) -> Submission:
    submitted_at = _dt(state["submitted_at"])
    assert submitted_at is not None
    return Submission(
        token_id=str(state["token_id"]),
        decision_id=str(state["decision_id"]),
        decision_version=int(state["decision_version"]),
        recipient_unit_id=str(state["recipient_unit_id"]),
        person_id=str(state["person_id"]),
        stance=FormStance(state["stance"]),
        general_comment=str(state.get("general_comment") or ""),
        article_comments=tuple((str(a), str(t)) for a, t in state.get("article_comments", [])),
        submitted_at=submitted_at,
        superseded_note=superseded_note,
    )
