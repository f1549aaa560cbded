"""Where a decision and each of its required opinions stand, as seen from the facts.

Why separate: the statuses are what every other part of the read model speaks of (the
fold, the compliance counts, the labels, the pages); keeping them alone lets each of those
import them without importing the others.
"""

from __future__ import annotations

from enum import StrEnum


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


TERMINAL = frozenset({DecisionStatus.ISSUED, DecisionStatus.WITHDRAWN})


class ConsulteeStatus(StrEnum):
    """The state of one required opinion."""

    PENDING = "pending"  # đang chờ ý kiến, chưa quá hạn
    OVERDUE = "overdue"  # quá hạn, chưa có ý kiến (đã báo cáo cấp trên)
    ON_TIME = "on_time"  # có ý kiến đúng hạn
    LATE = "late"  # có ý kiến nhưng quá hạn
    MISSING = "missing"  # không có ý kiến khi kết thúc lấy ý kiến / ban hành
    OVERRIDDEN = "overridden"  # được miễn theo ngoại lệ có thẩm quyền cho phép


ANSWERED = frozenset({ConsulteeStatus.ON_TIME, ConsulteeStatus.LATE})
"""An opinion was given (on time or late)."""

UNANSWERED = (ConsulteeStatus.PENDING, ConsulteeStatus.OVERDUE)
"""Still waited for: what closing the consultation or issuing turns into ``MISSING``."""

WITHOUT_OPINION = (ConsulteeStatus.MISSING, ConsulteeStatus.OVERRIDDEN)
"""No opinion when the decision was issued (counted by the reporting regime)."""
