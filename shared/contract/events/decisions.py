"""Events of the decision / pre-issuance consultation workflow (lấy ý kiến trước khi ban hành).

The rule (Kiên Giang 357-QĐ/TU §5; Thanh Oai 05-QC/HU Điều 16–21): resolutions, directives
and decisions on dân vận work or touching the people's rights must obtain the opinions of the
Dân vận board (Ban Dân vận), the Fatherland Front (Mặt trận Tổ quốc) and the socio-political
organisations at the same level before issuance; documents touching many citizens are also
published for public comment; the board synthesises and reports; after issuance the
implementing bodies inform the board, the Front and the organisations.

Two families live here:

* **facts** on :data:`~shared.contract.topics.DECISION_EVENTS` — what happened to a
  decision, emitted by its aggregate. Every fact carries ``decision_id`` (the subject /
  partition key), ``seq`` (1-based position in the decision's stream, for ordering and
  optimistic concurrency), ``occurred_at`` and ``command_id`` (the request that caused it,
  ``None`` for time-driven facts such as reminders) so replay restores idempotency.
* **requests** on :data:`~shared.contract.topics.DECISION_REQUESTS` — what someone asks
  for; each has a ``request_id`` used as the aggregate's command id, so a redelivered
  request is processed at most once.

All models are frozen; collections are tuples. Text meant for people is Vietnamese.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.contract.envelope import Event
from shared.contract.topics import DECISION_EVENTS, DECISION_REQUESTS

# --------------------------------------------------------------------------- vocabulary


class DocType(StrEnum):
    """Kind of document being drafted."""

    RESOLUTION = "resolution"  # nghị quyết
    DIRECTIVE = "directive"  # chỉ thị
    DECISION = "decision"  # quyết định
    REGULATION = "regulation"  # quy định, quy chế
    LEGAL_NORMATIVE_DOCUMENT = "legal_normative_document"  # văn bản quy phạm pháp luật
    PLAN = "plan"  # kế hoạch, chương trình
    SCHEME = "scheme"  # đề án


class DecisionFlag(StrEnum):
    """Facts about the draft that the consultation policy uses to decide who must be consulted."""

    ON_DAN_VAN_WORK = "on_dan_van_work"  # về công tác dân vận
    AFFECTS_PEOPLE_RIGHTS = "affects_people_rights"  # liên quan đến quyền, lợi ích của nhân dân
    AFFECTS_MANY_CITIZENS = "affects_many_citizens"  # liên quan trực tiếp đến đông đảo công dân


class Stance(StrEnum):
    AGREE = "agree"  # nhất trí
    AGREE_WITH_AMENDMENTS = "agree_with_amendments"  # nhất trí, có ý kiến sửa đổi
    DISAGREE = "disagree"  # không nhất trí


class ActingAs(StrEnum):
    HOLDER = "holder"  # người giữ chức vụ
    SUBSTITUTE = "substitute"  # cấp phó / người được ủy quyền khi người giữ chức vụ vắng


class Disposition(StrEnum):
    """How the drafting body dealt with an opinion (tiếp thu, giải trình)."""

    ACCEPTED = "accepted"  # tiếp thu
    EXPLAINED = "explained"  # giải trình
    NOT_ACCEPTED = "not_accepted"  # không tiếp thu (phải nêu lý do)


class ModerationOutcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class CoordinationTaskKind(StrEnum):
    INFORM = "inform"  # cung cấp thông tin cho Ban Dân vận, MTTQ, các đoàn thể
    IMPLEMENT = "implement"  # tổ chức thực hiện, phối hợp vận động nhân dân


# --------------------------------------------------------------------------- value objects


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Article(_Value):
    """One article (điều / khoản) of a draft; opinions and revisions are tracked per article."""

    article_id: str = Field(min_length=1)
    text: str


class ConsulteeSpec(_Value):
    """A unit whose opinion is required, and its kind in the org registry
    (``dan_van_board``, ``dan_van_bloc``, ``fatherland_front``, ``socio_political_org``,
    ``mass_association`` …)."""

    unit_id: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    name_vi: str = ""


class ConsultationRequirement(_Value):
    """Who must be consulted and how, as decided by the versioned consultation policy.

    Supplied by the application layer from the org registry's policy — never by the
    drafter — so the drafter cannot leave out an inconvenient consultee.
    """

    consultees: tuple[ConsulteeSpec, ...] = Field(min_length=1)
    deadline: AwareDatetime
    public_comment_required: bool = False
    public_comment_closes_at: AwareDatetime | None = None
    override_roles: tuple[str, ...] = ()
    synthesiser_unit_id: str = Field(min_length=1, description="the Dân vận board / bloc")
    escalation_unit_id: str = Field(min_length=1, description="party committee at the same level")
    report_to_unit_ids: tuple[str, ...] = Field(
        default=(), description="party committee and People's Committee receiving the synthesis"
    )
    citations: tuple[str, ...] = ()
    policy_id: str = Field(min_length=1)
    policy_version: str = Field(min_length=1)
    reminder_lead_working_days: int = Field(default=2, ge=0)
    escalation_level2_after_working_days: int = Field(default=3, ge=1)
    dispositions_required: bool = False

    @model_validator(mode="after")
    def _check(self) -> ConsultationRequirement:
        ids = [c.unit_id for c in self.consultees]
        if len(ids) != len(set(ids)):
            raise ValueError("consultee unit ids must be unique")
        if self.public_comment_required and self.public_comment_closes_at is None:
            raise ValueError("public_comment_closes_at is required when public comment is required")
        return self


class ArticleComment(_Value):
    article_id: str = Field(min_length=1)
    text: str = Field(min_length=1)


class AttachmentRef(_Value):
    """An attachment stored elsewhere, bound by its content hash."""

    uri: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str = ""


class MissingItem(_Value):
    """One reason issuance is refused; ``unit_id`` set when it concerns a consultee."""

    code: str
    message_vi: str
    unit_id: str | None = None


class CoordinationTask(_Value):
    task_id: str
    kind: CoordinationTaskKind
    assignee_unit_id: str
    counterpart_unit_id: str | None = None
    title_vi: str


# --------------------------------------------------------------------------- facts


class DecisionFact(Event):
    """Base of decision facts (abstract: no ``event_type``)."""

    topic: ClassVar[str] = DECISION_EVENTS
    subject_field: ClassVar[str] = "decision_id"

    decision_id: str = Field(min_length=1)
    seq: int = Field(ge=1)
    occurred_at: AwareDatetime
    command_id: str | None = None


class DecisionDrafted(DecisionFact):
    event_type: ClassVar[str] = "decision.drafted"

    issuer_unit_id: str = Field(min_length=1)
    doc_type: DocType
    title: str = Field(min_length=1)
    flags: tuple[DecisionFlag, ...] = ()
    version: Literal[1] = 1
    articles: tuple[Article, ...] = Field(min_length=1)


class DecisionRevised(DecisionFact):
    """A new draft version. Consultees whose commented articles changed must give their
    opinion again (``reopened_consultee_unit_ids``); the others' opinions carry over."""

    event_type: ClassVar[str] = "decision.revised"

    version: int = Field(ge=2)
    articles: tuple[Article, ...] = Field(min_length=1)
    changed_article_ids: tuple[str, ...]
    reopened_consultee_unit_ids: tuple[str, ...] = ()
    carried_over_consultee_unit_ids: tuple[str, ...] = ()
    reconsultation_deadline: AwareDatetime | None = None
    synthesis_invalidated: bool = False
    invalidated_override_ids: tuple[str, ...] = ()


class ConsultationRequested(DecisionFact):
    event_type: ClassVar[str] = "decision.consultation_requested"

    draft_version: int = Field(ge=1)
    requirement: ConsultationRequirement


class OpinionRecorded(DecisionFact):
    event_type: ClassVar[str] = "decision.opinion_recorded"

    opinion_id: str
    consultee_unit_id: str
    given_by: str = Field(min_length=1, description="person id")
    acting_as: ActingAs
    stance: Stance
    general_comment: str = ""
    comments: tuple[ArticleComment, ...] = ()
    attachments: tuple[AttachmentRef, ...] = ()
    draft_version: int = Field(ge=1)
    late: bool = False
    deadline: AwareDatetime
    supersedes_opinion_id: str | None = None
    link_token_id: str | None = None


class PublicCommentOpened(DecisionFact):
    event_type: ClassVar[str] = "decision.public_comment_opened"

    draft_version: int = Field(ge=1)
    closes_at: AwareDatetime


class PublicCommentRecorded(DecisionFact):
    event_type: ClassVar[str] = "decision.public_comment_recorded"

    comment_id: str
    text: str = Field(min_length=1)
    article_id: str | None = None
    author_ref: str | None = Field(default=None, description="pseudonymous reference, no personal data")
    channel: str = "web"
    draft_version: int = Field(ge=1)


class PublicCommentModerated(DecisionFact):
    event_type: ClassVar[str] = "decision.public_comment_moderated"

    comment_id: str
    outcome: ModerationOutcome
    moderator_id: str = Field(min_length=1)
    reason: str = ""


class PublicCommentClosed(DecisionFact):
    event_type: ClassVar[str] = "decision.public_comment_closed"

    approved_count: int = Field(ge=0)
    rejected_count: int = Field(ge=0)
    pending_count: int = Field(ge=0)


class ConsultationClosed(DecisionFact):
    event_type: ClassVar[str] = "decision.consultation_closed"

    closed_by: str | None = None
    draft_version: int = Field(ge=1)
    missing_consultee_unit_ids: tuple[str, ...] = ()


class ReminderDue(DecisionFact):
    event_type: ClassVar[str] = "decision.reminder_due"

    consultee_unit_id: str
    round: int = Field(ge=1)
    deadline: AwareDatetime
    message_vi: str


class Escalated(DecisionFact):
    """An overdue opinion escalated: level 1 to the head of the consultee unit, level 2 to
    the standing committee (Ban Thường vụ) of the party committee at the same level."""

    event_type: ClassVar[str] = "decision.escalated"

    consultee_unit_id: str
    round: int = Field(ge=1)
    level: Literal[1, 2]
    deadline: AwareDatetime
    escalate_to_unit_id: str
    escalate_to_kind: str
    escalate_to_role: str
    message_vi: str


class DecisionSynthesised(DecisionFact):
    event_type: ClassVar[str] = "decision.synthesised"

    by_unit_id: str
    by_person_id: str | None = None
    summary: str = Field(min_length=1)
    draft_version: int = Field(ge=1)
    opinion_ids: tuple[str, ...]
    public_comment_ids: tuple[str, ...] = ()
    override_ids: tuple[str, ...] = ()
    report_to_unit_ids: tuple[str, ...] = ()


class DispositionRecorded(DecisionFact):
    event_type: ClassVar[str] = "decision.disposition_recorded"

    opinion_id: str
    disposition: Disposition
    reason: str = ""
    by_unit_id: str


class IssuanceRefused(DecisionFact):
    """Issuance was asked for while the rule is unmet. The state does not change; the
    refusal names every missing item so the drafter knows exactly what to do."""

    event_type: ClassVar[str] = "decision.issuance_refused"

    requested_by: str
    missing: tuple[MissingItem, ...] = Field(min_length=1)
    missing_consultee_unit_ids: tuple[str, ...] = ()


class OverrideRecorded(DecisionFact):
    """An authorised person waived missing opinions. Always reported as an exception."""

    event_type: ClassVar[str] = "decision.override_recorded"

    override_id: str
    by_person_id: str
    role: str
    reason: str = Field(min_length=1)
    consultee_unit_ids: tuple[str, ...] = Field(min_length=1)
    draft_version: int = Field(ge=1)
    exception: Literal[True] = True


class DecisionIssued(DecisionFact):
    event_type: ClassVar[str] = "decision.issued"

    requested_by: str
    draft_version: int = Field(ge=1)
    opinion_ids: tuple[str, ...]
    override_ids: tuple[str, ...] = ()
    with_exception: bool = False


class DecisionWithdrawn(DecisionFact):
    event_type: ClassVar[str] = "decision.withdrawn"

    by_person_id: str
    reason: str = Field(min_length=1)


class CoordinationTasksCreated(DecisionFact):
    """After issuance: implementing bodies inform the board, the Front and the organisations
    and implement in coordination with them (357-QĐ/TU §5)."""

    event_type: ClassVar[str] = "decision.coordination_tasks_created"

    tasks: tuple[CoordinationTask, ...] = Field(min_length=1)


# --------------------------------------------------------------------------- requests


class DecisionRequest(Event):
    """Base of inbound requests (abstract). ``request_id`` is the idempotency key."""

    topic: ClassVar[str] = DECISION_REQUESTS
    subject_field: ClassVar[str] = "decision_id"

    request_id: str = Field(min_length=1)
    decision_id: str = Field(min_length=1)
    submitted_at: AwareDatetime


class DraftSubmitted(DecisionRequest):
    event_type: ClassVar[str] = "decision.draft_submitted"

    issuer_unit_id: str = Field(min_length=1)
    submitted_by: str = Field(min_length=1)
    doc_type: DocType
    title: str = Field(min_length=1)
    flags: tuple[DecisionFlag, ...] = ()
    articles: tuple[Article, ...] = Field(min_length=1)


class RevisionSubmitted(DecisionRequest):
    event_type: ClassVar[str] = "decision.revision_submitted"

    submitted_by: str = Field(min_length=1)
    articles: tuple[Article, ...] = Field(min_length=1)


class OpinionSubmitted(DecisionRequest):
    """From notify's action-link pages."""

    event_type: ClassVar[str] = "decision.opinion_submitted"

    link_token_id: str = Field(min_length=1)
    consultee_unit_id: str = Field(min_length=1)
    person_id: str = Field(min_length=1)
    acting_as: ActingAs
    stance: Stance
    general_comment: str = ""
    comments: tuple[ArticleComment, ...] = ()
    attachments: tuple[AttachmentRef, ...] = ()
    draft_version: int = Field(ge=1)


class PublicCommentSubmitted(DecisionRequest):
    event_type: ClassVar[str] = "decision.public_comment_submitted"

    text: str = Field(min_length=1)
    article_id: str | None = None
    author_ref: str | None = None
    channel: str = "web"


class PublicCommentModerationSubmitted(DecisionRequest):
    event_type: ClassVar[str] = "decision.public_comment_moderation_submitted"

    comment_id: str = Field(min_length=1)
    outcome: ModerationOutcome
    moderator_id: str = Field(min_length=1)
    reason: str = ""


class ConsultationCloseRequested(DecisionRequest):
    event_type: ClassVar[str] = "decision.consultation_close_requested"

    requested_by: str = Field(min_length=1)


class SynthesisSubmitted(DecisionRequest):
    event_type: ClassVar[str] = "decision.synthesis_submitted"

    by_unit_id: str = Field(min_length=1)
    by_person_id: str = Field(min_length=1)
    summary: str = Field(min_length=1)


class DispositionSubmitted(DecisionRequest):
    event_type: ClassVar[str] = "decision.disposition_submitted"

    opinion_id: str = Field(min_length=1)
    disposition: Disposition
    reason: str = ""
    by_unit_id: str = Field(min_length=1)


class IssuanceRequested(DecisionRequest):
    event_type: ClassVar[str] = "decision.issuance_requested"

    requested_by: str = Field(min_length=1)
    implementing_unit_ids: tuple[str, ...] = ()


class OverrideRequested(DecisionRequest):
    event_type: ClassVar[str] = "decision.override_requested"

    by_person_id: str = Field(min_length=1)
    role: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    consultee_unit_ids: tuple[str, ...] = Field(default=(), description="empty = every missing consultee")


class WithdrawalRequested(DecisionRequest):
    event_type: ClassVar[str] = "decision.withdrawal_requested"

    by_person_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)


DECISION_FACTS: tuple[type[DecisionFact], ...] = (
    DecisionDrafted,
    DecisionRevised,
    ConsultationRequested,
    OpinionRecorded,
    PublicCommentOpened,
    PublicCommentRecorded,
    PublicCommentModerated,
    PublicCommentClosed,
    ConsultationClosed,
    ReminderDue,
    Escalated,
    DecisionSynthesised,
    DispositionRecorded,
    IssuanceRefused,
    OverrideRecorded,
    DecisionIssued,
    DecisionWithdrawn,
    CoordinationTasksCreated,
)

DECISION_REQUEST_TYPES: tuple[type[DecisionRequest], ...] = (
    DraftSubmitted,
    RevisionSubmitted,
    OpinionSubmitted,
    PublicCommentSubmitted,
    PublicCommentModerationSubmitted,
    ConsultationCloseRequested,
    SynthesisSubmitted,
    DispositionSubmitted,
    IssuanceRequested,
    OverrideRequested,
    WithdrawalRequested,
)


class RequestRejected(Event):
    """A request about a decision was refused (unknown decision or unit, wrong state, not
    allowed, …). Agency systems and the notify pages read ``message_vi``; programs use
    ``code``. Not part of the decision's own history (no ``seq``): the decision is unchanged."""

    event_type: ClassVar[str] = "decision.request_rejected"
    topic: ClassVar[str] = DECISION_EVENTS
    subject_field: ClassVar[str] = "decision_id"

    decision_id: str = Field(min_length=1)
    request_id: str = Field(min_length=1)
    request_type: str = Field(min_length=1)
    code: str = Field(min_length=1)
    message_vi: str = Field(min_length=1)
    occurred_at: AwareDatetime
