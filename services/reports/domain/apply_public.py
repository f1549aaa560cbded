"""Folding the public-comment facts (lấy ý kiến nhân dân) and the drafter's dispositions of
opinions (tiếp thu, giải trình) into a decision view.

Pure; the timeline text is Vietnamese.
"""

from __future__ import annotations

from services.reports.domain.apply_common import note
from services.reports.domain.labels import DISPOSITION_VI
from services.reports.domain.periods import format_vn
from services.reports.domain.view_model import DecisionView
from shared.contract.events.decisions import (
    DecisionFact,
    DispositionRecorded,
    ModerationOutcome,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentOpened,
    PublicCommentRecorded,
)


def apply(v: DecisionView, f: DecisionFact) -> bool:
    """Fold ``f`` when it is a public-comment or disposition fact; whether it was one."""
    match f:
        case PublicCommentOpened():
            note(v, f, f"Mở lấy ý kiến nhân dân đến {format_vn(f.closes_at)}.")
        case PublicCommentRecorded():
            v.public_comments += 1
            note(v, f, "Nhận một góp ý của nhân dân.")
        case PublicCommentModerated():
            outcome = "chấp nhận" if f.outcome is ModerationOutcome.APPROVED else "không chấp nhận"
            note(v, f, f"Kiểm duyệt góp ý của nhân dân: {outcome}.")
        case PublicCommentClosed():
            note(
                v,
                f,
                f"Kết thúc lấy ý kiến nhân dân: {f.approved_count} góp ý được chấp nhận, "
                f"{f.rejected_count} không chấp nhận, {f.pending_count} chưa kiểm duyệt.",
            )
        case DispositionRecorded():
            reason = f" Lý do: {f.reason}" if f.reason else ""
            note(v, f, f"Cơ quan soạn thảo {DISPOSITION_VI[f.disposition]} ý kiến {f.opinion_id}.{reason}")
        case _:
            return False
    return True
