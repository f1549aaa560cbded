"""The Plan aggregate: a coordination plan (kế hoạch phối hợp), modelled on Kiên Giang
415-KH/BDVTU-BCSDUBND (2021).

A plan has content items (nội dung phối hợp), each assigned to one or more parties with a due
date; every (item, party) pair is a task that progresses ``assigned → in_progress → done``, and
is flagged **overdue** once its due date passes undone (it may still be done, late). Results are
reported by a date and *routed*: the plan carries its routing as data (:class:`ReportRoute`),
e.g. for 415-KH "các sở, ban, ngành cấp tỉnh, UBND các huyện, thành phố gửi báo cáo về Sở Nội
vụ; các huyện, thành ủy báo cáo gửi về Phòng Dân vận các cơ quan nhà nước, Ban Dân vận Tỉnh
ủy, trước ngày 30-11-2021". A report can only go where its reporter's route says.

The plan is **complete** when every task is done and every routed reporter has reported;
:class:`PlanCompleted` is emitted by the command that meets the last condition.

:meth:`Plan.tick` emits, once each, a reminder ``reminder_lead_working_days`` working days before
and an overdue fact after every task's and every report's due date.

A plan may be recorded after its dates (a historical plan such as 415-KH): the first tick then
flags what is overdue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.domain.schedule import CalendarAggregate, deadline_timers
from services.tasks.domain.text import fmt, require_text
from shared.contract.events.workflows import (
    PlanAdopted,
    PlanCompleted,
    PlanFact,
    PlanItem,
    PlanReportOverdue,
    PlanReportReminderDue,
    PlanResultReported,
    PlanTaskCompleted,
    PlanTaskOverdue,
    PlanTaskReminderDue,
    PlanTaskStarted,
    ReportRoute,
)
from shared.eventsourcing.aggregate import Timer
from shared.eventsourcing.errors import DomainError


class PlanStatus(StrEnum):
    ACTIVE = "active"  # đang thực hiện
    COMPLETED = "completed"  # đã hoàn thành (mọi nội dung và mọi báo cáo)


class TaskStatus(StrEnum):
    ASSIGNED = "assigned"  # đã phân công
    IN_PROGRESS = "in_progress"  # đang thực hiện
    DONE = "done"  # đã hoàn thành
    OVERDUE = "overdue"  # quá hạn (chưa hoàn thành)


TASK_STATUS_VI: Mapping[TaskStatus, str] = {
    TaskStatus.ASSIGNED: "đã phân công",
    TaskStatus.IN_PROGRESS: "đang thực hiện",
    TaskStatus.DONE: "đã hoàn thành",
    TaskStatus.OVERDUE: "quá hạn",
}


@dataclass
class TaskState:
    item_id: str
    unit_id: str
    due: datetime
    started: bool = False
    done: bool = False
    late: bool = False
    overdue: bool = False

    @property
    def status(self) -> TaskStatus:
        if self.done:
            return TaskStatus.DONE
        if self.overdue:
            return TaskStatus.OVERDUE
        return TaskStatus.IN_PROGRESS if self.started else TaskStatus.ASSIGNED


class Plan(CalendarAggregate[PlanFact]):
    """The aggregate: ``Plan()`` (or a custom calendar), then :meth:`adopt`."""

    kind_vi = "kế hoạch"
    not_created = ("not_adopted", "Kế hoạch chưa được ban hành.")
    snapshot_fields = (
        "status",
        "number",
        "title",
        "issuer_unit_ids",
        "items",
        "tasks",
        "routes",
        "route_of",
        "reports",
        "report_due",
        "reminder_lead",
        "fired",
    )

    status: PlanStatus | None
    number: str
    title: str
    issuer_unit_ids: tuple[str, ...]
    items: dict[str, PlanItem]
    tasks: dict[tuple[str, str], TaskState]
    routes: dict[str, ReportRoute]
    route_of: dict[str, ReportRoute]
    reports: dict[str, PlanResultReported]
    report_due: datetime | None
    reminder_lead: int
    fired: set[tuple[str, ...]]
    """("task", item, unit, kind) and ("report", reporter, kind) of every timer that fired."""

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__(calendar)
        self.number = ""
        self.title = ""
        self.issuer_unit_ids = ()
        self.items = {}
        self.tasks = {}
        self.routes = {}
        self.route_of = {}
        self.reports = {}
        self.report_due = None
        self.reminder_lead = 3
        self.fired = set()

    @property
    def plan_id(self) -> str | None:
        return self.subject

    def involved_units(self) -> tuple[str, ...]:
        """Issuing units and every unit with a task in the plan."""
        units = [*self.issuer_unit_ids, *(u for (_, u) in self.tasks)]
        return tuple(dict.fromkeys(units))

    # ------------------------------------------------------------------ queries

    def missing_reports(self) -> list[str]:
        return [r for r in self.route_of if r not in self.reports]

    def open_tasks(self) -> list[TaskState]:
        return [t for t in self.tasks.values() if not t.done]

    @property
    def is_complete(self) -> bool:
        return not self.open_tasks() and not self.missing_reports()

    # ------------------------------------------------------------------ commands

    def adopt(
        self,
        command_id: str,
        *,
        plan_id: str,
        number: str,
        title: str,
        issuer_unit_ids: Sequence[str],
        items: Sequence[PlanItem],
        routes: Sequence[ReportRoute],
        report_due: datetime,
        at: datetime,
        reminder_lead_working_days: int = 3,
    ) -> list[PlanFact]:
        if not self._accepts(command_id):
            return []
        self._require_new("already_adopted", f"Kế hoạch mã «{plan_id}» đã được ban hành.")
        number = require_text(number, "number_required", "Phải có số, ký hiệu kế hoạch.")
        title = require_text(title, "title_required", "Tên kế hoạch không được để trống.")
        if not items:
            raise DomainError("items_required", "Kế hoạch phải có ít nhất một nội dung phối hợp.")
        if not routes:
            raise DomainError("routes_required", "Kế hoạch phải quy định nơi nhận báo cáo kết quả.")
        item_ids = [i.item_id for i in items]
        if len(item_ids) != len(set(item_ids)):
            raise DomainError("duplicate_item", "Mã nội dung phối hợp bị trùng.")
        route_ids = [r.route_id for r in routes]
        if len(route_ids) != len(set(route_ids)):
            raise DomainError("duplicate_route", "Mã tuyến báo cáo bị trùng.")
        reporters = [u for r in routes for u in r.reporter_unit_ids]
        dupes = sorted({u for u in reporters if reporters.count(u) > 1})
        if dupes:
            raise DomainError(
                "reporter_in_several_routes",
                f"Mỗi đơn vị chỉ gửi báo cáo về một nơi; trùng: {', '.join(dupes)}.",
                {"unit_ids": dupes},
            )
        return self._emit(
            self._fact(
                PlanAdopted,
                at=at,
                command_id=command_id,
                plan_id=plan_id,
                number=number,
                title=title,
                issuer_unit_ids=tuple(issuer_unit_ids),
                items=tuple(items),
                routes=tuple(routes),
                report_due=report_due,
                reminder_lead_working_days=reminder_lead_working_days,
            )
        )

    def start_task(self, command_id: str, *, item_id: str, unit_id: str, at: datetime) -> list[PlanFact]:
        if not self._accepts(command_id):
            return []
        task = self._open_task(item_id, unit_id)
        if task.started:
            raise DomainError("task_started", "Đơn vị đã bắt đầu thực hiện nội dung này.")
        return self._emit(
            self._fact(PlanTaskStarted, at=at, command_id=command_id, item_id=item_id, unit_id=unit_id)
        )

    def complete_task(
        self, command_id: str, *, item_id: str, unit_id: str, result_summary: str, at: datetime
    ) -> list[PlanFact]:
        if not self._accepts(command_id):
            return []
        task = self._open_task(item_id, unit_id)
        fact = self._fact(
            PlanTaskCompleted,
            at=at,
            command_id=command_id,
            item_id=item_id,
            unit_id=unit_id,
            result_summary=require_text(result_summary, "result_required", "Phải nêu kết quả thực hiện."),
            late=at > task.due,
        )
        return self._emit(fact) + self._maybe_complete(command_id, at)

    def report_result(
        self,
        command_id: str,
        *,
        reporter_unit_id: str,
        report_ref: str,
        at: datetime,
        to_unit_id: str | None = None,
        summary: str = "",
    ) -> list[PlanFact]:
        """A reporter submits its result report; it goes where the plan's routing says."""
        if not self._accepts(command_id):
            return []
        self._require_active()
        route = self.route_of.get(reporter_unit_id)
        if route is None:
            raise DomainError(
                "not_a_reporter",
                f"Đơn vị «{reporter_unit_id}» không thuộc danh sách đơn vị phải báo cáo theo kế hoạch.",
                {"reporter_unit_id": reporter_unit_id},
            )
        if to_unit_id is not None and to_unit_id != route.to_unit_id:
            raise DomainError(
                "misrouted_report",
                f"Báo cáo của «{reporter_unit_id}» phải gửi về «{route.to_unit_id}» theo kế hoạch, "
                f"không gửi về «{to_unit_id}».",
                {"expected": route.to_unit_id, "given": to_unit_id},
            )
        if reporter_unit_id in self.reports:
            raise DomainError("already_reported", "Đơn vị đã gửi báo cáo kết quả theo kế hoạch này.")
        assert self.report_due is not None
        fact = self._fact(
            PlanResultReported,
            at=at,
            command_id=command_id,
            reporter_unit_id=reporter_unit_id,
            to_unit_id=route.to_unit_id,
            route_id=route.route_id,
            report_ref=require_text(report_ref, "report_ref_required", "Phải nêu số, ký hiệu báo cáo."),
            summary=summary.strip(),
            late=at > self.report_due,
        )
        return self._emit(fact) + self._maybe_complete(command_id, at)

    # ------------------------------------------------------------------ time

    def due_timers(self, now: datetime) -> Sequence[Timer[PlanFact]]:
        """Reminders and overdue flags for every open task, then every missing report; each once."""
        if self.status != PlanStatus.ACTIVE or self.report_due is None:
            return []
        timers: list[Timer[PlanFact]] = []
        for t in self.open_tasks():
            timers += self._task_timers(t, now)
        for reporter in self.missing_reports():
            timers += self._report_timers(reporter, self.report_due, now)
        return timers

    def _task_timers(self, t: TaskState, now: datetime) -> list[Timer[PlanFact]]:
        item = f"nội dung {t.item_id} «{self.items[t.item_id].title_vi}»"
        return self._deadline(
            ("task", t.item_id, t.unit_id),
            t.due,
            now,
            (PlanTaskReminderDue, lambda due: f"Nhắc việc kế hoạch {self.number}: {item} hạn {due}."),
            (
                PlanTaskOverdue,
                lambda due: f"Quá hạn thực hiện {item} của kế hoạch {self.number} (hạn {due}).",
            ),
            {"item_id": t.item_id, "unit_id": t.unit_id},
        )

    def _report_timers(self, reporter: str, due: datetime, now: datetime) -> list[Timer[PlanFact]]:
        to = self.route_of[reporter].to_unit_id
        report = f"báo cáo kết quả kế hoạch {self.number} về {to}"
        return self._deadline(
            ("report", reporter),
            due,
            now,
            (PlanReportReminderDue, lambda due: f"Nhắc gửi {report} trước {due}."),
            (PlanReportOverdue, lambda due: f"Quá hạn gửi {report} (hạn {due})."),
            {"reporter_unit_id": reporter, "to_unit_id": to},
        )

    def _deadline(
        self,
        key: tuple[str, ...],
        due: datetime,
        now: datetime,
        reminder: tuple[type[PlanFact], Callable[[str], str]],
        overdue: tuple[type[PlanFact], Callable[[str], str]],
        fields: Mapping[str, Any],
    ) -> list[Timer[PlanFact]]:
        """The reminder and overdue timers of one deadline; each text is given the due date."""
        due_vi = fmt(due, self.calendar)

        def build(cls: type[PlanFact], text: Callable[[str], str]) -> PlanFact:
            return self._fact(cls, at=now, due=due, message_vi=text(due_vi), **fields)

        return deadline_timers(
            key,
            due=due,
            remind_at=self.calendar.add_working_days(due, -self.reminder_lead),
            fired=self.fired,
            reminder=lambda: build(*reminder),
            overdue=lambda: build(*overdue),
        )

    # ------------------------------------------------------------------ state

    def _when(self, event: PlanFact) -> None:
        if isinstance(event, PlanAdopted):
            self.status = PlanStatus.ACTIVE
            self.number = event.number
            self.title = event.title
            self.issuer_unit_ids = event.issuer_unit_ids
            self.items = {i.item_id: i for i in event.items}
            self.tasks = {
                (i.item_id, u): TaskState(item_id=i.item_id, unit_id=u, due=i.due)
                for i in event.items
                for u in i.assignee_unit_ids
            }
            self.routes = {r.route_id: r for r in event.routes}
            self.route_of = {u: r for r in event.routes for u in r.reporter_unit_ids}
            self.report_due = event.report_due
            self.reminder_lead = event.reminder_lead_working_days
        elif isinstance(event, PlanTaskStarted):
            self.tasks[(event.item_id, event.unit_id)].started = True
        elif isinstance(event, PlanTaskCompleted):
            t = self.tasks[(event.item_id, event.unit_id)]
            t.done = True
            t.late = event.late
        elif isinstance(event, PlanTaskReminderDue):
            self.fired.add(("task", event.item_id, event.unit_id, "reminder"))
        elif isinstance(event, PlanTaskOverdue):
            self.tasks[(event.item_id, event.unit_id)].overdue = True
            self.fired.add(("task", event.item_id, event.unit_id, "overdue"))
        elif isinstance(event, PlanResultReported):
            self.reports[event.reporter_unit_id] = event
        elif isinstance(event, PlanReportReminderDue):
            self.fired.add(("report", event.reporter_unit_id, "reminder"))
        elif isinstance(event, PlanReportOverdue):
            self.fired.add(("report", event.reporter_unit_id, "overdue"))
        elif isinstance(event, PlanCompleted):
            self.status = PlanStatus.COMPLETED
        else:  # pragma: no cover
            raise TypeError(f"unhandled plan event {type(event).__name__}")

    # ------------------------------------------------------------------ helpers

    def _require_active(self) -> None:
        if self.status is None:
            raise DomainError(*self.not_created)
        if self.status != PlanStatus.ACTIVE:
            raise DomainError("plan_completed", "Kế hoạch đã hoàn thành; không thể ghi nhận thêm.")

    def _open_task(self, item_id: str, unit_id: str) -> TaskState:
        """The (item, unit) task of an active plan, refused when unknown or already done."""
        self._require_active()
        if item_id not in self.items:
            raise DomainError(
                "unknown_item", f"Kế hoạch không có nội dung «{item_id}».", {"item_id": item_id}
            )
        task = self.tasks.get((item_id, unit_id))
        if task is None:
            raise DomainError(
                "not_assigned",
                f"Nội dung «{item_id}» không được phân công cho đơn vị «{unit_id}».",
                {"item_id": item_id, "unit_id": unit_id},
            )
        if task.done:
            raise DomainError("task_done", "Nội dung này đã được đơn vị hoàn thành.")
        return task

    def _maybe_complete(self, command_id: str, at: datetime) -> list[PlanFact]:
        if not self.is_complete:
            return []
        return self._emit(
            self._fact(
                PlanCompleted,
                at=at,
                command_id=command_id,
                late_task_count=sum(1 for t in self.tasks.values() if t.late),
                late_report_count=sum(1 for r in self.reports.values() if r.late),
            )
        )
