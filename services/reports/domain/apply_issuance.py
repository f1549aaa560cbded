"""Folding the issuance facts into a decision view: refused attempts, overrides (exceptions),
the issuance, a withdrawal and the coordination tasks given after issuance.

Pure; the timeline text is Vietnamese.
"""

from __future__ import annotations

from services.reports.domain.apply_common import consultee, names, note
from services.reports.domain.labels import role_vi
from services.reports.domain.view_model import DecisionView, MissingItemView, OverrideView, RefusalView
from services.reports.domain.view_status import ANSWERED, UNANSWERED, ConsulteeStatus, DecisionStatus
from shared.contract.events.decisions import (
    CoordinationTasksCreated,
    DecisionFact,
    DecisionIssued,
    DecisionWithdrawn,
    IssuanceRefused,
    OverrideRecorded,
)


def apply(v: DecisionView, f: DecisionFact) -> bool:
    """Fold ``f`` when it is an issuance fact; whether it was one."""
    match f:
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
            note(v, f, f"Từ chối ban hành vì chưa đủ điều kiện: {reasons}")
        case OverrideRecorded():
            _override(v, f)
        case DecisionIssued():
            v.issued_at, v.with_exception = f.occurred_at, f.with_exception
            v.draft_version = max(v.draft_version, f.draft_version)
            v.status = DecisionStatus.ISSUED
            for c in v.consultees:
                if c.required and c.status in UNANSWERED:
                    c.status = ConsulteeStatus.MISSING
            how = " theo ngoại lệ (không đủ ý kiến)" if f.with_exception else " sau khi có đủ ý kiến"
            note(v, f, f"Ban hành văn bản (phiên bản {f.draft_version}){how}.", exception=f.with_exception)
        case DecisionWithdrawn():
            v.withdrawn_at, v.withdrawal_reason = f.occurred_at, f.reason
            if v.status is not DecisionStatus.ISSUED:
                v.status = DecisionStatus.WITHDRAWN
            note(v, f, f"Rút dự thảo. Lý do: {f.reason}")
        case CoordinationTasksCreated():
            note(v, f, f"Giao {len(f.tasks)} nhiệm vụ phối hợp tổ chức thực hiện sau ban hành.")
        case _:
            return False
    return True


def _override(v: DecisionView, f: OverrideRecorded) -> None:
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
        c = consultee(v, uid)
        if c.status not in ANSWERED:
            c.status, c.override_id = ConsulteeStatus.OVERRIDDEN, f.override_id
    note(
        v,
        f,
        f"NGOẠI LỆ: {f.by_person_id} ({role_vi(f.role)}) cho phép không chờ ý kiến của "
        f"{names(v, f.consultee_unit_ids)}. Lý do: {f.reason}",
        exception=True,
    )
