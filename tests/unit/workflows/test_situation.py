"""Situation aggregate (357-QĐ/TU §7; 05-QC/HU Điều 22): report at once, escalate, working group."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.tasks.domain.calendar import VN_TZ
from services.tasks.domain.situation import Situation, SituationStatus
from shared.contract.events.workflows import (
    EscalationReason,
    PartyRef,
    PartyRole,
    SituationEscalated,
    SituationKind,
    SituationMobilisationAssigned,
    SituationPartiesInformed,
    SituationPartyCommitteeReported,
    SituationReported,
)
from shared.eventsourcing.errors import DomainError
from tests.unit.tasks.recording import RecordedSituation

T0 = datetime(2025, 9, 1, 8, 0, tzinfo=VN_TZ)


def ref(uid: str, role: PartyRole) -> PartyRef:
    return PartyRef(unit_id=uid, role=role, kind=role.value, name_vi=uid)


PC = ref("rg.cap_uy", PartyRole.PARTY_COMMITTEE)
INFORMED = (
    ref("rg.bdv", PartyRole.DAN_VAN_BOARD),
    ref("rg.mttq", PartyRole.FATHERLAND_FRONT),
    ref("rg.hoi_lhpn", PartyRole.SOCIO_POLITICAL_ORG),
)
KG_PC = ref("kg.cap_uy", PartyRole.PARTY_COMMITTEE)
KG_UBND = ref("kg.ubnd", PartyRole.PEOPLES_COMMITTEE)
KG_GROUP = (
    KG_UBND,
    ref("kg.bdv", PartyRole.DAN_VAN_BOARD),
    ref("kg.hoi_nong_dan", PartyRole.SOCIO_POLITICAL_ORG),
)


def reported() -> RecordedSituation:
    s = RecordedSituation()
    s.report(
        "r1",
        situation_id="s1",
        kind=SituationKind.DISASTER,
        reporting_unit_id="rg.ubnd",
        locality_id="rg",
        summary="Sạt lở bờ biển",
        party_committee=PC,
        informed=INFORMED,
        at=T0,
    )
    return s


def escalated() -> RecordedSituation:
    s = reported()
    s.escalate(
        "r2",
        reason=EscalationReason.BEYOND_AUTHORITY,
        reason_vi="Cần kinh phí tỉnh",
        requested_by="rg.ubnd",
        to_locality_id="kg",
        to_party_committee=KG_PC,
        to_peoples_committee=KG_UBND,
        at=T0 + timedelta(hours=5),
    )
    return s


def test_report_goes_at_once_to_party_committee_and_informs_board_front_orgs() -> None:
    s = Situation()
    facts = s.report(
        "r1",
        situation_id="s1",
        kind=SituationKind.SECURITY,
        reporting_unit_id="rg.ubnd",
        locality_id="rg",
        summary="Tụ tập đông người",
        party_committee=PC,
        informed=INFORMED,
        at=T0,
    )
    assert [type(f) for f in facts] == [
        SituationReported,
        SituationPartyCommitteeReported,
        SituationPartiesInformed,
        SituationMobilisationAssigned,
    ]
    assert all(f.occurred_at == T0 for f in facts)
    mob = facts[3]
    assert isinstance(mob, SituationMobilisationAssigned)
    assert [t.assignee.unit_id for t in mob.tasks if t.lead] == ["rg.bdv"]


def test_report_without_front_is_refused() -> None:
    with pytest.raises(DomainError) as e:
        Situation().report(
            "r1",
            situation_id="s1",
            kind=SituationKind.EPIDEMIC,
            reporting_unit_id="x",
            locality_id="rg",
            summary="Dịch",
            party_committee=PC,
            informed=INFORMED[:1],
            at=T0,
        )
    assert e.value.code == "recipients_below_rule"


def test_escalation_names_the_higher_levels_party_committee_and_peoples_committee() -> None:
    s = escalated()
    esc = s.history[-1]
    assert isinstance(esc, SituationEscalated)
    assert (esc.from_locality_id, esc.to_locality_id) == ("rg", "kg")
    assert esc.to_party_committee.unit_id == "kg.cap_uy" and esc.to_peoples_committee.unit_id == "kg.ubnd"
    assert "kg.cap_uy" in esc.message_vi and "kg.ubnd" in esc.message_vi
    assert s.status == SituationStatus.ESCALATED


def test_escalation_must_be_to_another_level_and_name_both_bodies() -> None:
    s = reported()
    with pytest.raises(DomainError) as e:
        s.escalate(
            "x",
            reason=EscalationReason.TOO_SERIOUS,
            reason_vi="r",
            requested_by="u",
            to_locality_id="rg",
            to_party_committee=KG_PC,
            to_peoples_committee=KG_UBND,
            at=T0,
        )
    assert e.value.code == "not_a_higher_level"
    with pytest.raises(DomainError) as e:
        s.escalate(
            "y",
            reason=EscalationReason.TOO_SERIOUS,
            reason_vi="r",
            requested_by="u",
            to_locality_id="kg",
            to_party_committee=KG_PC,
            to_peoples_committee=KG_PC,
            at=T0,
        )
    assert e.value.code == "higher_level_incomplete"
    assert s.status == SituationStatus.ACTIVE


def test_working_group_only_after_escalation_by_the_higher_level_with_required_members() -> None:
    s = reported()
    with pytest.raises(DomainError) as e:
        s.form_working_group(
            "w0", formed_by_unit_id="kg.cap_uy", members=KG_GROUP, on_request_of_lower_level=True, at=T0
        )
    assert e.value.code == "invalid_state"
    s = escalated()
    with pytest.raises(DomainError) as e:
        s.form_working_group(
            "w1", formed_by_unit_id="rg.cap_uy", members=KG_GROUP, on_request_of_lower_level=True, at=T0
        )
    assert e.value.code == "not_the_higher_level"
    with pytest.raises(DomainError) as e:
        s.form_working_group(
            "w2", formed_by_unit_id="kg.cap_uy", members=KG_GROUP[:2], on_request_of_lower_level=True, at=T0
        )
    assert e.value.code == "working_group_composition"
    s.form_working_group(
        "w3", formed_by_unit_id="kg.cap_uy", members=KG_GROUP, on_request_of_lower_level=True, at=T0
    )
    assert s.working_group is not None and s.working_group.locality_id == "kg"
    with pytest.raises(DomainError):
        s.form_working_group(
            "w4", formed_by_unit_id="kg.ubnd", members=KG_GROUP, on_request_of_lower_level=False, at=T0
        )


def test_resolve_then_close_and_replay() -> None:
    s = escalated()
    with pytest.raises(DomainError):
        s.close("c0", closed_by="rg.ubnd", at=T0)
    s.resolve("v", by_unit_id="rg.ubnd", summary="Đã ổn định", at=T0 + timedelta(days=2))
    s.close("c", closed_by="rg.ubnd", at=T0 + timedelta(days=3))
    assert s.status == SituationStatus.CLOSED
    again = Situation.replay(s.history)
    assert again.status == SituationStatus.CLOSED and again.escalation == s.escalation
    assert again.close("c", closed_by="rg.ubnd", at=T0) == []  # idempotent
