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

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.workflows.base import Aggregate, require_text
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

MASS_ORG_ROLES = frozenset({PartyRole.FATHERLAND_FRONT, PartyRole.SOCIO_POLITICAL_ORG})


class Situation(Aggregate[SituationFact]):
    kind_vi = "tình huống"

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__(calendar)
        self.situation_id: str | None = None
        self.status: SituationStatus | None = None
        self.kind: SituationKind | None = None
        self.reporting_unit_id: str | None = None
        self.locality_id: str | None = None
        self.summary = ""
        self.party_committee: PartyRef | None = None
        self.informed: tuple[PartyRef, ...] = ()
        self.mobilisation: tuple[MobilisationTask, ...] = ()
        self.escalation: SituationEscalated | None = None
        self.working_group: SituationWorkingGroupFormed | None = None
        self.resolution: SituationResolved | None = None

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
        if self._duplicate(command_id):
            return []
        if self.status is not None:
            raise DomainError("already_reported", f"Tình huống mã «{situation_id}» đã được báo cáo.")
        summary = require_text(summary, "summary_required", "Nội dung tình huống không được để trống.")
        if party_committee.role != PartyRole.PARTY_COMMITTEE:
            raise DomainError("not_a_party_committee", "Tình huống phải được báo cáo cấp ủy đảng cùng cấp.")
        roles = {p.role for p in informed}
        if PartyRole.DAN_VAN_BOARD not in roles or PartyRole.FATHERLAND_FRONT not in roles:
            raise DomainError(
                "recipients_below_rule",
                "Phải thông tin ngay cho Ban Dân vận (Khối dân vận) và Mặt trận Tổ quốc cùng cấp "
                "(357-QĐ/TU mục 7; 05-QC/HU Điều 22).",
                {"roles": sorted(r.value for r in roles)},
            )
        kind_vi = KIND_VI[kind]
        names = ", ".join(p.name_vi or p.unit_id for p in informed)
        pc = party_committee.name_vi or party_committee.unit_id
        tasks: list[MobilisationTask] = []
        for p in informed:
            if p.role not in (PartyRole.DAN_VAN_BOARD, *MASS_ORG_ROLES):
                continue
            lead = p.role == PartyRole.DAN_VAN_BOARD
            tasks.append(
                MobilisationTask(
                    task_id=f"{situation_id}:mob:{len(tasks) + 1}",
                    assignee=p,
                    lead=lead,
                    title_vi=(
                        (
                            "Chủ trì, phối hợp với Mặt trận Tổ quốc, các tổ chức chính trị – xã hội "
                            if lead
                            else "Phối hợp "
                        )
                        + f"vận động đoàn viên, hội viên, nhân dân chấp hành sự lãnh đạo, chỉ đạo của cấp ủy, "
                        f"chính quyền trong tình huống «{summary}»."
                    ),
                )
            )
        seq = self.next_seq
        return self._emit(
            SituationReported(
                situation_id=situation_id,
                seq=seq,
                occurred_at=at,
                command_id=command_id,
                kind=kind,
                reporting_unit_id=reporting_unit_id,
                locality_id=locality_id,
                summary=summary,
            ),
            SituationPartyCommitteeReported(
                situation_id=situation_id,
                seq=seq + 1,
                occurred_at=at,
                command_id=command_id,
                party_committee=party_committee,
                message_vi=f"Báo cáo khẩn {pc} xin ý kiến chỉ đạo: tình huống {kind_vi} «{summary}».",
            ),
            SituationPartiesInformed(
                situation_id=situation_id,
                seq=seq + 2,
                occurred_at=at,
                command_id=command_id,
                informed=tuple(informed),
                message_vi=f"Thông tin nhanh về tình huống {kind_vi} «{summary}» đến: {names}.",
            ),
            SituationMobilisationAssigned(
                situation_id=situation_id,
                seq=seq + 3,
                occurred_at=at,
                command_id=command_id,
                tasks=tuple(tasks),
            ),
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
        if self._duplicate(command_id):
            return []
        self._check_allowed("escalate")
        assert self.situation_id is not None and self.locality_id is not None
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
        pc = to_party_committee.name_vi or to_party_committee.unit_id
        ubnd = to_peoples_committee.name_vi or to_peoples_committee.unit_id
        return self._emit(
            SituationEscalated(
                situation_id=self.situation_id,
                seq=self.next_seq,
                occurred_at=at,
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
        if self._duplicate(command_id):
            return []
        self._check_allowed("form_working_group")
        esc = self.escalation
        assert esc is not None and self.situation_id is not None
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
            SituationWorkingGroupFormed(
                situation_id=self.situation_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                locality_id=esc.to_locality_id,
                formed_by_unit_id=formed_by_unit_id,
                on_request_of_lower_level=on_request_of_lower_level,
                members=tuple(members),
                note=note.strip(),
            )
        )

    def resolve(self, command_id: str, *, by_unit_id: str, summary: str, at: datetime) -> list[SituationFact]:
        if self._duplicate(command_id):
            return []
        self._check_allowed("resolve")
        assert self.situation_id is not None
        return self._emit(
            SituationResolved(
                situation_id=self.situation_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                by_unit_id=by_unit_id,
                summary=require_text(summary, "summary_required", "Phải nêu kết quả giải quyết tình huống."),
            )
        )

    def close(self, command_id: str, *, closed_by: str, at: datetime) -> list[SituationFact]:
        if self._duplicate(command_id):
            return []
        self._check_allowed("close")
        assert self.situation_id is not None
        return self._emit(
            SituationClosed(
                situation_id=self.situation_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                closed_by=closed_by,
            )
        )

    # ------------------------------------------------------------------ state

    def _when(self, event: SituationFact) -> None:
        if isinstance(event, SituationReported):
            self.situation_id = event.situation_id
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

    def _check_allowed(self, command: str) -> None:
        if self.status is None:
            raise DomainError("not_reported", "Tình huống chưa được báo cáo.")
        if self.status not in ALLOWED[command]:
            raise DomainError(
                "invalid_state",
                f"Không thể {COMMAND_VI[command]} khi tình huống ở trạng thái “{STATUS_VI[self.status]}”.",
                {"command": command, "status": self.status.value},
            )
