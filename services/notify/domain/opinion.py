"""The opinion a consultee gives on a draft, and the validation of the form behind a link.

Why pure: the rules (stance required, length limits, amendments must say what to amend) are
what make an opinion usable for the Dân vận board's synthesis; they must hold whatever the
transport, so they are tested here and only applied by the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_ARTICLE_COMMENT = 4000
MAX_GENERAL_COMMENT = 10000
STANCE_FIELD = "stance"
GENERAL_FIELD = "general_comment"
ARTICLE_FIELD_PREFIX = "article_comment__"


class Stance(StrEnum):
    """Thái độ đối với dự thảo."""

    AGREE = "agree"
    AGREE_WITH_AMENDMENTS = "agree_with_amendments"
    DISAGREE = "disagree"

    @property
    def label_vi(self) -> str:
        return STANCE_LABELS_VI[self]


STANCE_LABELS_VI: Mapping[Stance, str] = {
    Stance.AGREE: "Đồng ý",
    Stance.AGREE_WITH_AMENDMENTS: "Đồng ý có sửa đổi, bổ sung",
    Stance.DISAGREE: "Không đồng ý",
}


@dataclass(frozen=True, slots=True)
class OpinionForm:
    """A validated opinion. ``article_comments`` keeps draft order and only non-empty comments."""

    stance: Stance
    general_comment: str
    article_comments: tuple[tuple[str, str], ...]
    draft_version: int | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    """A message for one form field (``field`` is the HTML name), in Vietnamese."""

    field: str
    message_vi: str


class OpinionInvalid(ValueError):
    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message_vi}" for e in errors))
        self.errors = tuple(errors)


def article_field(article_id: str) -> str:
    """The form field name of the comment on one article."""
    return f"{ARTICLE_FIELD_PREFIX}{article_id}"


def clean(text: str) -> str:
    """A text field as the person typed it: browsers send CRLF, so lengths are counted on LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def too_long(name: str, what_vi: str, text: str, limit: int) -> FieldError:
    """The refusal of a field longer than ``limit`` characters."""
    return FieldError(name, f"{what_vi} dài {len(text)} ký tự, vượt quá giới hạn {limit} ký tự.")


def validate_opinion(raw: Mapping[str, str], article_ids: Sequence[str]) -> OpinionForm:
    """Validate raw form fields into an :class:`OpinionForm` or raise :class:`OpinionInvalid`.

    Rules: a stance is required; each article comment ≤ 4000 characters and the general comment
    ≤ 10000; "đồng ý có sửa đổi, bổ sung" and "không đồng ý" must say what to amend or why —
    an objection without content cannot be synthesised or answered. Fields for unknown articles
    are ignored (the draft may have changed; the page checks the version separately).
    """
    errors: list[FieldError] = []
    stance: Stance | None = None
    stance_raw = raw.get(STANCE_FIELD, "").strip()
    if not stance_raw:
        errors.append(FieldError(STANCE_FIELD, "Vui lòng chọn ý kiến chung đối với dự thảo."))
    else:
        try:
            stance = Stance(stance_raw)
        except ValueError:
            errors.append(FieldError(STANCE_FIELD, "Lựa chọn ý kiến không hợp lệ, vui lòng chọn lại."))
    general = clean(raw.get(GENERAL_FIELD, ""))
    if len(general) > MAX_GENERAL_COMMENT:
        errors.append(too_long(GENERAL_FIELD, "Ý kiến chung", general, MAX_GENERAL_COMMENT))
    comments: list[tuple[str, str]] = []
    for article_id in article_ids:
        name = article_field(article_id)
        text = clean(raw.get(name, ""))
        if len(text) > MAX_ARTICLE_COMMENT:
            errors.append(too_long(name, "Ý kiến", text, MAX_ARTICLE_COMMENT))
        elif text:
            comments.append((article_id, text))
    if stance in (Stance.AGREE_WITH_AMENDMENTS, Stance.DISAGREE) and not general and not comments:
        errors.append(
            FieldError(
                GENERAL_FIELD,
                "Vui lòng nêu nội dung cần sửa đổi, bổ sung hoặc lý do không đồng ý "
                "(ở ý kiến chung hoặc ở từng điều).",
            )
        )
    version: int | None = None
    version_raw = raw.get("draft_version", "").strip()
    if version_raw:
        try:
            version = int(version_raw)
        except ValueError:
            version = None
    if errors or stance is None:
        raise OpinionInvalid(errors)
    return OpinionForm(
        stance=stance, general_comment=general, article_comments=tuple(comments), draft_version=version
    )
