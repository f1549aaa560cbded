"""The read model of a draft: the pure ``apply`` (fact → new state, no I/O) and its stored shape."""

from __future__ import annotations

from services.notify.readmodel import Draft, Names, apply, ref_of
from tests.unit.notify._facts import (
    BOARD,
    DEADLINE,
    DECISION,
    FARMERS,
    FRONT,
    consultation,
    drafted,
    issued,
    opinion,
    override,
    public_closed,
    public_moderated,
    public_opened,
    public_recorded,
    rejected,
)


def replay(*facts: object, names: Names = Names()) -> Draft:
    draft: Draft | None = None
    for fact in facts:
        after = apply(draft, DECISION, fact, names)  # type: ignore[arg-type]
        assert after is not None, fact
        draft = after
    assert draft is not None
    return draft


def test_a_draft_keeps_its_text_and_the_issuer_s_name_given_by_the_caller() -> None:
    d = replay(drafted(), names=Names(issuer_name="UBND tỉnh"))
    assert (d.title, d.issuer_name, d.version, d.status, d.seq) == (
        "Nghị quyết hỗ trợ hộ nghèo",
        "UBND tỉnh",
        1,
        "drafted",
        1,
    )
    assert [a.article_id for a in d.articles] == ["a1", "a2"]
    assert ref_of(d, DECISION).issuer_name == "UBND tỉnh"


def test_only_the_fields_a_fact_set_are_stored_and_the_state_reads_back_the_same() -> None:
    d = replay(drafted())
    state = d.to_state()
    assert "deadline" not in state and "consultees" not in state and "public_comments" not in state
    assert state["articles"][0] == {"article_id": "a1", "text": "Điều 1. Phạm vi\nHỗ trợ hộ nghèo."}
    assert Draft.from_state(state) == d and Draft.from_state(state).to_state() == state


def test_a_consultation_sets_the_deadline_the_consultees_and_the_synthesiser() -> None:
    d = replay(drafted(), consultation())
    assert d.status == "consulting" and d.deadline == DEADLINE and d.synthesiser_unit_id == BOARD
    assert [c.unit_id for c in d.consultees] == [FRONT, FARMERS]
    assert d.to_state()["consultees"][0] == {"unit_id": FRONT, "kind": "socio_political_org", "name_vi": ""}


def test_a_stale_or_repeated_fact_changes_nothing() -> None:
    d = replay(drafted(), consultation())
    assert apply(d, DECISION, consultation()) is None  # same seq
    assert apply(d, DECISION, drafted()) is None  # older
    assert apply(d, DECISION, rejected("t")) is None  # not a fact of this model (no seq)


def test_an_amended_opinion_marks_the_link_it_replaces() -> None:
    d = replay(
        drafted(),
        consultation(),
        opinion(3, "op-1", "tok.1"),
        opinion(4, "op-2", None, supersedes="op-1"),
        names=Names(given_by_name="Lê Văn A"),
    )
    assert set(d.opinions) == {"op-1", "op-2"} and d.opinions["op-1"].link_token_id == "tok.1"
    note = d.superseded_note("tok.1")
    assert note is not None and "do đồng chí Lê Văn A gửi" in note
    assert "tok_1" in d.to_state()["superseded_links"]  # no dot in a stored field name
    assert d.superseded_note("other") is None


def test_override_reasons_accumulate_and_issuance_sets_the_status() -> None:
    d = replay(drafted(), consultation(), override(3), issued(4))
    assert d.override_reasons == ["Cấp bách do thiên tai"] and d.status == "issued"


def test_the_public_comment_window_and_its_comments() -> None:
    d = replay(drafted(), consultation(), public_opened(3), public_recorded(4, "c1"))
    assert d.public_comment_open and d.public_comment_closes_at == DEADLINE
    assert [(c.comment_id, c.outcome) for c in d.public_comments] == [("c1", None)]
    d = replay(
        drafted(),
        consultation(),
        public_opened(3),
        public_recorded(4, "c1"),
        public_moderated(5, "c1"),
        public_closed(6),
    )
    assert [(c.comment_id, c.outcome, c.moderator_id) for c in d.public_comments] == [
        ("c1", "approved", "p-board")
    ]
    assert not d.public_comment_open and d.public_comment_counts == {
        "approved": 1,
        "rejected": 0,
        "pending": 0,
    }
    again = replay(
        drafted(), consultation(), public_opened(3), public_recorded(4, "c1"), public_recorded(5, "c1")
    )
    assert len(again.public_comments) == 1  # recorded twice: kept once


def test_apply_does_not_change_the_model_it_is_given() -> None:
    d = replay(drafted())
    before = d.to_state()
    apply(d, DECISION, consultation())
    assert d.to_state() == before
