"""The Situation aggregate: complex situations (tình huống phức tạp) — security and public order
incidents, disasters, epidemics. Kiên Giang 357-QĐ/TU §7; Thanh Oai 05-QC/HU Điều 22, Điều 23.4.

The rules it enforces:

* When the government reports a situation, in the same step (the seed says "kịp thời" /
  "thông tin nhanh", i.e. at once) it is reported to the party committee at the same level for
  direction and the Dân vận board, the Front and the organisations at the same level are
  informed (board and Front mandatory); the board is assigned to lead the mobilisation of
  members and people, with the Front and the organisations.
* Too complex, too serious or beyond authority → escalated to the **higher level**: the fact
  names the higher locality's party committee *and* People's Committee (resolved by the caller
  from the org registry; refused if either is missing). Escalation happens at most once per
  situation (one level up; a further step is a new report at the higher level).
* After escalation the higher level may form a working group (đoàn công tác) whose members are
  representatives of the People's Committee, the Dân vận board and the mass organisations *of
  that level*; formed by that level's party committee or People's Committee, once.
* Resolved (ổn định tình hình) then closed.

No time limit is given by the seeds beyond "at once", which the single reporting step models;
there is therefore no timer here.

State machine::

    ACTIVE ──escalate──▶ ESCALATED ──form_working_group (stays ESCALATED)
    ACTIVE | ESCALATED ──resolve──▶ RESOLVED ──close──▶ CLOSED
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.domain.parties import MASS_ORG_ROLES, mobilisation_tasks, name_of, require_board_and_front
from services.tasks.domain.schedule import CalendarAggregate
from services.tasks.domain.text import require_text
from shared.contract.events.workflows import (
    EscalationReason,
    MobilisationTask,
    PartyRef,
    PartyRole,
    SituationClosed,
    SituationEscalated,
    SituationFact,
    SituationKind,
    SituationMobilisationAssigned,
    SituationPartiesInformed,
    SituationPartyCommitteeReported,
    SituationReported,
    SituationResolved,
    SituationWorkingGroupFormed,
)
from shared.eventsourcing.errors import DomainError


class SituationStatus(StrEnum):
    ACTIVE = "active"  # đang xử lý tại cấp mình
    ESCALATED = "escalated"  # đã báo cáo xin ý kiến cấp trên
    RESOLVED = "resolved"  # đã ổn định tình hình
    CLOSED = "closed"  # đã kết thúc


S = SituationStatus
OPEN: frozenset[SituationStatus] = frozenset({S.ACTIVE, S.ESCALATED})

ALLOWED: Mapping[str, frozenset[SituationStatus]] = {
    "escalate": frozenset({S.ACTIVE}),
    "form_working_group": frozenset({S.ESCALATED}),
    "resolve": OPEN,
    "close": frozenset({S.RESOLVED}),
}

STATUS_VI: Mapping[SituationStatus, str] = {
    S.ACTIVE: "đang xử lý",
    S.ESCALATED: "đã báo cáo cấp trên",
    S.RESOLVED: "đã ổn định",
    S.CLOSED: "đã kết thúc",
}

COMMAND_VI: Mapping[str, str] = {
    "escalate": "báo cáo xin ý kiến cấp trên",
    "form_working_group": "thành lập đoàn công tác",
    "resolve": "ghi nhận đã ổn định tình hình",
    "close": "kết thúc theo dõi tình huống",
}

KIND_VI: Mapping[SituationKind, str] = {
    SituationKind.SECURITY: "an ninh chính trị, trật tự an toàn xã hội",
    SituationKind.DISASTER: "thiên tai, thảm họa",
    SituationKind.EPIDEMIC: "dịch bệnh",
}

REASON_VI: Mapping[EscalationReason, str] = {
    EscalationReason.TOO_COMPLEX: "quá phức tạp",
    EscalationReason.TOO_SERIOUS: "nghiêm trọng",
    EscalationReason.BEYOND_AUTHORITY: "vượt quá thẩm quyền",
}


class Situation(CalendarAggregate[SituationFact]):
    """The aggregate: ``Situation()`` (or a custom calendar), then :meth:`report`."""

    kind_vi = "tình huống"
    not_created = ("not_reported", "Tình huống chưa được báo cáo.")
    allowed = ALLOWED
    command_vi = COMMAND_VI
    status_vi = STATUS_VI
    snapshot_fields = (
        "status",
        "kind",
        "reporting_unit_id",
        "locality_id",
        "summary",
        "party_committee",
        "informed",
        "mobilisation",
        "escalation",
        "working_group",
        "resolution",
    )

    status: SituationStatus | None
    kind: SituationKind | None
    reporting_unit_id: str | None
    locality_id: str | None
    summary: str
    party_committee: PartyRef | None
    informed: tuple[PartyRef, ...]
    mobilisation: tuple[MobilisationTask, ...]
    escalation: SituationEscalated | None
    working_group: SituationWorkingGroupFormed | None
    resolution: SituationResolved | None

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__(calendar)
        self.kind = None
        self.reporting_unit_id = None
        self.locality_id = None
        self.summary = ""
        self.party_committee = None
        self.informed = ()
        self.mobilisation = ()
        self.escalation = None
        self.working_group = None
        self.resolution = None

    @property
    def situation_id(self) -> str | None:
        return self.subject

    def involved_units(self) -> tuple[str, ...]:
        """Units that reported, were informed of, or lead the handling of this situation."""
        units = [self.reporting_unit_id or ""]
        if self.party_committee is not None:
            units.append(self.party_committee.unit_id)
        units += [p.unit_id for p in self.informed]
        return tuple(u for u in dict.fromkeys(units) if u)

    # ------------------------------------------------------------------ commands

    def report(
        self,
        command_id: str,
        *,
        situation_id: str,
        kind: SituationKind,
        reporting_unit_id: str,
        locality_id: str,
        summary: str,
        party_committee: PartyRef,
        informed: Sequence[PartyRef],
        at: datetime,
    ) -> list[SituationFact]:
        """The government reports; the party committee, board, Front and organisations hear at once."""
        if not self._accepts(command_id):
            return []
        self._require_new("already_reported", f"Tình huống mã «{situation_id}» đã được báo cáo.")
        summary = require_text(summary, "summary_required", "Nội dung tình huống không được để trống.")
        if party_committee.role != PartyRole.PARTY_COMMITTEE:
            raise DomainError("not_a_party_committee", "Tình huống phải được báo cáo cấp ủy đảng cùng cấp.")
        require_board_and_front(
            informed,
            "Phải thông tin ngay cho Ban Dân vận (Khối dân vận) và Mặt trận Tổ quốc cùng cấp "
            "(357-QĐ/TU mục 7; 05-QC/HU Điều 22).",
        )
        kind_vi = KIND_VI[kind]
        names = ", ".join(name_of(p) for p in informed)
        tasks = mobilisation_tasks(
            situation_id,
            informed,
            lambda lead: (
                (
                    "Chủ trì, phối hợp với Mặt trận Tổ quốc, các tổ chức chính trị – xã hội "
                    if lead
                    else "Phối hợp "
                )
                + "vận động đoàn viên, hội viên, nhân dân chấp hành sự lãnh đạo, chỉ đạo của cấp ủy, "
                f"chính quyền trong tình huống «{summary}»."
            ),
        )
        header: dict[str, Any] = {"at": at, "command_id": command_id, "situation_id": situation_id}
        return self._emit(
            self._fact(
                SituationReported,
                **header,
                kind=kind,
                reporting_unit_id=reporting_unit_id,
                locality_id=locality_id,
                summary=summary,
            ),
            self._fact(
                SituationPartyCommitteeReported,
                **header,
                party_committee=party_committee,
                message_vi=f"Báo cáo khẩn {name_of(party_committee)} xin ý kiến chỉ đạo: tình huống {kind_vi} «{summary}».",
            ),
            self._fact(
                SituationPartiesInformed,
                **header,
                informed=tuple(informed),
                message_vi=f"Thông tin nhanh về tình huống {kind_vi} «{summary}» đến: {names}.",
            ),
            self._fact(SituationMobilisationAssigned, **header, tasks=tasks),
        )

    def escalate(
        self,
        command_id: str,
        *,
        reason: EscalationReason,
        reason_vi: str,
        requested_by: str,
        to_locality_id: str,
        to_party_committee: PartyRef,
        to_peoples_committee: PartyRef,
        at: datetime,
    ) -> list[SituationFact]:
        """Report to the higher level's party committee and government for direction."""
        if not self._accepts(command_id, "escalate"):
            return []
        assert self.locality_id is not None
        if to_locality_id == self.locality_id:
            raise DomainError(
                "not_a_higher_level", "Cấp được báo cáo phải là cấp trên trực tiếp của địa bàn."
            )
        if (
            to_party_committee.role != PartyRole.PARTY_COMMITTEE
            or to_peoples_committee.role != PartyRole.PEOPLES_COMMITTEE
        ):
            raise DomainError(
                "higher_level_incomplete",
                "Báo cáo cấp trên phải nêu rõ cấp ủy và Ủy ban nhân dân cấp trên.",
            )
        reason_vi = require_text(reason_vi, "reason_required", "Phải nêu lý do báo cáo cấp trên.")
        pc, ubnd = name_of(to_party_committee), name_of(to_peoples_committee)
        return self._emit(
            self._fact(
                SituationEscalated,
                at=at,
                command_id=command_id,
                reason=reason,
                reason_vi=reason_vi,
                from_locality_id=self.locality_id,
                to_locality_id=to_locality_id,
                to_party_committee=to_party_committee,
                to_peoples_committee=to_peoples_committee,
                requested_by=requested_by,
                message_vi=(
                    f"Tình huống «{self.summary}» {REASON_VI[reason]}: báo cáo {pc} và {ubnd} xin ý kiến "
                    f"chỉ đạo. Lý do: {reason_vi}"
                ),
            )
        )

    def form_working_group(
        self,
        command_id: str,
        *,
        formed_by_unit_id: str,
        members: Sequence[PartyRef],
        on_request_of_lower_level: bool,
        at: datetime,
        note: str = "",
    ) -> list[SituationFact]:
        """The higher level forms a working group: its People's Committee, board and mass organisations."""
        if not self._accepts(command_id, "form_working_group"):
            return []
        esc = self.escalation
        assert esc is not None
        if self.working_group is not None:
            raise DomainError("working_group_exists", "Đoàn công tác cho tình huống này đã được thành lập.")
        if formed_by_unit_id not in (esc.to_party_committee.unit_id, esc.to_peoples_committee.unit_id):
            raise DomainError(
                "not_the_higher_level",
                "Đoàn công tác do cấp ủy hoặc chính quyền cấp trên đã được báo cáo thành lập.",
                {"formed_by_unit_id": formed_by_unit_id},
            )
        roles = {m.role for m in members}
        if (
            PartyRole.PEOPLES_COMMITTEE not in roles
            or PartyRole.DAN_VAN_BOARD not in roles
            or not roles & MASS_ORG_ROLES
        ):
            raise DomainError(
                "working_group_composition",
                "Thành phần đoàn công tác phải có đại diện lãnh đạo Ủy ban nhân dân, Ban Dân vận và các "
                "đoàn thể cùng cấp (357-QĐ/TU mục 7).",
                {"roles": sorted(r.value for r in roles)},
            )
        return self._emit(
            self._fact(
                SituationWorkingGroupFormed,
                at=at,
                command_id=command_id,
                locality_id=esc.to_locality_id,
                formed_by_unit_id=formed_by_unit_id,
                on_request_of_lower_level=on_request_of_lower_level,
                members=tuple(members),
                note=note.strip(),
            )
        )

    def resolve(self, command_id: str, *, by_unit_id: str, summary: str, at: datetime) -> list[SituationFact]:
        if not self._accepts(command_id, "resolve"):
            return []
        summary = require_text(summary, "summary_required", "Phải nêu kết quả giải quyết tình huống.")
        return self._emit(
            self._fact(
                SituationResolved, at=at, command_id=command_id, by_unit_id=by_unit_id, summary=summary
            )
        )

    def close(self, command_id: str, *, closed_by: str, at: datetime) -> list[SituationFact]:
        if not self._accepts(command_id, "close"):
            return []
        return self._emit(self._fact(SituationClosed, at=at, command_id=command_id, closed_by=closed_by))

    # ------------------------------------------------------------------ state

    def _when(self, event: SituationFact) -> None:
        if isinstance(event, SituationReported):
            self.status = S.ACTIVE
            self.kind = event.kind
            self.reporting_unit_id = event.reporting_unit_id
            self.locality_id = event.locality_id
            self.summary = event.summary
        elif isinstance(event, SituationPartyCommitteeReported):
            self.party_committee = event.party_committee
        elif isinstance(event, SituationPartiesInformed):
            self.informed = event.informed
        elif isinstance(event, SituationMobilisationAssigned):
            self.mobilisation = event.tasks
        elif isinstance(event, SituationEscalated):
            self.escalation = event
            self.status = S.ESCALATED
        elif isinstance(event, SituationWorkingGroupFormed):
            self.working_group = event
        elif isinstance(event, SituationResolved):
            self.resolution = event
            self.status = S.RESOLVED
        elif isinstance(event, SituationClosed):
            self.status = S.CLOSED
        else:  # pragma: no cover
            raise TypeError(f"unhandled situation event {type(event).__name__}")
