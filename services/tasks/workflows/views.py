"""The workflows' read API: a complaint, a situation or a plan with its history, for those it
concerns (the units involved, or a unit above them, or an auditor)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, HTTPException, Path, Request

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

A = TypeVar("A", bound=Aggregate[Any])


@dataclass(frozen=True)
class CaseView(Generic[A]):
    """One read route, ``GET /api/{kind}s/{{kind}_id}``: the aggregate, its view, and what a refusal
    calls it."""

    kind: str
    cls: type[A]
    render: Callable[[A], dict[str, Any]]
    """What only this kind shows (every view starts with the id and the status, ends with the history)."""
    what_vi: str


Loader = Callable[[str, str], Awaitable[tuple[Aggregate[Any], list[Event]] | None]]
"""``load(kind, id)`` → the aggregate and its history, or None."""


def build_router(access: Access, load: Loader) -> APIRouter:
    router = APIRouter(tags=["workflows"])

    def route(case: CaseView[Any]) -> None:
        async def get_case(
            request: Request,
            aggregate_id: str = Path(alias=f"{case.kind}_id"),
            identity: Identity = access.signed_in(),
        ) -> dict[str, Any]:
            found = await load(case.kind, aggregate_id)
            if found is None:
                message = NOT_FOUND_VI[case.kind].format(id=aggregate_id)
                raise HTTPException(404, detail={"code": f"unknown_{case.kind}", "message": message})
            agg: Any = found[0]
            allowed = access.may_read_case(identity, agg.involved_units())
            await access.check(request, identity, allowed, case.what_vi)
            assert isinstance(agg, case.cls)
            return {
                f"{case.kind}_id": agg.subject,
                "status": agg.status.value if agg.status else None,
                **case.render(agg),
                "history": _history(found[1]),
            }

        path = f"/api/{case.kind}s/{{{case.kind}_id}}"
        router.add_api_route(path, get_case, methods=["GET"], name=f"get_{case.kind}")

    for case in CASE_VIEWS:
        route(case)
    return router


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _history(facts: Sequence[Event]) -> list[dict[str, Any]]:
    return [{"type": f.event_type, **f.model_dump(mode="json")} for f in facts]


def complaint_view(c: Complaint) -> dict[str, Any]:
    return {
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
    }


def situation_view(s: Situation) -> dict[str, Any]:
    return {
        "kind": s.kind.value if s.kind else None,
        "summary": s.summary,
        "locality_id": s.locality_id,
        "reporting_unit_id": s.reporting_unit_id,
        "party_committee": s.party_committee.model_dump(mode="json") if s.party_committee else None,
        "informed": [p.model_dump(mode="json") for p in s.informed],
        "mobilisation": [t.model_dump(mode="json") for t in s.mobilisation],
        "escalation": s.escalation.model_dump(mode="json") if s.escalation else None,
        "working_group": s.working_group.model_dump(mode="json") if s.working_group else None,
    }


def plan_view(p: Plan) -> dict[str, Any]:
    return {
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
    }


CASE_VIEWS = (
    CaseView("complaint", Complaint, complaint_view, "khiếu nại, kiến nghị"),
    CaseView("situation", Situation, situation_view, "vụ việc phức tạp"),
    CaseView("plan", Plan, plan_view, "kế hoạch phối hợp"),
)
