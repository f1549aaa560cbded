"""Compliance aggregates for the reporting regime (chế độ báo cáo, Thanh Oai Điều 23;
Kiên Giang §2.2): per issuing unit and per period, how well the rule "obtain the opinions
of the Dân vận board, the Front and the organisations before issuing" was kept.

Why computed from decision views instead of counters updated per event: a counter updated
on delivery double-counts a redelivered fact unless it carries its own dedup state; the
views are already deduplicated by ``seq``, so counting them is idempotent by construction,
and any period can be asked for afterwards (month, quarter, 6 months, year) with the same
code. Each count is attributed to the period containing the *Vietnam local date* of its
fact (the issuance, the refusal, the opinion, the escalation …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.reports.domain.periods import Period
from services.reports.domain.view_model import ConsulteeView, DecisionView
from services.reports.domain.view_status import WITHOUT_OPINION

UnitName = Callable[[str], str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Counts(_Model):
    """What one row of the report counts (all within the period)."""

    drafted: int = 0  # dự thảo mới
    consultations_requested: int = 0  # số lần gửi lấy ý kiến
    issued: int = 0  # văn bản đã ban hành
    issued_full: int = 0  # ban hành khi đã có đủ ý kiến
    issued_with_exception: int = 0  # ban hành theo ngoại lệ
    overrides: int = 0  # số lần ngoại lệ được cho phép
    refused_attempts: int = 0  # số lần đề nghị ban hành bị từ chối vì chưa đủ ý kiến
    opinions_on_time: int = 0  # ý kiến đúng hạn
    opinions_late: int = 0  # ý kiến quá hạn
    consultees_without_opinion: int = 0  # cơ quan không có ý kiến khi văn bản được ban hành
    escalations: int = 0  # số lần báo cáo quá hạn lên cấp trên
    withdrawn: int = 0  # dự thảo bị rút
    requests_rejected: int = 0  # yêu cầu bị từ chối

    def add(self, other: Counts) -> None:
        for name in Counts.model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def opinions(self) -> int:
        return self.opinions_on_time + self.opinions_late

    @property
    def full_rate(self) -> float | None:
        """Share of issued documents that had every required opinion (None when none issued)."""
        return self.issued_full / self.issued if self.issued else None

    @property
    def on_time_rate(self) -> float | None:
        return self.opinions_on_time / self.opinions if self.opinions else None


class UnitRow(Counts):
    unit_id: str
    unit_name: str


class ConsulteeRow(_Model):
    """How one consulted body answered (by the date of its opinion / of the issuance)."""

    unit_id: str
    unit_name: str
    on_time: int = 0
    late: int = 0
    without_opinion: int = 0
    escalations: int = 0


class _Case(TypedDict):
    """Which decision an item of the report's lists is about."""

    decision_id: str
    title: str
    unit_id: str


class _CaseItem(_Model):
    decision_id: str
    title: str
    unit_id: str
    at: datetime


class ExceptionItem(_CaseItem):
    by_person_id: str
    role: str
    reason: str
    consultee_unit_ids: list[str]
    invalidated: bool = False


class RefusalItem(_CaseItem):
    requested_by: str
    missing: list[str]


class ComplianceReport(_Model):
    period_code: str
    period_label: str
    period_range: str
    unit_id: str | None = None
    rows: list[UnitRow] = Field(default_factory=list)
    total: Counts = Field(default_factory=Counts)
    consultees: list[ConsulteeRow] = Field(default_factory=list)
    exceptions: list[ExceptionItem] = Field(default_factory=list)
    refusals: list[RefusalItem] = Field(default_factory=list)


class _Dated(Protocol):
    @property
    def at(self) -> datetime: ...


_D = TypeVar("_D", bound=_Dated)


def _within(period: Period, items: Iterable[_D]) -> list[_D]:
    """The items whose fact happened in ``period``."""
    return [x for x in items if period.contains(x.at)]


def _without_opinion(view: DecisionView) -> list[ConsulteeView]:
    """The required consultees that gave no opinion (missing or waived by an override)."""
    return [k for k in view.consultees if k.required and k.status in WITHOUT_OPINION]


def counts_of(view: DecisionView, period: Period) -> Counts:
    """What one decision contributes to ``period``."""
    c = Counts()
    c.drafted = int(period.contains(view.drafted_at))
    c.consultations_requested = int(period.contains(view.consultation_requested_at))
    if period.contains(view.issued_at):
        c.issued = 1
        c.issued_with_exception = int(view.with_exception)
        c.issued_full = 1 - c.issued_with_exception
        c.consultees_without_opinion = len(_without_opinion(view))
    c.overrides = len(_within(period, view.overrides))
    c.refused_attempts = len(_within(period, view.refusals))
    opinions = _within(period, view.opinions)
    c.opinions_on_time = sum(1 for o in opinions if not o.late)
    c.opinions_late = sum(1 for o in opinions if o.late)
    c.escalations = len(_within(period, view.escalations))
    c.withdrawn = int(period.contains(view.withdrawn_at))
    c.requests_rejected = len(_within(period, view.rejections))
    return c


def _nonzero(c: Counts) -> bool:
    return any(getattr(c, name) for name in Counts.model_fields)


def compliance(
    views: Iterable[DecisionView],
    period: Period,
    *,
    unit_id: str | None = None,
    unit_name: UnitName = str,
) -> ComplianceReport:
    """The report for ``period``, optionally for one issuing unit; rows only for units with activity."""
    report = ComplianceReport(
        period_code=period.code, period_label=period.label_vi, period_range=period.range_vi, unit_id=unit_id
    )
    rows: dict[str, UnitRow] = {}
    consultees: dict[str, ConsulteeRow] = {}
    for view in views:
        if view.issuer_unit_id is None or (unit_id is not None and view.issuer_unit_id != unit_id):
            continue
        uid = view.issuer_unit_id
        counts = counts_of(view, period)
        if _nonzero(counts):
            row = rows.get(uid)
            if row is None:
                row = rows[uid] = UnitRow(unit_id=uid, unit_name=unit_name(uid))
            row.add(counts)
            report.total.add(counts)
        _consultee_rows(view, period, consultees, unit_name)
        case = _Case(decision_id=view.decision_id, title=view.title, unit_id=uid)
        report.exceptions += [
            ExceptionItem(
                **case,
                at=o.at,
                by_person_id=o.by_person_id,
                role=o.role,
                reason=o.reason,
                consultee_unit_ids=o.consultee_unit_ids,
                invalidated=o.invalidated,
            )
            for o in _within(period, view.overrides)
        ]
        report.refusals += [
            RefusalItem(
                **case, at=r.at, requested_by=r.requested_by, missing=[m.message_vi for m in r.missing]
            )
            for r in _within(period, view.refusals)
        ]
    report.rows = sorted(rows.values(), key=lambda r: (r.unit_name, r.unit_id))
    report.consultees = sorted(consultees.values(), key=lambda r: (r.unit_name, r.unit_id))
    report.exceptions.sort(key=lambda e: (e.at, e.decision_id))
    report.refusals.sort(key=lambda e: (e.at, e.decision_id))
    return report


def _consultee_rows(
    view: DecisionView, period: Period, rows: dict[str, ConsulteeRow], unit_name: UnitName
) -> None:
    def row(uid: str) -> ConsulteeRow:
        r = rows.get(uid)
        if r is None:
            k = view.consultee(uid)
            r = rows[uid] = ConsulteeRow(
                unit_id=uid, unit_name=(k.name_vi if k and k.name_vi else unit_name(uid))
            )
        return r

    for o in _within(period, view.opinions):
        r = row(o.consultee_unit_id)
        if o.late:
            r.late += 1
        else:
            r.on_time += 1
    for e in _within(period, view.escalations):
        row(e.consultee_unit_id).escalations += 1
    if period.contains(view.issued_at):
        for k in _without_opinion(view):
            row(k.unit_id).without_opinion += 1
