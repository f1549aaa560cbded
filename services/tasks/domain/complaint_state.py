"""A complaint's state: its statuses and their Vietnamese names, what its facts say (applied in
one place, :meth:`ComplaintState._when`), its queries and its one schedule of time-driven facts
(:meth:`ComplaintState.due_timers`, read by both ``tick`` and ``next_timer_at``). The commands
are :class:`services.tasks.domain.complaint.Complaint`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.domain.schedule import CalendarAggregate, deadline_timers
from services.tasks.domain.text import fmt
from shared.contract.events.workflows import (
    ComplaintCaseInfoShared,
    ComplaintCitizenAnswered,
    ComplaintClosed,
    ComplaintFact,
    ComplaintKind,
    ComplaintMilestone,
    ComplaintMobilisationAssigned,
    ComplaintOverdue,
    ComplaintReceived,
    ComplaintReminderDue,
    ComplaintResolutionDecided,
    ComplaintResultPublished,
    ComplaintReviewProposed,
    ComplaintReviewRequired,
    ComplaintTimeLimits,
    ComplaintWithdrawn,
    MobilisationTask,
    PartyRef,
    PartyRole,
)
from shared.eventsourcing.aggregate import Timer


class ComplaintStatus(StrEnum):
    RECEIVED = "received"  # đã thụ lý, đã cung cấp thông tin
    REVIEW_REQUIRED = "review_required"  # quyết định chưa đúng pháp luật, chờ Ban Dân vận đề nghị
    UNDER_REVIEW = "under_review"  # cấp có thẩm quyền đang xem xét lại
    DECIDED = "decided"  # đã có quyết định giải quyết đúng pháp luật
    CLOSED = "closed"  # đã kết thúc
    WITHDRAWN = "withdrawn"  # công dân rút đơn


S = ComplaintStatus
OPEN: frozenset[ComplaintStatus] = frozenset({S.RECEIVED, S.REVIEW_REQUIRED, S.UNDER_REVIEW, S.DECIDED})

ALLOWED: Mapping[str, frozenset[ComplaintStatus]] = {
    "decide": frozenset({S.RECEIVED, S.UNDER_REVIEW}),
    "propose_review": frozenset({S.REVIEW_REQUIRED}),
    "answer_citizen": frozenset({S.DECIDED}),
    "publish_result": frozenset({S.DECIDED}),
    "close": frozenset({S.DECIDED}),
    "withdraw": frozenset({S.RECEIVED, S.REVIEW_REQUIRED, S.UNDER_REVIEW}),
}

STATUS_VI: Mapping[ComplaintStatus, str] = {
    S.RECEIVED: "đã thụ lý",
    S.REVIEW_REQUIRED: "chờ đề nghị xem xét lại",
    S.UNDER_REVIEW: "đang xem xét lại",
    S.DECIDED: "đã có quyết định giải quyết",
    S.CLOSED: "đã kết thúc",
    S.WITHDRAWN: "đã rút đơn",
}

COMMAND_VI: Mapping[str, str] = {
    "decide": "ghi nhận quyết định giải quyết",
    "propose_review": "đề nghị xem xét lại",
    "answer_citizen": "ghi nhận việc trả lời công dân",
    "publish_result": "ghi nhận việc công khai kết quả",
    "close": "kết thúc vụ việc",
    "withdraw": "ghi nhận rút đơn",
}

KIND_VI: Mapping[ComplaintKind, str] = {
    ComplaintKind.COMPLAINT: "khiếu nại",
    ComplaintKind.DENUNCIATION: "tố cáo",
    ComplaintKind.VOTER_PETITION: "kiến nghị của cử tri",
}

MILESTONE_VI: Mapping[ComplaintMilestone, str] = {
    ComplaintMilestone.RESOLUTION: "ra quyết định giải quyết",
    ComplaintMilestone.REVIEW_PROPOSAL: "Ban Dân vận đề nghị cấp có thẩm quyền xem xét lại",
    ComplaintMilestone.ANSWER_AND_PUBLICATION: "trả lời công dân và thông tin công khai kết quả",
}


class ComplaintState(CalendarAggregate[ComplaintFact]):
    """What a complaint's facts say (applied in :meth:`_when`), its queries and its timers."""

    kind_vi = "vụ việc"
    not_created = ("not_received", "Đơn thư chưa được tiếp nhận.")
    allowed = ALLOWED
    command_vi = COMMAND_VI
    status_vi = STATUS_VI
    snapshot_fields = (
        "status",
        "kind",
        "receiving_unit_id",
        "locality_id",
        "summary",
        "mass",
        "limits",
        "resolution_due",
        "review_due",
        "answer_due",
        "shared_with",
        "round",
        "decision",
        "review",
        "mobilisation",
        "answered",
        "published",
        "fired",
    )

    status: ComplaintStatus | None
    kind: ComplaintKind | None
    receiving_unit_id: str | None
    locality_id: str | None
    summary: str
    mass: bool
    limits: ComplaintTimeLimits
    resolution_due: datetime | None
    review_due: datetime | None
    answer_due: datetime | None
    shared_with: tuple[PartyRef, ...]
    round: int
    decision: ComplaintResolutionDecided | None
    review: ComplaintReviewProposed | None
    mobilisation: tuple[MobilisationTask, ...]
    answered: ComplaintCitizenAnswered | None
    published: ComplaintResultPublished | None
    fired: set[tuple[str, str, str]]
    """(milestone, round, "reminder" | "overdue") of every time-driven fact that fired."""

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__(calendar)
        self.kind = None
        self.receiving_unit_id = None
        self.locality_id = None
        self.summary = ""
        self.mass = False
        self.limits = ComplaintTimeLimits()
        self.resolution_due = None
        self.review_due = None
        self.answer_due = None
        self.shared_with = ()
        self.round = 0
        self.decision = None
        self.review = None
        self.mobilisation = ()
        self.answered = None
        self.published = None
        self.fired = set()

    # ------------------------------------------------------------------ queries

    @property
    def complaint_id(self) -> str | None:
        return self.subject

    @property
    def board(self) -> PartyRef | None:
        return next((p for p in self.shared_with if p.role == PartyRole.DAN_VAN_BOARD), None)

    def close_blockers(self) -> list[tuple[str, str]]:
        """What stands between the complaint and closing: (code, message_vi) pairs."""
        out: list[tuple[str, str]] = []
        if self.status != S.DECIDED:
            out.append(
                ("lawful_decision_missing", "Chưa có quyết định giải quyết đúng quy định của pháp luật.")
            )
        if self.answered is None:
            out.append(("citizen_not_answered", "Chưa trả lời kết quả giải quyết cho công dân (cử tri)."))
        if self.published is None:
            out.append(
                (
                    "result_not_published",
                    "Chưa thông tin công khai kết quả giải quyết trên các phương tiện thông tin đại chúng.",
                )
            )
        return out

    def _label(self) -> str:
        kind = KIND_VI[self.kind] if self.kind else "đơn thư"
        return f"{kind} «{self.summary}» ({self.complaint_id})"

    def involved_units(self) -> tuple[str, ...]:
        """Units that handle or share this complaint (who may read it)."""
        units = [self.receiving_unit_id or "", *(p.unit_id for p in self.shared_with)]
        return tuple(u for u in dict.fromkeys(units) if u)

    # ------------------------------------------------------------------ time

    def due_timers(self, now: datetime) -> Sequence[Timer[ComplaintFact]]:
        """Reminder before, overdue after, the current time-limited milestone; each fires once."""
        if self.status not in OPEN:
            return []
        everyone = self.involved_units()  # open: received, so the receiving unit is known
        milestone, due, rnd, notify = (
            ComplaintMilestone.ANSWER_AND_PUBLICATION,
            self.answer_due,
            self.round,
            everyone,
        )
        if self.status in (S.RECEIVED, S.UNDER_REVIEW):
            milestone, due, rnd = ComplaintMilestone.RESOLUTION, self.resolution_due, self.round + 1
            if self.status == S.UNDER_REVIEW and self.review is not None:
                notify = tuple(dict.fromkeys([self.review.to.unit_id, *everyone]))
        elif self.status == S.REVIEW_REQUIRED:
            board = self.board
            milestone, due, notify = (
                ComplaintMilestone.REVIEW_PROPOSAL,
                self.review_due,
                (board.unit_id,) if board else (),
            )
        elif self.answered is not None and self.published is not None:  # DECIDED, nothing owed
            return []
        if due is None:
            return []
        what, due_vi = MILESTONE_VI[milestone], fmt(due, self.calendar)
        fields: dict[str, Any] = {
            "at": now,
            "milestone": milestone,
            "round": rnd,
            "due": due,
            "notify_unit_ids": notify,
        }
        return deadline_timers(
            (milestone.value, str(rnd)),
            due=due,
            remind_at=self.calendar.add_working_days(due, -self.limits.reminder_lead_working_days),
            fired=self.fired,
            reminder=lambda: self._fact(
                ComplaintReminderDue,
                **fields,
                message_vi=f"Nhắc việc: sắp đến hạn {what} đối với {self._label()}; hạn {due_vi}.",
            ),
            overdue=lambda: self._fact(
                ComplaintOverdue,
                **fields,
                message_vi=f"Quá hạn {what} đối với {self._label()} (hạn {due_vi}).",
            ),
        )

    # ------------------------------------------------------------------ state

    def _when(self, event: ComplaintFact) -> None:
        if isinstance(event, ComplaintReceived):
            self.status = S.RECEIVED
            self.kind = event.kind
            self.receiving_unit_id = event.receiving_unit_id
            self.locality_id = event.locality_id
            self.summary = event.summary
            self.mass = event.mass
            self.limits = event.limits
            self.resolution_due = event.resolution_due
        elif isinstance(event, ComplaintCaseInfoShared):
            self.shared_with = event.shared_with
        elif isinstance(event, ComplaintResolutionDecided):
            self.round = event.round
            self.decision = event
            if event.lawful:
                self.status = S.DECIDED
                self.answer_due = self.calendar.add_working_days(
                    event.occurred_at, self.limits.answer_working_days
                )
            else:
                self.status = S.REVIEW_REQUIRED
        elif isinstance(event, ComplaintMobilisationAssigned):
            self.mobilisation = event.tasks
        elif isinstance(event, ComplaintReviewRequired):
            self.review_due = event.proposal_due
        elif isinstance(event, ComplaintReviewProposed):
            self.review = event
            self.resolution_due = event.resolution_due
            self.status = S.UNDER_REVIEW
        elif isinstance(event, ComplaintCitizenAnswered):
            self.answered = event
        elif isinstance(event, ComplaintResultPublished):
            self.published = event
        elif isinstance(event, ComplaintClosed):
            self.status = S.CLOSED
        elif isinstance(event, ComplaintWithdrawn):
            self.status = S.WITHDRAWN
        elif isinstance(event, ComplaintReminderDue | ComplaintOverdue):
            kind = "reminder" if isinstance(event, ComplaintReminderDue) else "overdue"
            self.fired.add((event.milestone.value, str(event.round), kind))
        else:  # pragma: no cover - a new fact type must be handled explicitly
            raise TypeError(f"unhandled complaint event {type(event).__name__}")
