"""Complaint aggregate (357-QĐ/TU §6): sharing, lawful/not-lawful paths, close rule, timers."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tasks.domain.calendar import VN_TZ, add_working_days
from services.tasks.domain.complaint import Complaint, ComplaintStatus
from shared.contract.envelope import Envelope, decode
from shared.contract.events.workflows import (
    ComplaintCaseInfoShared,
    ComplaintKind,
    ComplaintMilestone,
    ComplaintMobilisationAssigned,
    ComplaintOverdue,
    ComplaintReceived,
    ComplaintReminderDue,
    ComplaintReviewRequired,
    ComplaintTimeLimits,
    PartyRef,
    PartyRole,
)
from shared.eventsourcing.errors import DomainError
from tests.unit.tasks.recording import RecordedComplaint

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=VN_TZ)  # Monday
BOARD = PartyRef(unit_id="rg.bdv", role=PartyRole.DAN_VAN_BOARD, kind="dan_van_board", name_vi="Ban Dân vận")
UBKT = PartyRef(unit_id="rg.ubkt", role=PartyRole.INSPECTION_COMMITTEE, kind="party_board", name_vi="UBKT")
FRONT = PartyRef(unit_id="rg.mttq", role=PartyRole.FATHERLAND_FRONT, kind="fatherland_front", name_vi="MTTQ")
YOUTH = PartyRef(
    unit_id="rg.doan", role=PartyRole.SOCIO_POLITICAL_ORG, kind="socio_political_org", name_vi="Đoàn"
)
PARTIES = (BOARD, UBKT, FRONT, YOUTH)
AUTH = PartyRef(unit_id="kg.ubnd", role=PartyRole.COMPETENT_AUTHORITY, kind="peoples_committee")
LIMITS = ComplaintTimeLimits(
    resolution_working_days=10,
    mass_resolution_working_days=15,
    answer_working_days=5,
    reminder_lead_working_days=2,
)


def received(mass: bool = False) -> RecordedComplaint:
    c = RecordedComplaint()
    c.receive(
        "r1",
        complaint_id="c1",
        kind=ComplaintKind.COMPLAINT,
        receiving_unit_id="rg.ubnd",
        locality_id="rg",
        summary="Bồi thường giải phóng mặt bằng",
        parties=PARTIES,
        at=T0,
        mass=mass,
        petitioner_count=12 if mass else 1,
        limits=LIMITS,
    )
    return c


def decided(*, lawful: bool = True, complex: bool = False) -> RecordedComplaint:
    c = received()
    c.decide(
        "r2",
        decided_by_unit_id="rg.ubnd",
        decision_ref="QĐ-1",
        summary="Giữ nguyên",
        lawful=lawful,
        complex=complex,
        at=T0 + timedelta(days=3),
    )
    return c


def test_receipt_shares_case_information_with_same_level_parties_and_flags_mass_cases() -> None:
    c = Complaint()
    facts = c.receive(
        "r1",
        complaint_id="c1",
        kind=ComplaintKind.DENUNCIATION,
        receiving_unit_id="rg.ubnd",
        locality_id="rg",
        summary="Tố cáo sai phạm",
        parties=PARTIES,
        at=T0,
        mass=True,
        petitioner_count=20,
        limits=LIMITS,
    )
    assert [type(f) for f in facts] == [ComplaintReceived, ComplaintCaseInfoShared]
    shared = facts[1]
    assert isinstance(shared, ComplaintCaseInfoShared)
    assert {p.unit_id for p in shared.shared_with} == {"rg.bdv", "rg.ubkt", "rg.mttq", "rg.doan"}
    assert shared.mass and "đông người" in shared.message_vi
    received_fact = facts[0]
    assert isinstance(received_fact, ComplaintReceived)
    assert received_fact.resolution_due == add_working_days(T0, 15)  # the mass limit applies
    assert c.status == ComplaintStatus.RECEIVED


def test_receipt_without_board_or_front_is_refused() -> None:
    with pytest.raises(DomainError) as e:
        Complaint().receive(
            "r1",
            complaint_id="c1",
            kind=ComplaintKind.COMPLAINT,
            receiving_unit_id="x",
            locality_id="rg",
            summary="s",
            parties=(BOARD, YOUTH),
            at=T0,
        )
    assert e.value.code == "recipients_below_rule"


def test_lawful_complex_decision_assigns_mobilisation_led_by_the_board() -> None:
    c = decided(lawful=True, complex=True)
    mob = c.history[-1]
    assert isinstance(mob, ComplaintMobilisationAssigned)
    assignees = {t.assignee.unit_id: t.lead for t in mob.tasks}
    assert assignees == {"rg.bdv": True, "rg.mttq": False, "rg.doan": False}  # not the UBKT
    assert c.status == ComplaintStatus.DECIDED


def test_not_lawful_decision_requires_the_boards_review_proposal_then_a_new_round() -> None:
    c = decided(lawful=False)
    assert isinstance(c.history[-1], ComplaintReviewRequired)
    assert c.status == ComplaintStatus.REVIEW_REQUIRED
    with pytest.raises(DomainError) as e:
        c.propose_review("r3", by_unit_id="rg.mttq", to=AUTH, reason="Sai luật", at=T0 + timedelta(days=4))
    assert e.value.code == "not_the_board"
    with pytest.raises(DomainError) as e:
        c.answer_citizen("r3", by_unit_id="rg.ubnd", channel="văn bản", answer_ref="CV-1", at=T0)
    assert e.value.code == "invalid_state"
    c.propose_review("r4", by_unit_id="rg.bdv", to=AUTH, reason="Sai luật", at=T0 + timedelta(days=4))
    assert c.status is not None and c.status.value == "under_review"
    c.decide(
        "r5",
        decided_by_unit_id="kg.ubnd",
        decision_ref="QĐ-2",
        summary="Sửa",
        lawful=True,
        complex=False,
        at=T0 + timedelta(days=8),
    )
    assert c.status is not None and c.status.value == "decided" and c.round == 2


ACTIONS = ("answer", "publish", "close")


def _do(c: Complaint, action: str, i: int) -> None:
    at = T0 + timedelta(days=4)
    if action == "answer":
        c.answer_citizen(f"a{i}", by_unit_id="rg.ubnd", channel="văn bản", answer_ref="CV-9", at=at)
    elif action == "publish":
        c.publish_result(f"p{i}", channel="Báo Kiên Giang", publication_ref="bài 12", at=at)
    else:
        c.close(f"c{i}", closed_by="rg.ubnd", at=at)


@pytest.mark.parametrize("order", list(itertools.permutations(ACTIONS)))
def test_cannot_close_without_both_answer_and_publication(order: tuple[str, ...]) -> None:
    c = decided()
    done: set[str] = set()
    for i, action in enumerate(order):
        if action == "close" and not {"answer", "publish"} <= done:
            with pytest.raises(DomainError) as e:
                _do(c, action, i)
            assert e.value.code == "close_requirements_unmet"
            missing = set(e.value.details["missing"])  # type: ignore[call-overload]
            codes = {"answer": "citizen_not_answered", "publish": "result_not_published"}
            assert missing == {codes[a] for a in {"answer", "publish"} - done}
            assert c.status == ComplaintStatus.DECIDED
        else:
            _do(c, action, i)
            done.add(action)
    if order[-1] == "close":
        assert c.status == ComplaintStatus.CLOSED
    else:
        assert c.status == ComplaintStatus.DECIDED


def test_close_refusal_names_what_is_missing_in_vietnamese() -> None:
    c = decided()
    c.publish_result("p", channel="Đài PT-TH", publication_ref="tin 3", at=T0 + timedelta(days=4))
    with pytest.raises(DomainError) as e:
        c.close("x", closed_by="rg.ubnd", at=T0 + timedelta(days=5))
    assert e.value.details["missing"] == ["citizen_not_answered"]
    assert "trả lời kết quả giải quyết cho công dân" in e.value.message_vi


def test_timers_fire_once_per_milestone_and_round() -> None:
    c = received()
    due = c.resolution_due
    assert due is not None
    assert c.tick(T0 + timedelta(hours=1)) == []
    reminder = c.tick(add_working_days(due, -1))
    assert [type(f) for f in reminder] == [ComplaintReminderDue]
    assert c.tick(add_working_days(due, -1)) == []
    overdue = c.tick(due + timedelta(days=2))
    assert [type(f) for f in overdue] == [ComplaintOverdue]
    assert isinstance(overdue[0], ComplaintOverdue) and overdue[0].milestone == ComplaintMilestone.RESOLUTION
    assert set(overdue[0].notify_unit_ids) >= {"rg.ubnd", "rg.bdv", "rg.mttq"}
    assert c.tick(due + timedelta(days=30)) == []
    # a late decision is flagged, then the answer-and-publication milestone gets its own timers
    f = c.decide(
        "d",
        decided_by_unit_id="rg.ubnd",
        decision_ref="QĐ",
        summary="s",
        lawful=True,
        complex=False,
        at=due + timedelta(days=3),
    )
    assert f[0].model_dump()["late"] is True
    later = c.tick(due + timedelta(days=40))
    assert [getattr(x, "milestone", None) for x in later] == [ComplaintMilestone.ANSWER_AND_PUBLICATION]
    assert c.tick(due + timedelta(days=41)) == []


def test_replay_restores_state_idempotency_and_fired_timers() -> None:
    c = decided(lawful=False)
    c.tick(T0 + timedelta(days=60))
    again = Complaint.replay(c.history)
    assert again.status == c.status and again.fired == c.fired and again.round == c.round
    assert again.tick(T0 + timedelta(days=61)) == []
    assert (
        again.decide(
            "r2", decided_by_unit_id="x", decision_ref="y", summary="z", lawful=True, complex=False, at=T0
        )
        == []
    )


def test_facts_travel_through_the_envelope() -> None:
    for fact in decided(lawful=True, complex=True).history:
        env = Envelope.wrap(fact, source="test")
        assert env.subject == "c1" and env.topic == "tasks.workflows"
        assert decode(Envelope.from_bytes(env.to_bytes())) == fact


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["answer", "publish", "close", "tick", "withdraw"]), max_size=8), st.booleans()
)
def test_closed_implies_answered_and_published_and_replay_equals_live(steps: list[str], lawful: bool) -> None:
    c = decided(lawful=lawful)
    for i, step in enumerate(steps):
        try:
            if step == "tick":
                c.tick(T0 + timedelta(days=10 * (i + 1)))
            elif step == "withdraw":
                c.withdraw(f"w{i}", reason="rút", at=T0 + timedelta(days=5))
            else:
                _do(c, step, i)
        except DomainError:
            pass
        if c.status == ComplaintStatus.CLOSED:
            assert c.answered is not None and c.published is not None
    again = Complaint.replay(c.history)
    assert (again.status, again.fired, again.answered, again.published) == (
        c.status,
        c.fired,
        c.answered,
        c.published,
    )
