"""The decision events are valid contract events: registered, routed, and round-trip through the envelope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.contract import Envelope, registered_events
from shared.contract.events.decisions import (
    DECISION_FACTS,
    DECISION_REQUEST_TYPES,
    ActingAs,
    ArticleComment,
    OpinionSubmitted,
    Stance,
)
from shared.contract.topics import DECISION_EVENTS, DECISION_REQUESTS
from tests.unit.tasks.factories import AUTHORISED_ROLE, FRONT, T0, YOUTH, consulting, give, public_requirement


def test_types_registered_unique_and_routed() -> None:
    registry = registered_events()
    names = [c.event_type for c in (*DECISION_FACTS, *DECISION_REQUEST_TYPES)]
    assert len(names) == len(set(names))
    for fact in DECISION_FACTS:
        assert registry[(fact.event_type, 1)] is fact and fact.topic == DECISION_EVENTS
        assert fact.event_type.startswith("decision.")
    for request in DECISION_REQUEST_TYPES:
        assert registry[(request.event_type, 1)] is request and request.topic == DECISION_REQUESTS
        assert "request_id" in request.model_fields


def test_every_fact_of_a_rich_history_round_trips() -> None:
    d = consulting(public_requirement())
    give(d, FRONT, stance=Stance.AGREE_WITH_AMENDMENTS, comments={"d1": "Sửa “phạm vi”"})
    d.record_public_comment("pc", text="Góp ý của người dân", at=T0 + timedelta(hours=2))
    d.override("ov", by_person_id="p", role=AUTHORISED_ROLE, reason="Gấp", at=T0, consultee_unit_ids=(YOUTH,))
    d.tick(T0 + timedelta(days=40))
    d.request_issuance("iss", requested_by="p", at=T0 + timedelta(days=40))
    for event in d.history:
        env = Envelope.wrap(event, source="tasks")
        assert env.subject == "qd-1" and env.topic == DECISION_EVENTS
        assert Envelope.from_bytes(env.to_bytes()).event() == event


def test_opinion_submitted_from_link_page() -> None:
    req = OpinionSubmitted(
        request_id="r-1",
        decision_id="qd-1",
        submitted_at=T0,
        link_token_id="tok",
        consultee_unit_id=FRONT,
        person_id="p",
        acting_as=ActingAs.SUBSTITUTE,
        stance=Stance.DISAGREE,
        comments=(ArticleComment(article_id="d1", text="Không phù hợp"),),
        draft_version=1,
    )
    env = Envelope.wrap(req, source="notify")
    assert env.topic == DECISION_REQUESTS
    assert Envelope.from_bytes(env.to_bytes()).event() == req
    with pytest.raises(Exception):  # noqa: B017 - frozen model
        req.stance = Stance.AGREE  # type: ignore[misc]
