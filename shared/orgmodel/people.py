"""Who is in charge of dân vận work (cán bộ phụ trách công tác dân vận) of a unit on a date.

Why rules as data (:class:`InChargeRules`): §8 of Quyết định 357-QĐ/TU (Kiên Giang) and
Quy chế 05-QC/HU (Thanh Oai) name different people for the commune Khối dân vận; the answer
cites the regulation it rests on. :class:`PeopleRegistry` is the registry of persons, positions
and delegations (:mod:`shared.orgmodel.positions`) with this question added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.orgmodel.positions import Acting, Assignment, Positions
from shared.orgmodel.role_catalog import DAN_VAN_DUTY, HEAD_ROLES
from shared.orgmodel.units import UnitKind


class BlocHeadRule(StrEnum):
    """Who heads the commune Khối dân vận when no ``truong_khoi`` is recorded explicitly."""

    FRONT_CHAIR_IF_STANDING_MEMBER = "front_chair_if_standing_member"
    """357-QĐ/TU §8: the Front chair who is Ủy viên Thường vụ; if the Front chair is only a
    cấp ủy viên, the Phó Bí thư Đảng ủy."""
    STANDING_DEPUTY_SECRETARY = "standing_deputy_secretary"
    """05-QC/HU Điều 7 khoản 5: the Phó Bí thư Thường trực Đảng ủy heads the bloc."""


@dataclass(frozen=True)
class InChargeRules:
    """Which regulation decides the person in charge of dân vận work (and its citation)."""

    name: str
    citation: str
    bloc_head: BlocHeadRule
    bloc_citation: str


KIEN_GIANG_357 = InChargeRules(
    name="kien_giang_357",
    citation="Quyết định 357-QĐ/TU (Kiên Giang), mục 8",
    bloc_head=BlocHeadRule.FRONT_CHAIR_IF_STANDING_MEMBER,
    bloc_citation="Quyết định 357-QĐ/TU (Kiên Giang), mục 8, gạch đầu dòng thứ ba",
)
THANH_OAI_05 = InChargeRules(
    name="thanh_oai_05",
    citation="Quy chế 05-QC/HU (Thanh Oai), Điều 13 khoản 6",
    bloc_head=BlocHeadRule.STANDING_DEPUTY_SECRETARY,
    bloc_citation="Quy chế 05-QC/HU (Thanh Oai), Điều 7 khoản 5",
)


@dataclass(frozen=True)
class InCharge:
    """The person in charge of dân vận work for a unit on a date, and why.

    ``person_id`` is None when the position is vacant (the caller must escalate).
    ``support_person_ids`` are staff designated to assist (e.g. the Phó Chánh Văn
    phòng UBND of §8).
    """

    unit_id: str
    person_id: str | None
    role: str
    held_in_unit_id: str
    delegation_id: str | None
    citation: str
    basis_vi: str
    support_person_ids: tuple[str, ...] = ()


@dataclass
class PeopleRegistry(Positions):
    """Persons, assignments and delegations, and who of them is in charge of dân vận work."""

    def dan_van_in_charge(self, unit_id: str, on: date, rules: InChargeRules = KIEN_GIANG_357) -> InCharge:
        """The person in charge of dân vận work (cán bộ phụ trách công tác dân vận) of a unit.

        Encodes §8 of Quyết định 357-QĐ/TU (Kiên Giang) — or the Thanh Oai variant for
        the commune bloc — see :class:`InChargeRules`:

        * party committee (cấp ủy, all levels): the Phó Bí thư Thường trực; if there is
          none, the Bí thư ("nếu … không có Phó Bí thư thì Bí thư phụ trách");
        * People's Committee (UBND): the Chủ tịch; support: the Phó Chánh Văn phòng /
          staff of the Văn phòng tagged with the ``dan_van`` duty;
        * Ban Dân vận: the Trưởng ban (an Ủy viên Ban Thường vụ);
        * Khối dân vận (commune): the recorded ``truong_khoi``; otherwise per
          ``rules.bloc_head``;
        * any other unit: the leader designated with the ``dan_van`` duty
          ("phân công một đồng chí trong lãnh đạo phụ trách"), else its head.
        """
        unit = self.hierarchy.unit_at(self._current_unit(unit_id, on), on)
        if unit.kind is UnitKind.PARTY_COMMITTEE:
            for role, basis in (
                ("pho_bi_thu_thuong_truc", "Phó Bí thư Thường trực phụ trách công tác dân vận của Đảng bộ."),
                ("bi_thu", "Cấp ủy không có Phó Bí thư Thường trực: Bí thư phụ trách công tác dân vận."),
            ):
                acting = self.acting_for(unit.id, role, on)
                if acting is not None:
                    return self._in_charge(unit.id, acting, rules.citation, basis)
            return self._vacant(unit.id, "pho_bi_thu_thuong_truc", rules.citation)
        if unit.kind is UnitKind.PEOPLES_COMMITTEE:
            support = tuple(
                a.person_id
                for office in self.hierarchy.children_of(unit.id, on)
                if office.function == "van_phong"
                for a in self._duty_holders(office.id, on)
            )
            basis = "Chủ tịch Ủy ban nhân dân phụ trách công tác dân vận của chính quyền."
            return self._by_role(unit.id, "chu_tich", on, rules.citation, basis, support)
        if unit.kind is UnitKind.DAN_VAN_BOARD:
            basis = "Ủy viên Ban Thường vụ được phân công làm Trưởng Ban Dân vận."
            return self._by_role(unit.id, "truong_ban", on, rules.citation, basis)
        if unit.kind is UnitKind.DAN_VAN_BLOC:
            return self._bloc_head(unit.id, on, rules)
        for a in self._duty_holders(unit.id, on):
            acting = self.acting_for(unit.id, a.role, on) if self.role(a.role).single_holder else None
            person = acting.person_id if acting else a.person_id
            return InCharge(
                unit.id,
                person,
                a.role,
                unit.id,
                acting.delegation_id if acting else None,
                rules.citation,
                "Đồng chí lãnh đạo được phân công phụ trách công tác dân vận của cơ quan, đơn vị.",
            )
        for role in HEAD_ROLES:
            acting = self.acting_for(unit.id, role, on)
            if acting is not None:
                return self._in_charge(
                    unit.id,
                    acting,
                    rules.citation,
                    "Chưa phân công riêng: người đứng đầu cơ quan, đơn vị phụ trách công tác dân vận.",
                )
        return self._vacant(unit.id, "phu_trach_dan_van", rules.citation)

    # ------------------------------------------------------------- internals

    def _bloc_head(self, bloc_id: str, on: date, rules: InChargeRules) -> InCharge:
        explicit = self.acting_for(bloc_id, "truong_khoi", on)
        if explicit is not None:
            return self._in_charge(
                bloc_id, explicit, rules.bloc_citation, "Trưởng Khối dân vận đã được phân công."
            )
        committees = self.hierarchy.counterparts(bloc_id, UnitKind.PARTY_COMMITTEE, on)
        committee = committees[0].id if len(committees) == 1 else None
        deputy = self._deputy_secretary(committee, on) if committee else None
        if rules.bloc_head is BlocHeadRule.FRONT_CHAIR_IF_STANDING_MEMBER and committee is not None:
            fronts = self.hierarchy.counterparts(bloc_id, UnitKind.FATHERLAND_FRONT, on)
            if len(fronts) == 1:
                chair = self.acting_for(fronts[0].id, "chu_tich", on) or self.acting_for(
                    fronts[0].id, "chu_tich_mttq", on
                )
                if chair is not None and self.holds(chair.person_id, committee, "uy_vien_ban_thuong_vu", on):
                    return self._in_charge(
                        bloc_id,
                        chair,
                        rules.bloc_citation,
                        "Ủy viên Thường vụ, Chủ tịch Ủy ban Mặt trận Tổ quốc làm Trưởng Khối dân vận.",
                    )
        basis = (
            "Chủ tịch Ủy ban MTTQ không phải Ủy viên Thường vụ: Phó Bí thư Đảng ủy làm Trưởng Khối dân vận."
            if rules.bloc_head is BlocHeadRule.FRONT_CHAIR_IF_STANDING_MEMBER
            else "Phó Bí thư Thường trực Đảng ủy trực tiếp làm Trưởng Khối dân vận."
        )
        if deputy is None:
            return self._vacant(bloc_id, "truong_khoi", rules.bloc_citation)
        return self._in_charge(bloc_id, deputy, rules.bloc_citation, basis)

    def _deputy_secretary(self, committee_id: str, on: date) -> Acting | None:
        acting = self.acting_for(committee_id, "pho_bi_thu_thuong_truc", on)
        if acting is not None:
            return acting
        deputies = self.holders(committee_id, "pho_bi_thu", on)
        if deputies:
            return Acting(deputies[0].id, committee_id, "pho_bi_thu", deputies[0].id, None)
        return None

    def _by_role(
        self,
        unit_id: str,
        role: str,
        on: date,
        citation: str,
        basis: str,
        support: tuple[str, ...] = (),
    ) -> InCharge:
        """The person acting in ``role`` (or the vacancy of ``role``), with ``basis`` and ``support``."""
        acting = self.acting_for(unit_id, role, on)
        if acting is None:
            return self._vacant(unit_id, role, citation, support)
        return self._in_charge(unit_id, acting, citation, basis, support)

    @staticmethod
    def _in_charge(
        unit_id: str, acting: Acting, citation: str, basis: str, support: tuple[str, ...] = ()
    ) -> InCharge:
        return InCharge(
            unit_id=unit_id,
            person_id=acting.person_id,
            role=acting.role,
            held_in_unit_id=acting.unit_id,
            delegation_id=acting.delegation_id,
            citation=citation,
            basis_vi=basis + (" (người được ủy quyền đang thay thế)" if acting.is_delegate else ""),
            support_person_ids=support,
        )

    @staticmethod
    def _vacant(unit_id: str, role: str, citation: str, support: tuple[str, ...] = ()) -> InCharge:
        return InCharge(
            unit_id,
            None,
            role,
            unit_id,
            None,
            citation,
            "Chức vụ đang khuyết: cần phân công người phụ trách.",
            support,
        )

    def _duty_holders(self, unit_id: str, on: date) -> list[Assignment]:
        found = [
            a
            for a in self.assignments.values()
            if a.unit_id == unit_id and DAN_VAN_DUTY in a.duties and a.interval.contains(on)
        ]
        return sorted(found, key=lambda a: (a.role, a.person_id))
