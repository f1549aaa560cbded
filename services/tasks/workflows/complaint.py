"""The Complaint aggregate: complaints, denunciations and voter petitions (đơn thư khiếu nại, tố
cáo, ý kiến kiến nghị của cử tri), Kiên Giang 357-QĐ/TU §6.

The rules it enforces:

* On receipt the government body shares the case information with the Dân vận board, the party
  committee's Inspection Committee, the Fatherland Front and the socio-political organisations
  *at the same level* (the caller resolves them from the org registry); the board and the Front
  are mandatory, the others are included when the registry has them at that level. Mass cases
  (khiếu nại, tố cáo đông người) are flagged on both facts.
* The resolution decision is assessed ``lawful`` or not. Lawful and complex → the board, the
  Front and the organisations are assigned to persuade the people to comply (the board leads).
  Not lawful → the board at the same level must propose a review to the competent authority;
  the authority then decides again (a new round).
* The result must be **answered to the citizen and published** (thông tin công khai) — both —
  before the complaint can be closed; closing without them is refused, naming what is missing.

Time limits are working days (:class:`ComplaintTimeLimits`; the seed gives none — see there).
:meth:`Complaint.tick` emits a reminder before and an overdue fact after each time-limited
milestone (resolution, review proposal, answer-and-publication), each at most once per round.

State machine (``status``)::

    RECEIVED ──decide(lawful)──▶ DECIDED ──answer + publish──▶ (close) ──▶ CLOSED
       │   └──decide(not lawful)──▶ REVIEW_REQUIRED ──propose_review──▶ UNDER_REVIEW
       │                                                                  │
       │                        DECIDED ◀──decide(lawful)─────────────────┘
       │                        REVIEW_REQUIRED ◀──decide(not lawful)─────┘
    RECEIVED | REVIEW_REQUIRED | UNDER_REVIEW ──withdraw──▶ WITHDRAWN
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.workflows.base import Aggregate, fmt, require_text
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
from shared.eventsourcing.errors import DomainError


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

MOBILISER_ROLES = (PartyRole.DAN_VAN_BOARD, PartyRole.FATHERLAND_FRONT, PartyRole.SOCIO_POLITICAL_ORG)


class Complaint(Aggregate[ComplaintFact]):
    kind_vi = "đơn thư"

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__(calendar)
        self.complaint_id: str | None = None
        self.status: ComplaintStatus | None = None
        self.kind: ComplaintKind | None = None
        self.receiving_unit_id: str | None = None
        self.locality_id: str | None = None
        self.summary = ""
        self.mass = False
        self.limits = ComplaintTimeLimits()
        self.resolution_due: datetime | None = None
        self.review_due: datetime | None = None
        self.answer_due: datetime | None = None
        self.shared_with: tuple[PartyRef, ...] = ()
        self.round = 0
        self.decision: ComplaintResolutionDecided | None = None
        self.review: ComplaintReviewProposed | None = None
        self.mobilisation: tuple[MobilisationTask, ...] = ()
        self.answered: ComplaintCitizenAnswered | None = None
        self.published: ComplaintResultPublished | None = None

    # ------------------------------------------------------------------ queries

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

    # ------------------------------------------------------------------ commands

    def receive(
        self,
        command_id: str,
        *,
        complaint_id: str,
        kind: ComplaintKind,
        receiving_unit_id: str,
        locality_id: str,
        summary: str,
        parties: Sequence[PartyRef],
        at: datetime,
        mass: bool = False,
        petitioner_count: int = 1,
        petitioner_ref: str | None = None,
        limits: ComplaintTimeLimits | None = None,
    ) -> list[ComplaintFact]:
        """Receipt by the government body, and the case information shared at the same level."""
        if self._duplicate(command_id):
            return []
        if self.status is not None:
            raise DomainError("already_received", f"Đơn thư mã «{complaint_id}» đã được tiếp nhận.")
        summary = require_text(summary, "summary_required", "Nội dung tóm tắt đơn thư không được để trống.")
        roles = {p.role for p in parties}
        if PartyRole.DAN_VAN_BOARD not in roles or PartyRole.FATHERLAND_FRONT not in roles:
            raise DomainError(
                "recipients_below_rule",
                "Thông tin vụ việc phải được cung cấp ít nhất cho Ban Dân vận (Khối dân vận) và Mặt trận "
                "Tổ quốc cùng cấp (357-QĐ/TU mục 6).",
                {"roles": sorted(r.value for r in roles)},
            )
        ids = [p.unit_id for p in parties]
        if len(ids) != len(set(ids)):
            raise DomainError("duplicate_recipient", "Danh sách đơn vị nhận thông tin bị trùng.")
        lim = limits or ComplaintTimeLimits()
        days = lim.mass_resolution_working_days if mass else lim.resolution_working_days
        due = self.calendar.add_working_days(at, days)
        kind_vi = KIND_VI[kind]
        names = ", ".join(p.name_vi or p.unit_id for p in parties)
        mass_vi = " Đây là vụ việc đông người, cần ưu tiên phối hợp." if mass else ""
        return self._emit(
            ComplaintReceived(
                complaint_id=complaint_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                kind=kind,
                receiving_unit_id=receiving_unit_id,
                locality_id=locality_id,
                summary=summary,
                mass=mass,
                petitioner_count=petitioner_count,
                petitioner_ref=petitioner_ref,
                limits=lim,
                resolution_due=due,
            ),
            ComplaintCaseInfoShared(
                complaint_id=complaint_id,
                seq=self.next_seq + 1,
                occurred_at=at,
                command_id=command_id,
                shared_by_unit_id=receiving_unit_id,
                shared_with=tuple(parties),
                mass=mass,
                message_vi=(
                    f"Cung cấp thông tin vụ việc {kind_vi} «{summary}» để phối hợp giải quyết: {names}. "
                    f"Hạn giải quyết: {fmt(due, self.calendar)}.{mass_vi}"
                ),
            ),
        )

    def decide(
        self,
        command_id: str,
        *,
        decided_by_unit_id: str,
        decision_ref: str,
        summary: str,
        lawful: bool,
        complex: bool,
        at: datetime,
    ) -> list[ComplaintFact]:
        """Record the resolution decision; lawful+complex → mobilisation, not lawful → review."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("decide")
        summary = require_text(
            summary, "summary_required", "Nội dung quyết định giải quyết không được để trống."
        )
        assert self.complaint_id is not None and self.resolution_due is not None
        rnd = self.round + 1
        events: list[ComplaintFact] = [
            ComplaintResolutionDecided(
                complaint_id=self.complaint_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                round=rnd,
                decided_by_unit_id=decided_by_unit_id,
                decision_ref=decision_ref,
                summary=summary,
                lawful=lawful,
                complex=complex,
                late=at > self.resolution_due,
            )
        ]
        seq = self.next_seq + 1
        if lawful and complex:
            events.append(
                ComplaintMobilisationAssigned(
                    complaint_id=self.complaint_id,
                    seq=seq,
                    occurred_at=at,
                    command_id=command_id,
                    round=rnd,
                    tasks=self._mobilisation_tasks(rnd, decision_ref),
                )
            )
        elif not lawful:
            board = self.board
            assert board is not None
            due = self.calendar.add_working_days(at, self.limits.review_proposal_working_days)
            events.append(
                ComplaintReviewRequired(
                    complaint_id=self.complaint_id,
                    seq=seq,
                    occurred_at=at,
                    command_id=command_id,
                    round=rnd,
                    board=board,
                    proposal_due=due,
                    message_vi=(
                        f"Quyết định giải quyết {decision_ref} chưa đúng quy định của pháp luật: "
                        f"{board.name_vi or board.unit_id} đề nghị cấp có thẩm quyền xem xét, giải quyết "
                        f"theo đúng quy định (hạn {fmt(due, self.calendar)})."
                    ),
                )
            )
        return self._emit(*events)

    def propose_review(
        self, command_id: str, *, by_unit_id: str, to: PartyRef, reason: str, at: datetime
    ) -> list[ComplaintFact]:
        """The board at the same level proposes a review to the competent authority."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("propose_review")
        board = self.board
        assert board is not None and self.complaint_id is not None
        if by_unit_id != board.unit_id:
            raise DomainError(
                "not_the_board",
                f"Chỉ {board.name_vi or board.unit_id} (Ban Dân vận cấp ủy cùng cấp) được đề nghị xem xét lại.",
                {"by_unit_id": by_unit_id},
            )
        reason = require_text(reason, "reason_required", "Đề nghị xem xét lại phải nêu lý do.")
        due = self.calendar.add_working_days(at, self.limits.resolution_working_days)
        return self._emit(
            ComplaintReviewProposed(
                complaint_id=self.complaint_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                round=self.round,
                by_unit_id=by_unit_id,
                to=to,
                reason=reason,
                resolution_due=due,
            )
        )

    def answer_citizen(
        self, command_id: str, *, by_unit_id: str, channel: str, answer_ref: str, at: datetime
    ) -> list[ComplaintFact]:
        if self._duplicate(command_id):
            return []
        self._check_allowed("answer_citizen")
        if self.answered is not None:
            raise DomainError("already_answered", "Kết quả giải quyết đã được trả lời cho công dân.")
        assert self.complaint_id is not None and self.answer_due is not None
        return self._emit(
            ComplaintCitizenAnswered(
                complaint_id=self.complaint_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                by_unit_id=by_unit_id,
                channel=require_text(channel, "channel_required", "Phải nêu hình thức trả lời."),
                answer_ref=require_text(
                    answer_ref, "answer_ref_required", "Phải nêu số, ký hiệu văn bản trả lời."
                ),
                late=at > self.answer_due,
            )
        )

    def publish_result(
        self,
        command_id: str,
        *,
        channel: str,
        publication_ref: str,
        at: datetime,
        media_unit_id: str | None = None,
    ) -> list[ComplaintFact]:
        if self._duplicate(command_id):
            return []
        self._check_allowed("publish_result")
        if self.published is not None:
            raise DomainError("already_published", "Kết quả giải quyết đã được thông tin công khai.")
        assert self.complaint_id is not None and self.answer_due is not None
        return self._emit(
            ComplaintResultPublished(
                complaint_id=self.complaint_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                channel=require_text(
                    channel, "channel_required", "Phải nêu phương tiện thông tin đại chúng."
                ),
                media_unit_id=media_unit_id,
                publication_ref=require_text(
                    publication_ref, "publication_ref_required", "Phải nêu tham chiếu bài, tin đã đăng."
                ),
                late=at > self.answer_due,
            )
        )

    def close(self, command_id: str, *, closed_by: str, at: datetime) -> list[ComplaintFact]:
        """Close — only once the result was both answered to the citizen and published."""
        if self._duplicate(command_id):
            return []
        if self.status not in OPEN:
            self._check_allowed("close")  # not received / already terminal
        blockers = self.close_blockers()
        if blockers:
            raise DomainError(
                "close_requirements_unmet",
                "Chưa thể kết thúc vụ việc: " + " ".join(msg for _, msg in blockers),
                {"missing": [code for code, _ in blockers]},
            )
        self._check_allowed("close")
        assert self.complaint_id is not None and self.decision is not None
        return self._emit(
            ComplaintClosed(
                complaint_id=self.complaint_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                closed_by=closed_by,
                decision_ref=self.decision.decision_ref,
            )
        )

    def withdraw(self, command_id: str, *, reason: str, at: datetime) -> list[ComplaintFact]:
        if self._duplicate(command_id):
            return []
        self._check_allowed("withdraw")
        assert self.complaint_id is not None
        return self._emit(
            ComplaintWithdrawn(
                complaint_id=self.complaint_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                reason=require_text(reason, "reason_required", "Phải nêu lý do rút đơn."),
            )
        )

    def tick(self, now: datetime) -> list[ComplaintFact]:
        """Reminder before, overdue after, the current time-limited milestone; each fires once."""
        if self.status not in OPEN or self.complaint_id is None:
            return []
        milestone: ComplaintMilestone
        due: datetime | None
        rnd = self.round
        notify: tuple[str, ...]
        everyone = tuple(
            dict.fromkeys([self.receiving_unit_id or "", *(p.unit_id for p in self.shared_with)])
        )
        if self.status in (S.RECEIVED, S.UNDER_REVIEW):
            milestone, due, rnd, notify = (
                ComplaintMilestone.RESOLUTION,
                self.resolution_due,
                self.round + 1,
                everyone,
            )
            if self.status == S.UNDER_REVIEW and self.review is not None:
                notify = tuple(dict.fromkeys([self.review.to.unit_id, *everyone]))
        elif self.status == S.REVIEW_REQUIRED:
            board = self.board
            milestone, due, notify = (
                ComplaintMilestone.REVIEW_PROPOSAL,
                self.review_due,
                (board.unit_id,) if board else (),
            )
        else:  # DECIDED
            if self.answered is not None and self.published is not None:
                return []
            milestone, due, notify = ComplaintMilestone.ANSWER_AND_PUBLICATION, self.answer_due, everyone
        if due is None:
            return []
        events: list[ComplaintFact] = []
        seq = self.next_seq
        what = MILESTONE_VI[milestone]
        remind_at = self.calendar.add_working_days(due, -self.limits.reminder_lead_working_days)
        if remind_at <= now <= due and (milestone.value, str(rnd), "reminder") not in self.fired:
            events.append(
                ComplaintReminderDue(
                    complaint_id=self.complaint_id,
                    seq=seq,
                    occurred_at=now,
                    milestone=milestone,
                    round=rnd,
                    due=due,
                    notify_unit_ids=notify,
                    message_vi=f"Nhắc việc: sắp đến hạn {what} đối với {self._label()}; hạn {fmt(due, self.calendar)}.",
                )
            )
            seq += 1
        if now > due and (milestone.value, str(rnd), "overdue") not in self.fired:
            events.append(
                ComplaintOverdue(
                    complaint_id=self.complaint_id,
                    seq=seq,
                    occurred_at=now,
                    milestone=milestone,
                    round=rnd,
                    due=due,
                    notify_unit_ids=notify,
                    message_vi=f"Quá hạn {what} đối với {self._label()} (hạn {fmt(due, self.calendar)}).",
                )
            )
        return self._emit(*events)

    # ------------------------------------------------------------------ state

    def _when(self, event: ComplaintFact) -> None:
        if isinstance(event, ComplaintReceived):
            self.complaint_id = event.complaint_id
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
        elif isinstance(event, ComplaintReminderDue):
            self.fired.add((event.milestone.value, str(event.round), "reminder"))
        elif isinstance(event, ComplaintOverdue):
            self.fired.add((event.milestone.value, str(event.round), "overdue"))
        else:  # pragma: no cover - a new fact type must be handled explicitly
            raise TypeError(f"unhandled complaint event {type(event).__name__}")

    # ------------------------------------------------------------------ helpers

    def _check_allowed(self, command: str) -> None:
        if self.status is None:
            raise DomainError("not_received", "Đơn thư chưa được tiếp nhận.")
        if self.status not in ALLOWED[command]:
            raise DomainError(
                "invalid_state",
                f"Không thể {COMMAND_VI[command]} khi vụ việc ở trạng thái “{STATUS_VI[self.status]}”.",
                {"command": command, "status": self.status.value},
            )

    def _mobilisation_tasks(self, rnd: int, decision_ref: str) -> tuple[MobilisationTask, ...]:
        assert self.complaint_id is not None
        tasks: list[MobilisationTask] = []
        for party in self.shared_with:
            if party.role not in MOBILISER_ROLES:
                continue
            lead = party.role == PartyRole.DAN_VAN_BOARD
            tasks.append(
                MobilisationTask(
                    task_id=f"{self.complaint_id}:r{rnd}:mob:{len(tasks) + 1}",
                    assignee=party,
                    lead=lead,
                    title_vi=(
                        ("Chủ trì, " if lead else "")
                        + f"phối hợp với chính quyền cùng cấp vận động, thuyết phục quần chúng thực hiện "
                        f"quyết định giải quyết {decision_ref} về {self._label()}."
                    ),
                )
            )
        return tuple(tasks)
