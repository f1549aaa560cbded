"""Vietnamese labels of the read model's statuses and of the contract's codes.

Why one module: every text people read (the timeline, the pages, the Markdown report)
takes its words from here, so one code reads the same everywhere. A code without a label
(a role or request type added to the contract later) is shown as itself, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.reports.domain.view_status import ConsulteeStatus, DecisionStatus
from shared.contract.events.decisions import Disposition, Stance

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

CHANNEL_VI: Mapping[str, str] = {
    "link": "qua liên kết trong thông báo",
    "agency_system": "qua hệ thống của đơn vị",
    "public_page": "qua trang góp ý công khai",
    "override": "theo thẩm quyền cho phép ngoại lệ",
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

REQUEST_VI: Mapping[str, str] = {
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


def label_or_code(labels: Mapping[str, str], code: str) -> str:
    """The Vietnamese label of ``code``, or the code itself when it has none."""
    return labels.get(code, code)


def role_vi(code: str) -> str:
    """Vietnamese title of a role code (the code itself when unknown)."""
    return label_or_code(ROLE_VI, code)


def request_vi(request_type: str) -> str:
    """What a refused request asked for (the request type itself when unknown)."""
    return label_or_code(REQUEST_VI, request_type)
