from __future__ import annotations

import pytest

from services.notify.domain.opinion import (
    MAX_ARTICLE_COMMENT,
    MAX_GENERAL_COMMENT,
    OpinionInvalid,
    Stance,
    article_field,
    validate_opinion,
)

ARTICLES = ["d1", "d2"]


def test_valid_agree_without_comments() -> None:
    form = validate_opinion({"stance": "agree", "draft_version": "3"}, ARTICLES)
    assert form.stance is Stance.AGREE
    assert form.article_comments == ()
    assert form.draft_version == 3


def test_comments_kept_in_draft_order_and_normalised() -> None:
    raw = {
        "stance": "agree_with_amendments",
        article_field("d2"): " Sửa khoản 2\r\nthêm ",
        article_field("d1"): "x",
        article_field("unknown"): "ignored",
    }
    form = validate_opinion(raw, ARTICLES)
    assert form.article_comments == (("d1", "x"), ("d2", "Sửa khoản 2\nthêm"))


def _errors(raw: dict[str, str]) -> dict[str, str]:
    with pytest.raises(OpinionInvalid) as exc:
        validate_opinion(raw, ARTICLES)
    return {e.field: e.message_vi for e in exc.value.errors}


def test_stance_required_and_must_be_known() -> None:
    assert _errors({})["stance"] == "Vui lòng chọn ý kiến chung đối với dự thảo."
    assert "không hợp lệ" in _errors({"stance": "maybe"})["stance"]


def test_length_limits() -> None:
    errs = _errors(
        {
            "stance": "agree",
            "general_comment": "a" * (MAX_GENERAL_COMMENT + 1),
            article_field("d1"): "b" * (MAX_ARTICLE_COMMENT + 1),
        }
    )
    assert set(errs) == {"general_comment", article_field("d1")}
    assert validate_opinion({"stance": "agree", article_field("d1"): "b" * MAX_ARTICLE_COMMENT}, ARTICLES)


@pytest.mark.parametrize("stance", ["agree_with_amendments", "disagree"])
def test_objection_needs_content(stance: str) -> None:
    assert "lý do không đồng ý" in _errors({"stance": stance})["general_comment"]
    assert validate_opinion({"stance": stance, "general_comment": "Lý do"}, ARTICLES).stance.value == stance
