"""HTTP side of the reports service: a JSON API and the operators' console.

Why server-rendered pages without JavaScript: operators open the console from office PCs
and phones behind proxies; plain HTML with inline CSS loads everywhere, is readable by
screen readers (captions, ``th scope``, landmarks) and cannot break on a script error.
Everything people read is Vietnamese. The JSON API serves the same read models for other
tools; the Markdown report is the document sent up under the reporting regime.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from services.reports.domain.compliance import ComplianceReport, compliance
from services.reports.domain.labels import CONSULTEE_STATUS_VI, STANCE_VI, STATUS_VI, role_vi
from services.reports.domain.periods import (
    InvalidPeriod,
    Period,
    PeriodKind,
    format_vn,
    parse_period,
    period_of,
)
from services.reports.domain.report_text import percent_vi, render_markdown
from services.reports.domain.view_model import DecisionView
from services.reports.domain.view_status import DecisionStatus
from services.reports.names import OrgNames
from services.reports.ports import ReportsQueries
from shared.access.guard import Access, today_vn
from shared.access.roles import CASEWORK, Identity, Role
from shared.templating import strict_environment

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'",
}


def _env() -> jinja2.Environment:
    env = strict_environment(TEMPLATE_DIR, autoescape=jinja2.select_autoescape(["html"]))
    env.filters["vn"] = format_vn
    env.filters["pct"] = percent_vi
    env.filters["role"] = role_vi
    env.globals.update(STATUS_VI=STATUS_VI, CONSULTEE_STATUS_VI=CONSULTEE_STATUS_VI, STANCE_VI=STANCE_VI)
    return env


def _period_or_quarter(code: str | None, now: datetime) -> Period:
    """The period asked for, or the current quarter; :class:`InvalidPeriod` for an unreadable code."""
    return parse_period(code) if code else period_of(now, PeriodKind.QUARTER)


def _period(code: str | None, now: datetime) -> Period:
    """:func:`_period_or_quarter` for the API: an unreadable code is a 400."""
    try:
        return _period_or_quarter(code, now)
    except InvalidPeriod as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def _issuer_name(v: DecisionView, names: OrgNames) -> str | None:
    return names.unit(v.issuer_unit_id, v.drafted_at) if v.issuer_unit_id else None


def _summary(v: DecisionView, names: OrgNames) -> dict[str, Any]:
    return {
        "decision_id": v.decision_id,
        "title": v.title,
        "issuer_unit_id": v.issuer_unit_id,
        "issuer_name": _issuer_name(v, names),
        "status": v.status.value,
        "status_vi": v.status_vi,
        "draft_version": v.draft_version,
        "deadline": v.deadline,
        "issued_at": v.issued_at,
        "with_exception": v.with_exception,
        "has_exception": v.has_exception,
        "refusals": len(v.refusals),
        "overrides": len(v.overrides),
        "consultees": {
            s: sum(1 for c in v.consultees if c.status.value == s)
            for s in {c.status.value for c in v.consultees}
        },
        "last_event_at": v.last_event_at,
    }


def view_units(v: DecisionView) -> list[str]:
    """The units a decision concerns: who may read it (issuer, consultees, synthesiser)."""
    units = [v.issuer_unit_id, v.synthesiser_unit_id, *(c.unit_id for c in v.consultees)]
    return [u for u in dict.fromkeys(units) if u]


def make_router(
    store: ReportsQueries, names: OrgNames, access: Access, *, list_limit: int = 200
) -> APIRouter:
    """The console and its JSON API. Every decision shown is one the signed-in person's units issue
    or are consulted on (or units above them), or the person is an auditor; dead letters are for
    operators; the compliance report counts only what the reader may see."""
    router = APIRouter()
    env = _env()
    Annotated[Identity, access.signed_in(page=True)]

    def visible(identity: Identity, views: list[DecisionView]) -> list[DecisionView]:
        return [v for v in views if access.may_read_case(identity, view_units(v))]

    def may_report_on(identity: Identity, unit: str | None) -> bool:
        """All units (counting only what the reader may see), or one unit the reader covers or audits."""
        return (
            not unit
            or identity.has_role({Role.AUDITOR}, today_vn())
            or access.covers(identity, CASEWORK, [unit])
        )

    async def check_unit(request: Request, identity: Identity, unit: str | None) -> None:
        if not may_report_on(identity, unit):
            await access.check(request, identity, False, "báo cáo")

    def page(template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(template).render(unit=names.unit, person=names.person, **ctx)
        return HTMLResponse(html, status_code=status_code, headers=dict(HEADERS))

    async def report_for(identity: Identity, period: Period, unit: str | None) -> ComplianceReport:
        views = visible(identity, await store.all_views(unit_id=unit or None))
        return compliance(views, period, unit_id=unit or None, unit_name=names.unit)

    # -- JSON API -----------------------------------------------------------------
    @router.get("/api/decisions", tags=["api"])
    async def api_decisions(
        unit: str | None = None,
        status: DecisionStatus | None = None,
        limit: int = Query(100, ge=1, le=1000),
        identity: Identity = access.signed_in(),
    ) -> dict[str, Any]:
        views = visible(
            identity, await store.recent(unit_id=unit, status=status.value if status else None, limit=limit)
        )
        items = [_summary(v, names) for v in views]
        return {"count": len(items), "items": items}

    @router.get("/api/decisions/{decision_id}", tags=["api"])
    async def api_decision(
        decision_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> dict[str, Any]:
        view = await store.get(decision_id)
        if view is None:
            raise HTTPException(status_code=404, detail=f"Không tìm thấy văn bản mã «{decision_id}».")
        await access.check(request, identity, access.may_read_case(identity, view_units(view)), "văn bản")
        out = view.model_dump(mode="json")
        out["status_vi"] = view.status_vi
        out["issuer_name"] = _issuer_name(view, names)
        return out

    @router.get("/api/compliance", tags=["api"])
    async def api_compliance(
        request: Request,
        period: str | None = None,
        unit: str | None = None,
        identity: Identity = access.signed_in(),
    ) -> dict[str, Any]:
        await check_unit(request, identity, unit)
        p = _period(period, datetime.now(UTC))
        report = await report_for(identity, p, unit)
        out = report.model_dump(mode="json")
        out["total"]["full_rate"] = report.total.full_rate
        out["total"]["on_time_rate"] = report.total.on_time_rate
        return out

    @router.get("/api/dead-letters", tags=["api"])
    async def api_dead_letters(
        topic: str | None = None,
        limit: int = Query(200, ge=1, le=2000),
        _: Identity = access.require(Role.OPERATOR),
    ) -> dict[str, Any]:
        items = await store.dead_letters(topic=topic, limit=limit)
        return {"count": len(items), "items": [d.model_dump(mode="json") for d in items]}

    # -- console ------------------------------------------------------------------
    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def overview(identity: Identity = access.signed_in(page=True)) -> HTMLResponse:
        views = visible(identity, await store.recent(limit=list_limit))
        by_status: dict[DecisionStatus, list[DecisionView]] = {}
        for v in views:
            by_status.setdefault(v.status, []).append(v)
        ordered = [(s, by_status[s]) for s in DecisionStatus if s in by_status]
        exceptions = [(v, o) for v in views for o in v.overrides]
        exceptions.sort(key=lambda vo: vo[1].at, reverse=True)
        refusals = [(v, r) for v in views for r in v.refusals]
        refusals.sort(key=lambda vr: vr[1].at, reverse=True)
        operator = identity.has_role({Role.OPERATOR}, today_vn())
        dead = await store.dead_letters(limit=50) if operator else []
        counts: dict[str, int] = {}
        for v in views:
            counts[v.status.value] = counts.get(v.status.value, 0) + 1
        return page(
            "overview.html",
            total=sum(counts.values()),
            counts={s: counts.get(s.value, 0) for s in DecisionStatus if counts.get(s.value)},
            by_status=ordered,
            exceptions=exceptions,
            refusals=refusals,
            dead=dead,
            dead_total=await store.dead_letter_count() if operator else 0,
            shown=len(views),
            now=datetime.now(UTC),
        )

    @router.get("/decisions/{decision_id}", response_class=HTMLResponse, include_in_schema=False)
    async def decision_page(
        decision_id: str, identity: Identity = access.signed_in(page=True)
    ) -> HTMLResponse:
        view = await store.get(decision_id)
        if view is None or not access.may_read_case(identity, view_units(view)):
            # a decision of another unit is answered like one that does not exist (no existence leak)
            return page("not_found.html", status_code=404, decision_id=decision_id)
        return page("decision.html", d=view)

    @router.get("/compliance", response_class=HTMLResponse, include_in_schema=False)
    async def compliance_page(
        request: Request,
        period: str | None = None,
        unit: str | None = None,
        identity: Identity = access.signed_in(page=True),
    ) -> HTMLResponse:
        if not may_report_on(identity, unit):
            return page("error.html", status_code=403, message="Không có quyền xem báo cáo của đơn vị này.")
        now = datetime.now(UTC)
        try:
            p = _period_or_quarter(period, now)
        except InvalidPeriod as exc:
            return page("error.html", status_code=400, message=str(exc))
        report = await report_for(identity, p, unit)
        quick = [period_of(now, k) for k in PeriodKind]
        return page("compliance.html", r=report, p=p, unit_id=unit or "", quick=quick)

    @router.get("/reports/compliance.md", response_class=PlainTextResponse, tags=["reports"])
    async def compliance_md(
        request: Request,
        period: str | None = None,
        unit: str | None = None,
        identity: Identity = access.signed_in(),
    ) -> PlainTextResponse:
        await check_unit(request, identity, unit)
        now = datetime.now(UTC)
        p = _period(period, now)
        report = await report_for(identity, p, unit)
        text = render_markdown(report, generated_at=now, unit_name=names.unit, person_name=names.person)
        return PlainTextResponse(
            text,
            media_type="text/markdown; charset=utf-8",
            headers={**HEADERS, "Content-Disposition": f'inline; filename="bao-cao-lay-y-kien-{p.code}.md"'},
        )

    return router
