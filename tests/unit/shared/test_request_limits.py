"""Requests are bounded at the entrance: over a limit is malformed, with the field and the limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contract.envelope import Envelope, MalformedEvent
from shared.contract.events.decisions import (
    MAX_ARTICLE_TEXT,
    MAX_ARTICLES,
    MAX_COMMENT,
    MAX_TITLE,
    Article,
    DocType,
    DraftSubmitted,
)


def draft(**over: Any) -> dict[str, Any]:
    base = DraftSubmitted(
        request_id="r-1",
        decision_id="qd-1",
        submitted_at=datetime.now(UTC),
        issuer_unit_id="kg.ubnd",
        submitted_by="p.kg.007",
        doc_type=DocType.DECISION,
        title="Quyết định",
        articles=(Article(article_id="d1", text="Điều 1."),),
    )
    env = Envelope.wrap(base, source="agency").model_dump(mode="json")
    env["payload"].update(over)
    return env


def decode(env: dict[str, Any]) -> None:
    Envelope.model_validate(env).event()


def test_a_draft_within_the_limits_is_accepted() -> None:
    decode(draft(articles=[{"article_id": f"d{i}", "text": "x" * 1000} for i in range(MAX_ARTICLES)]))


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("title", "t" * (MAX_TITLE + 1), "title"),
        ("articles", [{"article_id": f"d{i}", "text": "x"} for i in range(MAX_ARTICLES + 1)], "articles"),
        ("articles", [{"article_id": "d1", "text": "x" * (MAX_ARTICLE_TEXT + 1)}], "vượt giới hạn"),
        ("decision_id", "q" * 201, "decision_id"),
    ],
)
def test_over_a_limit_is_malformed_naming_the_field(field: str, value: Any, says: str) -> None:
    with pytest.raises(MalformedEvent, match=says):
        decode(draft(**{field: value}))


def test_an_opinion_comment_over_the_limit_is_malformed() -> None:
    from shared.contract.events.decisions import ActingAs, OpinionSubmitted, Stance

    op = OpinionSubmitted(
        request_id="r-2",
        decision_id="qd-1",
        submitted_at=datetime.now(UTC),
        consultee_unit_id="kg.mttq",
        person_id="p.kg.009",
        acting_as=next(iter(ActingAs)),
        stance=next(iter(Stance)),
        draft_version=1,
    )
    env = Envelope.wrap(op, source="notify").model_dump(mode="json")
    env["payload"]["comments"] = [{"article_id": "d1", "text": "y" * (MAX_COMMENT + 1)}]
    with pytest.raises(MalformedEvent, match="vượt giới hạn"):
        decode(env)
