"""People, assignments, delegations and the person in charge of dân vận (§8, 357-QĐ/TU)."""

from __future__ import annotations

from datetime import date

import pytest

from shared.orgmodel.errors import (
    AssignmentOverlap,
    InvalidOperation,
    NotActive,
    OverlappingInterval,
    UnknownReference,
)
from shared.orgmodel.people import THANH_OAI_05, PeopleRegistry
from shared.orgmodel.positions import ContactChannels
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.units import NewUnit, UnitKind
from tests.unit.org.conftest import D0, small_hierarchy

ON = date(2024, 7, 5)


def people() -> PeopleRegistry:
    h = small_hierarchy()
    h.register_unit(NewUnit("UB", "UBND tỉnh P", UnitKind.PEOPLES_COMMITTEE, "P"), D0)
    p = PeopleRegistry(h)
    for pid in ("a", "b", "c"):
        p.register_person(pid, f"Cán bộ {pid}", ContactChannels(email=f"{pid}@p.example.vn"))
    return p


def test_contacts_validated() -> None:
    with pytest.raises(InvalidOperation) as exc:
        ContactChannels(email="không-phải-email")
    assert exc.value.code == "invalid_contact"
    with pytest.raises(InvalidOperation):
        ContactChannels(webhook_url="ftp://x")
    assert ContactChannels(phone="+84 297 3862 000").phone


def test_single_holder_overlap_refused() -> None:
    p = people()
    p.assign("x1", "a", "UB", "chu_tich", D0, date(2023, 1, 1))
    with pytest.raises(AssignmentOverlap) as exc:
        p.assign("x2", "b", "UB", "chu_tich", date(2022, 6, 1))
    assert exc.value.code == "assignment_overlap"
    assert "Chủ tịch" in exc.value.message_vi
    p.assign("x3", "b", "UB", "chu_tich", date(2023, 1, 1))  # adjacent is fine
    p.assign("x4", "a", "UB", "pho_chu_tich", D0)
    p.assign("x5", "c", "UB", "pho_chu_tich", D0)  # multi-holder role
    assert [x.id for x in p.holders("UB", "pho_chu_tich", ON)] == ["a", "c"]


def test_unknown_references() -> None:
    p = people()
    with pytest.raises(UnknownReference) as e1:
        p.assign("x", "zz", "UB", "chu_tich", D0)
    assert e1.value.code == "unknown_person"
    with pytest.raises(UnknownReference) as e2:
        p.assign("x", "a", "UB", "vua", D0)
    assert e2.value.code == "unknown_role"
    with pytest.raises(NotActive):
        p.assign("x", "a", "UB", "chu_tich", date(2019, 1, 1))


def test_acting_for_with_delegation() -> None:
    p = people()
    p.assign("x1", "a", "UB", "chu_tich", D0)
    p.grant_delegation("d1", "UB", "chu_tich", "b", date(2024, 7, 1), date(2024, 7, 10), "Nghỉ phép")
    acting = p.acting_for("UB", "chu_tich", ON)
    assert acting is not None and acting.person_id == "b" and acting.holder_id == "a" and acting.is_delegate
    after = p.acting_for("UB", "chu_tich", date(2024, 7, 10))
    assert after is not None and after.person_id == "a" and not after.is_delegate
    with pytest.raises(OverlappingInterval) as exc:
        p.grant_delegation("d2", "UB", "chu_tich", "c", date(2024, 7, 9), date(2024, 7, 20))
    assert exc.value.code == "delegation_overlap"
    with pytest.raises(InvalidOperation) as exc2:
        p.grant_delegation("d3", "UB", "chu_tich", "a", date(2025, 1, 1), date(2025, 1, 5))
    assert exc2.value.code == "delegate_is_holder"
    with pytest.raises(InvalidOperation):
        p.acting_for("UB", "pho_chu_tich", ON)


def test_end_assignment() -> None:
    p = people()
    p.assign("x1", "a", "UB", "chu_tich", D0)
    p.end_assignment("x1", date(2023, 1, 1))
    assert p.acting_for("UB", "chu_tich", date(2023, 1, 1)) is None
    with pytest.raises(OverlappingInterval):
        p.end_assignment("x1", date(2024, 1, 1))


class TestInChargeOnSeed:
    def test_party_committee_standing_deputy(self, registry: OrgRegistry) -> None:
        r = registry.people.dan_van_in_charge("kg.cap_uy", ON)
        assert r.person_id == "p.kg.002" and r.role == "pho_bi_thu_thuong_truc"
        assert r.citation == "Quyết định 357-QĐ/TU (Kiên Giang), mục 8"

    def test_peoples_committee_chair_with_office_support(self, registry: OrgRegistry) -> None:
        r = registry.people.dan_van_in_charge("kg.ubnd", ON)
        assert (r.person_id, r.role, r.support_person_ids) == ("p.kg.005", "chu_tich", ("p.kg.007",))

    def test_board_head_delegated(self, registry: OrgRegistry) -> None:
        assert registry.people.dan_van_in_charge("kg.bdv", ON).person_id == "p.kg.004"
        assert registry.people.dan_van_in_charge("kg.bdv", date(2024, 8, 1)).person_id == "p.kg.003"

    def test_commune_bloc_front_chair_if_standing_member(self, registry: OrgRegistry) -> None:
        r = registry.people.dan_van_in_charge("kg.rg.phi_thong.khoi_dv", ON)
        assert (r.person_id, r.held_in_unit_id) == ("p.kg.pt.004", "kg.rg.phi_thong.mttq")
        assert "gạch đầu dòng thứ ba" in r.citation

    def test_commune_bloc_deputy_secretary_if_front_chair_only_member(self, registry: OrgRegistry) -> None:
        r = registry.people.dan_van_in_charge("kg.ct.binh_an.khoi_dv", ON)
        assert (r.person_id, r.role) == ("p.kg.ba.002", "pho_bi_thu_thuong_truc")

    def test_thanh_oai_bloc_rule(self, registry: OrgRegistry) -> None:
        r = registry.people.dan_van_in_charge("hn.to.kim_bai.khoi_dv", ON, THANH_OAI_05)
        assert r.person_id == "p.to.kb.002"
        assert r.citation == "Quy chế 05-QC/HU (Thanh Oai), Điều 7 khoản 5"

    def test_designated_leader_or_head(self, registry: OrgRegistry) -> None:
        assert registry.people.dan_van_in_charge("kg.so_noi_vu", ON).person_id == "p.kg.011"
        assert registry.people.dan_van_in_charge("kg.hoi_lhpn", ON).person_id == "p.kg.013"

    def test_vacant(self, registry: OrgRegistry) -> None:
        r = registry.people.dan_van_in_charge("kg.btg", ON)
        assert r.person_id is None and "khuyết" in r.basis_vi
