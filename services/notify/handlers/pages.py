"""What the pages behind action links read and write (wired into :class:`services.notify.pages.PagesDeps`
and :class:`services.notify.pages.PublicCommentDeps`).

Every write stores the page's record and, in the same atomic write, its request to the workflow
(through :class:`services.notify.stores.ports.PagesStore`, i.e. ``unit_of_work.apply``):

* submissions ``{token id}`` — created, never updated: creation itself enforces single use;
* public comments ``{random request id}`` — a citizen's comment with its
  ``decision.public_comment_submitted`` request;
* moderations ``{comment id}`` — one moderation sent from the board's page per comment, with its
  ``decision.public_comment_moderation_submitted`` request (request id per (comment, outcome)).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, TypeVar

from services.notify.domain.links import Action, AlreadyUsed, LinkClaims, NotOnRecord, Revoked, VerifiedLink
from services.notify.domain.opaque_links import LinkRecord, token_digest
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
from services.notify.handlers.context import Notify
from services.notify.pages import deps as views
from services.notify.readmodel import Draft, aware
from shared.contract.events.decisions import (
    ActingAs,
    ArticleComment,
    DecisionRequest,
    ModerationOutcome,
    OpinionSubmitted,
    PublicCommentModerationSubmitted,
    PublicCommentSubmitted,
)
from shared.contract.events.decisions import Stance as ContractStance
from shared.store import AggregateStore, Stored

log = logging.getLogger("notify.service")

R = TypeVar("R", bound=DecisionRequest)


def split_heading(index: int, text: str) -> tuple[str, str]:
    """Drafts often start an article with its heading ("Điều 1. Phạm vi …"); show it as the heading."""
    first, _, rest = text.strip().partition("\n")
    if first.startswith(("Điều ", "Khoản ")) and len(first) <= 200:
        return first.strip(), rest.strip()
    return f"Điều {index}", text.strip()


def articles_of(draft: Draft) -> tuple[views.Article, ...]:
    out = []
    for i, a in enumerate(draft.articles, start=1):
        heading, text = split_heading(i, a.text)
        out.append(views.Article(article_id=a.article_id, heading=heading, text=text))
    return tuple(out)


def public_draft(draft: Draft) -> views.PublicDraft | None:
    if not draft.articles:
        return None
    return views.PublicDraft(
        decision_id=draft.decision_id,
        title=draft.title or draft.decision_id,
        issuer_name=draft.issuer_name or "",
        version=draft.current_version,
        articles=articles_of(draft),
        closes_at=draft.public_comment_closes_at,
        window_open=draft.public_comment_open,
        status=draft.status or "drafted",
        synthesiser_unit_id=draft.synthesiser_unit_id,
    )


def submission_of(state: Mapping[str, Any], superseded_note: str | None = None) -> views.Submission:
    submitted_at = aware(state["submitted_at"])
    assert submitted_at is not None
    return views.Submission(
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


class Pages:
    """The pages' reads and writes over notify's stores."""

    def __init__(self, n: Notify) -> None:
        self.n = n
        self.links = n.stores.links
        self.drafts = n.stores.drafts
        self.store = n.stores.pages

    def _request(self, kind: type[R], request_id: str, decision_id: str, **fields: Any) -> R:
        """A request to the workflow sent from a page now (``submitted_at``)."""
        return kind(request_id=request_id, decision_id=decision_id, submitted_at=self.n.now(), **fields)

    async def _record(
        self, store: AggregateStore, doc_id: str, state: dict[str, Any], request: DecisionRequest
    ) -> Stored | None:
        """Store the page's record with its request in one write; ``None`` if stored now, else what
        was there (the relay is woken only for a new request)."""
        existing = await self.store.create(
            store, doc_id, state, self.n.emitter.wrap(request), request.decision_id
        )
        if existing is None:
            self.n.on_outbox()
        return existing

    # ------------------------------------------------------------------------------ links

    async def find_link(self, token: str) -> LinkRecord | None:
        """The stored claims of an opaque link (the pages' look-up), ``None`` if never issued."""
        stored = await self.links.by_token_hash(token_digest(token))
        s = stored.state if stored else {}
        expires_at = aware(s.get("expires_at"))
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

    async def link_on_record(self, link: VerifiedLink) -> None:
        """A verified signature is not enough: notify must have issued exactly this link, to this
        person and unit, for this decision, and not revoked it."""
        claims = link.claims
        stored = await self.links.by_token_id(claims.token_id)
        state = stored.state if stored else {}
        if (
            stored is None
            or state.get("decision_id") != claims.decision_id
            or state.get("unit_id") != claims.recipient_unit_id
            or state.get("person_id") != claims.person_id
        ):
            self._refused(claims, "not_on_record")
            raise NotOnRecord("no link with this token id was issued to this recipient")
        if state.get("revoked_at"):
            self._refused(claims, "revoked")
            raise Revoked("link revoked")

    @staticmethod
    def _refused(claims: LinkClaims, why: str) -> None:
        what = "not on record" if why == "not_on_record" else why
        log.warning(
            f"link refused: {what}",
            extra={"who": claims.recipient_unit_id, "what": claims.decision_id, "why": why},
        )

    async def revoke_link(self, token_id: str, reason: str) -> dict[str, Any] | None:
        """Revoke an issued link (its page then answers 410); idempotent. ``None`` if unknown."""
        state = await self.links.revoke(token_id, reason, self.n.now())
        if state is None:
            return None
        return {
            "token_id": token_id,
            "decision_id": state.get("decision_id"),
            "unit_id": state.get("unit_id"),
            "revoked_at": state.get("revoked_at"),
        }

    # ------------------------------------------------------------------------------ opinion pages

    async def load_draft(self, decision_id: str) -> views.DraftView | None:
        draft = await self.drafts.get(decision_id)
        if draft is None or draft.status == "withdrawn" or draft.deadline is None or not draft.articles:
            return None
        return views.DraftView(
            decision_id=decision_id,
            title=draft.title or decision_id,
            issuer_name=draft.issuer_name or "",
            version=draft.current_version,
            deadline=draft.deadline,
            articles=articles_of(draft),
        )

    async def find_submission(self, token_id: str) -> views.Submission | None:
        stored = await self.store.submission(token_id)
        if stored is None:
            return None
        draft = await self.drafts.get(str(stored.state["decision_id"]))
        return submission_of(stored.state, draft.superseded_note(token_id) if draft else None)

    async def submit_opinion(self, link: VerifiedLink, form: OpinionForm) -> views.Submission:
        """Record the opinion once per token and, in the same document write, the request to the
        workflow (``decision.opinion_submitted``, request id = token id so it dedupes too)."""
        claims = link.claims
        issued = await self.links.by_token_id(claims.token_id)
        acting_as = ActingAs((issued.state if issued else {}).get("acting_as", ActingAs.HOLDER.value))
        draft = await self.drafts.get(claims.decision_id)
        version = form.draft_version or (draft.current_version if draft else 1)
        request = self._request(
            OpinionSubmitted,
            claims.token_id,
            claims.decision_id,
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
            "submitted_at": request.submitted_at,
        }
        if await self._record(self.store.submissions, claims.token_id, state, request):
            raise AlreadyUsed(f"submissions/{claims.token_id} already exists", token_id=claims.token_id)
        log.info(
            "opinion submitted", extra={"decision_id": claims.decision_id, "unit": claims.recipient_unit_id}
        )
        return submission_of(state)

    # ------------------------------------------------------------------------------ public comment pages

    async def load_public_draft(self, decision_id: str) -> views.PublicDraft | None:
        draft = await self.drafts.get(decision_id)
        return public_draft(draft) if draft else None

    async def submit_public_comment(
        self, draft: views.PublicDraft, form: PublicCommentForm
    ) -> views.CommentReceipt:
        """Store the citizen's comment (its own document, a random id) and, in the same write, the
        request to the workflow (``decision.public_comment_submitted``, request id = that id)."""
        for _ in range(3):
            request_id = new_comment_request_id()
            comment = asdict(form)  # text, article_id, author_ref
            request = self._request(
                PublicCommentSubmitted, request_id, draft.decision_id, **comment, channel="web"
            )
            now, reference = request.submitted_at, reference_code(request_id)
            state = {
                "request_id": request_id,
                "reference": reference,
                "decision_id": draft.decision_id,
                "draft_version": draft.version,
                **comment,
                "channel": "web",
                "submitted_at": now,
            }
            if await self._record(self.store.public_comments, request_id, state, request):
                continue  # a random id collided (astronomically unlikely): draw another
            log.info("public comment submitted", extra={"decision_id": draft.decision_id})
            return views.CommentReceipt(request_id, reference, draft.decision_id, **comment, submitted_at=now)
        raise RuntimeError("could not draw a fresh public comment id")

    async def load_moderation(self, decision_id: str) -> views.ModerationView | None:
        draft = await self.drafts.get(decision_id)
        view = public_draft(draft) if draft else None
        if draft is None or view is None:
            return None
        sent = {str(s.get("comment_id")): s for s in await self.store.moderations_of(decision_id)}
        comments = []
        for c in draft.public_comments:
            s = sent.get(c.comment_id, {})
            comments.append(
                views.PublicCommentView(
                    comment_id=c.comment_id,
                    text=c.text or "",
                    article_id=c.article_id,
                    author_ref=c.author_ref,
                    recorded_at=c.recorded_at,
                    outcome=PublicOutcome(c.outcome) if c.outcome else None,
                    reason=c.reason or "",
                    sent_outcome=PublicOutcome(s["outcome"]) if s.get("outcome") else None,
                    sent_reason=str(s.get("reason") or ""),
                )
            )
        return views.ModerationView(draft=view, comments=tuple(comments))

    async def submit_moderation(self, link: VerifiedLink, form: ModerationForm) -> views.ModerationReceipt:
        """One moderation per comment from the page, with its request in the same write; the
        request id is deterministic per (comment, outcome), so a double click sends one request."""
        claims = link.claims
        request_id = moderation_request_id(form.comment_id, form.outcome)
        request = self._request(
            PublicCommentModerationSubmitted,
            request_id,
            claims.decision_id,
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
            "submitted_at": request.submitted_at,
        }
        existing = await self._record(self.store.moderations, form.comment_id, state, request)
        if existing is not None:
            if existing.state.get("outcome") == form.outcome.value:
                return views.ModerationReceipt(form.comment_id, form.outcome, request_id, duplicate=True)
            raise views.ModerationConflict(form.comment_id)
        log.info(
            "public comment moderation submitted",
            extra={"decision_id": claims.decision_id, "comment_id": form.comment_id},
        )
        return views.ModerationReceipt(form.comment_id, form.outcome, request_id)
