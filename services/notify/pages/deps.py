"""What the pages need from the rest of the service, as plain async callables.

Why a dataclass of callables rather than a repository class: the lead wires these to the
document store and the event producer; tests pass fakes. The pages hold no state of their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.links import VerifiedLink
from services.notify.domain.opinion import OpinionForm, Stance


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
    """

    load_draft: Callable[[str], Awaitable[DraftView | None]]
    find_submission: Callable[[str], Awaitable[Submission | None]]
    submit_opinion: Callable[[VerifiedLink, OpinionForm], Awaitable[Submission]]
    secret_keys: Mapping[str, bytes]
    now: Callable[[], datetime]
