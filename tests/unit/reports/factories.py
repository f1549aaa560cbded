"""Builders of decision fact streams for the reports projection tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.reports.domain.periods import VN_TZ
from shared.contract.events.decisions import (
    ActingAs,
    Article,
    ConsultationClosed,
    ConsultationRequested,
    ConsultationRequirement,
    ConsulteeSpec,
    DecisionDrafted,
    DecisionFact,
    DecisionIssued,
    DecisionRevised,
    DecisionSynthesised,
    DecisionWithdrawn,
    DocType,
    Escalated,
    IssuanceRefused,
    MissingItem,
    OpinionRecorded,
    OverrideRecorded,
    ReminderDue,
    RequestRejected,
    Stance,
)

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=VN_TZ)
BOARD, FRONT, YOUTH, WOMEN = "bdv-tu", "mttq-tinh", "tinh-doan", "hlhpn-tinh"
CONSULTEES = (
    ConsulteeSpec(unit_id=BOARD, kind="dan_van_board", name_vi="Ban Dân vận Tỉnh ủy"),
    ConsulteeSpec(unit_id=FRONT, kind="fatherland_front", name_vi="Ủy ban MTTQ Việt Nam tỉnh"),
    ConsulteeSpec(unit_id=YOUTH, kind="socio_political_org", name_vi="Tỉnh Đoàn"),
    ConsulteeSpec(unit_id=WOMEN, kind="socio_political_org", name_vi="Hội Liên hiệp Phụ nữ tỉnh"),
)
UNITS = tuple(c.unit_id for c in CONSULTEES)
ISSUER = "ubnd-tinh"


def requirement(deadline: datetime) -> ConsultationRequirement:
    return ConsultationRequirement(
        consultees=CONSULTEES,
        deadline=deadline,
        override_roles=("party_secretary",),
        synthesiser_unit_id=BOARD,
        escalation_unit_id="tinh-uy",
        report_to_unit_ids=("tinh-uy", ISSUER),
        citations=("357-QĐ/TU mục 5",),
        policy_id="kg-consultation",
        policy_version="2021.1",
    )


class Stream:
    """Appends facts with consecutive ``seq`` numbers, like the aggregate does."""

    def __init__(self, decision_id: str, t0: datetime = T0) -> None:
        self.decision_id = decision_id
        self.t = t0
        self.facts: list[DecisionFact] = []

    def _add(self, cls: type[DecisionFact], hours: float = 1, **fields: Any) -> DecisionFact:
        self.t = self.t + timedelta(hours=hours)
        fact = cls(decision_id=self.decision_id, seq=len(self.facts) + 1, occurred_at=self.t, **fields)
        self.facts.append(fact)
        return fact

    def drafted(
        self, issuer: str = ISSUER, title: str = "Quyết định về hỗ trợ giải phóng mặt bằng"
    ) -> Stream:
        self._add(
            DecisionDrafted,
            issuer_unit_id=issuer,
            doc_type=DocType.DECISION,
            title=title,
            articles=(Article(article_id="d1", text="Điều 1."),),
        )
        return self

    def consult(self, deadline_hours: float = 240) -> Stream:
        self._add(
            ConsultationRequested,
            draft_version=1,
            requirement=requirement(self.t + timedelta(hours=deadline_hours)),
        )
        return self

    def opinion(self, unit: str, *, late: bool = False, hours: float = 1, version: int = 1) -> Stream:
        n = len(self.facts) + 1
        self._add(
            OpinionRecorded,
            hours=hours,
            opinion_id=f"{self.decision_id}:op:{n}",
            consultee_unit_id=unit,
            given_by=f"p-{unit}",
            acting_as=ActingAs.HOLDER,
            stance=Stance.AGREE,
            draft_version=version,
            late=late,
            deadline=self.t,
        )
        return self

    def remind(self, unit: str) -> Stream:
        self._add(ReminderDue, consultee_unit_id=unit, round=1, deadline=self.t, message_vi="Nhắc gửi ý kiến")
        return self

    def escalate(self, unit: str, level: int = 1) -> Stream:
        self._add(
            Escalated,
            consultee_unit_id=unit,
            round=1,
            level=level,
            deadline=self.t,
            escalate_to_unit_id="tinh-uy",
            escalate_to_kind="party_committee",
            escalate_to_role="standing_committee",
            message_vi="Quá hạn",
        )
        return self

    def refuse(self, units: Sequence[str]) -> Stream:
        self._add(
            IssuanceRefused,
            requested_by="p-drafter",
            missing=tuple(
                MissingItem(code="opinion_missing", message_vi=f"Chưa có ý kiến của {u}.", unit_id=u)
                for u in units
            ),
            missing_consultee_unit_ids=tuple(units),
        )
        return self

    def override(self, units: Sequence[str], reason: str = "Cấp bách do thiên tai") -> Stream:
        n = sum(1 for f in self.facts if isinstance(f, OverrideRecorded)) + 1
        self._add(
            OverrideRecorded,
            override_id=f"{self.decision_id}:ov:{n}",
            by_person_id="p-secretary",
            role="party_secretary",
            reason=reason,
            consultee_unit_ids=tuple(units),
            draft_version=1,
        )
        return self

    def close(self, missing: Sequence[str] = ()) -> Stream:
        self._add(ConsultationClosed, draft_version=1, missing_consultee_unit_ids=tuple(missing))
        return self

    def synthesise(self) -> Stream:
        self._add(
            DecisionSynthesised,
            by_unit_id=BOARD,
            summary="Các đơn vị nhất trí.",
            draft_version=1,
            opinion_ids=(),
        )
        return self

    def issue(self, *, with_exception: bool = False) -> Stream:
        ov = tuple(f.override_id for f in self.facts if isinstance(f, OverrideRecorded))
        self._add(
            DecisionIssued,
            requested_by="p-drafter",
            draft_version=1,
            opinion_ids=(),
            override_ids=ov if with_exception else (),
            with_exception=with_exception,
        )
        return self

    def revise(self, reopened: Sequence[str], invalidated: Sequence[str] = ()) -> Stream:
        version = 1 + sum(1 for f in self.facts if isinstance(f, DecisionRevised)) + 1
        self._add(
            DecisionRevised,
            version=version,
            articles=(Article(article_id="d1", text="Điều 1 (sửa)."),),
            changed_article_ids=("d1",),
            reopened_consultee_unit_ids=tuple(reopened),
            reconsultation_deadline=self.t + timedelta(days=5),
            invalidated_override_ids=tuple(invalidated),
        )
        return self

    def withdraw(self) -> Stream:
        self._add(DecisionWithdrawn, by_person_id="p-drafter", reason="Không còn phù hợp")
        return self

    def rejected(self, request_id: str, code: str = "role_not_held") -> RequestRejected:
        self.t = self.t + timedelta(minutes=30)
        return RequestRejected(
            decision_id=self.decision_id,
            request_id=request_id,
            request_type="decision.override_requested",
            code=code,
            message_vi="Người đề nghị không giữ chức vụ được phép cho phép ngoại lệ.",
            occurred_at=self.t,
        )


def exception_scenario(decision_id: str = "qd-1", issuer: str = ISSUER, t0: datetime = T0) -> Stream:
    """Two on-time opinions, one late, one never: refused, overridden, issued by exception."""
    return (
        Stream(decision_id, t0)
        .drafted(issuer)
        .consult()
        .opinion(BOARD)
        .opinion(FRONT)
        .remind(WOMEN)
        .escalate(WOMEN)
        .opinion(YOUTH, late=True)
        .refuse([WOMEN])
        .override([WOMEN])
        .issue(with_exception=True)
    )


def full_scenario(decision_id: str = "qd-2", issuer: str = ISSUER, t0: datetime = T0) -> Stream:
    s = Stream(decision_id, t0).drafted(issuer).consult()
    for u in UNITS:
        s.opinion(u)
    return s.close().synthesise().issue()
