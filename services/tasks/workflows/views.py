"""The workflows' read API: a complaint, a situation or a plan with its history, for those it
concerns (the units involved, or a unit above them, or an auditor)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from services.tasks.domain.complaint import OPEN as COMPLAINT_OPEN
from services.tasks.domain.complaint import Complaint
from services.tasks.domain.plan import Plan
from services.tasks.domain.situation import Situation
from shared.access.guard import Access
from shared.access.roles import Identity
from shared.contract.envelope import Event
from shared.eventsourcing.aggregate import Aggregate

NOT_FOUND_VI: dict[str, str] = {
    "complaint": "Không tìm thấy đơn thư mã «{id}».",
    "situation": "Không tìm thấy tình huống mã «{id}».",
    "plan": "Không tìm thấy kế hoạch mã «{id}».",
}

Loader = Callable[[str, str], Awaitable[tuple[Aggregate[Any], list[Event]] | None]]
"""``load(kind, id)`` → the aggregate and its history, or None."""


def build_router(access: Access, load: Loader) -> APIRouter:
    router = APIRouter(tags=["workflows"])

    async def readable(
        kind: str, aggregate_id: str, request: Request, identity: Identity, what_vi: str
    ) -> tuple[Any, list[Event]]:
        found = await load(kind, aggregate_id)
        if found is None:
            raise HTTPException(
                404, detail={"code": f"unknown_{kind}", "message": NOT_FOUND_VI[kind].format(id=aggregate_id)}
            )
        agg: Any = found[0]
        history = found[1]
        await access.check(request, identity, access.may_read_case(identity, agg.involved_units()), what_vi)
        return agg, history

    @router.get("/api/complaints/{complaint_id}")
    async def get_complaint(
        complaint_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> dict[str, Any]:
        c, history = await readable("complaint", complaint_id, request, identity, "khiếu nại, kiến nghị")
        assert isinstance(c, Complaint)
        return complaint_view(c, history)

    @router.get("/api/situations/{situation_id}")
    async def get_situation(
        situation_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> dict[str, Any]:
        s, history = await readable("situation", situation_id, request, identity, "vụ việc phức tạp")
        assert isinstance(s, Situation)
        return situation_view(s, history)

    @router.get("/api/plans/{plan_id}")
    async def get_plan(
        plan_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> dict[str, Any]:
        p, history = await readable("plan", plan_id, request, identity, "kế hoạch phối hợp")
        assert isinstance(p, Plan)
        return plan_view(p, history)

    return router


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _history(facts: Sequence[Event]) -> list[dict[str, Any]]:
    return [{"type": f.event_type, **f.model_dump(mode="json")} for f in facts]


def complaint_view(c: Complaint, history: Sequence[Event]) -> dict[str, Any]:
    return {
        "complaint_id": c.complaint_id,
        "status": c.status.value if c.status else None,
        "kind": c.kind.value if c.kind else None,
        "summary": c.summary,
        "mass": c.mass,
        "receiving_unit_id": c.receiving_unit_id,
        "locality_id": c.locality_id,
        "shared_with": [p.model_dump(mode="json") for p in c.shared_with],
        "round": c.round,
        "resolution_due": _iso(c.resolution_due),
        "answer_due": _iso(c.answer_due),
        "decision": c.decision.model_dump(mode="json") if c.decision else None,
        "answered": c.answered is not None,
        "published": c.published is not None,
        "close_blockers": [{"code": code, "message": msg} for code, msg in c.close_blockers()]
        if c.status in COMPLAINT_OPEN
        else [],
        "mobilisation": [t.model_dump(mode="json") for t in c.mobilisation],
        "history": _history(history),
    }


def situation_view(s: Situation, history: Sequence[Event]) -> dict[str, Any]:
    return {
        "situation_id": s.situation_id,
        "status": s.status.value if s.status else None,
        "kind": s.kind.value if s.kind else None,
        "summary": s.summary,
        "locality_id": s.locality_id,
        "reporting_unit_id": s.reporting_unit_id,
        "party_committee": s.party_committee.model_dump(mode="json") if s.party_committee else None,
        "informed": [p.model_dump(mode="json") for p in s.informed],
        "mobilisation": [t.model_dump(mode="json") for t in s.mobilisation],
        "escalation": s.escalation.model_dump(mode="json") if s.escalation else None,
        "working_group": s.working_group.model_dump(mode="json") if s.working_group else None,
        "history": _history(history),
    }


def plan_view(p: Plan, history: Sequence[Event]) -> dict[str, Any]:
    return {
        "plan_id": p.plan_id,
        "status": p.status.value if p.status else None,
        "number": p.number,
        "title": p.title,
        "report_due": _iso(p.report_due),
        "tasks": [
            {
                "item_id": t.item_id,
                "unit_id": t.unit_id,
                "due": t.due.isoformat(),
                "status": t.status.value,
                "late": t.late,
            }
            for t in p.tasks.values()
        ],
        "reports": [
            {
                "reporter_unit_id": reporter,
                "to_unit_id": route.to_unit_id,
                "submitted": reporter in p.reports,
                "late": p.reports[reporter].late if reporter in p.reports else False,
            }
            for reporter, route in p.route_of.items()
        ],
        "history": _history(history),
    }
