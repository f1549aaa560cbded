"""Public comment (lấy ý kiến nhân dân): the citizen's form, its anti-abuse rules, and moderation.

Why (Kiên Giang 357-QĐ/TU §5): a draft that directly touches the rights of many citizens is
published for comment; the Dân vận board (the synthesiser unit) moderates the comments before
they go into its synthesis. Citizens have no account, so the page is public; what keeps it
usable is

* validation — the text is required and ≤ :data:`MAX_COMMENT_TEXT` characters, the article (if
  chosen) must be one of the draft's, the optional name / contact (``author_ref``) is short;
* a **honeypot** — a field hidden from people (off-screen, ``aria-hidden``, not focusable, no
  autocomplete) that naive form-filling robots fill in; a filled honeypot refuses the post;
* a **per-address limit** — a few comments per client address per window, counted atomically in
  the shared document store (:mod:`services.notify.rate_limit`), the address taken from
  ``X-Forwarded-For`` only behind a trusted proxy (:mod:`services.notify.pages.guard`). A brake on
  floods from one address, not a defence against a distributed attack (that belongs to the reverse
  proxy). No JavaScript, no CAPTCHA, no external service — nothing that would leak the visitor to a
  third party or fail on an old phone.

Moderation (approve / reject, a rejection needs a reason) is validated here too, and its request
id is deterministic per (comment, outcome) so a double click publishes one request.

Pure: no I/O; the clock is passed in.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.notify.domain.opinion import FieldError, clean, too_long

MAX_COMMENT_TEXT = 4000
MAX_AUTHOR_REF = 200
MAX_REJECT_REASON = 2000

TEXT_FIELD = "noi_dung"
ARTICLE_FIELD = "dieu"
AUTHOR_FIELD = "nguoi_gop_y"
HONEYPOT_FIELD = "website"
"""Named like a field robots love to fill; people never see it."""

COMMENT_ID_FIELD = "comment_id"
OUTCOME_FIELD = "outcome"
REASON_FIELD = "reason"


class Outcome(StrEnum):
    """Kết quả kiểm duyệt (the values of the contract's ``ModerationOutcome``)."""

    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label_vi(self) -> str:
        return OUTCOME_LABELS_VI[self]


OUTCOME_LABELS_VI: Mapping[Outcome, str] = {
    Outcome.APPROVED: "Chấp nhận",
    Outcome.REJECTED: "Không chấp nhận",
}


class CommentInvalid(ValueError):
    """The form has errors to show next to its fields (the page re-renders it with 422)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message_vi}" for e in errors))
        self.errors = tuple(errors)


class HoneypotFilled(ValueError):
    """The hidden field was filled: most likely a robot. Refused, nothing stored."""


@dataclass(frozen=True, slots=True)
class PublicCommentForm:
    text: str
    article_id: str | None
    author_ref: str | None


@dataclass(frozen=True, slots=True)
class ModerationForm:
    comment_id: str
    outcome: Outcome
    reason: str


def validate_public_comment(raw: Mapping[str, str], article_ids: Sequence[str]) -> PublicCommentForm:
    """Validate the citizen's form, or raise :class:`HoneypotFilled` / :class:`CommentInvalid`.

    The honeypot is checked first: a robot's post is refused whatever else it contains.
    """
    if raw.get(HONEYPOT_FIELD, "").strip():
        raise HoneypotFilled("honeypot field filled")
    errors: list[FieldError] = []
    text = clean(raw.get(TEXT_FIELD, ""))
    if not text:
        errors.append(FieldError(TEXT_FIELD, "Vui lòng nhập nội dung góp ý."))
    elif len(text) > MAX_COMMENT_TEXT:
        errors.append(too_long(TEXT_FIELD, "Nội dung góp ý", text, MAX_COMMENT_TEXT))
    article = raw.get(ARTICLE_FIELD, "").strip() or None
    if article is not None and article not in article_ids:
        errors.append(FieldError(ARTICLE_FIELD, "Điều được chọn không có trong dự thảo, vui lòng chọn lại."))
    author = " ".join(raw.get(AUTHOR_FIELD, "").split()) or None
    if author is not None and len(author) > MAX_AUTHOR_REF:
        errors.append(too_long(AUTHOR_FIELD, "Họ tên, cách liên hệ", author, MAX_AUTHOR_REF))
    if errors:
        raise CommentInvalid(errors)
    return PublicCommentForm(text=text, article_id=article, author_ref=author)


def validate_moderation(raw: Mapping[str, str], comment_ids: Sequence[str]) -> ModerationForm:
    """One moderation decision: a known comment, an outcome, and a reason if rejected."""
    errors: list[FieldError] = []
    comment_id = raw.get(COMMENT_ID_FIELD, "").strip()
    if comment_id not in comment_ids:
        errors.append(FieldError(COMMENT_ID_FIELD, "Không tìm thấy góp ý cần kiểm duyệt."))
    outcome: Outcome | None = None
    try:
        outcome = Outcome(raw.get(OUTCOME_FIELD, "").strip())
    except ValueError:
        errors.append(FieldError(OUTCOME_FIELD, "Vui lòng chọn “Chấp nhận” hoặc “Không chấp nhận”."))
    reason = clean(raw.get(REASON_FIELD, ""))
    if outcome is Outcome.REJECTED and not reason:
        errors.append(FieldError(REASON_FIELD, "Không chấp nhận góp ý phải nêu lý do."))
    if len(reason) > MAX_REJECT_REASON:
        errors.append(too_long(REASON_FIELD, "Lý do", reason, MAX_REJECT_REASON))
    if errors or outcome is None:
        raise CommentInvalid(errors)
    return ModerationForm(comment_id=comment_id, outcome=outcome, reason=reason)


# --------------------------------------------------------------------------- ids


def new_comment_request_id() -> str:
    """A random id for one citizen comment (its document id and the request id): 80 bits, so a
    reference code cannot be guessed to look up someone else's comment."""
    return secrets.token_hex(10)


def reference_code(request_id: str) -> str:
    """The reference code shown on the receipt ("GY-" + the id in groups of five, upper case)."""
    head = request_id.upper()
    return "GY-" + "-".join(head[i : i + 5] for i in range(0, len(head), 5))


def moderation_request_id(comment_id: str, outcome: Outcome) -> str:
    """Deterministic per (comment, outcome): a double click or a re-post publishes one request,
    and the workflow dedupes a redelivered one by this id too."""
    return f"{comment_id}:moderation:{outcome.value}"
