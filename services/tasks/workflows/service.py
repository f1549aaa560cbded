"""Application layer of the complaint, complex-situation and coordination-plan workflows.

The same shared path as decisions (:class:`shared.eventsourcing.handler.Handler`): per kind, an
event-sourced repository and its refusal event; per request, one function of the dispatch table
(:mod:`services.tasks.workflows.commands`). A request the domain refuses — or that names a unit
the org registry does not know — is answered with ``workflow.request_rejected`` (stored keyed by
request id, so it is answered once even if redelivered); the aggregate itself is untouched.

Wiring (done by the service's ``app.py``)::

    wf = register(runtime, clock, replica, group=group)
    app.include_router(wf.router)
    ... call ``await wf.tick_all()`` from the timer loop ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from services.tasks.authorization import authorise_workflow, unsupported
from services.tasks.clock import Clock
from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.domain.complaint import Complaint
from services.tasks.domain.plan import Plan
from services.tasks.domain.schedule import CalendarAggregate
from services.tasks.domain.situation import Situation
from services.tasks.workflows.commands import CREATING, DISPATCH, Context
from services.tasks.workflows.org_resolver import OrgResolver
from services.tasks.workflows.views import NOT_FOUND_VI, build_router
from shared.access.audit import MemoryAuditLog
from shared.access.guard import Access
from shared.contract import topics
from shared.contract.envelope import Envelope, Event
from shared.contract.events.workflows import (
    WORKFLOW_REQUEST_TYPES,
    ComplaintRequest,
    ComplaintTimeLimits,
    PlanRequest,
    SituationRequest,
    WorkflowFact,
    WorkflowRequest,
    WorkflowRequestRejected,
)
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.errors import DomainError
from shared.eventsourcing.handler import Handler
from shared.eventsourcing.repository import EventSourcedRepository
from shared.orgmodel.replica import OrgReplica
from shared.reliability.consumer import Authenticator
from shared.reliability.emit import Emitter
from shared.reliability.topic_copy import TopicCopy
from shared.runtime import ServiceRuntime
from shared.security.principal import current as current_principal
from shared.store import AggregateStore

AggregateKind = Literal["complaint", "situation", "plan"]

KIND_OF: Mapping[type[WorkflowRequest], AggregateKind] = {
    ComplaintRequest: "complaint",
    SituationRequest: "situation",
    PlanRequest: "plan",
}

CLASS_OF: Mapping[AggregateKind, type[CalendarAggregate[Any]]] = {
    "complaint": Complaint,
    "situation": Situation,
    "plan": Plan,
}


def kind_of(request: WorkflowRequest) -> AggregateKind:
    for family, kind in KIND_OF.items():
        if isinstance(request, family):
            return kind
    raise TypeError(type(request).__name__)  # pragma: no cover


def index_fields(agg: Aggregate[Any], now: datetime) -> dict[str, Any]:
    return {"status": agg.status.value if agg.status else None, "next_timer_at": agg.next_timer_at(now)}


def refusal_for(kind: AggregateKind) -> Callable[[Event, DomainError, str | None, datetime], Event]:
    def refusal(request: Event, error: DomainError, system_id: str | None, at: datetime) -> Event:
        assert isinstance(request, WorkflowRequest)
        return WorkflowRequestRejected(
            aggregate_kind=kind,
            aggregate_id=request.subject(),
            request_id=request.request_id,
            request_type=request.event_type,
            code=error.code,
            message_vi=error.message_vi,
            occurred_at=at,
        )

    return refusal


class WorkflowService:
    def __init__(
        self,
        *,
        repositories: Mapping[AggregateKind, EventSourcedRepository[Any]],
        rejections: AggregateStore,
        emitter: Emitter,
        org: OrgResolver,
        clock: Clock,
        limits: ComplaintTimeLimits | None = None,
        on_saved: Callable[[], None] | None = None,
        access: Access | None = None,
    ) -> None:
        self.org = org
        self.clock = clock
        self.limits = limits or ComplaintTimeLimits()
        self.repositories = repositories
        self.handlers: dict[AggregateKind, Handler[Any]] = {
            kind: Handler(
                name="workflows",
                repository=repo,
                rejections=rejections,
                emitter=emitter,
                now=clock.now,
                refusal=refusal_for(kind),
                index=index_fields,
                on_saved=on_saved,
            )
            for kind, repo in repositories.items()
        }
        # unit tests build the service without HTTP; then the routes refuse everyone (no key)
        self.access = access or Access("tasks", audit=MemoryAuditLog(), load_key=False)
        self.router = build_router(self.access, self._load)

    async def get(self, kind: AggregateKind, aggregate_id: str) -> Aggregate[Any] | None:
        return await self.repositories[kind].get(aggregate_id)

    async def history(self, kind: AggregateKind, aggregate_id: str) -> list[Event]:
        """Every stored fact of the aggregate, from its verified chain ([] when it does not exist)."""
        return await self.repositories[kind].history(aggregate_id) or []

    async def _load(self, kind: str, aggregate_id: str) -> tuple[Aggregate[Any], list[Event]] | None:
        repo = self.repositories[kind]  # type: ignore[index]
        agg = await repo.get(aggregate_id)
        history = await repo.history(aggregate_id) if agg is not None else None
        return (agg, history) if agg is not None and history is not None else None

    async def handle(self, env: Envelope, request: WorkflowRequest) -> None:
        kind = kind_of(request)
        sender = current_principal()

        def command(agg: Aggregate[Any], exists: bool) -> list[WorkflowFact]:
            at = self.clock.now()
            authorise_workflow(sender, request, self.org.acts_for, at, self.org.knows_unit)
            if not exists and not isinstance(request, CREATING):
                raise DomainError(f"unknown_{kind}", NOT_FOUND_VI[kind].format(id=request.subject()))
            if exists and request.request_id in agg.processed_commands:
                return []  # answered already: no second look at the registry
            run = DISPATCH.get(type(request))
            if run is None:
                raise unsupported(request)
            return run(Context(self.org, self.limits, at), agg, request)

        await self.handlers[kind].handle(env, request, command)

    async def tick_all(self) -> int:
        """Fire due reminders / overdue facts of the complaints and plans whose next timer has come."""
        return sum([await h.tick_all() for h in self.handlers.values()])


def register(
    runtime: ServiceRuntime,
    clock: Clock,
    org: OrgReplica,
    *,
    group: str,
    limits: ComplaintTimeLimits | None = None,
    calendar: HolidayCalendar = DEFAULT_CALENDAR,
    org_ready: TopicCopy | None = None,
    authenticate: Authenticator | None = None,
    access: Access | None = None,
) -> WorkflowService:
    """Create the workflow stores, subscribe to ``tasks.workflow-requests`` in ``group`` and return
    the service (``tick_all()`` for the timer loop, ``router`` for the HTTP app).

    The org replica itself is fed by the caller (it already consumes ``org.events``);
    ``org_ready`` holds requests until that copy has caught up.
    """

    def repository(kind: AggregateKind) -> EventSourcedRepository[Any]:
        cls = CLASS_OF[kind]
        return runtime.event_store(
            f"wf_{kind}s", new=lambda: cls(calendar), restore=lambda s: cls.restore(s, calendar)
        )

    service = WorkflowService(
        repositories={kind: repository(kind) for kind in CLASS_OF},
        rejections=runtime.store("wf_rejections"),
        emitter=runtime.emitter,
        org=OrgResolver(org, calendar),
        clock=clock,
        limits=limits,
        on_saved=runtime.relay.wake,
        access=access,
    )

    async def on_request(env: Envelope, event: Event) -> None:
        assert isinstance(event, WorkflowRequest)
        await service.handle(env, event)

    runtime.subscribe(
        topics.WORKFLOW_REQUESTS,
        {t.event_type: on_request for t in WORKFLOW_REQUEST_TYPES},
        group=group,
        authenticate=authenticate,
        after=org_ready,
    )
    return service
