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

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

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


class ActorChannel(StrEnum):
    """How a fact's cause reached the workflow."""

    AGENCY_SYSTEM = "agency_system"  # a unit's own signed system
    LINK = "link"  # a person through an action link (notify's pages)
    PUBLIC_PAGE = "public_page"  # a citizen through the public comment page
    OVERRIDE = "override"  # an authorised person waiving missing opinions
    TIMER = "timer"  # time passing (reminders, escalations, closing windows)


class Actor(_Value):
    """Who caused a fact: the system whose signature verified (``system_id``, ``key_id``), the unit it
    acted for, the person named in the request and the channel."""

    channel: ActorChannel
    system_id: str | None = None
    key_id: str | None = None
    unit_id: str | None = None
    person_id: str | None = None


# --------------------------------------------------------------------------- facts


class DecisionFact(Event):
    """Base of decision facts (abstract: no ``event_type``)."""

    topic: ClassVar[str] = DECISION_EVENTS
    subject_field: ClassVar[str] = "decision_id"

    decision_id: str = Field(min_length=1)
    seq: int = Field(ge=1)
    occurred_at: AwareDatetime
    command_id: str | None = None
    actor: Actor | None = Field(
        default=None, description="who caused the fact (absent on facts recorded before signatures)"
    )


class DecisionDrafted(DecisionFact):
    """A draft (dự thảo) was created: version 1 of the document's articles, with the flags that the
    consultation policy uses to decide who must be consulted."""

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
    """The draft was sent out for opinions (gửi lấy ý kiến): consultees, deadline, public-comment window
    and synthesiser come from the versioned consultation policy, never from the drafter. Notify sends
    each consultee its action link."""

    event_type: ClassVar[str] = "decision.consultation_requested"

    draft_version: int = Field(ge=1)
    requirement: ConsultationRequirement


class OpinionRecorded(DecisionFact):
    """A consultee's opinion (ý kiến) on a draft version was recorded: its stance and per-article
    comments, given by the holder or a substitute. A late opinion is flagged (``late``), not refused; a
    new one on the same version supersedes the previous one."""

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
    """The draft was published for public comment (lấy ý kiến nhân dân) because it touches many
    citizens; comments are accepted until ``closes_at``."""

    event_type: ClassVar[str] = "decision.public_comment_opened"

    draft_version: int = Field(ge=1)
    closes_at: AwareDatetime


class PublicCommentRecorded(DecisionFact):
    """A citizen's comment (góp ý của nhân dân) on the draft was recorded and awaits moderation;
    ``author_ref`` is pseudonymous, no personal data."""

    event_type: ClassVar[str] = "decision.public_comment_recorded"

    comment_id: str
    text: str = Field(min_length=1)
    article_id: str | None = None
    author_ref: str | None = Field(default=None, description="pseudonymous reference, no personal data")
    channel: str = "web"
    draft_version: int = Field(ge=1)


class PublicCommentModerated(DecisionFact):
    """A public comment was approved or rejected (kiểm duyệt; a rejection gives a reason). Only approved
    comments go into the synthesis."""

    event_type: ClassVar[str] = "decision.public_comment_moderated"

    comment_id: str
    outcome: ModerationOutcome
    moderator_id: str = Field(min_length=1)
    reason: str = ""


class PublicCommentClosed(DecisionFact):
    """The public comment window closed (its time was up), with the counts of approved, rejected and
    still-pending comments."""

    event_type: ClassVar[str] = "decision.public_comment_closed"

    approved_count: int = Field(ge=0)
    rejected_count: int = Field(ge=0)
    pending_count: int = Field(ge=0)


class ConsultationClosed(DecisionFact):
    """The collection of opinions ended (kết thúc lấy ý kiến), which is allowed only once no consultee
    still within its deadline is missing; ``missing_consultee_unit_ids`` lists those that never
    answered."""

    event_type: ClassVar[str] = "decision.consultation_closed"

    closed_by: str | None = None
    draft_version: int = Field(ge=1)
    missing_consultee_unit_ids: tuple[str, ...] = ()


class ReminderDue(DecisionFact):
    """Reminder (nhắc việc): a consultee has not given its opinion and its deadline is near
    (``reminder_lead_working_days`` working days before). Time-driven, once per consultee and round."""

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
    """The Dân vận board synthesised the opinions (tổng hợp ý kiến) of the consultees and the approved
    public comments on a draft version, to report to the party committee and the People's Committee
    (``report_to_unit_ids``)."""

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
    """The drafting body recorded how it dealt with an opinion: accepted (tiếp thu), explained (giải
    trình) or not accepted, with a reason unless accepted."""

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
    """The document was issued (ban hành) on the given draft version: the consultation rule was met, or
    the missing opinions were waived by an override (``with_exception``). Followed by
    ``decision.coordination_tasks_created``."""

    event_type: ClassVar[str] = "decision.issued"

    requested_by: str
    draft_version: int = Field(ge=1)
    opinion_ids: tuple[str, ...]
    override_ids: tuple[str, ...] = ()
    with_exception: bool = False


class DecisionWithdrawn(DecisionFact):
    """The draft was abandoned (rút dự thảo) with a reason; terminal."""

    event_type: ClassVar[str] = "decision.withdrawn"

    by_person_id: str
    reason: str = Field(min_length=1)


class CoordinationTasksCreated(DecisionFact):
    """After issuance: implementing bodies inform the board, the Front and the organisations
    and implement in coordination with them (357-QĐ/TU §5)."""

    event_type: ClassVar[str] = "decision.coordination_tasks_created"

    tasks: tuple[CoordinationTask, ...] = Field(min_length=1)


# --------------------------------------------------------------------------- requests

MAX_ID = 200
MAX_TITLE = 1_000
MAX_ARTICLES = 1_000
MAX_ARTICLE_TEXT = 100_000
MAX_COMMENT = 20_000
MAX_COMMENTS = 1_000
MAX_SUMMARY = 100_000
"""Limits on each field of a request (characters, items). A request over one is malformed (dead
letter naming the field and the limit). The whole record is bounded separately, by the consumers'
``MAX_MESSAGE_BYTES`` (512 KiB), so every fact a request becomes fits the broker's 1 MiB limit.
Facts carry no such limits: they were accepted as requests first."""


def _bounded_articles(articles: tuple[Article, ...]) -> tuple[Article, ...]:
    for a in articles:
        if len(a.text) > MAX_ARTICLE_TEXT:
            raise ValueError(
                f"điều «{a.article_id[:50]}» dài {len(a.text)} ký tự, vượt giới hạn {MAX_ARTICLE_TEXT} ký tự"
            )
    return articles


def _bounded_comments(comments: tuple[ArticleComment, ...]) -> tuple[ArticleComment, ...]:
    for c in comments:
        if len(c.text) > MAX_COMMENT:
            raise ValueError(f"ý kiến về điều «{c.article_id[:50]}» vượt giới hạn {MAX_COMMENT} ký tự")
    return comments


class DecisionRequest(Event):
    """Base of inbound requests (abstract). ``request_id`` is the idempotency key."""

    topic: ClassVar[str] = DECISION_REQUESTS
    subject_field: ClassVar[str] = "decision_id"

    request_id: str = Field(min_length=1, max_length=MAX_ID)
    decision_id: str = Field(min_length=1, max_length=MAX_ID)
    submitted_at: AwareDatetime


class DraftSubmitted(DecisionRequest):
    """From the drafting body's agency system: create a draft (dự thảo) with its articles and flags.
    Answered with ``decision.drafted`` and ``decision.consultation_requested`` (consultees computed from
    the consultation policy; ``decision.public_comment_opened`` too when required), or
    ``decision.request_rejected``."""

    event_type: ClassVar[str] = "decision.draft_submitted"

    issuer_unit_id: str = Field(min_length=1, max_length=MAX_ID)
    submitted_by: str = Field(min_length=1, max_length=MAX_ID)
    doc_type: DocType
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    flags: tuple[DecisionFlag, ...] = ()
    articles: tuple[Article, ...] = Field(min_length=1, max_length=MAX_ARTICLES)

    _articles_bounded = field_validator("articles")(_bounded_articles)


class RevisionSubmitted(DecisionRequest):
    """From the drafting body's agency system: a new version of the draft's articles (sửa dự thảo).
    Answered with ``decision.revised``, or ``decision.request_rejected`` (e.g. nothing changed)."""

    event_type: ClassVar[str] = "decision.revision_submitted"

    submitted_by: str = Field(min_length=1, max_length=MAX_ID)
    articles: tuple[Article, ...] = Field(min_length=1, max_length=MAX_ARTICLES)

    _articles_bounded = field_validator("articles")(_bounded_articles)


class OpinionSubmitted(DecisionRequest):
    """From notify's action-link pages (signed by notify, with the id of the link on record), or from
    the consultee unit's own signed system (``link_token_id`` empty). A later opinion of the same
    consultee on the same draft version is an amendment: both stay in the history, the latest
    counts. Answered with ``decision.opinion_recorded`` or ``decision.request_rejected``."""

    event_type: ClassVar[str] = "decision.opinion_submitted"

    link_token_id: str | None = Field(default=None, min_length=1)
    consultee_unit_id: str = Field(min_length=1)
    person_id: str = Field(min_length=1)
    acting_as: ActingAs
    stance: Stance
    general_comment: str = Field(default="", max_length=MAX_COMMENT)
    comments: tuple[ArticleComment, ...] = Field(default=(), max_length=MAX_COMMENTS)
    attachments: tuple[AttachmentRef, ...] = Field(default=(), max_length=100)
    draft_version: int = Field(ge=1)

    _comments_bounded = field_validator("comments")(_bounded_comments)


class PublicCommentSubmitted(DecisionRequest):
    """From an agency system's public-comment channel (e.g. a web portal): a citizen's comment (góp ý
    của nhân dân) while the public comment window is open. Answered with
    ``decision.public_comment_recorded`` (awaiting moderation) or ``decision.request_rejected``."""

    event_type: ClassVar[str] = "decision.public_comment_submitted"

    text: str = Field(min_length=1, max_length=MAX_COMMENT)
    article_id: str | None = None
    author_ref: str | None = None
    channel: str = "web"


class PublicCommentModerationSubmitted(DecisionRequest):
    """From the agency system of the moderator: approve or reject a public comment (kiểm duyệt; a
    rejection needs a reason). Answered with ``decision.public_comment_moderated`` or
    ``decision.request_rejected``."""

    event_type: ClassVar[str] = "decision.public_comment_moderation_submitted"

    comment_id: str = Field(min_length=1)
    outcome: ModerationOutcome
    moderator_id: str = Field(min_length=1)
    reason: str = ""


class ConsultationCloseRequested(DecisionRequest):
    """From the drafting body's agency system: end the collection of opinions (kết thúc lấy ý kiến).
    Answered with ``decision.consultation_closed``, or ``decision.request_rejected`` while the public
    comment window is open or a missing consultee is still within its deadline."""

    event_type: ClassVar[str] = "decision.consultation_close_requested"

    requested_by: str = Field(min_length=1)


class SynthesisSubmitted(DecisionRequest):
    """From the Dân vận board's system: its synthesis of the opinions (tổng hợp ý kiến). Answered with
    ``decision.synthesised``, or ``decision.request_rejected`` if the sender is not the synthesiser
    named by the policy, opinions are missing or public comments await moderation."""

    event_type: ClassVar[str] = "decision.synthesis_submitted"

    by_unit_id: str = Field(min_length=1)
    by_person_id: str = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY)


class DispositionSubmitted(DecisionRequest):
    """From the drafting body's agency system: how it dealt with an opinion (tiếp thu, giải trình, không
    tiếp thu; a reason unless accepted). Answered with ``decision.disposition_recorded`` or
    ``decision.request_rejected``."""

    event_type: ClassVar[str] = "decision.disposition_submitted"

    opinion_id: str = Field(min_length=1)
    disposition: Disposition
    reason: str = Field(default="", max_length=MAX_COMMENT)
    by_unit_id: str = Field(min_length=1)


class IssuanceRequested(DecisionRequest):
    """From the drafting body's agency system: ask to issue the document (đề nghị ban hành). Answered
    with ``decision.issued`` and ``decision.coordination_tasks_created`` (for ``implementing_unit_ids``)
    when the rule is met, otherwise ``decision.issuance_refused`` naming every missing item."""

    event_type: ClassVar[str] = "decision.issuance_requested"

    requested_by: str = Field(min_length=1)
    implementing_unit_ids: tuple[str, ...] = ()


class OverrideRequested(DecisionRequest):
    """From the agency system of a person holding an authorised role: waive missing opinions (cho phép
    ban hành ngoại lệ) with a reason. Answered with ``decision.override_recorded`` (reported as an
    exception) or ``decision.request_rejected`` (role not authorised or not held, nothing missing)."""

    event_type: ClassVar[str] = "decision.override_requested"

    by_person_id: str = Field(min_length=1)
    role: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    consultee_unit_ids: tuple[str, ...] = Field(default=(), description="empty = every missing consultee")


class WithdrawalRequested(DecisionRequest):
    """From the drafting body's agency system: abandon the draft (rút dự thảo) with a reason. Answered
    with ``decision.withdrawn`` or ``decision.request_rejected``."""

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
    sender_system_id: str | None = Field(
        default=None, description="the system whose signature verified, if any"
    )
