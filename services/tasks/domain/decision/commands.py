"""The Decision aggregate's life commands: draft, revise, request consultation, override,
request issuance, withdraw (the consultation's own commands are in :mod:`.consultation`).

Opinions are bound to a draft version: on revision, a consultee whose commented articles changed
must give its opinion again, with a new deadline and a new reminder/escalation round; the others'
opinions carry over. A synthesis and any override are bound to the version too and lapse on
revision. An override waives *missing consultee opinions only*, only for a role the requirement
lists, always with a reason, and is recorded as an exception fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.tasks.domain.decision.consultation import DecisionConsultation
from services.tasks.domain.decision.coordination import coordination_tasks
from services.tasks.domain.decision.status import BOARD_KINDS, FRONT_KIND
from services.tasks.domain.text import require_text
from shared.contract.events.decisions import (
    Article,
    ConsultationRequested,
    ConsultationRequirement,
    CoordinationTasksCreated,
    DecisionDrafted,
    DecisionFact,
    DecisionFlag,
    DecisionIssued,
    DecisionRevised,
    DecisionWithdrawn,
    DocType,
    IssuanceRefused,
    OverrideRecorded,
    PublicCommentOpened,
)
from shared.eventsourcing.errors import DomainError


class Decision(DecisionConsultation):
    """The aggregate. Create with ``Decision()`` (or a custom calendar) then call :meth:`draft`."""

    def draft(
        self,
        command_id: str,
        *,
        decision_id: str,
        issuer_unit_id: str,
        doc_type: DocType,
        title: str,
        flags: Sequence[DecisionFlag],
        articles: Sequence[tuple[str, str]],
        at: datetime,
    ) -> list[DecisionFact]:
        """Start a decision: version 1 of the draft."""
        if not self._accepts(command_id):
            return []
        self._require_new(
            "already_drafted",
            "Dự thảo này đã được tạo; dùng chức năng sửa dự thảo để tạo phiên bản mới.",
            {"decision_id": self.decision_id},
        )
        require_text(title, "title_required", "Tiêu đề dự thảo không được để trống.")
        return self._emit(
            self._fact(
                DecisionDrafted,
                at=at,
                command_id=command_id,
                decision_id=decision_id,
                issuer_unit_id=issuer_unit_id,
                doc_type=doc_type,
                title=title,
                flags=tuple(flags),
                articles=_articles(articles),
            )
        )

    def revise(
        self,
        command_id: str,
        *,
        articles: Sequence[tuple[str, str]],
        at: datetime,
        reconsultation_deadline: datetime | None = None,
    ) -> list[DecisionFact]:
        """New draft version; re-opens consultation for consultees whose commented articles changed."""
        if not self._accepts(command_id, "revise"):
            return []
        new = _articles(articles)
        new_map = {a.article_id: a.text for a in new}
        changed = sorted(
            {
                aid
                for aid in self.articles.keys() | new_map.keys()
                if self.articles.get(aid) != new_map.get(aid)
            }
        )
        if not changed:
            raise DomainError(
                "revision_without_changes",
                "Dự thảo sửa đổi không có thay đổi nào so với phiên bản hiện hành.",
            )
        reopened: list[str] = []
        carried: list[str] = []
        for c in self.consultees.values():
            if not self.has_valid_opinion(c.unit_id) or c.opinion_id is None:
                continue
            commented = {cm.article_id for cm in self.opinions[c.opinion_id].comments}
            (reopened if commented & set(changed) else carried).append(c.unit_id)
        if reopened:
            if reconsultation_deadline is None:
                raise DomainError(
                    "reconsultation_deadline_required",
                    "Cần thời hạn lấy ý kiến lại cho các đơn vị có điều đã góp ý bị sửa đổi.",
                    {"reopened_consultee_unit_ids": reopened},
                )
            if reconsultation_deadline <= at:
                raise DomainError(
                    "deadline_in_past", "Thời hạn lấy ý kiến lại phải sau thời điểm sửa dự thảo."
                )
        return self._emit(
            self._fact(
                DecisionRevised,
                at=at,
                command_id=command_id,
                version=self.version + 1,
                articles=new,
                changed_article_ids=tuple(changed),
                reopened_consultee_unit_ids=tuple(reopened),
                carried_over_consultee_unit_ids=tuple(carried),
                reconsultation_deadline=reconsultation_deadline if reopened else None,
                synthesis_invalidated=self.synthesis is not None
                and self.synthesis.draft_version == self.version,
                invalidated_override_ids=self.valid_override_ids(),
            )
        )

    def request_consultation(
        self, command_id: str, *, requirement: ConsultationRequirement, at: datetime
    ) -> list[DecisionFact]:
        """Send the draft out for opinions, as the consultation policy requires."""
        if not self._accepts(command_id, "request_consultation"):
            return []
        kinds = {c.kind for c in requirement.consultees}
        if not kinds & BOARD_KINDS or FRONT_KIND not in kinds:
            raise DomainError(
                "requirement_below_rule",
                "Danh sách lấy ý kiến phải có ít nhất Ban Dân vận (hoặc Khối dân vận) và Mặt trận Tổ quốc cùng cấp.",
                {"kinds": sorted(kinds)},
            )
        if requirement.deadline <= at:
            raise DomainError("deadline_in_past", "Thời hạn cho ý kiến phải sau thời điểm gửi lấy ý kiến.")
        closes = requirement.public_comment_closes_at
        if requirement.public_comment_required and closes is not None and closes <= at:
            raise DomainError(
                "deadline_in_past", "Thời hạn lấy ý kiến nhân dân phải sau thời điểm gửi lấy ý kiến."
            )
        header: dict[str, Any] = {"at": at, "command_id": command_id, "draft_version": self.version}
        events: list[DecisionFact] = [self._fact(ConsultationRequested, **header, requirement=requirement)]
        if requirement.public_comment_required and closes is not None:
            events.append(self._fact(PublicCommentOpened, **header, closes_at=closes))
        return self._emit(*events)

    def request_issuance(
        self,
        command_id: str,
        *,
        requested_by: str,
        at: datetime,
        implementing_unit_ids: Sequence[str] = (),
    ) -> list[DecisionFact]:
        """Issue if — and only if — the rule is met; otherwise an :class:`IssuanceRefused` fact
        naming exactly what is missing (the status does not change)."""
        if not self._accepts(command_id, "request_issuance"):
            return []
        blockers = self.issuance_blockers()
        if blockers:
            return self._emit(
                self._fact(
                    IssuanceRefused,
                    at=at,
                    command_id=command_id,
                    requested_by=requested_by,
                    missing=tuple(blockers),
                    missing_consultee_unit_ids=tuple(b.unit_id for b in blockers if b.unit_id is not None),
                )
            )
        req = self.required()
        override_ids = self.valid_override_ids()
        assert self.decision_id is not None and self.issuer_unit_id is not None
        tasks = coordination_tasks(
            self.decision_id, self.title, self.issuer_unit_id, req, implementing_unit_ids
        )
        return self._emit(
            self._fact(
                DecisionIssued,
                at=at,
                command_id=command_id,
                requested_by=requested_by,
                draft_version=self.version,
                opinion_ids=self.valid_opinion_ids(),
                override_ids=override_ids,
                with_exception=bool(override_ids),
            ),
            self._fact(CoordinationTasksCreated, at=at, command_id=command_id, tasks=tasks),
        )

    def override(
        self,
        command_id: str,
        *,
        by_person_id: str,
        role: str,
        reason: str,
        at: datetime,
        consultee_unit_ids: Sequence[str] = (),
    ) -> list[DecisionFact]:
        """Waive missing consultee opinions — authorised roles only, with a reason, as an exception."""
        if not self._accepts(command_id, "override"):
            return []
        req = self.required()
        if role not in req.override_roles:
            raise DomainError(
                "override_role_not_authorised",
                f"Vai trò “{role}” không có thẩm quyền cho phép ban hành khi chưa đủ ý kiến theo quy định.",
                {"role": role, "allowed": list(req.override_roles)},
            )
        reason = require_text(reason, "reason_required", "Quyết định cho phép ngoại lệ phải nêu rõ lý do.")
        missing = [c.unit_id for c in self.missing_consultees()]
        if not missing:
            raise DomainError(
                "nothing_to_override", "Không có đơn vị nào còn thiếu ý kiến để cho phép ngoại lệ."
            )
        targets = list(dict.fromkeys(consultee_unit_ids)) or missing
        not_missing = [u for u in targets if u not in missing]
        if not_missing:
            raise DomainError(
                "override_target_not_missing",
                "Chỉ được cho phép ngoại lệ với đơn vị còn thiếu ý kiến; không áp dụng cho: "
                + ", ".join(not_missing)
                + ".",
                {"unit_ids": not_missing},
            )
        return self._emit(
            self._fact(
                OverrideRecorded,
                at=at,
                command_id=command_id,
                override_id=self._new_id("ov", self.overrides),
                by_person_id=by_person_id,
                role=role,
                reason=reason,
                consultee_unit_ids=tuple(targets),
                draft_version=self.version,
            )
        )

    def withdraw(
        self, command_id: str, *, by_person_id: str, reason: str, at: datetime
    ) -> list[DecisionFact]:
        """Abandon the draft (terminal)."""
        if not self._accepts(command_id, "withdraw"):
            return []
        reason = require_text(reason, "reason_required", "Việc rút dự thảo phải nêu lý do.")
        return self._emit(
            self._fact(
                DecisionWithdrawn, at=at, command_id=command_id, by_person_id=by_person_id, reason=reason
            )
        )


def _articles(articles: Sequence[tuple[str, str]]) -> tuple[Article, ...]:
    if not articles:
        raise DomainError("articles_required", "Dự thảo phải có ít nhất một điều.")
    ids = [aid for aid, _ in articles]
    dupes = sorted({a for a in ids if ids.count(a) > 1})
    if dupes:
        raise DomainError(
            "duplicate_article", f"Mã điều bị trùng: {', '.join(dupes)}.", {"article_ids": dupes}
        )
    if any(not aid.strip() for aid in ids):
        raise DomainError("article_id_required", "Mỗi điều phải có mã điều.")
    return tuple(Article(article_id=aid, text=text) for aid, text in articles)
