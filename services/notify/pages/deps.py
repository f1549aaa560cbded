"""What the pages need from the rest of the service, as plain async callables.

Why a dataclass of callables rather than a repository class: the lead wires these to the
document store and the event producer; tests pass fakes. The pages hold no state of their own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.links import VerifiedLink
from services.notify.domain.opaque_links import LinkRecord
from services.notify.domain.opinion import OpinionForm, Stance
from services.notify.domain.public_comment import ModerationForm, PublicCommentForm
from services.notify.domain.public_comment import Outcome as PublicOutcome
from services.notify.pages.resolve import no_link
from services.notify.rate_limit import CommentLimiter


@dataclass(frozen=True, slots=True)
class Article:
    """One article (Điều) of a draft, shown with its own comment box."""

    article_id: str
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class DraftView:
    """The current version of a draft as shown to a consultee."""

    decision_id: str
    title: str
    issuer_name: str
    version: int
    deadline: datetime
    articles: tuple[Article, ...]
    recipient_unit_name: str | None = None
    """Optional: the consultee's unit name, shown as "Đơn vị góp ý"."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What was recorded for a token: shown on the confirmation page and on every replay."""

    token_id: str
    decision_id: str
    decision_version: int
    recipient_unit_id: str
    person_id: str
    stance: Stance
    general_comment: str
    article_comments: tuple[tuple[str, str], ...]
    submitted_at: datetime
    superseded_note: str | None = None
    """Set when a later opinion of the same unit on the same draft replaced this one (who, when, how)."""


@dataclass(frozen=True, slots=True)
class PagesDeps:
    """Wiring for :func:`services.notify.pages.build_pages_router`.

    * ``load_draft(decision_id)`` — the draft's current version, or ``None`` if unknown.
    * ``find_submission(token_id)`` — what was recorded for this token, if anything.
    * ``submit_opinion(link, form)`` — record atomically *once per token id* (e.g. a unique index
      on ``token_id``) and return what was stored; raise
      :class:`services.notify.domain.links.AlreadyUsed` if the token was already used (a
      concurrent double submit), and the page will show the stored submission.
    * ``secret_keys`` — key id → secret for link verification (rotation: keep old keys until their
      links expire).
    * ``now()`` — the aware current time (injected for tests).
    * ``link_on_record(link)`` — raise :class:`services.notify.domain.links.NotOnRecord` unless notify
      issued exactly this link (same token id, recipient, decision), and
      :class:`services.notify.domain.links.Revoked` if it was revoked: a valid signature alone is not
      enough (a leaked secret must not mint working links).
    * ``allowed_origins`` — notify's own public origins (``scheme://host[:port]``): a POST whose
      ``Origin`` (or, without one, ``Referer``) names another, or neither, is refused (403).
    * ``find_link(token)`` — the stored record of an opaque link (``/a/<random token>``), or ``None``;
      signed links of the former format go through ``secret_keys`` and ``link_on_record``.
    """

    load_draft: Callable[[str], Awaitable[DraftView | None]]
    find_submission: Callable[[str], Awaitable[Submission | None]]
    submit_opinion: Callable[[VerifiedLink, OpinionForm], Awaitable[Submission]]
    secret_keys: Mapping[str, bytes]
    now: Callable[[], datetime]
    link_on_record: Callable[[VerifiedLink], Awaitable[None]]
    allowed_origins: Collection[str]
    trusted_proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()
    find_link: Callable[[str], Awaitable[LinkRecord | None]] = no_link


# --------------------------------------------------------------------------- public comment


@dataclass(frozen=True, slots=True)
class PublicDraft:
    """A draft as the public comment pages see it (from notify's read model of decision facts).

    ``closes_at`` is ``None`` when the draft was never published for public comment;
    ``window_open`` is the read model's flag (``decision.public_comment_opened`` set it,
    ``decision.public_comment_closed`` cleared it) — the page also compares ``closes_at`` with
    its clock, so a window is shown closed on time even before the closing fact arrives.
    ``status`` is the read model's: ``drafted``, ``consulting``, ``issued``, ``withdrawn``.
    """

    decision_id: str
    title: str
    issuer_name: str
    version: int
    articles: tuple[Article, ...]
    closes_at: datetime | None
    window_open: bool
    status: str
    synthesiser_unit_id: str | None = None


@dataclass(frozen=True, slots=True)
class CommentReceipt:
    """What was stored for one citizen comment: shown once, on the receipt page."""

    request_id: str
    reference: str
    decision_id: str
    text: str
    article_id: str | None
    author_ref: str | None
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class PublicCommentView:
    """A recorded comment (``decision.public_comment_recorded``) and its moderation state.

    ``outcome`` / ``reason`` come from ``decision.public_comment_moderated``; ``sent_outcome`` is a
    moderation sent from the page whose fact has not arrived yet.
    """

    comment_id: str
    text: str
    article_id: str | None
    author_ref: str | None
    recorded_at: datetime | None
    outcome: PublicOutcome | None = None
    reason: str = ""
    sent_outcome: PublicOutcome | None = None
    sent_reason: str = ""


@dataclass(frozen=True, slots=True)
class ModerationView:
    draft: PublicDraft
    comments: tuple[PublicCommentView, ...]


@dataclass(frozen=True, slots=True)
class ModerationReceipt:
    """A moderation sent from the page; ``duplicate`` when the same one had been sent before."""

    comment_id: str
    outcome: PublicOutcome
    request_id: str
    duplicate: bool = False


class ModerationConflict(Exception):
    """The comment was already moderated (from the page or in the workflow) with another outcome."""


@dataclass(frozen=True, slots=True)
class PublicCommentDeps:
    """Wiring for :func:`services.notify.pages.public_comment.build_public_comment_router`.

    * ``load_public_draft(decision_id)`` — the draft and its public comment window, or ``None``.
    * ``submit_public_comment(draft, form)`` — store the comment (its own document, a random id)
      with its ``decision.public_comment_submitted`` envelope in one atomic write; return the receipt.
    * ``load_moderation(decision_id)`` — the draft with its recorded comments, or ``None``.
    * ``submit_moderation(link, form)`` — store one moderation per comment with its
      ``decision.public_comment_moderation_submitted`` envelope (request id deterministic per
      (comment, outcome)); a repeat of the same returns ``duplicate=True``, another outcome raises
      :class:`ModerationConflict`.
    * ``rate_limiter`` — the per-address limit of citizen comments (shared, atomic:
      :class:`services.notify.rate_limit.MongoCommentLimiter`).
    * ``allowed_origins`` — as for :class:`PagesDeps` (every POST is Origin-checked).
    * ``trusted_proxies`` — peers whose ``X-Forwarded-For`` names the client (empty: the socket peer).
    """

    load_public_draft: Callable[[str], Awaitable[PublicDraft | None]]
    submit_public_comment: Callable[[PublicDraft, PublicCommentForm], Awaitable[CommentReceipt]]
    load_moderation: Callable[[str], Awaitable[ModerationView | None]]
    submit_moderation: Callable[[VerifiedLink, ModerationForm], Awaitable[ModerationReceipt]]
    secret_keys: Mapping[str, bytes]
    now: Callable[[], datetime]
    rate_limiter: CommentLimiter
    link_on_record: Callable[[VerifiedLink], Awaitable[None]]
    allowed_origins: Collection[str]
    trusted_proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()
    find_link: Callable[[str], Awaitable[LinkRecord | None]] = no_link
