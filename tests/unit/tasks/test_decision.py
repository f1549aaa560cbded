"""Decision aggregate: state machine, the issuance rule, deadlines, revisions, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from services.tasks.domain.calendar import DEFAULT_CALENDAR, VN_TZ
from services.tasks.domain.decision import (
    ALLOWED_STATUSES,
    COMMAND_VI,
    Decision,
    DecisionStatus,
)
from shared.contract.events.decisions import (
    ActingAs,
    AttachmentRef,
    ConsultationClosed,
    ConsulteeSpec,
    CoordinationTaskKind,
    CoordinationTasksCreated,
    DecisionFact,
    DecisionIssued,
    DecisionRevised,
    Disposition,
    DocType,
    Escalated,
    IssuanceRefused,
    ModerationOutcome,
    OpinionRecorded,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentOpened,
    ReminderDue,
    Stance,
)
from shared.eventsourcing.errors import DomainError
from tests.unit.tasks.factories import (
    ARTICLES,
    AUTHORISED_ROLE,
    BOARD,
    DEADLINE,
    FRONT,
    ISSUER,
    PARTY,
    PC_CLOSES,
    T0,
    UNITS,
    WOMEN,
    YOUTH,
    all_opinions,
    consulting,
    drafted,
    give,
    public_requirement,
    requirement,
    synthesised,
)
from tests.unit.tasks.recording import RecordedDecision, chain_of

S = DecisionStatus
LATER = DEADLINE + timedelta(days=1)


def assert_replay_equal(d: RecordedDecision) -> None:
    again = Decision.replay(d.history, d.calendar)
    assert again.snapshot() == d.snapshot()
    assert chain_of(d.history).verify().ok


def refused(fn: Callable[[], object], code: str, d: Decision) -> DomainError:
    before = d.snapshot()
    with pytest.raises(DomainError) as info:
        fn()
    assert info.value.code == code, info.value
    assert d.snapshot() == before, "a refused command must not change state"
    assert info.value.message_vi.strip()
    return info.value


# ================================================================ happy path


def test_main_line_reaches_issued_with_coordination_tasks() -> None:
    d = consulting()
    assert d.status is S.CONSULTATION_REQUESTED
    give(d, BOARD)
    assert d.status is S.COLLECTING  # type: ignore[comparison-overlap]  # mypy keeps the earlier narrowing
    give(d, FRONT, stance=Stance.AGREE_WITH_AMENDMENTS, comments={"d2": "Bổ sung đối tượng hộ nghèo"})
    give(d, YOUTH)
    give(d, WOMEN, stance=Stance.DISAGREE, comments={"d1": "Phạm vi quá rộng"})
    d.close_consultation("close", at=T0 + timedelta(days=1))
    assert d.status is S.CONSULTATION_CLOSED
    d.synthesise("syn", by_unit_id=BOARD, summary="Tổng hợp 4 ý kiến.", at=T0 + timedelta(days=2))
    assert d.status is S.SYNTHESISED
    events = d.request_issuance("iss", requested_by="p-chair", at=T0 + timedelta(days=3))
    assert [type(e) for e in events] == [DecisionIssued, CoordinationTasksCreated]
    assert d.status is S.ISSUED
    issued = events[0]
    assert isinstance(issued, DecisionIssued) and not issued.with_exception and len(issued.opinion_ids) == 4
    tasks = events[1]
    assert isinstance(tasks, CoordinationTasksCreated)
    kinds = [(t.kind, t.assignee_unit_id, t.counterpart_unit_id) for t in tasks.tasks]
    assert (CoordinationTaskKind.IMPLEMENT, ISSUER, None) in kinds
    assert {cp for k, _, cp in kinds if k is CoordinationTaskKind.INFORM} == set(UNITS)
    assert [e.seq for e in d.history] == list(range(1, len(d.history) + 1))
    assert_replay_equal(d)


def test_implementing_units_get_tasks() -> None:
    d = synthesised()
    events = d.request_issuance(
        "iss", requested_by="p", at=LATER, implementing_unit_ids=("so-tnmt", "ubnd-huyen")
    )
    tasks = events[1]
    assert isinstance(tasks, CoordinationTasksCreated)
    assert {t.assignee_unit_id for t in tasks.tasks} == {"so-tnmt", "ubnd-huyen"}
    assert len({t.task_id for t in tasks.tasks}) == len(tasks.tasks) == 2 * (1 + len(UNITS))


# ================================================================ exhaustive state × command table


def build(status: DecisionStatus) -> Decision:
    if status is S.DRAFTED:
        return drafted()
    if status is S.CONSULTATION_REQUESTED:
        return consulting(public_requirement())
    if status is S.COLLECTING:
        d = consulting(public_requirement())
        give(d, BOARD, stance=Stance.AGREE_WITH_AMENDMENTS, comments={"d1": "sửa"})
        return d
    if status is S.REVISED:
        d = consulting(public_requirement())
        all_opinions(d)
        d.revise(
            "rev", articles=(*ARTICLES[:2], ("d3", "Điều 3. Hiệu lực từ 1/7")), at=T0 + timedelta(hours=2)
        )
        return d
    if status is S.CONSULTATION_CLOSED:
        d = consulting(public_requirement())
        all_opinions(d)
        d.close_consultation("close", at=PC_CLOSES)
        return d
    if status is S.SYNTHESISED:
        return synthesised(public_requirement())
    if status is S.ISSUED:
        d = synthesised(public_requirement())
        d.request_issuance("iss", requested_by="p", at=LATER)
        return d
    d = drafted()
    d.withdraw("wd", by_person_id="p", reason="Không còn cần thiết", at=T0)
    return d


AT = T0 + timedelta(hours=3)
COMMANDS: dict[str, Callable[[Decision], list[DecisionFact]]] = {
    "revise": lambda d: d.revise(
        "x", articles=(("d1", "Điều 1 mới"), *ARTICLES[1:]), at=AT, reconsultation_deadline=LATER
    ),
    "request_consultation": lambda d: d.request_consultation("x", requirement=requirement(), at=AT),
    "give_opinion": lambda d: give(d, FRONT, cmd="x", at=AT),
    "record_public_comment": lambda d: d.record_public_comment("x", text="Ý kiến của người dân", at=AT),
    "moderate_public_comment": lambda d: d.moderate_public_comment(
        "x", comment_id="qd-1:pc:1", outcome=ModerationOutcome.APPROVED, moderator_id="m", at=AT
    ),
    "close_consultation": lambda d: d.close_consultation("x", at=PC_CLOSES),
    "synthesise": lambda d: d.synthesise("x", by_unit_id=BOARD, summary="Tổng hợp", at=AT),
    "record_disposition": lambda d: d.record_disposition(
        "x", opinion_id="qd-1:op:1", disposition=Disposition.ACCEPTED, by_unit_id=ISSUER, at=AT
    ),
    "request_issuance": lambda d: d.request_issuance("x", requested_by="p", at=AT),
    "override": lambda d: d.override("x", by_person_id="p", role=AUTHORISED_ROLE, reason="Khẩn cấp", at=AT),
    "withdraw": lambda d: d.withdraw("x", by_person_id="p", reason="Rút", at=AT),
}

EXPECTED_AFTER: dict[tuple[str, DecisionStatus], DecisionStatus] = {
    ("revise", S.DRAFTED): S.DRAFTED,
    ("request_consultation", S.DRAFTED): S.CONSULTATION_REQUESTED,
    ("give_opinion", S.CONSULTATION_REQUESTED): S.COLLECTING,
    ("give_opinion", S.REVISED): S.COLLECTING,
    ("synthesise", S.CONSULTATION_CLOSED): S.SYNTHESISED,
    ("request_issuance", S.SYNTHESISED): S.ISSUED,
}


def test_command_table_covers_every_command() -> None:
    assert set(COMMANDS) == set(ALLOWED_STATUSES) == set(COMMAND_VI)


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_state_command_matrix(status: DecisionStatus, command: str) -> None:
    d = build(status)
    assert d.status is status
    if status not in ALLOWED_STATUSES[command]:
        err = refused(lambda: COMMANDS[command](d), "invalid_state", d)
        assert COMMAND_VI[command] in err.message_vi
        return
    before = d.snapshot()
    try:
        events = COMMANDS[command](d)
    except DomainError as exc:
        assert exc.code != "invalid_state"
        assert d.snapshot() == before
        return
    assert events, f"{command} in {status} produced nothing"
    expected = EXPECTED_AFTER.get((command, status))
    if command == "revise" and status is not S.DRAFTED:
        expected = S.REVISED
    if command == "withdraw":
        expected = S.WITHDRAWN
    if command == "close_consultation":
        expected = S.CONSULTATION_CLOSED
    if expected is not None:
        assert d.status is expected
    assert_replay_equal(d)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_commands_on_empty_aggregate_refused(command: str) -> None:
    d = Decision()
    refused(lambda: COMMANDS[command](d), "not_drafted", d)


def test_draft_twice_refused() -> None:
    d = drafted()
    refused(
        lambda: d.draft(
            "other",
            decision_id="qd-1",
            issuer_unit_id=ISSUER,
            doc_type=DocType.PLAN,
            title="t",
            flags=(),
            articles=ARTICLES,
            at=T0,
        ),
        "already_drafted",
        d,
    )


@pytest.mark.parametrize(
    ("articles", "code"),
    [
        ((), "articles_required"),
        ((("a", "x"), ("a", "y")), "duplicate_article"),
        (((" ", "x"),), "article_id_required"),
    ],
)
def test_draft_validation(articles: tuple[tuple[str, str], ...], code: str) -> None:
    d = Decision()
    refused(
        lambda: d.draft(
            "c",
            decision_id="qd",
            issuer_unit_id=ISSUER,
            doc_type=DocType.DECISION,
            title="t",
            flags=(),
            articles=articles,
            at=T0,
        ),
        code,
        d,
    )


# ================================================================ idempotency


def test_every_command_is_idempotent_by_command_id() -> None:
    d = consulting(public_requirement())
    steps: list[Callable[[], list[DecisionFact]]] = [
        lambda: give(d, BOARD, cmd="op-1", comments={"d1": "sửa"}, stance=Stance.AGREE_WITH_AMENDMENTS),
        lambda: d.record_public_comment("pc-1", text="Góp ý", at=T0 + timedelta(hours=2)),
        lambda: d.moderate_public_comment(
            "mod-1", comment_id="qd-1:pc:1", outcome=ModerationOutcome.APPROVED, moderator_id="m", at=T0
        ),
        lambda: d.record_disposition(
            "disp-1", opinion_id="qd-1:op:1", disposition=Disposition.ACCEPTED, by_unit_id=ISSUER, at=T0
        ),
        lambda: d.revise(
            "rev-1", articles=(("d1", "mới"), *ARTICLES[1:]), at=T0, reconsultation_deadline=LATER
        ),
        lambda: d.request_issuance("iss-1", requested_by="p", at=T0),
        lambda: d.override(
            "ov-1", by_person_id="p", role=AUTHORISED_ROLE, reason="Khẩn", at=T0, consultee_unit_ids=(WOMEN,)
        ),
        lambda: d.close_consultation("close-1", at=LATER + timedelta(days=1)),
        lambda: d.withdraw("wd-1", by_person_id="p", reason="Rút", at=LATER),
    ]
    for step in steps:
        assert step(), "first delivery produces facts"
        snap = d.snapshot()
        assert step() == [], "a redelivered command is a no-op"
        assert d.snapshot() == snap
    assert_replay_equal(d)
    # processed ids survive replay, so a redelivery after restart is still a no-op
    again = Decision.replay(d.history)
    assert again.request_issuance("iss-1", requested_by="p", at=T0) == []


def test_refused_command_is_not_recorded_as_processed() -> None:
    d = consulting()
    with pytest.raises(DomainError):
        give(d, "unknown-unit", cmd="op-x")
    assert give(d, BOARD, cmd="op-x")  # same id, now valid: processed


def test_empty_command_id_refused() -> None:
    d = consulting()
    refused(lambda: give(d, BOARD, cmd=""), "command_id_required", d)


# ================================================================ issuance refusal names exactly what is missing


@pytest.mark.parametrize("given", [(), (BOARD,), (BOARD, FRONT), (FRONT, YOUTH, WOMEN), UNITS])
def test_refusal_names_exactly_the_missing_consultees(given: tuple[str, ...]) -> None:
    d = consulting()
    for unit in given:
        give(d, unit)
    events = d.request_issuance("iss", requested_by="p", at=T0 + timedelta(hours=4))
    assert len(events) == 1 and isinstance(events[0], IssuanceRefused)
    refusal = events[0]
    expected = [u for u in UNITS if u not in given]
    assert list(refusal.missing_consultee_unit_ids) == expected
    codes = [m.code for m in refusal.missing]
    assert codes.count("opinion_missing") == len(expected)
    assert "consultation_not_closed" in codes and "synthesis_missing" in codes
    for item in refusal.missing:
        if item.unit_id:
            assert "Chưa có ý kiến tham gia" in item.message_vi and item.unit_id in item.message_vi
    assert d.status is (S.COLLECTING if given else S.CONSULTATION_REQUESTED)
    assert_replay_equal(d)


def test_refusal_before_consultation() -> None:
    d = drafted()
    (refusal,) = d.request_issuance("iss", requested_by="p", at=T0)
    assert isinstance(refusal, IssuanceRefused)
    assert [m.code for m in refusal.missing] == ["consultation_not_requested", "synthesis_missing"]
    assert d.status is S.DRAFTED


def test_refusal_mentions_open_public_window() -> None:
    d = consulting(public_requirement())
    all_opinions(d)
    (refusal,) = d.request_issuance("iss", requested_by="p", at=T0 + timedelta(hours=2))
    assert isinstance(refusal, IssuanceRefused)
    codes = [m.code for m in refusal.missing]
    assert codes == ["public_comment_window_open", "consultation_not_closed", "synthesis_missing"]
    assert refusal.missing_consultee_unit_ids == ()


def test_refusal_for_outdated_opinion_explains_re_give() -> None:
    d = consulting()
    all_opinions(d)
    give(d, FRONT, comments={"d2": "sửa"}, stance=Stance.AGREE_WITH_AMENDMENTS)
    d.revise(
        "rev",
        articles=(ARTICLES[0], ("d2", "Điều 2 mới"), ARTICLES[2]),
        at=T0 + timedelta(hours=3),
        reconsultation_deadline=LATER,
    )
    (refusal,) = d.request_issuance("iss", requested_by="p", at=T0 + timedelta(hours=4))
    assert isinstance(refusal, IssuanceRefused)
    assert refusal.missing_consultee_unit_ids == (FRONT,)
    assert refusal.missing[0].code == "opinion_outdated" and "cho ý kiến lại" in refusal.missing[0].message_vi


def test_issue_twice_refused() -> None:
    d = synthesised()
    d.request_issuance("iss", requested_by="p", at=LATER)
    refused(lambda: d.request_issuance("iss-2", requested_by="p", at=LATER), "invalid_state", d)


# ================================================================ override


def test_override_by_unauthorised_role_refused() -> None:
    d = consulting()
    give(d, BOARD)
    err = refused(
        lambda: d.override("ov", by_person_id="p", role="drafter", reason="Gấp", at=T0),
        "override_role_not_authorised",
        d,
    )
    assert "không có thẩm quyền" in err.message_vi


def test_override_requires_reason_and_missing_targets() -> None:
    d = consulting()
    give(d, BOARD)
    refused(
        lambda: d.override("ov", by_person_id="p", role=AUTHORISED_ROLE, reason=" ", at=T0),
        "reason_required",
        d,
    )
    refused(
        lambda: d.override(
            "ov", by_person_id="p", role=AUTHORISED_ROLE, reason="Gấp", at=T0, consultee_unit_ids=(BOARD,)
        ),
        "override_target_not_missing",
        d,
    )
    all_opinions(d)
    refused(
        lambda: d.override("ov", by_person_id="p", role=AUTHORISED_ROLE, reason="Gấp", at=T0),
        "nothing_to_override",
        d,
    )


def test_authorised_override_allows_issuance_as_exception() -> None:
    d = consulting()
    give(d, BOARD)
    give(d, FRONT)
    (ov,) = d.override(
        "ov", by_person_id="p-bt", role=AUTHORISED_ROLE, reason="Thiên tai, cần ban hành gấp", at=T0
    )
    assert isinstance(ov, OverrideRecorded) and ov.exception and set(ov.consultee_unit_ids) == {YOUTH, WOMEN}
    d.close_consultation("close", at=T0 + timedelta(hours=2))  # nothing missing any more
    d.synthesise("syn", by_unit_id=BOARD, summary="Tổng hợp", at=T0 + timedelta(hours=3))
    issued, _ = d.request_issuance("iss", requested_by="p", at=T0 + timedelta(hours=4))
    assert (
        isinstance(issued, DecisionIssued)
        and issued.with_exception
        and issued.override_ids == (ov.override_id,)
    )
    assert_replay_equal(d)


def test_override_lapses_on_revision() -> None:
    d = consulting()
    all_opinions(d)
    give(d, YOUTH, comments={"d1": "x"}, stance=Stance.AGREE_WITH_AMENDMENTS)
    d.revise("rev", articles=(("d1", "mới"), *ARTICLES[1:]), at=T0, reconsultation_deadline=LATER)
    d.override("ov", by_person_id="p", role=AUTHORISED_ROLE, reason="Gấp", at=T0)
    assert d.missing_consultees() == []
    (rev,) = d.revise(
        "rev2", articles=(("d1", "mới"), ("d2", "khác"), ARTICLES[2]), at=T0, reconsultation_deadline=LATER
    )
    assert isinstance(rev, DecisionRevised) and rev.invalidated_override_ids == ("qd-1:ov:1",)
    assert [c.unit_id for c in d.missing_consultees()] == [YOUTH]


# ================================================================ revision


@pytest.mark.parametrize(
    ("commented", "changed", "reopened"),
    [
        ({}, {"d1"}, set()),
        ({FRONT: "d1"}, {"d1"}, {FRONT}),
        ({FRONT: "d1", YOUTH: "d2"}, {"d2"}, {YOUTH}),
        ({FRONT: "d1", YOUTH: "d2", WOMEN: "d3"}, {"d1", "d3"}, {FRONT, WOMEN}),
        ({BOARD: "d3"}, {"d3-removed"}, {BOARD}),
    ],
)
def test_revise_reopens_exactly_consultees_whose_commented_articles_changed(
    commented: dict[str, str], changed: set[str], reopened: set[str]
) -> None:
    d = consulting()
    for unit in UNITS:
        art = commented.get(unit)
        if art:
            give(d, unit, stance=Stance.AGREE_WITH_AMENDMENTS, comments={art: "đề nghị sửa"})
        else:
            give(d, unit)
    if "d3-removed" in changed:
        new_articles = list(ARTICLES[:2])
    else:
        new_articles = [(aid, text + " (sửa)" if aid in changed else text) for aid, text in ARTICLES]
    new_deadline = DEADLINE + timedelta(days=7)
    (rev,) = d.revise(
        "rev", articles=new_articles, at=T0 + timedelta(hours=5), reconsultation_deadline=new_deadline
    )
    assert isinstance(rev, DecisionRevised)
    assert set(rev.reopened_consultee_unit_ids) == reopened
    assert set(rev.carried_over_consultee_unit_ids) == set(UNITS) - reopened
    assert {c.unit_id for c in d.missing_consultees()} == reopened
    assert d.version == 2 and d.status is S.REVISED
    for unit in reopened:
        assert d.consultees[unit].round == 2 and d.consultees[unit].deadline == new_deadline
    # the re-opened consultee answers on version 2 → COLLECTING, and nothing is missing
    for unit in reopened:
        give(d, unit, at=T0 + timedelta(hours=6))
    assert d.missing_consultees() == []
    assert_replay_equal(d)


def test_revise_requires_a_change_and_a_deadline_when_reopening() -> None:
    d = consulting()
    give(d, FRONT, stance=Stance.AGREE_WITH_AMENDMENTS, comments={"d1": "x"})
    refused(lambda: d.revise("r", articles=ARTICLES, at=T0), "revision_without_changes", d)
    new = (("d1", "mới"), *ARTICLES[1:])
    refused(lambda: d.revise("r", articles=new, at=T0), "reconsultation_deadline_required", d)
    refused(lambda: d.revise("r", articles=new, at=T0, reconsultation_deadline=T0), "deadline_in_past", d)


def test_revise_after_synthesis_invalidates_it() -> None:
    d = synthesised()
    (rev,) = d.revise("rev", articles=(*ARTICLES, ("d4", "Điều 4 mới")), at=LATER)
    assert (
        isinstance(rev, DecisionRevised)
        and rev.synthesis_invalidated
        and rev.reopened_consultee_unit_ids == ()
    )
    assert d.status is S.REVISED
    (refusal,) = d.request_issuance("iss", requested_by="p", at=LATER)
    assert isinstance(refusal, IssuanceRefused)
    assert [m.code for m in refusal.missing] == ["consultation_not_closed", "synthesis_missing"]
    d.close_consultation("close2", at=LATER)
    d.synthesise("syn2", by_unit_id=BOARD, summary="Tổng hợp lại", at=LATER)
    assert isinstance(d.request_issuance("iss2", requested_by="p", at=LATER)[0], DecisionIssued)


# ================================================================ opinions


def test_late_opinion_is_accepted_and_flagged() -> None:
    d = consulting()
    (op,) = give(d, FRONT, at=DEADLINE + timedelta(minutes=1))
    assert isinstance(op, OpinionRecorded) and op.late and op.deadline == DEADLINE
    (on_time,) = give(d, BOARD, at=DEADLINE)
    assert isinstance(on_time, OpinionRecorded) and not on_time.late


def test_late_opinion_after_close_counts() -> None:
    d = consulting()
    give(d, BOARD)
    d.close_consultation("close", at=LATER)
    assert d.status is S.CONSULTATION_CLOSED
    for unit in (FRONT, YOUTH, WOMEN):
        (op,) = give(d, unit, at=LATER)
        assert isinstance(op, OpinionRecorded) and op.late
    assert d.status is S.CONSULTATION_CLOSED
    d.synthesise("syn", by_unit_id=BOARD, summary="Tổng hợp", at=LATER)


def test_opinion_validation() -> None:
    d = consulting()
    refused(lambda: give(d, "hoi-nong-dan"), "not_a_consultee", d)
    refused(lambda: give(d, FRONT, version=2), "stale_draft_version", d)
    refused(lambda: give(d, FRONT, comments={"d9": "x"}), "unknown_article", d)
    refused(lambda: give(d, FRONT, stance=Stance.AGREE_WITH_AMENDMENTS), "amendments_required", d)
    refused(lambda: give(d, FRONT, stance=Stance.DISAGREE), "reason_required", d)


def test_substitute_and_attachments_and_superseding() -> None:
    d = consulting()
    (first,) = give(d, FRONT)
    (second,) = d.give_opinion(
        "op-2",
        consultee_unit_id=FRONT,
        given_by="p-deputy",
        acting_as=ActingAs.SUBSTITUTE,
        stance=Stance.DISAGREE,
        comments={},
        general_comment="Chưa phù hợp thực tiễn",
        attachments=(AttachmentRef(uri="s3://ykien/1.pdf", sha256="a" * 64, name="Công văn"),),
        draft_version=1,
        at=T0 + timedelta(hours=2),
        link_token_id="tok-1",
    )
    assert isinstance(first, OpinionRecorded) and isinstance(second, OpinionRecorded)
    assert second.supersedes_opinion_id == first.opinion_id
    assert d.consultees[FRONT].opinion_id == second.opinion_id


def test_no_opinion_after_synthesis() -> None:
    d = synthesised()
    refused(lambda: give(d, FRONT, at=LATER), "invalid_state", d)


# ================================================================ consultation close and synthesis


def test_close_refused_while_consultees_within_deadline() -> None:
    d = consulting()
    give(d, BOARD)
    err = refused(lambda: d.close_consultation("close", at=DEADLINE), "consultees_within_deadline", d)
    assert err.details["unit_ids"] == [FRONT, YOUTH, WOMEN]
    (closed,) = d.close_consultation("close", at=DEADLINE + timedelta(seconds=1))
    assert isinstance(closed, ConsultationClosed) and closed.missing_consultee_unit_ids == (
        FRONT,
        YOUTH,
        WOMEN,
    )


def test_synthesis_rules() -> None:
    d = consulting()
    give(d, BOARD)
    d.close_consultation("close", at=LATER)
    refused(lambda: d.synthesise("s", by_unit_id=FRONT, summary="x", at=LATER), "not_synthesiser", d)
    err = refused(lambda: d.synthesise("s", by_unit_id=BOARD, summary="x", at=LATER), "opinions_missing", d)
    assert "Chưa có ý kiến tham gia của Tỉnh Đoàn" in err.message_vi
    d.override("ov", by_person_id="p", role=AUTHORISED_ROLE, reason="Gấp", at=LATER)
    refused(lambda: d.synthesise("s", by_unit_id=BOARD, summary=" ", at=LATER), "summary_required", d)
    (syn,) = d.synthesise("s", by_unit_id=BOARD, summary="Tổng hợp", at=LATER)
    assert syn.report_to_unit_ids == (PARTY, ISSUER)  # type: ignore[attr-defined]


def test_requirement_below_the_rule_refused() -> None:
    d = drafted()
    only_orgs = requirement(consultees=(ConsulteeSpec(unit_id=YOUTH, kind="socio_political_org"),))
    refused(lambda: d.request_consultation("r", requirement=only_orgs, at=T0), "requirement_below_rule", d)
    refused(
        lambda: d.request_consultation("r", requirement=requirement(deadline=T0), at=T0),
        "deadline_in_past",
        d,
    )
    late_pc = public_requirement(public_comment_closes_at=T0)
    refused(lambda: d.request_consultation("r", requirement=late_pc, at=T0), "deadline_in_past", d)


# ================================================================ public comment


def test_public_comment_window_flow() -> None:
    d = consulting(public_requirement())
    assert any(isinstance(e, PublicCommentOpened) for e in d.history)
    d.record_public_comment("pc1", text="Đề nghị tăng mức hỗ trợ", article_id="d2", at=T0 + timedelta(days=1))
    d.record_public_comment("pc2", text="Nội dung không phù hợp", at=T0 + timedelta(days=1))
    refused(lambda: d.record_public_comment("pc3", text="x", article_id="d9", at=T0), "unknown_article", d)
    refused(
        lambda: d.record_public_comment("pc3", text="muộn", at=PC_CLOSES), "public_comment_window_closed", d
    )
    all_opinions(d)
    refused(
        lambda: d.close_consultation("close", at=PC_CLOSES - timedelta(minutes=1)),
        "public_comment_window_open",
        d,
    )
    (closed,) = d.tick(PC_CLOSES)
    assert isinstance(closed, PublicCommentClosed) and closed.pending_count == 2
    assert d.tick(PC_CLOSES) == []
    d.close_consultation("close", at=PC_CLOSES)
    refused(
        lambda: d.synthesise("s", by_unit_id=BOARD, summary="x", at=LATER),
        "public_comments_pending_moderation",
        d,
    )
    d.moderate_public_comment(
        "m1", comment_id="qd-1:pc:1", outcome=ModerationOutcome.APPROVED, moderator_id="m", at=LATER
    )
    refused(
        lambda: d.moderate_public_comment(
            "m2", comment_id="qd-1:pc:2", outcome=ModerationOutcome.REJECTED, moderator_id="m", at=LATER
        ),
        "reason_required",
        d,
    )
    refused(
        lambda: d.moderate_public_comment(
            "m2",
            comment_id="qd-1:pc:1",
            outcome=ModerationOutcome.REJECTED,
            moderator_id="m",
            reason="x",
            at=LATER,
        ),
        "already_moderated",
        d,
    )
    refused(
        lambda: d.moderate_public_comment(
            "m2", comment_id="nope", outcome=ModerationOutcome.APPROVED, moderator_id="m", at=LATER
        ),
        "unknown_public_comment",
        d,
    )
    d.moderate_public_comment(
        "m2",
        comment_id="qd-1:pc:2",
        outcome=ModerationOutcome.REJECTED,
        moderator_id="m",
        reason="Xúc phạm",
        at=LATER,
    )
    (syn,) = d.synthesise("s", by_unit_id=BOARD, summary="Tổng hợp", at=LATER)
    assert syn.public_comment_ids == ("qd-1:pc:1",)  # type: ignore[attr-defined]
    assert_replay_equal(d)


def test_close_consultation_closes_expired_public_window_itself() -> None:
    d = consulting(public_requirement())
    all_opinions(d)
    events = d.close_consultation("close", at=PC_CLOSES)
    assert [type(e).__name__ for e in events] == ["PublicCommentClosed", "ConsultationClosed"]


# ================================================================ dispositions


def test_dispositions_by_drafting_body_and_required_when_policy_says() -> None:
    d = synthesised(requirement(dispositions_required=True))
    # all agreed → nothing to dispose
    assert d.issuance_blockers() == []
    d2 = consulting(requirement(dispositions_required=True))
    all_opinions(d2)
    (op,) = give(d2, FRONT, stance=Stance.DISAGREE, comments={"d1": "Không phù hợp"})
    assert isinstance(op, OpinionRecorded)
    d2.close_consultation("close", at=T0 + timedelta(hours=3))
    d2.synthesise("syn", by_unit_id=BOARD, summary="x", at=T0 + timedelta(hours=3))
    (refusal,) = d2.request_issuance("iss", requested_by="p", at=T0 + timedelta(hours=4))
    assert isinstance(refusal, IssuanceRefused) and [m.code for m in refusal.missing] == [
        "disposition_missing"
    ]
    assert refusal.missing_consultee_unit_ids == (FRONT,)
    refused(
        lambda: d2.record_disposition(
            "dp", opinion_id=op.opinion_id, disposition=Disposition.ACCEPTED, by_unit_id=FRONT, at=T0
        ),
        "not_drafting_body",
        d2,
    )
    refused(
        lambda: d2.record_disposition(
            "dp", opinion_id="nope", disposition=Disposition.ACCEPTED, by_unit_id=ISSUER, at=T0
        ),
        "unknown_opinion",
        d2,
    )
    refused(
        lambda: d2.record_disposition(
            "dp", opinion_id=op.opinion_id, disposition=Disposition.NOT_ACCEPTED, by_unit_id=ISSUER, at=T0
        ),
        "reason_required",
        d2,
    )
    d2.record_disposition(
        "dp",
        opinion_id=op.opinion_id,
        disposition=Disposition.EXPLAINED,
        reason="Đã có quy định khác",
        by_unit_id=ISSUER,
        at=T0,
    )
    assert isinstance(
        d2.request_issuance("iss2", requested_by="p", at=T0 + timedelta(hours=5))[0], DecisionIssued
    )


# ================================================================ reminders and escalations


def test_reminder_and_escalations_fire_once_each() -> None:
    cal = DEFAULT_CALENDAR
    d = consulting()
    give(d, BOARD)
    give(d, FRONT)
    remind_at = cal.add_working_days(DEADLINE, -2)  # 17:00 Wed 12/03/2025
    assert remind_at == DEADLINE.replace(day=12)
    assert d.tick(remind_at - timedelta(minutes=1)) == []
    reminders = d.tick(remind_at)
    assert {(type(e), e.consultee_unit_id) for e in reminders} == {(ReminderDue, YOUTH), (ReminderDue, WOMEN)}  # type: ignore[attr-defined]
    assert d.tick(remind_at + timedelta(hours=1)) == []
    assert d.tick(DEADLINE) == []
    give(d, YOUTH, at=DEADLINE)
    level1 = d.tick(DEADLINE + timedelta(seconds=1))
    assert len(level1) == 1 and isinstance(level1[0], Escalated)
    assert (level1[0].level, level1[0].consultee_unit_id, level1[0].escalate_to_role) == (1, WOMEN, "head")
    assert d.tick(DEADLINE + timedelta(days=1)) == []
    level2_at = cal.add_working_days(DEADLINE, 3)
    assert d.tick(level2_at) == []
    (level2,) = d.tick(level2_at + timedelta(seconds=1))
    assert isinstance(level2, Escalated) and level2.level == 2
    assert (level2.escalate_to_unit_id, level2.escalate_to_kind, level2.escalate_to_role) == (
        PARTY,
        "party_committee",
        "standing_committee",
    )
    assert "Ban Thường vụ" in level2.message_vi
    assert d.tick(level2_at + timedelta(days=30)) == []
    assert_replay_equal(d)
    # replayed aggregate remembers what fired
    assert Decision.replay(d.history).tick(level2_at + timedelta(days=30)) == []


def test_late_first_tick_skips_reminder_but_escalates_in_order() -> None:
    d = consulting()
    events = d.tick(DEADLINE + timedelta(days=30))
    kinds = [(type(e).__name__, getattr(e, "level", None), e.consultee_unit_id) for e in events]  # type: ignore[attr-defined]
    assert kinds == [(n, lvl, u) for u in UNITS for n, lvl in (("Escalated", 1), ("Escalated", 2))]


def test_overridden_consultee_is_not_chased() -> None:
    d = consulting()
    d.override("ov", by_person_id="p", role=AUTHORISED_ROLE, reason="Gấp", at=T0, consultee_unit_ids=(WOMEN,))
    events = d.tick(DEADLINE + timedelta(days=30))
    assert WOMEN not in {e.consultee_unit_id for e in events}  # type: ignore[attr-defined]


def test_reopened_consultee_gets_a_new_round() -> None:
    d = consulting()
    all_opinions(d)
    give(d, FRONT, stance=Stance.AGREE_WITH_AMENDMENTS, comments={"d1": "x"})
    d.tick(DEADLINE + timedelta(days=30))  # nothing missing: nothing fires
    new_deadline = DEADLINE + timedelta(days=14)
    d.revise(
        "rev", articles=(("d1", "mới"), *ARTICLES[1:]), at=DEADLINE, reconsultation_deadline=new_deadline
    )
    events = d.tick(new_deadline + timedelta(seconds=1))
    assert [(e.consultee_unit_id, e.round, getattr(e, "level", 0)) for e in events] == [(FRONT, 2, 1)]  # type: ignore[attr-defined]


def test_tick_does_nothing_before_consultation_or_after_issuance() -> None:
    assert drafted().tick(LATER) == []
    d = synthesised()
    d.request_issuance("iss", requested_by="p", at=LATER)
    assert d.tick(LATER + timedelta(days=90)) == []


# ================================================================ withdraw, errors, events


def test_withdraw_is_terminal() -> None:
    d = consulting()
    d.withdraw("wd", by_person_id="p", reason="Chủ trương thay đổi", at=T0)
    assert d.status is S.WITHDRAWN
    refused(lambda: d.withdraw("wd2", by_person_id="p", reason="x", at=T0), "invalid_state", d)
    refused(lambda: d.withdraw("wd3", by_person_id="p", reason=" ", at=T0), "invalid_state", d)


def test_replay_rejects_out_of_order_or_foreign_events() -> None:
    d = synthesised()
    with pytest.raises(ValueError):
        Decision.replay([d.history[0], d.history[2]])
    other = drafted("qd-2")
    with pytest.raises(ValueError):
        Decision.replay([d.history[0], other.history[0].model_copy(update={"seq": 2})])


def test_event_times_are_aware_and_messages_vietnamese() -> None:
    d = synthesised()
    for e in d.history:
        assert e.occurred_at.tzinfo is not None
    err = refused(lambda: give(d, FRONT), "invalid_state", d)
    assert "Không thể cho ý kiến khi dự thảo ở trạng thái “đã tổng hợp ý kiến”" in err.message_vi
    assert VN_TZ.utcoffset(None) == timedelta(hours=7)
