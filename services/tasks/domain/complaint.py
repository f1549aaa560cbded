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

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.tasks.domain.complaint_state import KIND_VI, OPEN, STATUS_VI, ComplaintState, ComplaintStatus
from services.tasks.domain.parties import mobilisation_tasks, name_of, require_board_and_front
from services.tasks.domain.text import fmt, require_text
from shared.contract.events.workflows import (
    ComplaintCaseInfoShared,
    ComplaintCitizenAnswered,
    ComplaintClosed,
    ComplaintFact,
    ComplaintKind,
    ComplaintMobilisationAssigned,
    ComplaintReceived,
    ComplaintResolutionDecided,
    ComplaintResultPublished,
    ComplaintReviewProposed,
    ComplaintReviewRequired,
    ComplaintTimeLimits,
    ComplaintWithdrawn,
    PartyRef,
)
from shared.eventsourcing.errors import DomainError

__all__ = ["OPEN", "STATUS_VI", "Complaint", "ComplaintStatus"]


class Complaint(ComplaintState):
    """The aggregate: ``Complaint()`` (or a custom calendar), then :meth:`receive`."""

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
        if not self._accepts(command_id):
            return []
        self._require_new("already_received", f"Đơn thư mã «{complaint_id}» đã được tiếp nhận.")
        summary = require_text(summary, "summary_required", "Nội dung tóm tắt đơn thư không được để trống.")
        require_board_and_front(
            parties,
            "Thông tin vụ việc phải được cung cấp ít nhất cho Ban Dân vận (Khối dân vận) và Mặt trận "
            "Tổ quốc cùng cấp (357-QĐ/TU mục 6).",
        )
        ids = [p.unit_id for p in parties]
        if len(ids) != len(set(ids)):
            raise DomainError("duplicate_recipient", "Danh sách đơn vị nhận thông tin bị trùng.")
        lim = limits or ComplaintTimeLimits()
        due = self.calendar.add_working_days(
            at, lim.mass_resolution_working_days if mass else lim.resolution_working_days
        )
        names = ", ".join(name_of(p) for p in parties)
        mass_vi = " Đây là vụ việc đông người, cần ưu tiên phối hợp." if mass else ""
        header: dict[str, Any] = {
            "at": at,
            "command_id": command_id,
            "complaint_id": complaint_id,
            "mass": mass,
        }
        return self._emit(
            self._fact(
                ComplaintReceived,
                **header,
                kind=kind,
                receiving_unit_id=receiving_unit_id,
                locality_id=locality_id,
                summary=summary,
                petitioner_count=petitioner_count,
                petitioner_ref=petitioner_ref,
                limits=lim,
                resolution_due=due,
            ),
            self._fact(
                ComplaintCaseInfoShared,
                **header,
                shared_by_unit_id=receiving_unit_id,
                shared_with=tuple(parties),
                message_vi=(
                    f"Cung cấp thông tin vụ việc {KIND_VI[kind]} «{summary}» để phối hợp giải quyết: {names}. "
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
        if not self._accepts(command_id, "decide"):
            return []
        summary = require_text(
            summary, "summary_required", "Nội dung quyết định giải quyết không được để trống."
        )
        assert self.resolution_due is not None
        rnd = self.round + 1
        events: list[ComplaintFact] = [
            self._fact(
                ComplaintResolutionDecided,
                at=at,
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
        if lawful and complex:
            title = (
                "phối hợp với chính quyền cùng cấp vận động, thuyết phục quần chúng thực hiện "
                f"quyết định giải quyết {decision_ref} về {self._label()}."
            )
            tasks = mobilisation_tasks(
                f"{self.complaint_id}:r{rnd}",
                self.shared_with,
                lambda lead: ("Chủ trì, " if lead else "") + title,
            )
            events.append(
                self._fact(
                    ComplaintMobilisationAssigned, at=at, command_id=command_id, round=rnd, tasks=tasks
                )
            )
        elif not lawful:
            board = self.board
            assert board is not None
            due = self.calendar.add_working_days(at, self.limits.review_proposal_working_days)
            events.append(
                self._fact(
                    ComplaintReviewRequired,
                    at=at,
                    command_id=command_id,
                    round=rnd,
                    board=board,
                    proposal_due=due,
                    message_vi=(
                        f"Quyết định giải quyết {decision_ref} chưa đúng quy định của pháp luật: "
                        f"{name_of(board)} đề nghị cấp có thẩm quyền xem xét, giải quyết "
                        f"theo đúng quy định (hạn {fmt(due, self.calendar)})."
                    ),
                )
            )
        return self._emit(*events)

    def propose_review(
        self, command_id: str, *, by_unit_id: str, to: PartyRef, reason: str, at: datetime
    ) -> list[ComplaintFact]:
        """The board at the same level proposes a review to the competent authority."""
        if not self._accepts(command_id, "propose_review"):
            return []
        board = self.board
        assert board is not None
        if by_unit_id != board.unit_id:
            raise DomainError(
                "not_the_board",
                f"Chỉ {name_of(board)} (Ban Dân vận cấp ủy cùng cấp) được đề nghị xem xét lại.",
                {"by_unit_id": by_unit_id},
            )
        reason = require_text(reason, "reason_required", "Đề nghị xem xét lại phải nêu lý do.")
        due = self.calendar.add_working_days(at, self.limits.resolution_working_days)
        return self._emit(
            self._fact(
                ComplaintReviewProposed,
                at=at,
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
        if not self._accepts(command_id, "answer_citizen"):
            return []
        if self.answered is not None:
            raise DomainError("already_answered", "Kết quả giải quyết đã được trả lời cho công dân.")
        return self._result(
            ComplaintCitizenAnswered,
            at,
            command_id,
            by_unit_id=by_unit_id,
            channel=require_text(channel, "channel_required", "Phải nêu hình thức trả lời."),
            answer_ref=require_text(
                answer_ref, "answer_ref_required", "Phải nêu số, ký hiệu văn bản trả lời."
            ),
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
        if not self._accepts(command_id, "publish_result"):
            return []
        if self.published is not None:
            raise DomainError("already_published", "Kết quả giải quyết đã được thông tin công khai.")
        return self._result(
            ComplaintResultPublished,
            at,
            command_id,
            channel=require_text(channel, "channel_required", "Phải nêu phương tiện thông tin đại chúng."),
            media_unit_id=media_unit_id,
            publication_ref=require_text(
                publication_ref, "publication_ref_required", "Phải nêu tham chiếu bài, tin đã đăng."
            ),
        )

    def close(self, command_id: str, *, closed_by: str, at: datetime) -> list[ComplaintFact]:
        """Close — only once the result was both answered to the citizen and published."""
        if not self._accepts(command_id):
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
        assert self.decision is not None
        return self._emit(
            self._fact(
                ComplaintClosed,
                at=at,
                command_id=command_id,
                closed_by=closed_by,
                decision_ref=self.decision.decision_ref,
            )
        )

    def withdraw(self, command_id: str, *, reason: str, at: datetime) -> list[ComplaintFact]:
        if not self._accepts(command_id, "withdraw"):
            return []
        reason = require_text(reason, "reason_required", "Phải nêu lý do rút đơn.")
        return self._emit(self._fact(ComplaintWithdrawn, at=at, command_id=command_id, reason=reason))

    # ------------------------------------------------------------------ helpers

    def _result(
        self,
        cls: type[ComplaintCitizenAnswered | ComplaintResultPublished],
        at: datetime,
        command_id: str,
        **fields: Any,
    ) -> list[ComplaintFact]:
        """The answer to the citizen or the publication, flagged late after the answer's due date."""
        assert self.answer_due is not None
        return self._emit(self._fact(cls, at=at, command_id=command_id, late=at > self.answer_due, **fields))
