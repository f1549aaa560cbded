"""Who a workflow involves, from this process's copy of the org registry.

"The Dân vận board, the Front and the socio-political organisations at the same level", "the
higher level's party committee", "a working group at that level": the workflow aggregates get
these as :class:`PartyRef` values resolved here, so the domain stays free of the registry.
An unknown unit is refused in Vietnamese (a :class:`DomainError`), never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from shared.contract.events.workflows import PartyRef, PartyRole
from shared.eventsourcing.errors import DomainError
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.replica import OrgReplica
from shared.orgmodel.units import UnitAt, UnitKind

GOVERNMENT_KINDS = (UnitKind.PEOPLES_COMMITTEE, UnitKind.DEPARTMENT, UnitKind.PEOPLES_COUNCIL)
"""Who may receive complaints / report situations: People's Committees, their departments and
(for voter petitions) People's Councils."""


def role_of(unit: UnitAt) -> PartyRole:
    match unit.kind:
        case UnitKind.PARTY_COMMITTEE:
            return PartyRole.PARTY_COMMITTEE
        case UnitKind.PEOPLES_COMMITTEE:
            return PartyRole.PEOPLES_COMMITTEE
        case UnitKind.DAN_VAN_BOARD | UnitKind.DAN_VAN_BLOC:
            return PartyRole.DAN_VAN_BOARD
        case UnitKind.FATHERLAND_FRONT:
            return PartyRole.FATHERLAND_FRONT
        case UnitKind.SOCIO_POLITICAL_ORG:
            return PartyRole.SOCIO_POLITICAL_ORG
        case UnitKind.PARTY_BOARD if unit.function == "kiem_tra":
            return PartyRole.INSPECTION_COMMITTEE
        case _:
            return PartyRole.GOVERNMENT


def party(unit: UnitAt, role: PartyRole | None = None) -> PartyRef:
    return PartyRef(unit_id=unit.id, role=role or role_of(unit), kind=unit.kind.value, name_vi=unit.name)


class OrgResolver:
    """Answers "who, at the same level / the higher level" from the local org replica."""

    def __init__(self, replica: OrgReplica, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        self.replica = replica
        self.calendar = calendar

    def _on(self, at: datetime) -> date:
        return self.calendar.local_date(at)

    def knows_unit(self, unit_id: str, at: datetime) -> bool:
        return self.replica.registry.hierarchy.find_unit(unit_id, self._on(at)) is not None

    def acts_for(self, system_id: str, unit_id: str, at: datetime) -> bool:
        return self.replica.registry.systems.acts_for(system_id, unit_id, self._on(at))

    def unit(self, unit_id: str, at: datetime, kinds: Sequence[UnitKind] = ()) -> UnitAt:
        """An existing unit (optionally of given kinds); unknown units are refused in Vietnamese."""
        try:
            u = self.replica.registry.hierarchy.unit_at(unit_id, self._on(at))
        except OrgDomainError as exc:
            raise DomainError(
                "unknown_unit", f"Không tìm thấy đơn vị «{unit_id}» trong sổ đăng ký tổ chức."
            ) from exc
        except Exception as exc:  # registry not loaded yet
            raise DomainError(
                "org_registry_unavailable", "Chưa có dữ liệu tổ chức để xác định đơn vị liên quan."
            ) from exc
        if kinds and u.kind not in kinds:
            raise DomainError(
                "wrong_unit_kind",
                f"Đơn vị «{u.name}» ({unit_id}) không phải là "
                + " / ".join(KIND_VI.get(k, k.value) for k in kinds)
                + ".",
                {"kind": u.kind.value},
            )
        return u

    def units(self, unit_ids: Sequence[str], at: datetime) -> list[UnitAt]:
        unknown: list[str] = []
        found: list[UnitAt] = []
        for uid in dict.fromkeys(unit_ids):
            try:
                found.append(self.unit(uid, at))
            except DomainError as exc:
                if exc.code != "unknown_unit":
                    raise
                unknown.append(uid)
        if unknown:
            raise DomainError(
                "unknown_unit",
                f"Không tìm thấy các đơn vị sau trong sổ đăng ký tổ chức: {', '.join(unknown)}.",
                {"unit_ids": unknown},
            )
        return found

    def _counterparts(
        self, subject_id: str, kinds: Sequence[UnitKind], at: datetime, function: str | None = None
    ) -> tuple[UnitAt, ...]:
        try:
            return self.replica.registry.hierarchy.counterparts(
                subject_id, list(kinds), self._on(at), function
            )
        except OrgDomainError as exc:
            raise DomainError("unknown_unit", exc.args[0] if exc.args else str(exc)) from exc

    def _one(self, subject_id: str, kind: UnitKind, at: datetime, what_vi: str) -> UnitAt:
        found = self._counterparts(subject_id, [kind], at)
        if len(found) != 1:
            raise DomainError(
                "counterpart_not_found" if not found else "ambiguous_counterpart",
                f"Không xác định được {what_vi} tại địa bàn «{subject_id}» trong sổ đăng ký tổ chức.",
            )
        return found[0]

    def same_level_parties(self, subject_id: str, at: datetime, *, inspection: bool) -> list[PartyRef]:
        """Dân vận board (or bloc), [Inspection Committee], Front, socio-political organisations."""
        board = self._counterparts(subject_id, [UnitKind.DAN_VAN_BOARD, UnitKind.DAN_VAN_BLOC], at)
        front = self._counterparts(subject_id, [UnitKind.FATHERLAND_FRONT], at)
        if not board or not front:
            raise DomainError(
                "counterpart_not_found",
                "Sổ đăng ký tổ chức thiếu Ban Dân vận (Khối dân vận) hoặc Mặt trận Tổ quốc cùng cấp "
                f"tại địa bàn của «{subject_id}».",
            )
        out = [party(u, PartyRole.DAN_VAN_BOARD) for u in board]
        if inspection:
            out += [
                party(u, PartyRole.INSPECTION_COMMITTEE)
                for u in self._counterparts(subject_id, [UnitKind.PARTY_BOARD], at, function="kiem_tra")
            ]
        out += [party(u, PartyRole.FATHERLAND_FRONT) for u in front]
        out += [party(u) for u in self._counterparts(subject_id, [UnitKind.SOCIO_POLITICAL_ORG], at)]
        return out

    def party_committee(self, subject_id: str, at: datetime) -> PartyRef:
        return party(self._one(subject_id, UnitKind.PARTY_COMMITTEE, at, "cấp ủy cùng cấp"))

    def higher_level(self, locality_id: str, at: datetime) -> tuple[str, PartyRef, PartyRef]:
        """The parent địa bàn and its party committee and People's Committee."""
        try:
            loc = self.replica.registry.hierarchy.locality_at(locality_id, self._on(at))
        except OrgDomainError as exc:
            raise DomainError("unknown_locality", f"Không tìm thấy địa bàn «{locality_id}».") from exc
        if loc.parent_id is None:
            raise DomainError(
                "no_higher_level",
                f"Địa bàn «{loc.name}» là cấp cao nhất trong sổ đăng ký tổ chức; không có cấp trên để báo cáo.",
            )
        pc = self._one(loc.parent_id, UnitKind.PARTY_COMMITTEE, at, "cấp ủy cấp trên")
        ubnd = self._one(loc.parent_id, UnitKind.PEOPLES_COMMITTEE, at, "Ủy ban nhân dân cấp trên")
        return loc.parent_id, party(pc), party(ubnd)

    def working_group(self, locality_id: str, member_ids: Sequence[str], at: datetime) -> list[PartyRef]:
        """Members at ``locality_id``: given ids (checked to be of that level) or the default set."""
        if member_ids:
            members = self.units(member_ids, at)
            outside = [u.id for u in members if u.locality_id != locality_id]
            if outside:
                raise DomainError(
                    "member_not_at_level",
                    f"Thành viên đoàn công tác phải thuộc cấp «{locality_id}»: {', '.join(outside)} không thuộc cấp này.",
                    {"unit_ids": outside},
                )
            return [party(u) for u in members]
        ubnd = self._counterparts(locality_id, [UnitKind.PEOPLES_COMMITTEE], at)
        return [party(u) for u in ubnd] + self.same_level_parties(locality_id, at, inspection=False)


KIND_VI: dict[UnitKind, str] = {
    UnitKind.PEOPLES_COMMITTEE: "Ủy ban nhân dân",
    UnitKind.DEPARTMENT: "cơ quan chuyên môn của chính quyền",
    UnitKind.PEOPLES_COUNCIL: "Hội đồng nhân dân",
    UnitKind.PARTY_COMMITTEE: "cấp ủy",
}
