"""Plan aggregate (415-KH/BDVTU-BCSDUBND): items per party, deadlines, routed reports, completion."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tasks.domain.calendar import VN_TZ
from services.tasks.domain.plan import Plan, PlanStatus, TaskStatus
from shared.contract.events.workflows import (
    PlanCompleted,
    PlanItem,
    PlanReportOverdue,
    PlanReportReminderDue,
    PlanResultReported,
    PlanTaskOverdue,
    PlanTaskReminderDue,
    ReportRoute,
)
from shared.eventsourcing.errors import DomainError
from tests.unit.tasks.recording import RecordedPlan

T0 = datetime(2025, 4, 15, 9, 0, tzinfo=VN_TZ)
DUE = datetime(2025, 10, 31, 17, 0, tzinfo=VN_TZ)
REPORT_DUE = datetime(2025, 11, 28, 17, 0, tzinfo=VN_TZ)  # "trước ngày 30-11" (a Sunday in 2025)
ITEMS = (
    PlanItem(
        item_id="II.1.4",
        title_vi="Giải quyết kịp thời khiếu nại, tố cáo",
        assignee_unit_ids=("kg.bcsd_ubnd",),
        due=DUE,
    ),
    PlanItem(
        item_id="II.2.2",
        title_vi="Nắm tình hình khiếu nại đông người",
        assignee_unit_ids=("kg.bdv", "kg.rg.bdv"),
        due=DUE,
    ),
)
ROUTES = (
    ReportRoute(route_id="so-nv", reporter_unit_ids=("kg.so_tttt", "kg.rg.ubnd"), to_unit_id="kg.so_noi_vu"),
    ReportRoute(route_id="phong-dv", reporter_unit_ids=("kg.rg.cap_uy",), to_unit_id="kg.bdv.phong_dv_cqnn"),
)
TASKS = [(i.item_id, u) for i in ITEMS for u in i.assignee_unit_ids]
REPORTERS = ["kg.so_tttt", "kg.rg.ubnd", "kg.rg.cap_uy"]


def adopted() -> RecordedPlan:
    p = RecordedPlan()
    p.adopt(
        "a",
        plan_id="415",
        number="415-KH/BDVTU-BCSDUBND",
        title="Dân vận chính quyền",
        issuer_unit_ids=("kg.bdv", "kg.bcsd_ubnd"),
        items=ITEMS,
        routes=ROUTES,
        report_due=REPORT_DUE,
        at=T0,
    )
    return p


def test_tasks_progress_assigned_in_progress_done() -> None:
    p = adopted()
    assert {k: t.status for k, t in p.tasks.items()} == {k: TaskStatus.ASSIGNED for k in TASKS}
    p.start_task("s", item_id="II.1.4", unit_id="kg.bcsd_ubnd", at=T0)
    assert p.tasks[("II.1.4", "kg.bcsd_ubnd")].status == TaskStatus.IN_PROGRESS
    p.complete_task("d", item_id="II.1.4", unit_id="kg.bcsd_ubnd", result_summary="Đã giải quyết 95%", at=T0)
    assert p.tasks[("II.1.4", "kg.bcsd_ubnd")].status.value == "done"
    with pytest.raises(DomainError) as e:
        p.start_task("s2", item_id="II.1.4", unit_id="kg.rg.bdv", at=T0)
    assert e.value.code == "not_assigned"


def test_reports_are_routed_by_the_plan_and_misrouting_is_refused() -> None:
    p = adopted()
    f = p.report_result("r1", reporter_unit_id="kg.rg.cap_uy", report_ref="BC-1", at=T0)
    assert isinstance(f[0], PlanResultReported) and f[0].to_unit_id == "kg.bdv.phong_dv_cqnn"
    with pytest.raises(DomainError) as e:
        p.report_result(
            "r2", reporter_unit_id="kg.so_tttt", report_ref="BC-2", to_unit_id="kg.bdv.phong_dv_cqnn", at=T0
        )
    assert e.value.code == "misrouted_report"
    with pytest.raises(DomainError) as e:
        p.report_result("r3", reporter_unit_id="kg.hoi_ccb", report_ref="BC-3", at=T0)
    assert e.value.code == "not_a_reporter"


def test_plan_completes_only_when_all_tasks_done_and_all_reports_in() -> None:
    p = adopted()
    for i, (item, unit) in enumerate(TASKS):
        out = p.complete_task(f"t{i}", item_id=item, unit_id=unit, result_summary="xong", at=T0)
        assert not any(isinstance(x, PlanCompleted) for x in out)
    for i, r in enumerate(REPORTERS[:-1]):
        p.report_result(f"r{i}", reporter_unit_id=r, report_ref="BC", at=T0)
    assert p.status == PlanStatus.ACTIVE
    out = p.report_result(
        "last", reporter_unit_id=REPORTERS[-1], report_ref="BC", at=REPORT_DUE + timedelta(days=1)
    )
    assert isinstance(out[-1], PlanCompleted) and out[-1].late_report_count == 1
    assert p.status is not None and p.status.value == "completed"
    with pytest.raises(DomainError) as e:
        p.report_result("again", reporter_unit_id=REPORTERS[0], report_ref="BC", at=T0)
    assert e.value.code == "plan_completed"


def test_task_and_report_timers_fire_once() -> None:
    p = adopted()
    assert p.tick(T0) == []
    near = DUE - timedelta(days=1)
    first = p.tick(near)
    assert [type(f) for f in first] == [PlanTaskReminderDue] * 3
    assert p.tick(near) == []
    after = p.tick(DUE + timedelta(days=1))
    assert [type(f) for f in after] == [PlanTaskOverdue] * 3
    assert p.tasks[TASKS[0]].status == TaskStatus.OVERDUE
    p.report_result("r", reporter_unit_id="kg.rg.ubnd", report_ref="BC", at=DUE)
    reports = p.tick(REPORT_DUE + timedelta(days=1))
    assert {type(f) for f in reports} == {PlanReportOverdue}  # the reminder window was missed: overdue only
    assert {f.reporter_unit_id for f in reports if isinstance(f, PlanReportOverdue)} == {
        "kg.so_tttt",
        "kg.rg.cap_uy",
    }
    assert p.tick(REPORT_DUE + timedelta(days=9)) == []
    late = p.complete_task(
        "late", item_id="II.1.4", unit_id="kg.bcsd_ubnd", result_summary="muộn", at=DUE + timedelta(days=2)
    )
    assert late[0].model_dump()["late"] is True
    assert p.tasks[TASKS[0]].status == TaskStatus.DONE
    again = Plan.replay(p.history)
    assert again.fired == p.fired and again.tick(REPORT_DUE + timedelta(days=10)) == []


def test_report_reminder_before_due() -> None:
    p = adopted()
    for i, (item, unit) in enumerate(TASKS):
        p.complete_task(f"t{i}", item_id=item, unit_id=unit, result_summary="xong", at=T0)
    out = p.tick(REPORT_DUE - timedelta(hours=30))
    assert [type(f) for f in out] == [PlanReportReminderDue] * 3


def test_a_reporter_may_sit_in_one_route_only() -> None:
    bad = (*ROUTES, ReportRoute(route_id="x", reporter_unit_ids=("kg.rg.cap_uy",), to_unit_id="kg.so_noi_vu"))
    with pytest.raises(DomainError) as e:
        Plan().adopt(
            "a",
            plan_id="p",
            number="1",
            title="t",
            issuer_unit_ids=("kg.bdv",),
            items=ITEMS,
            routes=bad,
            report_due=REPORT_DUE,
            at=T0,
        )
    assert e.value.code == "reporter_in_several_routes"


@settings(max_examples=60, deadline=None)
@given(
    st.permutations([("task", item, unit) for item, unit in TASKS] + [("report", r, "") for r in REPORTERS])
)
def test_completion_happens_exactly_once_whatever_the_order(order: list[tuple[str, str, str]]) -> None:
    p = adopted()
    completed = 0
    for i, (what, a, b) in enumerate(order):
        if what == "task":
            out = p.complete_task(f"c{i}", item_id=a, unit_id=b, result_summary="x", at=T0)
        else:
            out = p.report_result(f"r{i}", reporter_unit_id=a, report_ref="BC", at=T0)
        completed += sum(isinstance(f, PlanCompleted) for f in out)
        assert (p.status == PlanStatus.COMPLETED) == (i == len(order) - 1)
    assert completed == 1
