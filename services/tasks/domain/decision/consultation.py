"""The consultation itself: opinions, the public comment window, closing, the board's
synthesis and the drafting body's dispositions (tiếp thu, giải trình).

Late opinions are accepted and flagged ``late`` (a consultee's opinion is what the rule wants);
they are accepted until synthesis, including after the consultation was closed. Closing early is
refused while a consultee without an opinion is still within its deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.tasks.domain.decision.timers import DecisionTimers
from services.tasks.domain.text import fmt, require_text
from shared.contract.events.decisions import (
    ActingAs,
    ArticleComment,
    AttachmentRef,
    ConsultationClosed,
    DecisionFact,
    DecisionSynthesised,
    Disposition,
    DispositionRecorded,
    ModerationOutcome,
    OpinionRecorded,
    PublicCommentModerated,
    PublicCommentRecorded,
    Stance,
)
from shared.eventsourcing.errors import DomainError


class DecisionConsultation(DecisionTimers):
    """Commands of the consultation (see :class:`~.commands.Decision` for the whole)."""

    def give_opinion(
        self,
        command_id: str,
        *,
        consultee_unit_id: str,
        given_by: str,
        acting_as: ActingAs,
        stance: Stance,
        comments: Mapping[str, str],
        draft_version: int,
        at: datetime,
        general_comment: str = "",
        attachments: Sequence[AttachmentRef] = (),
        link_token_id: str | None = None,
    ) -> list[DecisionFact]:
        """Record a consultee's opinion on a given draft version (late ones flagged, not refused)."""
        if not self._accepts(command_id, "give_opinion"):
            return []
        c = self.consultees.get(consultee_unit_id)
        if c is None:
            raise DomainError(
                "not_a_consultee",
                f"Đơn vị {consultee_unit_id} không thuộc danh sách được lấy ý kiến về dự thảo này.",
                {"consultee_unit_id": consultee_unit_id},
            )
        if draft_version != self.version:
            raise DomainError(
                "stale_draft_version",
                f"Ý kiến được cho trên dự thảo phiên bản {draft_version}, nhưng phiên bản hiện hành là "
                f"{self.version}. Vui lòng xem dự thảo mới và cho ý kiến lại.",
                {"given": draft_version, "current": self.version},
            )
        unknown = sorted(set(comments) - set(self.articles))
        if unknown:
            raise DomainError(
                "unknown_article",
                f"Góp ý cho điều không có trong dự thảo: {', '.join(unknown)}.",
                {"article_ids": unknown},
            )
        cleaned = tuple(
            ArticleComment(article_id=k, text=v.strip()) for k, v in comments.items() if v.strip()
        )
        if stance == Stance.AGREE_WITH_AMENDMENTS and not cleaned:
            raise DomainError(
                "amendments_required",
                "Ý kiến “nhất trí, có sửa đổi” phải nêu nội dung sửa đổi cho ít nhất một điều.",
            )
        if stance == Stance.DISAGREE and not cleaned and not general_comment.strip():
            raise DomainError("reason_required", "Ý kiến không nhất trí phải nêu rõ lý do.")
        return self._emit(
            self._fact(
                OpinionRecorded,
                at=at,
                command_id=command_id,
                opinion_id=self._new_id("op", self.opinions),
                consultee_unit_id=consultee_unit_id,
                given_by=given_by,
                acting_as=acting_as,
                stance=stance,
                general_comment=general_comment.strip(),
                comments=cleaned,
                attachments=tuple(attachments),
                draft_version=draft_version,
                late=at > c.deadline,
                deadline=c.deadline,
                supersedes_opinion_id=c.opinion_id if c.valid_for_version == self.version else None,
                link_token_id=link_token_id,
            )
        )

    def record_public_comment(
        self,
        command_id: str,
        *,
        text: str,
        at: datetime,
        article_id: str | None = None,
        author_ref: str | None = None,
        channel: str = "web",
    ) -> list[DecisionFact]:
        """A citizen's comment during the public comment window (awaits moderation)."""
        if not self._accepts(command_id, "record_public_comment"):
            return []
        closes = self.public_comment_closes_at
        if not self.public_comment_open or (closes is not None and at >= closes):
            raise DomainError(
                "public_comment_window_closed", "Thời hạn lấy ý kiến nhân dân đã kết thúc hoặc chưa mở."
            )
        text = require_text(text, "comment_required", "Nội dung góp ý không được để trống.")
        if article_id is not None and article_id not in self.articles:
            raise DomainError("unknown_article", f"Góp ý cho điều không có trong dự thảo: {article_id}.")
        return self._emit(
            self._fact(
                PublicCommentRecorded,
                at=at,
                command_id=command_id,
                comment_id=self._new_id("pc", self.public_comments),
                text=text,
                article_id=article_id,
                author_ref=author_ref,
                channel=channel,
                draft_version=self.version,
            )
        )

    def moderate_public_comment(
        self,
        command_id: str,
        *,
        comment_id: str,
        outcome: ModerationOutcome,
        moderator_id: str,
        at: datetime,
        reason: str = "",
    ) -> list[DecisionFact]:
        """Approve or reject a public comment (rejections need a reason)."""
        if not self._accepts(command_id, "moderate_public_comment"):
            return []
        pc = self.public_comments.get(comment_id)
        if pc is None:
            raise DomainError("unknown_public_comment", f"Không tìm thấy góp ý {comment_id}.")
        if pc.outcome is not None:
            raise DomainError("already_moderated", f"Góp ý {comment_id} đã được kiểm duyệt.")
        if outcome == ModerationOutcome.REJECTED:
            require_text(reason, "reason_required", "Từ chối góp ý phải nêu lý do.")
        return self._emit(
            self._fact(
                PublicCommentModerated,
                at=at,
                command_id=command_id,
                comment_id=comment_id,
                outcome=outcome,
                moderator_id=moderator_id,
                reason=reason.strip(),
            )
        )

    def close_consultation(
        self, command_id: str, *, at: datetime, closed_by: str | None = None
    ) -> list[DecisionFact]:
        """End the collection of opinions (closes the public window too if its time is up)."""
        if not self._accepts(command_id, "close_consultation"):
            return []
        closes = self.public_comment_closes_at
        if self.public_comment_open and closes is not None and at < closes:
            raise DomainError(
                "public_comment_window_open",
                f"Chưa thể kết thúc lấy ý kiến: thời hạn lấy ý kiến nhân dân đến {fmt(closes, self.calendar)}.",
            )
        still_in_time = [c for c in self.missing_consultees() if at <= c.deadline]
        if still_in_time:
            raise DomainError(
                "consultees_within_deadline",
                "Chưa thể kết thúc lấy ý kiến: còn đơn vị chưa cho ý kiến và vẫn trong thời hạn: "
                + "; ".join(f"{c.label} (hạn {fmt(c.deadline, self.calendar)})" for c in still_in_time)
                + ".",
                {"unit_ids": [c.unit_id for c in still_in_time]},
            )
        events: list[DecisionFact] = []
        if self.public_comment_open:
            events.append(self._public_comment_closed(at, command_id))
        events.append(
            self._fact(
                ConsultationClosed,
                at=at,
                command_id=command_id,
                closed_by=closed_by,
                draft_version=self.version,
                missing_consultee_unit_ids=tuple(c.unit_id for c in self.missing_consultees()),
            )
        )
        return self._emit(*events)

    def synthesise(
        self, command_id: str, *, by_unit_id: str, summary: str, at: datetime, by_person_id: str | None = None
    ) -> list[DecisionFact]:
        """The Dân vận board synthesises the opinions (chủ trì tổng hợp ý kiến)."""
        if not self._accepts(command_id, "synthesise"):
            return []
        req = self.required()
        if by_unit_id != req.synthesiser_unit_id:
            raise DomainError(
                "not_synthesiser",
                "Chỉ Ban Dân vận cùng cấp (đơn vị chủ trì tổng hợp theo quy định) được tổng hợp ý kiến.",
                {"expected": req.synthesiser_unit_id, "given": by_unit_id},
            )
        missing = self.missing_consultees()
        if missing:
            raise DomainError(
                "opinions_missing",
                "Chưa đủ ý kiến để tổng hợp: "
                + " ".join(self.consultee_missing_item(c).message_vi for c in missing),
                {"unit_ids": [c.unit_id for c in missing]},
            )
        if any(p.outcome is None for p in self.public_comments.values()):
            raise DomainError(
                "public_comments_pending_moderation", "Còn góp ý của nhân dân chưa được kiểm duyệt."
            )
        summary = require_text(summary, "summary_required", "Nội dung tổng hợp không được để trống.")
        approved = tuple(
            p.comment_id for p in self.public_comments.values() if p.outcome == ModerationOutcome.APPROVED
        )
        return self._emit(
            self._fact(
                DecisionSynthesised,
                at=at,
                command_id=command_id,
                by_unit_id=by_unit_id,
                by_person_id=by_person_id,
                summary=summary,
                draft_version=self.version,
                opinion_ids=self.valid_opinion_ids(),
                public_comment_ids=approved,
                override_ids=self.valid_override_ids(),
                report_to_unit_ids=req.report_to_unit_ids,
            )
        )

    def record_disposition(
        self,
        command_id: str,
        *,
        opinion_id: str,
        disposition: Disposition,
        by_unit_id: str,
        at: datetime,
        reason: str = "",
    ) -> list[DecisionFact]:
        """The drafting body says how it dealt with an opinion (tiếp thu / giải trình)."""
        if not self._accepts(command_id, "record_disposition"):
            return []
        if by_unit_id != self.issuer_unit_id:
            raise DomainError(
                "not_drafting_body", "Chỉ cơ quan soạn thảo được ghi nhận việc tiếp thu, giải trình ý kiến."
            )
        if opinion_id not in self.opinions:
            raise DomainError("unknown_opinion", f"Không tìm thấy ý kiến {opinion_id}.")
        if disposition != Disposition.ACCEPTED:
            require_text(reason, "reason_required", "Giải trình hoặc không tiếp thu ý kiến phải nêu lý do.")
        return self._emit(
            self._fact(
                DispositionRecorded,
                at=at,
                command_id=command_id,
                opinion_id=opinion_id,
                disposition=disposition,
                reason=reason.strip(),
                by_unit_id=by_unit_id,
            )
        )
