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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.workflows.base import Aggregate, fmt, require_text
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


class Plan(Aggregate[PlanFact]):
    kind_vi = "kế hoạch"

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__(calendar)
        self.plan_id: str | None = None
        self.status: PlanStatus | None = None
        self.number = ""
        self.title = ""
        self.issuer_unit_ids: tuple[str, ...] = ()
        self.items: dict[str, PlanItem] = {}
        self.tasks: dict[tuple[str, str], TaskState] = {}
        self.routes: dict[str, ReportRoute] = {}
        self.route_of: dict[str, ReportRoute] = {}
        self.reports: dict[str, PlanResultReported] = {}
        self.report_due: datetime | None = None
        self.reminder_lead = 3

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
        if self._duplicate(command_id):
            return []
        if self.status is not None:
            raise DomainError("already_adopted", f"Kế hoạch mã «{plan_id}» đã được ban hành.")
        require_text(number, "number_required", "Phải có số, ký hiệu kế hoạch.")
        require_text(title, "title_required", "Tên kế hoạch không được để trống.")
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
            PlanAdopted(
                plan_id=plan_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                number=number.strip(),
                title=title.strip(),
                issuer_unit_ids=tuple(issuer_unit_ids),
                items=tuple(items),
                routes=tuple(routes),
                report_due=report_due,
                reminder_lead_working_days=reminder_lead_working_days,
            )
        )

    def start_task(self, command_id: str, *, item_id: str, unit_id: str, at: datetime) -> list[PlanFact]:
        if self._duplicate(command_id):
            return []
        task = self._task(item_id, unit_id)
        if task.done:
            raise DomainError("task_done", "Nội dung này đã được đơn vị hoàn thành.")
        if task.started:
            raise DomainError("task_started", "Đơn vị đã bắt đầu thực hiện nội dung này.")
        assert self.plan_id is not None
        return self._emit(
            PlanTaskStarted(
                plan_id=self.plan_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                item_id=item_id,
                unit_id=unit_id,
            )
        )

    def complete_task(
        self, command_id: str, *, item_id: str, unit_id: str, result_summary: str, at: datetime
    ) -> list[PlanFact]:
        if self._duplicate(command_id):
            return []
        task = self._task(item_id, unit_id)
        if task.done:
            raise DomainError("task_done", "Nội dung này đã được đơn vị hoàn thành.")
        assert self.plan_id is not None
        fact = PlanTaskCompleted(
            plan_id=self.plan_id,
            seq=self.next_seq,
            occurred_at=at,
            command_id=command_id,
            item_id=item_id,
            unit_id=unit_id,
            result_summary=require_text(result_summary, "result_required", "Phải nêu kết quả thực hiện."),
            late=at > task.due,
        )
        out = self._emit(fact)
        return out + self._maybe_complete(command_id, at)

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
        if self._duplicate(command_id):
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
        assert self.plan_id is not None and self.report_due is not None
        out = self._emit(
            PlanResultReported(
                plan_id=self.plan_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                reporter_unit_id=reporter_unit_id,
                to_unit_id=route.to_unit_id,
                route_id=route.route_id,
                report_ref=require_text(report_ref, "report_ref_required", "Phải nêu số, ký hiệu báo cáo."),
                summary=summary.strip(),
                late=at > self.report_due,
            )
        )
        return out + self._maybe_complete(command_id, at)

    def tick(self, now: datetime) -> list[PlanFact]:
        """Reminders and overdue flags for tasks and reports; each fires once."""
        if self.status != PlanStatus.ACTIVE or self.plan_id is None or self.report_due is None:
            return []
        events: list[PlanFact] = []
        seq = self.next_seq
        for t in self.open_tasks():
            title = self.items[t.item_id].title_vi
            remind_at = self.calendar.add_working_days(t.due, -self.reminder_lead)
            key = ("task", t.item_id, t.unit_id)
            if remind_at <= now <= t.due and (*key, "reminder") not in self.fired:
                events.append(
                    PlanTaskReminderDue(
                        plan_id=self.plan_id,
                        seq=seq,
                        occurred_at=now,
                        item_id=t.item_id,
                        unit_id=t.unit_id,
                        due=t.due,
                        message_vi=(
                            f"Nhắc việc kế hoạch {self.number}: nội dung {t.item_id} «{title}» "
                            f"hạn {fmt(t.due, self.calendar)}."
                        ),
                    )
                )
                seq += 1
            if now > t.due and (*key, "overdue") not in self.fired:
                events.append(
                    PlanTaskOverdue(
                        plan_id=self.plan_id,
                        seq=seq,
                        occurred_at=now,
                        item_id=t.item_id,
                        unit_id=t.unit_id,
                        due=t.due,
                        message_vi=(
                            f"Quá hạn thực hiện nội dung {t.item_id} «{title}» của kế hoạch {self.number} "
                            f"(hạn {fmt(t.due, self.calendar)})."
                        ),
                    )
                )
                seq += 1
        due = self.report_due
        remind_at = self.calendar.add_working_days(due, -self.reminder_lead)
        for reporter in self.missing_reports():
            to = self.route_of[reporter].to_unit_id
            if remind_at <= now <= due and ("report", reporter, "reminder") not in self.fired:
                events.append(
                    PlanReportReminderDue(
                        plan_id=self.plan_id,
                        seq=seq,
                        occurred_at=now,
                        reporter_unit_id=reporter,
                        to_unit_id=to,
                        due=due,
                        message_vi=(
                            f"Nhắc gửi báo cáo kết quả kế hoạch {self.number} về {to} "
                            f"trước {fmt(due, self.calendar)}."
                        ),
                    )
                )
                seq += 1
            if now > due and ("report", reporter, "overdue") not in self.fired:
                events.append(
                    PlanReportOverdue(
                        plan_id=self.plan_id,
                        seq=seq,
                        occurred_at=now,
                        reporter_unit_id=reporter,
                        to_unit_id=to,
                        due=due,
                        message_vi=(
                            f"Quá hạn gửi báo cáo kết quả kế hoạch {self.number} về {to} "
                            f"(hạn {fmt(due, self.calendar)})."
                        ),
                    )
                )
                seq += 1
        return self._emit(*events)

    # ------------------------------------------------------------------ state

    def _when(self, event: PlanFact) -> None:
        if isinstance(event, PlanAdopted):
            self.plan_id = event.plan_id
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
            raise DomainError("not_adopted", "Kế hoạch chưa được ban hành.")
        if self.status != PlanStatus.ACTIVE:
            raise DomainError("plan_completed", "Kế hoạch đã hoàn thành; không thể ghi nhận thêm.")

    def _task(self, item_id: str, unit_id: str) -> TaskState:
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
        return task

    def _maybe_complete(self, command_id: str, at: datetime) -> list[PlanFact]:
        if not self.is_complete:
            return []
        assert self.plan_id is not None
        return self._emit(
            PlanCompleted(
                plan_id=self.plan_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                late_task_count=sum(1 for t in self.tasks.values() if t.late),
                late_report_count=sum(1 for r in self.reports.values() if r.late),
            )
        )
