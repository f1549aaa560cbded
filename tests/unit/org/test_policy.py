"""Consultation policy: the seed questions, versions, refusals and the working-day calendar."""

from __future__ import annotations

from datetime import date

import pytest

from shared.orgmodel.errors import OrgDomainError, PolicyError, UnknownUnitKind
from shared.orgmodel.policy import (
    ConsultationPolicy,
    ConsulteeGroup,
    DocumentFlags,
    DocumentType,
    Flag,
    PolicyRule,
    PolicySet,
    add_working_days,
    required_consultation,
)
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.units import NewUnit, UnitKind

ON = date(2024, 5, 2)
RIGHTS = DocumentFlags(touches_peoples_rights=True)
KG_CITATION = "Quyết định 357-QĐ/TU (Kiên Giang), mục 5"
PROVINCE_ORGS = {"kg.doan_thanh_nien", "kg.hoi_lhpn", "kg.hoi_nong_dan", "kg.hoi_ccb", "kg.cong_doan"}


def test_provincial_peoples_committee_decision_touching_rights(registry: OrgRegistry) -> None:
    req = registry.required_consultation("kg.ubnd", DocumentType.QUYET_DINH, RIGHTS, ON)
    assert req.required
    assert set(req.consultee_ids) == {"kg.bdv", "kg.mttq", *PROVINCE_ORGS}
    assert len(req.consultee_ids) == 7
    assert req.citations == (KG_CITATION,)
    assert req.synthesiser_id == "kg.bdv"
    assert req.report_to_ids == ("kg.cap_uy", "kg.ubnd")
    assert {(o.unit_id, o.role) for o in req.override_roles} == {
        ("kg.cap_uy", "bi_thu"),
        ("kg.cap_uy", "pho_bi_thu_thuong_truc"),
    }
    assert [c.unit_id for c in req.optional_consultees] == ["kg.hoi_chu_thap_do"]
    assert req.window_working_days == 10
    assert not req.public_comment and not req.missing
    assert req.policy_version == 2


def test_commune_peoples_committee(registry: OrgRegistry) -> None:
    req = registry.required_consultation("kg.ct.minh_hoa.ubnd", DocumentType.QUYET_DINH, RIGHTS, ON)
    p = "kg.ct.minh_hoa."
    assert set(req.consultee_ids) == {
        p + "khoi_dv",
        p + "mttq",
        p + "doan_thanh_nien",
        p + "hoi_lhpn",
        p + "hoi_nong_dan",
        p + "hoi_ccb",
    }
    assert req.synthesiser_id == p + "khoi_dv"
    assert req.citations == (KG_CITATION,)


def test_many_citizens_requires_public_comment_via_media(registry: OrgRegistry) -> None:
    flags = DocumentFlags(touches_peoples_rights=True, touches_many_citizens=True)
    req = registry.required_consultation("kg.ubnd", DocumentType.VAN_BAN_QPPL, flags, ON)
    assert req.public_comment
    assert set(req.publication_unit_ids) == {"kg.bao", "kg.dai_ptth"}


def test_no_rights_no_dan_van_means_no_consultation(registry: OrgRegistry) -> None:
    req = registry.required_consultation("kg.ubnd", DocumentType.QUYET_DINH, DocumentFlags(), ON)
    assert not req.required and not req.consultees
    assert req.citations[0].startswith(KG_CITATION)
    assert "Không bắt buộc" in req.reason_vi
    # "many citizens" alone does not trigger the consultation duty of §5
    alone = registry.required_consultation(
        "kg.ubnd", DocumentType.QUYET_DINH, DocumentFlags(touches_many_citizens=True), ON
    )
    assert not alone.required


def test_party_resolution_on_dan_van_work(registry: OrgRegistry) -> None:
    req = registry.required_consultation(
        "kg.rg.cap_uy", DocumentType.NGHI_QUYET, DocumentFlags(on_dan_van_work=True), ON
    )
    assert "kg.rg.bdv" in req.consultee_ids and "kg.rg.mttq" in req.consultee_ids


def test_issuer_not_in_scope_of_any_rule_kind_is_not_required(registry: OrgRegistry) -> None:
    req = registry.required_consultation("kg.hoi_lhpn", DocumentType.QUYET_DINH, RIGHTS, ON)
    assert not req.required


def test_thanh_oai_uses_its_own_rule_from_version_2(registry: OrgRegistry) -> None:
    req = registry.required_consultation("hn.to.ubnd", DocumentType.QUYET_DINH, RIGHTS, ON)
    assert req.citations[0].startswith("Quy chế 05-QC/HU (Thanh Oai)")
    assert req.synthesiser_id == "hn.to.bdv"
    with pytest.raises(PolicyError) as exc:  # v1 (Kiên Giang only) in force
        registry.required_consultation("hn.to.ubnd", DocumentType.QUYET_DINH, RIGHTS, date(2021, 12, 1))
    assert exc.value.code == "no_rule_for_jurisdiction"
    with pytest.raises(PolicyError) as exc2:
        registry.required_consultation("kg.ubnd", DocumentType.QUYET_DINH, RIGHTS, date(2021, 1, 1))
    assert exc2.value.code == "no_policy_in_force"


def test_commune_merge_changes_consultees_after_date_only(registry: OrgRegistry) -> None:
    """Minh Hòa + Bình An → a new commune on 2025-07-01 (hypothetical merge for the test)."""
    h, merge = registry.hierarchy, date(2025, 7, 1)
    from shared.orgmodel.hierarchy import NewLocality

    h.register_locality(
        NewLocality("kien_giang.chau_thanh.minh_an", "Xã Minh An", "commune", "kien_giang.chau_thanh"), merge
    )
    new_loc = "kien_giang.chau_thanh.minh_an"
    for suffix, kind, name in [
        ("cap_uy", UnitKind.PARTY_COMMITTEE, "Đảng ủy xã Minh An"),
        ("khoi_dv", UnitKind.DAN_VAN_BLOC, "Khối dân vận xã Minh An"),
        ("hdnd", UnitKind.PEOPLES_COUNCIL, "Hội đồng nhân dân xã Minh An"),
        ("ubnd", UnitKind.PEOPLES_COMMITTEE, "Ủy ban nhân dân xã Minh An"),
        ("ca", UnitKind.ARMED_FORCES, "Công an xã Minh An"),
        ("bchqs", UnitKind.ARMED_FORCES, "Ban Chỉ huy Quân sự xã Minh An"),
        ("mttq", UnitKind.FATHERLAND_FRONT, "Ủy ban MTTQ Việt Nam xã Minh An"),
        ("doan_thanh_nien", UnitKind.SOCIO_POLITICAL_ORG, "Đoàn Thanh niên xã Minh An"),
        ("hoi_lhpn", UnitKind.SOCIO_POLITICAL_ORG, "Hội LHPN xã Minh An"),
        ("hoi_nong_dan", UnitKind.SOCIO_POLITICAL_ORG, "Hội Nông dân xã Minh An"),
        ("hoi_ccb", UnitKind.SOCIO_POLITICAL_ORG, "Hội CCB xã Minh An"),
    ]:
        sources = [f"kg.ct.minh_hoa.{suffix}", f"kg.ct.binh_an.{suffix}"]
        parent = h.unit_at(sources[0], date(2025, 6, 30)).parent_id
        parent = "kg.ct.minh_an.cap_uy" if suffix == "khoi_dv" else parent
        registry.merge_units(sources, NewUnit(f"kg.ct.minh_an.{suffix}", name, kind, new_loc, parent), merge)
    h.merge_localities(["kien_giang.chau_thanh.minh_hoa", "kien_giang.chau_thanh.binh_an"], new_loc, merge)

    before = registry.required_consultation(
        "kg.ct.binh_an.ubnd", DocumentType.QUYET_DINH, RIGHTS, date(2025, 6, 30)
    )
    assert "kg.ct.binh_an.khoi_dv" in before.consultee_ids and len(before.consultee_ids) == 6
    with pytest.raises(OrgDomainError):  # the old issuer no longer exists
        registry.required_consultation("kg.ct.binh_an.ubnd", DocumentType.QUYET_DINH, RIGHTS, merge)
    (issuer,) = h.resolve("kg.ct.binh_an.ubnd", merge)
    after = registry.required_consultation(issuer, DocumentType.QUYET_DINH, RIGHTS, merge)
    assert set(after.consultee_ids) == {
        f"kg.ct.minh_an.{s}"
        for s in ("khoi_dv", "mttq", "doan_thanh_nien", "hoi_lhpn", "hoi_nong_dan", "hoi_ccb")
    }
    assert (
        h.counterpart("kg.ct.binh_an.ubnd", UnitKind.DAN_VAN_BLOC, date(2025, 6, 30)).id
        == "kg.ct.binh_an.khoi_dv"
    )
    assert registry.people.acting_for("kg.ct.binh_an.ubnd", "chu_tich", date(2025, 6, 30)) is not None
    assert registry.people.assignments["p.kg.ba.003#1"].interval.end == merge


def test_missing_consultee_is_reported(registry: OrgRegistry) -> None:
    registry.dissolve_unit("kg.hoi_chu_thap_do", date(2023, 1, 1))
    for org in ("kg.ct.minh_hoa.doan_thanh_nien",):
        registry.dissolve_unit(org, date(2023, 1, 1))
    req = registry.required_consultation("kg.ct.minh_hoa.ubnd", DocumentType.QUYET_DINH, RIGHTS, ON)
    assert req.required and not req.missing  # three other orgs remain
    req2 = registry.required_consultation("kg.ubnd", DocumentType.QUYET_DINH, RIGHTS, ON)
    assert not req2.optional_consultees


def test_policy_naming_unknown_kind_refused() -> None:
    with pytest.raises(UnknownUnitKind):
        ConsulteeGroup(("ban_chi_dao",))  # type: ignore[arg-type]
    with pytest.raises(UnknownUnitKind):
        PolicyRule(
            id="r",
            citation="x",
            description_vi="",
            issuer_kinds=frozenset({"uy_ban"}),  # type: ignore[arg-type]
            document_types=frozenset({DocumentType.QUYET_DINH}),
            triggers=frozenset({Flag.TOUCHES_PEOPLES_RIGHTS}),
        )


def test_policy_validation() -> None:
    rule = PolicyRule(
        id="r",
        citation="c",
        description_vi="",
        issuer_kinds=frozenset({UnitKind.PEOPLES_COMMITTEE}),
        document_types=frozenset({DocumentType.QUYET_DINH}),
        triggers=frozenset({Flag.TOUCHES_PEOPLES_RIGHTS}),
    )
    with pytest.raises(OrgDomainError):
        ConsultationPolicy(1, ON, (rule, rule))
    with pytest.raises(PolicyError):
        PolicyRule(**{**rule.__dict__, "window_working_days": 0})
    ps = PolicySet()
    ps.publish(ConsultationPolicy(1, ON, (rule,)))
    ps.publish(ConsultationPolicy(1, ON, (rule,)))  # identical republish is idempotent
    with pytest.raises(OrgDomainError) as exc:
        ps.publish(ConsultationPolicy(1, ON, ()))
    assert exc.value.code == "duplicate_policy_version"


def test_required_consultation_accepts_policy_object(registry: OrgRegistry) -> None:
    policy = registry.policies.in_force(ON)
    view = registry.hierarchy.unit_at("kg.ubnd", ON)
    req = required_consultation(view, DocumentType.QUYET_DINH, RIGHTS, ON, registry.hierarchy, policy)
    assert req.policy_version == policy.version


def test_add_working_days() -> None:
    assert add_working_days(date(2024, 5, 2), 1) == date(2024, 5, 3)  # Thu → Fri
    assert add_working_days(date(2024, 5, 3), 1) == date(2024, 5, 6)  # Fri → Mon
    assert add_working_days(date(2024, 5, 2), 10) == date(2024, 5, 16)
    assert add_working_days(date(2024, 4, 29), 1, frozenset({date(2024, 4, 30), date(2024, 5, 1)})) == date(
        2024, 5, 2
    )
