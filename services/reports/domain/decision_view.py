"""The decision read model (hồ sơ lấy ý kiến của một dự thảo), built from decision facts.

Why this shape: Kafka may deliver a fact twice (a redelivery after a crash, the outbox
relay re-publishing) and an operator may replay a topic. So the stored *source* of a
decision's view is its facts keyed by ``seq`` (plus refused requests keyed by
``request_id``), and the view is always recomputed by folding the facts in ``seq`` order.
Recording a fact whose ``seq`` is already there changes nothing, and the result does not
depend on arrival order — the same view however the facts arrive, duplicated or not
(property-tested). Gaps in ``seq`` are shown, not hidden (``missing_seqs``).

Everything here is pure: no I/O, no clock. Text meant for people is Vietnamese.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.reports.domain.periods import format_vn
from shared.contract.envelope import event_class
from shared.contract.events.decisions import (
    ActingAs,
    ConsultationClosed,
    ConsultationRequested,
    CoordinationTasksCreated,
    DecisionDrafted,
    DecisionFact,
    DecisionIssued,
    DecisionRevised,
    DecisionSynthesised,
    DecisionWithdrawn,
    Disposition,
    DispositionRecorded,
    Escalated,
    IssuanceRefused,
    ModerationOutcome,
    OpinionRecorded,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentOpened,
    PublicCommentRecorded,
    ReminderDue,
    RequestRejected,
    Stance,
)

State = dict[str, Any]


class DecisionStatus(StrEnum):
    """Where a decision is, as seen from its facts (mirrors the workflow's statuses)."""

    UNKNOWN = "unknown"  # chỉ có yêu cầu bị từ chối, chưa có dự thảo
    DRAFTED = "drafted"  # đã soạn thảo
    CONSULTATION_REQUESTED = "consultation_requested"  # đã gửi lấy ý kiến
    COLLECTING = "collecting"  # đang thu thập ý kiến
    REVISED = "revised"  # đã sửa dự thảo
    CONSULTATION_CLOSED = "consultation_closed"  # đã kết thúc lấy ý kiến
    SYNTHESISED = "synthesised"  # Ban Dân vận đã tổng hợp
    ISSUED = "issued"  # đã ban hành
    WITHDRAWN = "withdrawn"  # đã rút


STATUS_VI: Mapping[DecisionStatus, str] = {
    DecisionStatus.UNKNOWN: "Chưa có dự thảo",
    DecisionStatus.DRAFTED: "Đã soạn thảo",
    DecisionStatus.CONSULTATION_REQUESTED: "Đã gửi lấy ý kiến",
    DecisionStatus.COLLECTING: "Đang thu thập ý kiến",
    DecisionStatus.REVISED: "Đã sửa dự thảo",
    DecisionStatus.CONSULTATION_CLOSED: "Đã kết thúc lấy ý kiến",
    DecisionStatus.SYNTHESISED: "Ban Dân vận đã tổng hợp",
    DecisionStatus.ISSUED: "Đã ban hành",
    DecisionStatus.WITHDRAWN: "Đã rút",
}

TERMINAL = frozenset({DecisionStatus.ISSUED, DecisionStatus.WITHDRAWN})


class ConsulteeStatus(StrEnum):
    """The state of one required opinion."""

    PENDING = "pending"  # đang chờ ý kiến, chưa quá hạn
    OVERDUE = "overdue"  # quá hạn, chưa có ý kiến (đã báo cáo cấp trên)
    ON_TIME = "on_time"  # có ý kiến đúng hạn
    LATE = "late"  # có ý kiến nhưng quá hạn
    MISSING = "missing"  # không có ý kiến khi kết thúc lấy ý kiến / ban hành
    OVERRIDDEN = "overridden"  # được miễn theo ngoại lệ có thẩm quyền cho phép


CONSULTEE_STATUS_VI: Mapping[ConsulteeStatus, str] = {
    ConsulteeStatus.PENDING: "Đang chờ ý kiến",
    ConsulteeStatus.OVERDUE: "Quá hạn, chưa có ý kiến",
    ConsulteeStatus.ON_TIME: "Đúng hạn",
    ConsulteeStatus.LATE: "Quá hạn",
    ConsulteeStatus.MISSING: "Không có ý kiến",
    ConsulteeStatus.OVERRIDDEN: "Ngoại lệ (được miễn)",
}

STANCE_VI: Mapping[Stance, str] = {
    Stance.AGREE: "nhất trí",
    Stance.AGREE_WITH_AMENDMENTS: "nhất trí, có ý kiến sửa đổi",
    Stance.DISAGREE: "không nhất trí",
}

DISPOSITION_VI: Mapping[Disposition, str] = {
    Disposition.ACCEPTED: "tiếp thu",
    Disposition.EXPLAINED: "giải trình",
    Disposition.NOT_ACCEPTED: "không tiếp thu",
}

ROLE_VI: Mapping[str, str] = {
    "head": "người đứng đầu đơn vị",
    "standing_committee": "Ban Thường vụ cấp ủy",
    "bi_thu": "Bí thư",
    "pho_bi_thu_thuong_truc": "Phó Bí thư Thường trực",
    "pho_bi_thu": "Phó Bí thư",
    "chu_tich": "Chủ tịch",
    "pho_chu_tich": "Phó Chủ tịch",
    "truong_ban": "Trưởng ban",
    "pho_truong_ban": "Phó Trưởng ban",
}


def role_vi(code: str) -> str:
    """Vietnamese title of a role code (the code itself when unknown)."""
    return ROLE_VI.get(code, code)


_ANSWERED = frozenset({ConsulteeStatus.ON_TIME, ConsulteeStatus.LATE})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsulteeView(_Model):
    unit_id: str
    kind: str = ""
    name_vi: str = ""
    required: bool = True
    status: ConsulteeStatus = ConsulteeStatus.PENDING
    deadline: datetime | None = None
    opinion_id: str | None = None
    stance: Stance | None = None
    given_by: str | None = None
    acting_as: ActingAs | None = None
    given_at: datetime | None = None
    draft_version: int | None = None
    reminders: int = 0
    escalation_level: int = 0
    override_id: str | None = None

    @property
    def label(self) -> str:
        return self.name_vi or self.unit_id


class OpinionView(_Model):
    seq: int
    opinion_id: str
    consultee_unit_id: str
    given_by: str
    acting_as: ActingAs
    stance: Stance
    at: datetime
    late: bool
    deadline: datetime
    draft_version: int
    general_comment: str = ""
    amends_opinion_id: str | None = None
    channel: str | None = None
    system_id: str | None = None


class MissingItemView(_Model):
    code: str
    message_vi: str
    unit_id: str | None = None


class RefusalView(_Model):
    seq: int
    at: datetime
    requested_by: str
    missing: list[MissingItemView]
    missing_consultee_unit_ids: list[str] = Field(default_factory=list)


class OverrideView(_Model):
    seq: int
    override_id: str
    at: datetime
    by_person_id: str
    role: str
    reason: str
    consultee_unit_ids: list[str]
    draft_version: int
    invalidated: bool = False


class EscalationView(_Model):
    seq: int
    at: datetime
    consultee_unit_id: str
    round: int
    level: int
    escalate_to_unit_id: str
    escalate_to_role: str


class RejectionView(_Model):
    request_id: str
    request_type: str
    code: str
    message_vi: str
    at: datetime


class TimelineEntry(_Model):
    at: datetime
    seq: int | None
    kind: str
    text_vi: str
    exception: bool = False  # an override or an issuance by exception: highlighted


class DecisionView(_Model):
    decision_id: str
    title: str = ""
    issuer_unit_id: str | None = None
    doc_type: str | None = None
    flags: list[str] = Field(default_factory=list)
    status: DecisionStatus = DecisionStatus.UNKNOWN
    draft_version: int = 0
    drafted_at: datetime | None = None
    consultation_requested_at: datetime | None = None
    deadline: datetime | None = None
    policy: str | None = None
    citations: list[str] = Field(default_factory=list)
    public_comment_required: bool = False
    public_comments: int = 0
    synthesiser_unit_id: str | None = None
    synthesised_at: datetime | None = None
    synthesis_summary: str | None = None
    issued_at: datetime | None = None
    with_exception: bool = False
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    consultees: list[ConsulteeView] = Field(default_factory=list)
    opinions: list[OpinionView] = Field(default_factory=list)
    refusals: list[RefusalView] = Field(default_factory=list)
    overrides: list[OverrideView] = Field(default_factory=list)
    escalations: list[EscalationView] = Field(default_factory=list)
    reminders: int = 0
    rejections: list[RejectionView] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    last_seq: int = 0
    missing_seqs: list[int] = Field(default_factory=list)
    last_event_at: datetime | None = None

    @property
    def status_vi(self) -> str:
        return STATUS_VI[self.status]

    @property
    def has_exception(self) -> bool:
        return self.with_exception or any(not o.invalidated for o in self.overrides)

    def consultee(self, unit_id: str) -> ConsulteeView | None:
        return next((c for c in self.consultees if c.unit_id == unit_id), None)


# --------------------------------------------------------------------------- the stored log


def record(state: Mapping[str, Any] | None, event: DecisionFact | RequestRejected) -> State | None:
    """Add one fact (by ``seq``) or refused request (by ``request_id``) to the stored log.

    Returns the new state, or ``None`` when it is already there (a duplicate: nothing to save).
    """
    facts: dict[str, Any] = dict((state or {}).get("facts", {}))
    rejections: dict[str, Any] = dict((state or {}).get("rejections", {}))
    if isinstance(event, RequestRejected):
        if event.request_id in rejections:
            return None
        rejections[event.request_id] = event.model_dump(mode="json")
    else:
        key = str(event.seq)
        if key in facts:
            return None
        facts[key] = {
            "type": event.event_type,
            "version": event.event_version,
            "payload": event.model_dump(mode="json"),
        }
    return {"facts": facts, "rejections": rejections}


def facts_of(state: Mapping[str, Any]) -> list[DecisionFact]:
    out: list[DecisionFact] = []
    for raw in state.get("facts", {}).values():
        fact = event_class(raw["type"], raw["version"]).model_validate(raw["payload"])
        assert isinstance(fact, DecisionFact)
        out.append(fact)
    return sorted(out, key=lambda f: f.seq)


def rejections_of(state: Mapping[str, Any]) -> list[RequestRejected]:
    out = [RequestRejected.model_validate(raw) for raw in state.get("rejections", {}).values()]
    return sorted(out, key=lambda r: (r.occurred_at, r.request_id))


def view_of(decision_id: str, state: Mapping[str, Any]) -> DecisionView:
    return project(decision_id, facts_of(state), rejections_of(state))


def build(decision_id: str, events: Iterable[DecisionFact | RequestRejected]) -> DecisionView:
    """Record the events in the given order (duplicates allowed) and project: for tests and replays."""
    state: State = {}
    for event in events:
        state = record(state, event) or state
    return view_of(decision_id, state)


# --------------------------------------------------------------------------- the fold


def project(
    decision_id: str, facts: Iterable[DecisionFact], rejections: Iterable[RequestRejected] = ()
) -> DecisionView:
    """Fold the facts in ``seq`` order (one per seq) into the view."""
    by_seq: dict[int, DecisionFact] = {}
    for f in facts:
        by_seq.setdefault(f.seq, f)
    v = DecisionView(decision_id=decision_id)
    for seq in sorted(by_seq):
        _apply(v, by_seq[seq])
    if by_seq:
        v.last_seq = max(by_seq)
        v.missing_seqs = [s for s in range(1, v.last_seq) if s not in by_seq]
    for r in rejections:
        v.rejections.append(
            RejectionView(
                request_id=r.request_id,
                request_type=r.request_type,
                code=r.code,
                message_vi=r.message_vi,
                at=r.occurred_at,
            )
        )
        v.timeline.append(
            TimelineEntry(
                at=r.occurred_at,
                seq=None,
                kind=r.event_type,
                text_vi=f"Yêu cầu bị từ chối ({_request_vi(r.request_type)}): {r.message_vi}",
            )
        )
    v.timeline.sort(key=lambda t: (t.at, t.seq if t.seq is not None else 1 << 62))
    times = [t.at for t in v.timeline]
    v.last_event_at = max(times) if times else None
    return v


def _consultee(v: DecisionView, unit_id: str) -> ConsulteeView:
    c = v.consultee(unit_id)
    if c is None:
        c = ConsulteeView(unit_id=unit_id, required=False, deadline=v.deadline)
        v.consultees.append(c)
    return c


def _names(v: DecisionView, unit_ids: Iterable[str]) -> str:
    labels = []
    for uid in unit_ids:
        c = v.consultee(uid)
        labels.append(c.label if c else uid)
    return ", ".join(labels)


CHANNEL_VI = {
    "link": "qua liên kết trong thông báo",
    "agency_system": "qua hệ thống của đơn vị",
    "public_page": "qua trang góp ý công khai",
    "override": "theo thẩm quyền cho phép ngoại lệ",
}


def _via(f: DecisionFact) -> str:
    """How a fact's request arrived, and who sent it (from its actor), for the timeline."""
    if f.actor is None or f.actor.channel.value not in CHANNEL_VI:
        return ""
    who = f", người gửi {f.actor.person_id}" if f.actor.person_id else ""
    system = (
        f" «{f.actor.system_id}»" if f.actor.channel.value == "agency_system" and f.actor.system_id else ""
    )
    return f" — {CHANNEL_VI[f.actor.channel.value]}{system}{who}"


def _note(v: DecisionView, f: DecisionFact, text: str, *, exception: bool = False) -> None:
    v.timeline.append(
        TimelineEntry(at=f.occurred_at, seq=f.seq, kind=f.event_type, text_vi=text, exception=exception)
    )


def _apply(v: DecisionView, f: DecisionFact) -> None:
    match f:
        case DecisionDrafted():
            v.title, v.issuer_unit_id, v.doc_type = f.title, f.issuer_unit_id, f.doc_type.value
            v.flags = [x.value for x in f.flags]
            v.draft_version = max(v.draft_version, 1)
            v.drafted_at = f.occurred_at
            if v.status is DecisionStatus.UNKNOWN:
                v.status = DecisionStatus.DRAFTED
            _note(v, f, f"Soạn thảo dự thảo «{f.title}» (phiên bản 1).")
        case ConsultationRequested():
            req = f.requirement
            v.consultation_requested_at = f.occurred_at
            v.deadline = req.deadline
            v.policy = f"{req.policy_id} v{req.policy_version}"
            v.citations = list(req.citations)
            v.public_comment_required = req.public_comment_required
            v.synthesiser_unit_id = req.synthesiser_unit_id
            for spec in req.consultees:
                c = _consultee(v, spec.unit_id)
                c.kind, c.name_vi, c.required = spec.kind, spec.name_vi, True
                if c.status not in _ANSWERED:
                    c.deadline = req.deadline
            if v.status not in TERMINAL:
                v.status = DecisionStatus.CONSULTATION_REQUESTED
            _note(
                v,
                f,
                f"Gửi lấy ý kiến {len(req.consultees)} cơ quan, tổ chức ({_names(v, (c.unit_id for c in req.consultees))}); "
                f"hạn {format_vn(req.deadline)}.",
            )
        case OpinionRecorded():
            c = _consultee(v, f.consultee_unit_id)
            c.status = ConsulteeStatus.LATE if f.late else ConsulteeStatus.ON_TIME
            c.opinion_id, c.stance, c.given_by = f.opinion_id, f.stance, f.given_by
            c.acting_as, c.given_at, c.draft_version, c.deadline = (
                f.acting_as,
                f.occurred_at,
                f.draft_version,
                f.deadline,
            )
            v.opinions.append(
                OpinionView(
                    seq=f.seq,
                    opinion_id=f.opinion_id,
                    consultee_unit_id=f.consultee_unit_id,
                    given_by=f.given_by,
                    acting_as=f.acting_as,
                    stance=f.stance,
                    at=f.occurred_at,
                    late=f.late,
                    deadline=f.deadline,
                    draft_version=f.draft_version,
                    general_comment=f.general_comment,
                    amends_opinion_id=f.supersedes_opinion_id,
                    channel=f.actor.channel.value if f.actor else None,
                    system_id=f.actor.system_id if f.actor else None,
                )
            )
            if v.status is DecisionStatus.CONSULTATION_REQUESTED:
                v.status = DecisionStatus.COLLECTING
            who = " (người được ủy quyền)" if f.acting_as is ActingAs.SUBSTITUTE else ""
            late = " — gửi quá hạn" if f.late else ""
            amended = (
                " sửa đổi (thay thế ý kiến đã gửi trước trên cùng phiên bản)"
                if f.supersedes_opinion_id
                else ""
            )
            _note(v, f, f"{c.label} gửi ý kiến{amended}{who}{_via(f)}: {STANCE_VI[f.stance]}{late}.")
        case ReminderDue():
            c = _consultee(v, f.consultee_unit_id)
            c.reminders += 1
            v.reminders += 1
            _note(v, f, f"Nhắc {c.label} gửi ý kiến (lần {f.round}); hạn {format_vn(f.deadline)}.")
        case Escalated():
            c = _consultee(v, f.consultee_unit_id)
            c.escalation_level = max(c.escalation_level, f.level)
            if c.status is ConsulteeStatus.PENDING:
                c.status = ConsulteeStatus.OVERDUE
            v.escalations.append(
                EscalationView(
                    seq=f.seq,
                    at=f.occurred_at,
                    consultee_unit_id=f.consultee_unit_id,
                    round=f.round,
                    level=f.level,
                    escalate_to_unit_id=f.escalate_to_unit_id,
                    escalate_to_role=f.escalate_to_role,
                )
            )
            _note(
                v,
                f,
                f"Quá hạn: {c.label} chưa gửi ý kiến; báo cáo cấp {f.level} "
                f"({role_vi(f.escalate_to_role)} — {f.escalate_to_unit_id}).",
            )
        case DecisionRevised():
            v.draft_version = f.version
            reopened = set(f.reopened_consultee_unit_ids)
            for c in v.consultees:
                if c.unit_id in reopened:
                    c.status, c.opinion_id, c.stance, c.given_at = ConsulteeStatus.PENDING, None, None, None
                    c.given_by, c.acting_as, c.draft_version, c.override_id = None, None, None, None
                    c.escalation_level = 0
                    if f.reconsultation_deadline is not None:
                        c.deadline = f.reconsultation_deadline
            invalidated = set(f.invalidated_override_ids)
            for o in v.overrides:
                if o.override_id in invalidated:
                    o.invalidated = True
            for c in v.consultees:
                if c.override_id in invalidated and c.status is ConsulteeStatus.OVERRIDDEN:
                    c.status, c.override_id = ConsulteeStatus.PENDING, None
            if f.synthesis_invalidated:
                v.synthesised_at, v.synthesis_summary = None, None
            if v.status not in TERMINAL:
                v.status = DecisionStatus.REVISED
            again = f"; lấy lại ý kiến của {_names(v, f.reopened_consultee_unit_ids)}" if reopened else ""
            _note(v, f, f"Sửa dự thảo (phiên bản {f.version}){again}.")
        case ConsultationClosed():
            for uid in f.missing_consultee_unit_ids:
                c = _consultee(v, uid)
                if c.status in (ConsulteeStatus.PENDING, ConsulteeStatus.OVERDUE):
                    c.status = ConsulteeStatus.MISSING
            if v.status not in TERMINAL:
                v.status = DecisionStatus.CONSULTATION_CLOSED
            missing = (
                f"; chưa có ý kiến của {_names(v, f.missing_consultee_unit_ids)}"
                if f.missing_consultee_unit_ids
                else ""
            )
            _note(v, f, f"Kết thúc lấy ý kiến{missing}.")
        case DecisionSynthesised():
            v.synthesised_at, v.synthesis_summary = f.occurred_at, f.summary
            if v.status not in TERMINAL:
                v.status = DecisionStatus.SYNTHESISED
            _note(v, f, f"Ban Dân vận tổng hợp {len(f.opinion_ids)} ý kiến và báo cáo.")
        case IssuanceRefused():
            v.refusals.append(
                RefusalView(
                    seq=f.seq,
                    at=f.occurred_at,
                    requested_by=f.requested_by,
                    missing=[
                        MissingItemView(code=m.code, message_vi=m.message_vi, unit_id=m.unit_id)
                        for m in f.missing
                    ],
                    missing_consultee_unit_ids=list(f.missing_consultee_unit_ids),
                )
            )
            reasons = "; ".join(m.message_vi for m in f.missing)
            _note(v, f, f"Từ chối ban hành vì chưa đủ điều kiện: {reasons}")
        case OverrideRecorded():
            v.overrides.append(
                OverrideView(
                    seq=f.seq,
                    override_id=f.override_id,
                    at=f.occurred_at,
                    by_person_id=f.by_person_id,
                    role=f.role,
                    reason=f.reason,
                    consultee_unit_ids=list(f.consultee_unit_ids),
                    draft_version=f.draft_version,
                )
            )
            for uid in f.consultee_unit_ids:
                c = _consultee(v, uid)
                if c.status not in _ANSWERED:
                    c.status, c.override_id = ConsulteeStatus.OVERRIDDEN, f.override_id
            _note(
                v,
                f,
                f"NGOẠI LỆ: {f.by_person_id} ({role_vi(f.role)}) cho phép không chờ ý kiến của "
                f"{_names(v, f.consultee_unit_ids)}. Lý do: {f.reason}",
                exception=True,
            )
        case DecisionIssued():
            v.issued_at, v.with_exception = f.occurred_at, f.with_exception
            v.draft_version = max(v.draft_version, f.draft_version)
            v.status = DecisionStatus.ISSUED
            for c in v.consultees:
                if c.required and c.status in (ConsulteeStatus.PENDING, ConsulteeStatus.OVERDUE):
                    c.status = ConsulteeStatus.MISSING
            how = " theo ngoại lệ (không đủ ý kiến)" if f.with_exception else " sau khi có đủ ý kiến"
            _note(v, f, f"Ban hành văn bản (phiên bản {f.draft_version}){how}.", exception=f.with_exception)
        case DecisionWithdrawn():
            v.withdrawn_at, v.withdrawal_reason = f.occurred_at, f.reason
            if v.status is not DecisionStatus.ISSUED:
                v.status = DecisionStatus.WITHDRAWN
            _note(v, f, f"Rút dự thảo. Lý do: {f.reason}")
        case PublicCommentOpened():
            _note(v, f, f"Mở lấy ý kiến nhân dân đến {format_vn(f.closes_at)}.")
        case PublicCommentRecorded():
            v.public_comments += 1
            _note(v, f, "Nhận một góp ý của nhân dân.")
        case PublicCommentModerated():
            outcome = "chấp nhận" if f.outcome is ModerationOutcome.APPROVED else "không chấp nhận"
            _note(v, f, f"Kiểm duyệt góp ý của nhân dân: {outcome}.")
        case PublicCommentClosed():
            _note(
                v,
                f,
                f"Kết thúc lấy ý kiến nhân dân: {f.approved_count} góp ý được chấp nhận, "
                f"{f.rejected_count} không chấp nhận, {f.pending_count} chưa kiểm duyệt.",
            )
        case DispositionRecorded():
            reason = f" Lý do: {f.reason}" if f.reason else ""
            _note(v, f, f"Cơ quan soạn thảo {DISPOSITION_VI[f.disposition]} ý kiến {f.opinion_id}.{reason}")
        case CoordinationTasksCreated():
            _note(v, f, f"Giao {len(f.tasks)} nhiệm vụ phối hợp tổ chức thực hiện sau ban hành.")
        case _:
            _note(v, f, f"Sự kiện {f.event_type}.")


_REQUEST_VI: Mapping[str, str] = {
    "decision.draft_submitted": "gửi dự thảo",
    "decision.revision_submitted": "sửa dự thảo",
    "decision.opinion_submitted": "gửi ý kiến",
    "decision.public_comment_submitted": "góp ý của nhân dân",
    "decision.public_comment_moderation_submitted": "kiểm duyệt góp ý",
    "decision.consultation_close_requested": "kết thúc lấy ý kiến",
    "decision.synthesis_submitted": "tổng hợp ý kiến",
    "decision.disposition_submitted": "tiếp thu, giải trình",
    "decision.issuance_requested": "đề nghị ban hành",
    "decision.override_requested": "đề nghị ngoại lệ",
    "decision.withdrawal_requested": "rút dự thảo",
}


def _request_vi(request_type: str) -> str:
    return _REQUEST_VI.get(request_type, request_type)
