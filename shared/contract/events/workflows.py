"""Events of the other coordination workflows: complaints, complex situations, coordination plans.

Sources (Vietnamese originals in ``seeds/``):

* **Complaints, denunciations and voter petitions** (đơn thư khiếu nại, tố cáo, kiến nghị của
  cử tri) — Kiên Giang 357-QĐ/TU §6: the government body shares case information with the Dân
  vận board, the party committee's Inspection Committee (Ủy ban Kiểm tra), the Fatherland Front
  and the socio-political organisations at the same level, "nhất là khi có khiếu nại, tố cáo
  đông người"; the result is answered to the citizen *and* published in the mass media; in a
  complex case a lawful decision is followed by persuasion of the people (board + Front +
  organisations with the government), a decision that is not lawful by the board's proposal
  of a review to the competent authority.
* **Complex situations** (tình huống phức tạp) — 357-QĐ/TU §7; Thanh Oai 05-QC/HU Điều 22,
  Điều 23.4: security / public order incidents, disasters, epidemics. The government reports
  to the party committee at once and informs the board, the Front and the organisations; the
  board leads mobilisation; when too serious or beyond authority the higher level's party
  committee and government are asked for direction and may form a working group (đoàn công
  tác) with representatives of the People's Committee, the Dân vận board and the mass
  organisations of that level.
* **Coordination plans** (kế hoạch phối hợp) — Kiên Giang 415-KH/BDVTU-BCSDUBND: content items
  assigned to parties with deadlines; results reported by a date (30-11-2021 in the seed) and
  routed (provincial departments and district People's Committees → Sở Nội vụ; district party
  committees → Phòng Dân vận các cơ quan nhà nước of the provincial board).

Same conventions as :mod:`shared.contract.events.decisions`:

* **facts** on :data:`~shared.contract.topics.WORKFLOW_EVENTS`, one abstract base per
  aggregate (``complaint_id`` / ``situation_id`` / ``plan_id`` is the subject = Kafka key).
  Every fact carries ``seq`` (1-based position in the aggregate's stream), ``occurred_at`` and
  ``command_id`` (the request that caused it; ``None`` for time-driven facts).
* **requests** on :data:`~shared.contract.topics.WORKFLOW_REQUESTS`; ``request_id`` is the
  idempotency key (used as the aggregate's command id).
* a refused request is answered with :class:`WorkflowRequestRejected` (``code`` for programs,
  ``message_vi`` for people).

All models are frozen, version 1; collections are tuples; text for people is Vietnamese.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.contract.envelope import Event
from shared.contract.topics import WORKFLOW_EVENTS, WORKFLOW_REQUESTS

# --------------------------------------------------------------------------- vocabulary


class PartyRole(StrEnum):
    """The role a unit plays in a workflow (kind in the org registry in brackets)."""

    GOVERNMENT = "government"  # cơ quan chính quyền (peoples_committee / department)
    PARTY_COMMITTEE = "party_committee"  # cấp ủy đảng
    PEOPLES_COMMITTEE = "peoples_committee"  # Ủy ban nhân dân
    DAN_VAN_BOARD = "dan_van_board"  # Ban Dân vận (Khối dân vận ở cấp xã)
    INSPECTION_COMMITTEE = "inspection_committee"  # Ủy ban Kiểm tra của cấp ủy
    FATHERLAND_FRONT = "fatherland_front"  # Ủy ban Mặt trận Tổ quốc
    SOCIO_POLITICAL_ORG = "socio_political_org"  # tổ chức chính trị – xã hội (đoàn thể)
    COMPETENT_AUTHORITY = "competent_authority"  # cấp có thẩm quyền


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"  # khiếu nại
    DENUNCIATION = "denunciation"  # tố cáo
    VOTER_PETITION = "voter_petition"  # ý kiến, kiến nghị của cử tri


class ComplaintMilestone(StrEnum):
    """A time-limited step of a complaint."""

    RESOLUTION = "resolution"  # ra quyết định giải quyết
    REVIEW_PROPOSAL = "review_proposal"  # Ban Dân vận đề nghị xem xét lại
    ANSWER_AND_PUBLICATION = "answer_and_publication"  # trả lời công dân và công khai kết quả


class SituationKind(StrEnum):
    SECURITY = "security"  # an ninh chính trị, trật tự an toàn xã hội
    DISASTER = "disaster"  # thiên tai, thảm họa
    EPIDEMIC = "epidemic"  # dịch bệnh


class EscalationReason(StrEnum):
    TOO_COMPLEX = "too_complex"  # quá phức tạp
    TOO_SERIOUS = "too_serious"  # nghiêm trọng
    BEYOND_AUTHORITY = "beyond_authority"  # vượt quá thẩm quyền


# --------------------------------------------------------------------------- value objects


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartyRef(_Value):
    """A concrete unit from the org registry and the role it plays here."""

    unit_id: str = Field(min_length=1)
    role: PartyRole
    kind: str = Field(min_length=1, description="unit kind in the org registry")
    name_vi: str = ""


class ComplaintTimeLimits(_Value):
    """Time limits of a complaint, in Vietnamese working days (ngày làm việc).

    The seeds give **no figures**: 357-QĐ/TU §6 only requires resolution "theo đúng quy định
    của pháp luật về khiếu nại, tố cáo". The defaults are configurable placeholders chosen by
    the platform, to be checked against the law in force (Luật Khiếu nại, Luật Tố cáo, rules on
    voter petitions) by the operator; they are recorded on the complaint so replay is stable.
    """

    resolution_working_days: int = Field(default=30, ge=1)
    mass_resolution_working_days: int = Field(default=45, ge=1, description="khiếu nại, tố cáo đông người")
    review_proposal_working_days: int = Field(default=10, ge=1)
    answer_working_days: int = Field(default=10, ge=1, description="trả lời công dân và công khai kết quả")
    reminder_lead_working_days: int = Field(default=3, ge=0)
    source_vi: str = (
        "Tài liệu nguồn (357-QĐ/TU mục 6) không quy định thời hạn; thời hạn mặc định do hệ thống "
        "cấu hình, cần đối chiếu pháp luật về khiếu nại, tố cáo hiện hành."
    )


class MobilisationTask(_Value):
    """A persuasion / mobilisation assignment (vận động, thuyết phục quần chúng)."""

    task_id: str = Field(min_length=1)
    assignee: PartyRef
    lead: bool = False
    title_vi: str = Field(min_length=1)


class PlanItem(_Value):
    """One content item of a coordination plan (nội dung phối hợp), e.g. ``II.1.4``."""

    item_id: str = Field(min_length=1)
    title_vi: str = Field(min_length=1)
    assignee_unit_ids: tuple[str, ...] = Field(min_length=1)
    due: AwareDatetime

    @model_validator(mode="after")
    def _unique(self) -> PlanItem:
        if len(set(self.assignee_unit_ids)) != len(self.assignee_unit_ids):
            raise ValueError("assignee unit ids must be unique")
        return self


class ReportRoute(_Value):
    """Where a group of reporters sends its result report (routing as data).

    415-KH: "các sở, ban, ngành cấp tỉnh, Ủy ban nhân dân các huyện, thành phố gửi báo cáo về Sở
    Nội vụ; các huyện, thành ủy báo cáo gửi về Phòng Dân vận các cơ quan nhà nước, Ban Dân vận
    Tỉnh ủy".
    """

    route_id: str = Field(min_length=1)
    reporter_unit_ids: tuple[str, ...] = Field(min_length=1)
    to_unit_id: str = Field(min_length=1)
    note_vi: str = ""


# --------------------------------------------------------------------------- fact bases


class WorkflowFact(Event):
    """Common fields of every workflow fact (abstract)."""

    topic: ClassVar[str] = WORKFLOW_EVENTS

    seq: int = Field(ge=1)
    occurred_at: AwareDatetime
    command_id: str | None = None


class ComplaintFact(WorkflowFact):
    subject_field: ClassVar[str] = "complaint_id"
    complaint_id: str = Field(min_length=1)


class SituationFact(WorkflowFact):
    subject_field: ClassVar[str] = "situation_id"
    situation_id: str = Field(min_length=1)


class PlanFact(WorkflowFact):
    subject_field: ClassVar[str] = "plan_id"
    plan_id: str = Field(min_length=1)


# --------------------------------------------------------------------------- complaint facts


class ComplaintReceived(ComplaintFact):
    """The government body received a complaint, denunciation or voter petition (thụ lý)."""

    event_type: ClassVar[str] = "complaint.received"

    kind: ComplaintKind
    receiving_unit_id: str = Field(min_length=1)
    locality_id: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    mass: bool = Field(description="khiếu nại, tố cáo đông người")
    petitioner_count: int = Field(ge=1)
    petitioner_ref: str | None = Field(default=None, description="pseudonymous reference, no personal data")
    limits: ComplaintTimeLimits
    resolution_due: AwareDatetime


class ComplaintCaseInfoShared(ComplaintFact):
    """357-QĐ/TU §6: case information provided to the board, the Inspection Committee, the Front
    and the organisations at the same level, to coordinate (flagged when it is a mass case)."""

    event_type: ClassVar[str] = "complaint.case_info_shared"

    shared_by_unit_id: str = Field(min_length=1)
    shared_with: tuple[PartyRef, ...] = Field(min_length=1)
    mass: bool
    message_vi: str = Field(min_length=1)


class ComplaintResolutionDecided(ComplaintFact):
    """The resolution decision (quyết định giải quyết) and the board's assessment of it."""

    event_type: ClassVar[str] = "complaint.resolution_decided"

    round: int = Field(ge=1)
    decided_by_unit_id: str = Field(min_length=1)
    decision_ref: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    lawful: bool = Field(description="đúng quy định của pháp luật")
    complex: bool = Field(description="vụ việc phức tạp")
    late: bool = False


class ComplaintMobilisationAssigned(ComplaintFact):
    """Lawful decision in a complex case: the board, the Front and the organisations coordinate
    with the government to persuade the people to comply (vận động, thuyết phục)."""

    event_type: ClassVar[str] = "complaint.mobilisation_assigned"

    round: int = Field(ge=1)
    tasks: tuple[MobilisationTask, ...] = Field(min_length=1)


class ComplaintReviewRequired(ComplaintFact):
    """The decision is not lawful: the board at the same level must propose a review."""

    event_type: ClassVar[str] = "complaint.review_required"

    round: int = Field(ge=1)
    board: PartyRef
    proposal_due: AwareDatetime
    message_vi: str = Field(min_length=1)


class ComplaintReviewProposed(ComplaintFact):
    """The board proposed to the competent authority to review and resolve lawfully."""

    event_type: ClassVar[str] = "complaint.review_proposed"

    round: int = Field(ge=1)
    by_unit_id: str = Field(min_length=1)
    to: PartyRef
    reason: str = Field(min_length=1)
    resolution_due: AwareDatetime


class ComplaintCitizenAnswered(ComplaintFact):
    """The resolution result was answered to the citizen (trả lời công dân) by ``channel``, document
    ``answer_ref``; ``late`` when past the answer time limit. Needed, with publication, before closing."""

    event_type: ClassVar[str] = "complaint.citizen_answered"

    by_unit_id: str = Field(min_length=1)
    channel: str = Field(min_length=1)
    answer_ref: str = Field(min_length=1)
    late: bool = False


class ComplaintResultPublished(ComplaintFact):
    """Result made public in the mass media (thông tin công khai trên phương tiện thông tin đại chúng)."""

    event_type: ClassVar[str] = "complaint.result_published"

    channel: str = Field(min_length=1)
    media_unit_id: str | None = None
    publication_ref: str = Field(min_length=1)
    late: bool = False


class ComplaintClosed(ComplaintFact):
    """The complaint was closed (kết thúc vụ việc) under its lawful resolution ``decision_ref``, after
    the result was both answered to the citizen and published."""

    event_type: ClassVar[str] = "complaint.closed"

    closed_by: str = Field(min_length=1)
    decision_ref: str = Field(min_length=1)


class ComplaintWithdrawn(ComplaintFact):
    """The petitioner withdrew the complaint (rút đơn)."""

    event_type: ClassVar[str] = "complaint.withdrawn"

    reason: str = Field(min_length=1)


class ComplaintReminderDue(ComplaintFact):
    """Reminder (nhắc việc): a time-limited milestone (resolution, review proposal, or answer and
    publication) is near its due date; sent to ``notify_unit_ids``, once per milestone and round."""

    event_type: ClassVar[str] = "complaint.reminder_due"

    milestone: ComplaintMilestone
    round: int = Field(ge=1)
    due: AwareDatetime
    notify_unit_ids: tuple[str, ...]
    message_vi: str = Field(min_length=1)


class ComplaintOverdue(ComplaintFact):
    """A time-limited milestone (resolution, review proposal, or answer and publication) passed its due
    date undone (quá hạn); sent to ``notify_unit_ids``, once per milestone and round."""

    event_type: ClassVar[str] = "complaint.overdue"

    milestone: ComplaintMilestone
    round: int = Field(ge=1)
    due: AwareDatetime
    notify_unit_ids: tuple[str, ...]
    message_vi: str = Field(min_length=1)


# --------------------------------------------------------------------------- situation facts


class SituationReported(SituationFact):
    """The government reported a complex situation."""

    event_type: ClassVar[str] = "situation.reported"

    kind: SituationKind
    reporting_unit_id: str = Field(min_length=1)
    locality_id: str = Field(min_length=1)
    summary: str = Field(min_length=1)


class SituationPartyCommitteeReported(SituationFact):
    """Reported at once to the party committee at the same level, asking for direction."""

    event_type: ClassVar[str] = "situation.party_committee_reported"

    party_committee: PartyRef
    message_vi: str = Field(min_length=1)


class SituationPartiesInformed(SituationFact):
    """Informed quickly: the Dân vận board, the Front and the organisations at the same level."""

    event_type: ClassVar[str] = "situation.parties_informed"

    informed: tuple[PartyRef, ...] = Field(min_length=2)
    message_vi: str = Field(min_length=1)


class SituationMobilisationAssigned(SituationFact):
    """The board leads, with the Front and the organisations, mobilising members and people."""

    event_type: ClassVar[str] = "situation.mobilisation_assigned"

    tasks: tuple[MobilisationTask, ...] = Field(min_length=1)


class SituationEscalated(SituationFact):
    """Too complex / serious / beyond authority: reported to the higher level for direction.
    Always names the higher level's party committee and People's Committee."""

    event_type: ClassVar[str] = "situation.escalated"

    reason: EscalationReason
    reason_vi: str = Field(min_length=1)
    from_locality_id: str = Field(min_length=1)
    to_locality_id: str = Field(min_length=1)
    to_party_committee: PartyRef
    to_peoples_committee: PartyRef
    requested_by: str = Field(min_length=1)
    message_vi: str = Field(min_length=1)


class SituationWorkingGroupFormed(SituationFact):
    """The higher level formed a working group to help the locality (đoàn công tác)."""

    event_type: ClassVar[str] = "situation.working_group_formed"

    locality_id: str = Field(min_length=1, description="the higher level forming the group")
    formed_by_unit_id: str = Field(min_length=1)
    on_request_of_lower_level: bool
    members: tuple[PartyRef, ...] = Field(min_length=3)
    note: str = ""


class SituationResolved(SituationFact):
    """The situation was brought under control (ổn định tình hình), with a summary of the outcome; it
    can then be closed."""

    event_type: ClassVar[str] = "situation.resolved"

    by_unit_id: str = Field(min_length=1)
    summary: str = Field(min_length=1)


class SituationClosed(SituationFact):
    """A resolved situation was closed (kết thúc)."""

    event_type: ClassVar[str] = "situation.closed"

    closed_by: str = Field(min_length=1)


# --------------------------------------------------------------------------- plan facts


class PlanAdopted(PlanFact):
    """A coordination plan was adopted: its items (each assigned to parties with a due date),
    its report routing and its report deadline."""

    event_type: ClassVar[str] = "plan.adopted"

    number: str = Field(min_length=1, description="e.g. 415-KH/BDVTU-BCSDUBND")
    title: str = Field(min_length=1)
    issuer_unit_ids: tuple[str, ...] = Field(min_length=1)
    items: tuple[PlanItem, ...] = Field(min_length=1)
    routes: tuple[ReportRoute, ...] = Field(min_length=1)
    report_due: AwareDatetime
    reminder_lead_working_days: int = Field(default=3, ge=0)


class PlanTaskStarted(PlanFact):
    """An assignee unit started work on a content item of the plan (bắt đầu thực hiện)."""

    event_type: ClassVar[str] = "plan.task_started"

    item_id: str = Field(min_length=1)
    unit_id: str = Field(min_length=1)


class PlanTaskCompleted(PlanFact):
    """An assignee unit completed a content item (hoàn thành) with its result; ``late`` when after the
    item's due date."""

    event_type: ClassVar[str] = "plan.task_completed"

    item_id: str = Field(min_length=1)
    unit_id: str = Field(min_length=1)
    result_summary: str = Field(min_length=1)
    late: bool = False


class PlanTaskReminderDue(PlanFact):
    """Reminder (nhắc việc): an assignee's content item is not done and its due date is near. Once per
    task."""

    event_type: ClassVar[str] = "plan.task_reminder_due"

    item_id: str = Field(min_length=1)
    unit_id: str = Field(min_length=1)
    due: AwareDatetime
    message_vi: str = Field(min_length=1)


class PlanTaskOverdue(PlanFact):
    """An assignee's content item passed its due date undone (quá hạn); it may still be completed, late.
    Once per task."""

    event_type: ClassVar[str] = "plan.task_overdue"

    item_id: str = Field(min_length=1)
    unit_id: str = Field(min_length=1)
    due: AwareDatetime
    message_vi: str = Field(min_length=1)


class PlanResultReported(PlanFact):
    """A reporter submitted its result report to the unit its route names."""

    event_type: ClassVar[str] = "plan.result_reported"

    reporter_unit_id: str = Field(min_length=1)
    to_unit_id: str = Field(min_length=1)
    route_id: str = Field(min_length=1)
    report_ref: str = Field(min_length=1)
    summary: str = ""
    late: bool = False


class PlanReportReminderDue(PlanFact):
    """Reminder (nhắc gửi báo cáo): a reporter has not yet sent its result report and the report
    deadline is near; ``to_unit_id`` is where its route sends it."""

    event_type: ClassVar[str] = "plan.report_reminder_due"

    reporter_unit_id: str = Field(min_length=1)
    to_unit_id: str = Field(min_length=1)
    due: AwareDatetime
    message_vi: str = Field(min_length=1)


class PlanReportOverdue(PlanFact):
    """A reporter missed the plan's report deadline (quá hạn gửi báo cáo) for the unit its route names
    (``to_unit_id``); it may still report, late."""

    event_type: ClassVar[str] = "plan.report_overdue"

    reporter_unit_id: str = Field(min_length=1)
    to_unit_id: str = Field(min_length=1)
    due: AwareDatetime
    message_vi: str = Field(min_length=1)


class PlanCompleted(PlanFact):
    """Every item done by every assignee and every routed report submitted."""

    event_type: ClassVar[str] = "plan.completed"

    late_task_count: int = Field(ge=0)
    late_report_count: int = Field(ge=0)


# --------------------------------------------------------------------------- requests


class WorkflowRequest(Event):
    """Common fields of inbound requests (abstract). ``request_id`` is the idempotency key."""

    topic: ClassVar[str] = WORKFLOW_REQUESTS

    request_id: str = Field(min_length=1)
    submitted_at: AwareDatetime


class ComplaintRequest(WorkflowRequest):
    subject_field: ClassVar[str] = "complaint_id"
    complaint_id: str = Field(min_length=1)


class SituationRequest(WorkflowRequest):
    subject_field: ClassVar[str] = "situation_id"
    situation_id: str = Field(min_length=1)


class PlanRequest(WorkflowRequest):
    subject_field: ClassVar[str] = "plan_id"
    plan_id: str = Field(min_length=1)


class ComplaintReceiptSubmitted(ComplaintRequest):
    """From the government body's case system: a complaint was received (thụ lý)."""

    event_type: ClassVar[str] = "complaint.receipt_submitted"

    kind: ComplaintKind
    receiving_unit_id: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    mass: bool = False
    petitioner_count: int = Field(default=1, ge=1)
    petitioner_ref: str | None = None


class ComplaintResolutionSubmitted(ComplaintRequest):
    """From the case system of the deciding body: the resolution decision (quyết định giải quyết),
    assessed lawful or not and complex or not. Answered with ``complaint.resolution_decided`` plus
    ``complaint.mobilisation_assigned`` (lawful and complex) or ``complaint.review_required`` (not
    lawful), or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "complaint.resolution_submitted"

    decided_by_unit_id: str = Field(min_length=1)
    decision_ref: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    lawful: bool
    complex: bool = False


class ComplaintReviewProposalSubmitted(ComplaintRequest):
    """From the Dân vận board's system: it proposes that the competent authority review a decision that
    is not lawful (đề nghị xem xét lại). Answered with ``complaint.review_proposed`` or
    ``workflow.request_rejected`` (e.g. not the board at the same level)."""

    event_type: ClassVar[str] = "complaint.review_proposal_submitted"

    by_unit_id: str = Field(min_length=1, description="the Dân vận board at the same level")
    to_unit_id: str = Field(min_length=1, description="the competent authority")
    reason: str = Field(min_length=1)


class ComplaintAnswerSubmitted(ComplaintRequest):
    """From the government body's case system: the result was answered to the citizen (trả lời công
    dân). Answered with ``complaint.citizen_answered`` or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "complaint.answer_submitted"

    by_unit_id: str = Field(min_length=1)
    channel: str = Field(default="văn bản", min_length=1)
    answer_ref: str = Field(min_length=1)


class ComplaintPublicationSubmitted(ComplaintRequest):
    """From the government body's case system: the result was published in the mass media (thông tin
    công khai). Answered with ``complaint.result_published`` or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "complaint.publication_submitted"

    channel: str = Field(min_length=1)
    media_unit_id: str | None = None
    publication_ref: str = Field(min_length=1)


class ComplaintCloseRequested(ComplaintRequest):
    """From the government body's case system: close the case (kết thúc vụ việc). Answered with
    ``complaint.closed``, or ``workflow.request_rejected`` naming what is missing until the result is
    both answered to the citizen and published."""

    event_type: ClassVar[str] = "complaint.close_requested"

    requested_by: str = Field(min_length=1)


class ComplaintWithdrawalSubmitted(ComplaintRequest):
    """From the government body's case system: the petitioner withdrew the complaint (rút đơn) before a
    lawful resolution. Answered with ``complaint.withdrawn`` or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "complaint.withdrawal_submitted"

    reason: str = Field(min_length=1)


class SituationReportSubmitted(SituationRequest):
    """From the government's agency system: report a complex situation (báo cáo tình huống phức tạp).
    Answered at once with ``situation.reported``, ``situation.party_committee_reported``,
    ``situation.parties_informed`` and ``situation.mobilisation_assigned``, or
    ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "situation.report_submitted"

    kind: SituationKind
    reporting_unit_id: str = Field(min_length=1)
    summary: str = Field(min_length=1)


class SituationEscalationSubmitted(SituationRequest):
    """From the local level's agency system: the situation is too complex, too serious or beyond
    authority, so ask the higher level for direction (báo cáo cấp trên). Answered with
    ``situation.escalated`` or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "situation.escalation_submitted"

    reason: EscalationReason
    reason_vi: str = Field(min_length=1)
    requested_by: str = Field(min_length=1)


class SituationWorkingGroupSubmitted(SituationRequest):
    """From the system of the higher level's party committee or People's Committee, after escalation:
    form a working group (đoàn công tác). Answered with ``situation.working_group_formed`` or
    ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "situation.working_group_submitted"

    formed_by_unit_id: str = Field(min_length=1)
    on_request_of_lower_level: bool = True
    member_unit_ids: tuple[str, ...] = Field(
        default=(),
        description="empty = People's Committee, board, Front and every organisation of that level",
    )
    note: str = ""


class SituationResolutionSubmitted(SituationRequest):
    """From the government's agency system: the situation is under control (ổn định tình hình). Answered
    with ``situation.resolved`` or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "situation.resolution_submitted"

    by_unit_id: str = Field(min_length=1)
    summary: str = Field(min_length=1)


class SituationCloseRequested(SituationRequest):
    """From the government's agency system: close a resolved situation. Answered with
    ``situation.closed`` or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "situation.close_requested"

    requested_by: str = Field(min_length=1)


class PlanAdoptionSubmitted(PlanRequest):
    """From the issuers' agency system: record an adopted coordination plan (kế hoạch phối hợp) with its
    items, report routing and report deadline. Answered with ``plan.adopted`` or
    ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "plan.adoption_submitted"

    number: str = Field(min_length=1)
    title: str = Field(min_length=1)
    issuer_unit_ids: tuple[str, ...] = Field(min_length=1)
    items: tuple[PlanItem, ...] = Field(min_length=1)
    routes: tuple[ReportRoute, ...] = Field(min_length=1)
    report_due: AwareDatetime


class PlanTaskStartSubmitted(PlanRequest):
    """From an assignee unit's agency system: it started a content item of the plan. Answered with
    ``plan.task_started`` or ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "plan.task_start_submitted"

    item_id: str = Field(min_length=1)
    unit_id: str = Field(min_length=1)


class PlanTaskCompletionSubmitted(PlanRequest):
    """From an assignee unit's agency system: it completed a content item, with its result. Answered
    with ``plan.task_completed`` (and ``plan.completed`` if it was the last thing outstanding) or
    ``workflow.request_rejected``."""

    event_type: ClassVar[str] = "plan.task_completion_submitted"

    item_id: str = Field(min_length=1)
    unit_id: str = Field(min_length=1)
    result_summary: str = Field(min_length=1)


class PlanReportSubmitted(PlanRequest):
    """From a reporter unit's agency system: its result report (báo cáo kết quả). Answered with
    ``plan.result_reported`` (and ``plan.completed`` if it was the last thing outstanding), or
    ``workflow.request_rejected`` if the unit is not a reporter, the report is misrouted or already
    sent."""

    event_type: ClassVar[str] = "plan.report_submitted"

    reporter_unit_id: str = Field(min_length=1)
    to_unit_id: str | None = Field(default=None, description="checked against the plan's routing if given")
    report_ref: str = Field(min_length=1)
    summary: str = ""


class WorkflowRequestRejected(Event):
    """A workflow request was refused (unknown aggregate or unit, wrong state, rule unmet…).
    Not part of the aggregate's history (no ``seq``): the aggregate is unchanged."""

    event_type: ClassVar[str] = "workflow.request_rejected"
    topic: ClassVar[str] = WORKFLOW_EVENTS
    subject_field: ClassVar[str] = "aggregate_id"

    aggregate_kind: Literal["complaint", "situation", "plan"]
    aggregate_id: str = Field(min_length=1)
    request_id: str = Field(min_length=1)
    request_type: str = Field(min_length=1)
    code: str = Field(min_length=1)
    message_vi: str = Field(min_length=1)
    occurred_at: AwareDatetime


COMPLAINT_FACTS: tuple[type[ComplaintFact], ...] = (
    ComplaintReceived,
    ComplaintCaseInfoShared,
    ComplaintResolutionDecided,
    ComplaintMobilisationAssigned,
    ComplaintReviewRequired,
    ComplaintReviewProposed,
    ComplaintCitizenAnswered,
    ComplaintResultPublished,
    ComplaintClosed,
    ComplaintWithdrawn,
    ComplaintReminderDue,
    ComplaintOverdue,
)
SITUATION_FACTS: tuple[type[SituationFact], ...] = (
    SituationReported,
    SituationPartyCommitteeReported,
    SituationPartiesInformed,
    SituationMobilisationAssigned,
    SituationEscalated,
    SituationWorkingGroupFormed,
    SituationResolved,
    SituationClosed,
)
PLAN_FACTS: tuple[type[PlanFact], ...] = (
    PlanAdopted,
    PlanTaskStarted,
    PlanTaskCompleted,
    PlanTaskReminderDue,
    PlanTaskOverdue,
    PlanResultReported,
    PlanReportReminderDue,
    PlanReportOverdue,
    PlanCompleted,
)

WORKFLOW_FACTS: tuple[type[Event], ...] = (
    *COMPLAINT_FACTS,
    *SITUATION_FACTS,
    *PLAN_FACTS,
    WorkflowRequestRejected,
)

WORKFLOW_REQUEST_TYPES: tuple[type[WorkflowRequest], ...] = (
    ComplaintReceiptSubmitted,
    ComplaintResolutionSubmitted,
    ComplaintReviewProposalSubmitted,
    ComplaintAnswerSubmitted,
    ComplaintPublicationSubmitted,
    ComplaintCloseRequested,
    ComplaintWithdrawalSubmitted,
    SituationReportSubmitted,
    SituationEscalationSubmitted,
    SituationWorkingGroupSubmitted,
    SituationResolutionSubmitted,
    SituationCloseRequested,
    PlanAdoptionSubmitted,
    PlanTaskStartSubmitted,
    PlanTaskCompletionSubmitted,
    PlanReportSubmitted,
)
