"""Folding the consultation facts into a decision view: the draft, the request for opinions,
the opinions, reminders and escalations, revisions, closing and the board's synthesis.

Pure; the timeline text is Vietnamese.
"""

from __future__ import annotations

from services.reports.domain.apply_common import consultee, names, note, via
from services.reports.domain.labels import STANCE_VI, role_vi
from services.reports.domain.periods import format_vn
from services.reports.domain.view_model import DecisionView, EscalationView, OpinionView
from services.reports.domain.view_status import (
    ANSWERED,
    TERMINAL,
    UNANSWERED,
    ConsulteeStatus,
    DecisionStatus,
)
from shared.contract.events.decisions import (
    ActingAs,
    ConsultationClosed,
    ConsultationRequested,
    DecisionDrafted,
    DecisionFact,
    DecisionRevised,
    DecisionSynthesised,
    Escalated,
    OpinionRecorded,
    ReminderDue,
)


def apply(v: DecisionView, f: DecisionFact) -> bool:
    """Fold ``f`` when it is a consultation fact; whether it was one."""
    match f:
        case DecisionDrafted():
            v.title, v.issuer_unit_id, v.doc_type = f.title, f.issuer_unit_id, f.doc_type.value
            v.flags = [x.value for x in f.flags]
            v.draft_version = max(v.draft_version, 1)
            v.drafted_at = f.occurred_at
            if v.status is DecisionStatus.UNKNOWN:
                v.status = DecisionStatus.DRAFTED
            note(v, f, f"Soạn thảo dự thảo «{f.title}» (phiên bản 1).")
        case ConsultationRequested():
            _requested(v, f)
        case OpinionRecorded():
            _opinion(v, f)
        case ReminderDue():
            c = consultee(v, f.consultee_unit_id)
            c.reminders += 1
            v.reminders += 1
            note(v, f, f"Nhắc {c.label} gửi ý kiến (lần {f.round}); hạn {format_vn(f.deadline)}.")
        case Escalated():
            _escalated(v, f)
        case DecisionRevised():
            _revised(v, f)
        case ConsultationClosed():
            for uid in f.missing_consultee_unit_ids:
                c = consultee(v, uid)
                if c.status in UNANSWERED:
                    c.status = ConsulteeStatus.MISSING
            if v.status not in TERMINAL:
                v.status = DecisionStatus.CONSULTATION_CLOSED
            missing = (
                f"; chưa có ý kiến của {names(v, f.missing_consultee_unit_ids)}"
                if f.missing_consultee_unit_ids
                else ""
            )
            note(v, f, f"Kết thúc lấy ý kiến{missing}.")
        case DecisionSynthesised():
            v.synthesised_at, v.synthesis_summary = f.occurred_at, f.summary
            if v.status not in TERMINAL:
                v.status = DecisionStatus.SYNTHESISED
            note(v, f, f"Ban Dân vận tổng hợp {len(f.opinion_ids)} ý kiến và báo cáo.")
        case _:
            return False
    return True


def _requested(v: DecisionView, f: ConsultationRequested) -> None:
    req = f.requirement
    v.consultation_requested_at = f.occurred_at
    v.deadline = req.deadline
    v.policy = f"{req.policy_id} v{req.policy_version}"
    v.citations = list(req.citations)
    v.public_comment_required = req.public_comment_required
    v.synthesiser_unit_id = req.synthesiser_unit_id
    for spec in req.consultees:
        c = consultee(v, spec.unit_id)
        c.kind, c.name_vi, c.required = spec.kind, spec.name_vi, True
        if c.status not in ANSWERED:
            c.deadline = req.deadline
    if v.status not in TERMINAL:
        v.status = DecisionStatus.CONSULTATION_REQUESTED
    note(
        v,
        f,
        f"Gửi lấy ý kiến {len(req.consultees)} cơ quan, tổ chức ({names(v, (c.unit_id for c in req.consultees))}); "
        f"hạn {format_vn(req.deadline)}.",
    )


def _opinion(v: DecisionView, f: OpinionRecorded) -> None:
    c = consultee(v, f.consultee_unit_id)
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
    amended = " sửa đổi (thay thế ý kiến đã gửi trước trên cùng phiên bản)" if f.supersedes_opinion_id else ""
    note(v, f, f"{c.label} gửi ý kiến{amended}{who}{via(f)}: {STANCE_VI[f.stance]}{late}.")


def _escalated(v: DecisionView, f: Escalated) -> None:
    c = consultee(v, f.consultee_unit_id)
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
    note(
        v,
        f,
        f"Quá hạn: {c.label} chưa gửi ý kiến; báo cáo cấp {f.level} "
        f"({role_vi(f.escalate_to_role)} — {f.escalate_to_unit_id}).",
    )


def _revised(v: DecisionView, f: DecisionRevised) -> None:
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
    again = f"; lấy lại ý kiến của {names(v, f.reopened_consultee_unit_ids)}" if reopened else ""
    note(v, f, f"Sửa dự thảo (phiên bản {f.version}){again}.")
