"""The workflow's view of the organisation, answered from the local org replica.

Maps the org registry's answer (:func:`shared.orgmodel.policy.required_consultation`)
onto the workflow's :class:`ConsultationRequirement`: concrete consultee units,
the deadline in Vietnamese working days, public comment window, who may
authorise an override, who synthesises and to whom a late consultee escalates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.domain.decision import Decision
from shared.contract.events.decisions import (
    ActingAs,
    ConsultationRequirement,
    ConsulteeSpec,
    DecisionFlag,
    DocType,
)
from shared.eventsourcing.errors import DomainError
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.people import KIEN_GIANG_357
from shared.orgmodel.policy import DocumentFlags, DocumentType
from shared.orgmodel.replica import OrgReplica
from shared.orgmodel.units import UnitKind

DOC_TYPES: dict[DocType, DocumentType] = {
    DocType.RESOLUTION: DocumentType.NGHI_QUYET,
    DocType.DIRECTIVE: DocumentType.CHI_THI,
    DocType.DECISION: DocumentType.QUYET_DINH,
    DocType.REGULATION: DocumentType.QUY_DINH,
    DocType.LEGAL_NORMATIVE_DOCUMENT: DocumentType.VAN_BAN_QPPL,
    DocType.PLAN: DocumentType.KE_HOACH,
    DocType.SCHEME: DocumentType.DE_AN,
}


class ReplicaOrgPort:
    def __init__(self, replica: OrgReplica, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        self.replica = replica
        self.calendar = calendar

    def requirement_for(
        self, issuer_unit_id: str, doc_type: DocType, flags: Sequence[DecisionFlag], at: datetime
    ) -> ConsultationRequirement:
        reg = self.replica.registry
        on = self.calendar.local_date(at)
        doc_flags = DocumentFlags(
            touches_peoples_rights=DecisionFlag.AFFECTS_PEOPLE_RIGHTS in flags,
            touches_many_citizens=DecisionFlag.AFFECTS_MANY_CITIZENS in flags,
            on_dan_van_work=DecisionFlag.ON_DAN_VAN_WORK in flags,
        )
        try:
            answer = reg.required_consultation(issuer_unit_id, DOC_TYPES[doc_type], doc_flags, on)
        except OrgDomainError as exc:
            raise DomainError(exc.code, exc.message_vi) from exc
        except Exception as exc:  # the registry is empty or the policy is not yet published
            raise DomainError(
                "org_registry_unavailable",
                "Chưa có dữ liệu tổ chức hoặc chính sách lấy ý kiến để xác định đơn vị phải lấy ý kiến.",
            ) from exc
        if not answer.required:
            raise DomainError(
                "consultation_not_required",
                f"{answer.reason_vi} ({'; '.join(answer.citations)}). Văn bản không cần theo dõi quy trình lấy ý kiến.",
            )
        if answer.missing:
            kinds = "; ".join("/".join(k.value for k in m.kinds) for m in answer.missing)
            raise DomainError(
                "consultee_missing_in_registry",
                f"Sổ đăng ký tổ chức thiếu đơn vị bắt buộc phải lấy ý kiến tại địa bàn ({kinds}); cần bổ sung trước khi gửi lấy ý kiến.",
            )
        if answer.synthesiser_id is None:
            raise DomainError(
                "no_synthesiser", "Không xác định được Ban Dân vận (Khối dân vận) chủ trì tổng hợp ý kiến."
            )
        party = reg.hierarchy.counterparts(answer.locality_id, UnitKind.PARTY_COMMITTEE, on)
        deadline = self.calendar.add_working_days(at, answer.window_working_days)
        return ConsultationRequirement(
            consultees=tuple(
                ConsulteeSpec(unit_id=c.unit_id, kind=c.kind.value, name_vi=c.name) for c in answer.consultees
            ),
            deadline=deadline,
            public_comment_required=answer.public_comment,
            public_comment_closes_at=deadline if answer.public_comment else None,
            override_roles=tuple(sorted({o.role for o in answer.override_roles})),
            synthesiser_unit_id=answer.synthesiser_id,
            escalation_unit_id=party[0].id if party else answer.synthesiser_id,
            report_to_unit_ids=answer.report_to_ids,
            citations=answer.citations,
            policy_id="consultation-policy",
            policy_version=str(answer.policy_version),
        )

    def acting_as(self, person_id: str, unit_id: str, at: datetime) -> ActingAs | None:
        reg = self.replica.registry
        on = self.calendar.local_date(at)
        try:
            in_charge = reg.people.dan_van_in_charge(unit_id, on, KIEN_GIANG_357)
        except OrgDomainError:
            in_charge = None
        if in_charge is not None and in_charge.person_id == person_id:
            return ActingAs.SUBSTITUTE if in_charge.delegation_id else ActingAs.HOLDER
        try:
            if reg.people.positions_of(person_id, on) and any(
                a.unit_id == unit_id for a in reg.people.positions_of(person_id, on)
            ):
                return ActingAs.SUBSTITUTE  # a leader of the unit acting for the person in charge
        except OrgDomainError:
            return None
        return None

    # -- authority (services.tasks.authorization.AuthorityPort) ---------------------------
    def acts_for(self, system_id: str, unit_id: str, at: datetime) -> bool:
        return self.replica.registry.systems.acts_for(system_id, unit_id, self.calendar.local_date(at))

    def _positions(self, person_id: str, at: datetime) -> list[tuple[str, str]]:
        """(unit, role) of every position the person holds on ``at`` (none for an unknown person)."""
        try:
            held = self.replica.registry.people.positions_of(person_id, self.calendar.local_date(at))
        except OrgDomainError:
            return []
        return [(a.unit_id, a.role) for a in held]

    def member_of(self, person_id: str, unit_id: str, at: datetime) -> bool:
        return any(u == unit_id for u, _ in self._positions(person_id, at))

    def holds_role_in(self, person_id: str, role: str, unit_id: str, at: datetime) -> bool:
        return (unit_id, role) in self._positions(person_id, at)

    def override_authorities(self, decision: Decision, at: datetime) -> tuple[tuple[str, str], ...]:
        """The policy's (unit, role) pairs for the decision's issuer on ``at``: the roles of the party
        committee at the issuer's own level, never of a unit at another level."""
        if decision.issuer_unit_id is None or decision.doc_type is None:
            return ()
        doc_flags = DocumentFlags(
            touches_peoples_rights=DecisionFlag.AFFECTS_PEOPLE_RIGHTS in decision.flags,
            touches_many_citizens=DecisionFlag.AFFECTS_MANY_CITIZENS in decision.flags,
            on_dan_van_work=DecisionFlag.ON_DAN_VAN_WORK in decision.flags,
        )
        try:
            answer = self.replica.registry.required_consultation(
                decision.issuer_unit_id,
                DOC_TYPES[decision.doc_type],
                doc_flags,
                self.calendar.local_date(at),
            )
        except Exception:  # the registry no longer answers for this issuer: nobody may override
            return ()
        return tuple((o.unit_id, o.role) for o in answer.override_roles)

    def knows_unit(self, unit_id: str, at: datetime) -> bool:
        return self.replica.registry.hierarchy.find_unit(unit_id, self.calendar.local_date(at)) is not None

    def unit_name(self, unit_id: str, at: datetime) -> str:
        unit = self.replica.registry.hierarchy.find_unit(unit_id, self.calendar.local_date(at))
        return f"{unit.name} ({unit_id})" if unit is not None else f"đơn vị «{unit_id}»"
