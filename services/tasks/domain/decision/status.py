"""Where a decision is in its life, and which commands each status accepts."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class DecisionStatus(StrEnum):
    """Where a decision is in its life (trạng thái)."""

    DRAFTED = "drafted"  # đã soạn thảo
    CONSULTATION_REQUESTED = "consultation_requested"  # đã gửi lấy ý kiến
    COLLECTING = "collecting"  # đang thu thập ý kiến
    REVISED = "revised"  # đã sửa dự thảo trong khi lấy ý kiến
    CONSULTATION_CLOSED = "consultation_closed"  # đã kết thúc lấy ý kiến
    SYNTHESISED = "synthesised"  # Ban Dân vận đã tổng hợp
    ISSUED = "issued"  # đã ban hành
    WITHDRAWN = "withdrawn"  # đã rút


S = DecisionStatus
TERMINAL: frozenset[DecisionStatus] = frozenset({S.ISSUED, S.WITHDRAWN})
NON_TERMINAL: frozenset[DecisionStatus] = frozenset(set(S) - TERMINAL)
OPEN_CONSULTATION: frozenset[DecisionStatus] = frozenset({S.CONSULTATION_REQUESTED, S.COLLECTING, S.REVISED})
TIMED: frozenset[DecisionStatus] = OPEN_CONSULTATION | {S.CONSULTATION_CLOSED}
"""Statuses in which time-driven facts may fire (reminders, escalations, the public window)."""

ALLOWED_STATUSES: Mapping[str, frozenset[DecisionStatus]] = {
    "revise": frozenset(NON_TERMINAL),
    "request_consultation": frozenset({S.DRAFTED}),
    "give_opinion": TIMED,
    "record_public_comment": OPEN_CONSULTATION,
    "moderate_public_comment": TIMED,
    "close_consultation": OPEN_CONSULTATION,
    "synthesise": frozenset({S.CONSULTATION_CLOSED}),
    "record_disposition": frozenset(NON_TERMINAL - {S.DRAFTED}),
    "request_issuance": frozenset(NON_TERMINAL),
    "override": TIMED,
    "withdraw": frozenset(NON_TERMINAL),
}
"""Explicit table: which commands each status accepts (``draft`` needs a fresh aggregate)."""

BOARD_KINDS: frozenset[str] = frozenset({"dan_van_board", "dan_van_bloc"})
"""Kinds that play the Dân vận board's role (Ban Dân vận; Khối dân vận at commune level)."""
FRONT_KIND = "fatherland_front"
