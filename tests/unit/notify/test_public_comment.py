"""Validation of citizens' comments and moderations, and ids (the rate limit: test_rate_limit.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.domain.links import SINGLE_USE_ACTIONS, Action
from services.notify.domain.public_comment import (
    ARTICLE_FIELD,
    AUTHOR_FIELD,
    COMMENT_ID_FIELD,
    HONEYPOT_FIELD,
    OUTCOME_FIELD,
    REASON_FIELD,
    TEXT_FIELD,
    CommentInvalid,
    HoneypotFilled,
    Outcome,
    moderation_request_id,
    new_comment_request_id,
    reference_code,
    validate_moderation,
    validate_public_comment,
)

ARTICLES = ["d1", "d2"]
T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def test_valid_comment_is_cleaned() -> None:
    form = validate_public_comment(
        {
            TEXT_FIELD: "  Đề nghị tăng mức hỗ trợ.\r\nCảm ơn.  ",
            ARTICLE_FIELD: "d2",
            AUTHOR_FIELD: "  Lê   Văn A ",
        },
        ARTICLES,
    )
    assert form.text == "Đề nghị tăng mức hỗ trợ.\nCảm ơn."
    assert form.article_id == "d2" and form.author_ref == "Lê Văn A"


def test_optional_fields_may_be_empty() -> None:
    form = validate_public_comment({TEXT_FIELD: "Nhất trí", ARTICLE_FIELD: "", AUTHOR_FIELD: ""}, ARTICLES)
    assert form.article_id is None and form.author_ref is None


@pytest.mark.parametrize(
    ("raw", "field", "phrase"),
    [
        ({TEXT_FIELD: "   "}, TEXT_FIELD, "Vui lòng nhập nội dung góp ý."),
        ({TEXT_FIELD: "x" * 4001}, TEXT_FIELD, "vượt quá giới hạn 4000 ký tự"),
        ({TEXT_FIELD: "ok", ARTICLE_FIELD: "d9"}, ARTICLE_FIELD, "không có trong dự thảo"),
        ({TEXT_FIELD: "ok", AUTHOR_FIELD: "a" * 201}, AUTHOR_FIELD, "vượt quá giới hạn 200 ký tự"),
    ],
)
def test_invalid_comment(raw: dict[str, str], field: str, phrase: str) -> None:
    with pytest.raises(CommentInvalid) as err:
        validate_public_comment(raw, ARTICLES)
    assert [e.field for e in err.value.errors] == [field]
    assert phrase in err.value.errors[0].message_vi


def test_exactly_4000_characters_is_accepted() -> None:
    assert len(validate_public_comment({TEXT_FIELD: "x" * 4000}, ARTICLES).text) == 4000


def test_honeypot_refuses_even_a_valid_comment() -> None:
    with pytest.raises(HoneypotFilled):
        validate_public_comment({TEXT_FIELD: "Nhất trí", HONEYPOT_FIELD: "http://spam"}, ARTICLES)


def test_moderation_validation() -> None:
    ok = validate_moderation({COMMENT_ID_FIELD: "c1", OUTCOME_FIELD: "approved"}, ["c1"])
    assert ok.outcome is Outcome.APPROVED and ok.reason == ""
    rej = validate_moderation(
        {COMMENT_ID_FIELD: "c1", OUTCOME_FIELD: "rejected", REASON_FIELD: " Spam "}, ["c1"]
    )
    assert rej.outcome is Outcome.REJECTED and rej.reason == "Spam"
    with pytest.raises(CommentInvalid) as err:
        validate_moderation({COMMENT_ID_FIELD: "c1", OUTCOME_FIELD: "rejected", REASON_FIELD: "  "}, ["c1"])
    assert err.value.errors[0].message_vi == "Không chấp nhận góp ý phải nêu lý do."
    with pytest.raises(CommentInvalid):
        validate_moderation({COMMENT_ID_FIELD: "c2", OUTCOME_FIELD: "approved"}, ["c1"])
    with pytest.raises(CommentInvalid):
        validate_moderation({COMMENT_ID_FIELD: "c1", OUTCOME_FIELD: "maybe"}, ["c1"])


def test_ids() -> None:
    a, b = new_comment_request_id(), new_comment_request_id()
    assert a != b and len(a) == 20
    assert reference_code("abcde12345fffff00000") == "GY-ABCDE-12345-FFFFF-00000"
    assert moderation_request_id("dec:pc:1", Outcome.APPROVED) == moderation_request_id(
        "dec:pc:1", Outcome.APPROVED
    )
    assert moderation_request_id("dec:pc:1", Outcome.APPROVED) != moderation_request_id(
        "dec:pc:1", Outcome.REJECTED
    )


def test_moderation_link_is_reusable() -> None:
    assert Action.MODERATE_PUBLIC_COMMENTS not in SINGLE_USE_ACTIONS
