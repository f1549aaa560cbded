"""What a person reads about a decision (Vietnamese, with diacritics): status and command names,
the texts of time-driven facts, of issuance blockers and of coordination tasks."""

from __future__ import annotations

from collections.abc import Mapping

from services.tasks.domain.decision.status import DecisionStatus

S = DecisionStatus

STATUS_VI: Mapping[DecisionStatus, str] = {
    S.DRAFTED: "đã soạn thảo",
    S.CONSULTATION_REQUESTED: "đã gửi lấy ý kiến",
    S.COLLECTING: "đang thu thập ý kiến",
    S.REVISED: "đã sửa dự thảo",
    S.CONSULTATION_CLOSED: "đã kết thúc lấy ý kiến",
    S.SYNTHESISED: "đã tổng hợp ý kiến",
    S.ISSUED: "đã ban hành",
    S.WITHDRAWN: "đã rút",
}

COMMAND_VI: Mapping[str, str] = {
    "revise": "sửa dự thảo",
    "request_consultation": "gửi lấy ý kiến",
    "give_opinion": "cho ý kiến",
    "record_public_comment": "ghi nhận góp ý của nhân dân",
    "moderate_public_comment": "kiểm duyệt góp ý của nhân dân",
    "close_consultation": "kết thúc lấy ý kiến",
    "synthesise": "tổng hợp ý kiến",
    "record_disposition": "ghi nhận việc tiếp thu, giải trình",
    "request_issuance": "đề nghị ban hành",
    "override": "cho phép ban hành ngoại lệ",
    "withdraw": "rút dự thảo",
}

NOT_DRAFTED = ("not_drafted", "Dự thảo chưa được tạo.")

# ----------------------------------------------------------------------------- issuance blockers
CONSULTATION_NOT_REQUESTED = (
    "Chưa gửi lấy ý kiến Ban Dân vận, Mặt trận Tổ quốc và các tổ chức chính trị – xã hội cùng cấp."
)
CONSULTATION_NOT_CLOSED = "Chưa kết thúc việc lấy ý kiến."
SYNTHESIS_MISSING = "Ban Dân vận chưa tổng hợp ý kiến trên dự thảo hiện hành."


def opinion_missing(label: str) -> str:
    return f"Chưa có ý kiến tham gia của {label}."


def opinion_outdated(label: str, given_on: int, current: int) -> str:
    return (
        f"Ý kiến của {label} được cho trên dự thảo phiên bản {given_on}; các điều đã góp ý "
        f"đã được sửa nên cần cho ý kiến lại trên phiên bản {current}."
    )


def public_window_open(closes_vi: str) -> str:
    when = f" (đến {closes_vi})" if closes_vi else ""
    return f"Thời hạn lấy ý kiến nhân dân chưa kết thúc{when}."


def comments_pending(count: int) -> str:
    return f"Còn {count} góp ý của nhân dân chưa được kiểm duyệt."


def disposition_missing(label: str) -> str:
    return f"Cơ quan soạn thảo chưa tiếp thu, giải trình ý kiến của {label}."


# ----------------------------------------------------------------------------- time-driven facts
def reminder(label: str, title: str, deadline_vi: str) -> str:
    return f"Nhắc việc: {label} chưa cho ý kiến về dự thảo “{title}”. Hạn cho ý kiến: {deadline_vi}."


def escalation_to_head(label: str, title: str, deadline_vi: str) -> str:
    return (
        f"Quá hạn cho ý kiến ({deadline_vi}): đề nghị người đứng đầu {label} "
        f"chỉ đạo cho ý kiến về dự thảo “{title}”."
    )


def escalation_to_committee(label: str, title: str, after_days: int, deadline_vi: str) -> str:
    return (
        f"Báo cáo Ban Thường vụ cấp ủy: {label} quá hạn cho ý kiến về dự thảo "
        f"“{title}” hơn {after_days} ngày làm việc (hạn {deadline_vi})."
    )


# ----------------------------------------------------------------------------- coordination tasks
def implement_task(title: str) -> str:
    return (
        f"Tổ chức thực hiện “{title}”, chủ động phối hợp với Ban Dân vận, "
        "Mặt trận Tổ quốc và các tổ chức chính trị – xã hội cùng cấp."
    )


def inform_task(title: str) -> str:
    return f"Cung cấp thông tin về việc tổ chức thực hiện “{title}” để phối hợp vận động nhân dân thực hiện."
