"""Application layer of the complaint, complex-situation and coordination-plan workflows.

Thin handlers, same shape as :mod:`services.tasks.decisions`: decode (done by the consumer) →
load the aggregate by replaying its stored facts → resolve the units the rule names from the
local org replica → call one domain command → save the new facts and their outgoing envelopes
in one atomic write (:func:`shared.reliability.unit_of_work.apply`).

A request the domain refuses — or that names a unit the org registry does not know — is
answered with a ``workflow.request_rejected`` fact stored keyed by request id (answered once
even if redelivered); the aggregate itself is untouched.

Wiring (done by the service's ``app.py``)::

    wf = register(runtime, clock, replica, group=group)
    app.include_router(wf.router)
    ... call ``await wf.tick_all()`` from the timer loop ...
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request

from services.tasks.authorization import authorise_workflow
from services.tasks.clock import Clock
from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.domain.complaint import OPEN as COMPLAINT_OPEN
from services.tasks.domain.complaint import Complaint
from services.tasks.domain.plan import Plan, PlanStatus
from services.tasks.domain.situation import Situation
from shared.access.audit import MemoryAuditLog
from shared.access.guard import Access
from shared.access.roles import Identity
from shared.contract import topics
from shared.contract.envelope import Envelope, Event, event_class
from shared.contract.events.workflows import (
    WORKFLOW_REQUEST_TYPES,
    ComplaintAnswerSubmitted,
    ComplaintCloseRequested,
    ComplaintFact,
    ComplaintPublicationSubmitted,
    ComplaintReceiptSubmitted,
    ComplaintRequest,
    ComplaintResolutionSubmitted,
    ComplaintReviewProposalSubmitted,
    ComplaintTimeLimits,
    ComplaintWithdrawalSubmitted,
    PartyRef,
    PartyRole,
    PlanAdoptionSubmitted,
    PlanFact,
    PlanReportSubmitted,
    PlanRequest,
    PlanTaskCompletionSubmitted,
    PlanTaskStartSubmitted,
    SituationCloseRequested,
    SituationEscalationSubmitted,
    SituationFact,
    SituationReportSubmitted,
    SituationRequest,
    SituationResolutionSubmitted,
    SituationWorkingGroupSubmitted,
    WorkflowFact,
    WorkflowRequest,
    WorkflowRequestRejected,
)
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.errors import DomainError
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.replica import OrgReplica
from shared.orgmodel.units import UnitAt, UnitKind
from shared.reliability.consumer import Authenticator
from shared.reliability.emit import Emitter
from shared.reliability.topic_copy import TopicCopy
from shared.reliability.unit_of_work import Change, apply, emit_once
from shared.runtime import ServiceRuntime
from shared.security.principal import current as current_principal
from shared.store import AggregateStore, Stored

log = logging.getLogger("tasks.workflows")

GOVERNMENT_KINDS = (UnitKind.PEOPLES_COMMITTEE, UnitKind.DEPARTMENT, UnitKind.PEOPLES_COUNCIL)
"""Who may receive complaints / report situations: People's Committees, their departments and
(for voter petitions) People's Councils."""

AggregateKind = Literal["complaint", "situation", "plan"]

NOT_FOUND_VI: dict[AggregateKind, str] = {
    "complaint": "Không tìm thấy đơn thư mã «{id}».",
    "situation": "Không tìm thấy tình huống mã «{id}».",
    "plan": "Không tìm thấy kế hoạch mã «{id}».",
}


# --------------------------------------------------------------------------- org resolution


def role_of(unit: UnitAt) -> PartyRole:
    match unit.kind:
        case UnitKind.PARTY_COMMITTEE:
            return PartyRole.PARTY_COMMITTEE
        case UnitKind.PEOPLES_COMMITTEE:
            return PartyRole.PEOPLES_COMMITTEE
        case UnitKind.DAN_VAN_BOARD | UnitKind.DAN_VAN_BLOC:
            return PartyRole.DAN_VAN_BOARD
        case UnitKind.FATHERLAND_FRONT:
            return PartyRole.FATHERLAND_FRONT
        case UnitKind.SOCIO_POLITICAL_ORG:
            return PartyRole.SOCIO_POLITICAL_ORG
        case UnitKind.PARTY_BOARD if unit.function == "kiem_tra":
            return PartyRole.INSPECTION_COMMITTEE
        case _:
            return PartyRole.GOVERNMENT


def party(unit: UnitAt, role: PartyRole | None = None) -> PartyRef:
    return PartyRef(unit_id=unit.id, role=role or role_of(unit), kind=unit.kind.value, name_vi=unit.name)


class OrgResolver:
    """Answers "who, at the same level / the higher level" from the local org replica."""

    def __init__(self, replica: OrgReplica, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        self.replica = replica
        self.calendar = calendar

    def _on(self, at: datetime) -> date:
        return self.calendar.local_date(at)

    def knows_unit(self, unit_id: str, at: datetime) -> bool:
        return self.replica.registry.hierarchy.find_unit(unit_id, self._on(at)) is not None

    def acts_for(self, system_id: str, unit_id: str, at: datetime) -> bool:
        return self.replica.registry.systems.acts_for(system_id, unit_id, self._on(at))

    def unit(self, unit_id: str, at: datetime, kinds: Sequence[UnitKind] = ()) -> UnitAt:
        """An existing unit (optionally of given kinds); unknown units are refused in Vietnamese."""
        try:
            u = self.replica.registry.hierarchy.unit_at(unit_id, self._on(at))
        except OrgDomainError as exc:
            raise DomainError(
                "unknown_unit", f"Không tìm thấy đơn vị «{unit_id}» trong sổ đăng ký tổ chức."
            ) from exc
        except Exception as exc:  # registry not loaded yet
            raise DomainError(
                "org_registry_unavailable", "Chưa có dữ liệu tổ chức để xác định đơn vị liên quan."
            ) from exc
        if kinds and u.kind not in kinds:
            raise DomainError(
                "wrong_unit_kind",
                f"Đơn vị «{u.name}» ({unit_id}) không phải là "
                + " / ".join(KIND_VI.get(k, k.value) for k in kinds)
                + ".",
                {"kind": u.kind.value},
            )
        return u

    def units(self, unit_ids: Sequence[str], at: datetime) -> list[UnitAt]:
        unknown: list[str] = []
        found: list[UnitAt] = []
        for uid in dict.fromkeys(unit_ids):
            try:
                found.append(self.unit(uid, at))
            except DomainError as exc:
                if exc.code != "unknown_unit":
                    raise
                unknown.append(uid)
        if unknown:
            raise DomainError(
                "unknown_unit",
                f"Không tìm thấy các đơn vị sau trong sổ đăng ký tổ chức: {', '.join(unknown)}.",
                {"unit_ids": unknown},
            )
        return found

    def _counterparts(
        self, subject_id: str, kinds: Sequence[UnitKind], at: datetime, function: str | None = None
    ) -> tuple[UnitAt, ...]:
        try:
            return self.replica.registry.hierarchy.counterparts(
                subject_id, list(kinds), self._on(at), function
            )
        except OrgDomainError as exc:
            raise DomainError("unknown_unit", exc.args[0] if exc.args else str(exc)) from exc

    def _one(self, subject_id: str, kind: UnitKind, at: datetime, what_vi: str) -> UnitAt:
        found = self._counterparts(subject_id, [kind], at)
        if len(found) != 1:
            raise DomainError(
                "counterpart_not_found" if not found else "ambiguous_counterpart",
                f"Không xác định được {what_vi} tại địa bàn «{subject_id}» trong sổ đăng ký tổ chức.",
            )
        return found[0]

    def same_level_parties(self, subject_id: str, at: datetime, *, inspection: bool) -> list[PartyRef]:
        """Dân vận board (or bloc), [Inspection Committee], Front, socio-political organisations."""
        board = self._counterparts(subject_id, [UnitKind.DAN_VAN_BOARD, UnitKind.DAN_VAN_BLOC], at)
        front = self._counterparts(subject_id, [UnitKind.FATHERLAND_FRONT], at)
        if not board or not front:
            raise DomainError(
                "counterpart_not_found",
                "Sổ đăng ký tổ chức thiếu Ban Dân vận (Khối dân vận) hoặc Mặt trận Tổ quốc cùng cấp "
                f"tại địa bàn của «{subject_id}».",
            )
        out = [party(u, PartyRole.DAN_VAN_BOARD) for u in board]
        if inspection:
            out += [
                party(u, PartyRole.INSPECTION_COMMITTEE)
                for u in self._counterparts(subject_id, [UnitKind.PARTY_BOARD], at, function="kiem_tra")
            ]
        out += [party(u, PartyRole.FATHERLAND_FRONT) for u in front]
        out += [party(u) for u in self._counterparts(subject_id, [UnitKind.SOCIO_POLITICAL_ORG], at)]
        return out

    def party_committee(self, subject_id: str, at: datetime) -> PartyRef:
        return party(self._one(subject_id, UnitKind.PARTY_COMMITTEE, at, "cấp ủy cùng cấp"))

    def higher_level(self, locality_id: str, at: datetime) -> tuple[str, PartyRef, PartyRef]:
        """The parent địa bàn and its party committee and People's Committee."""
        try:
            loc = self.replica.registry.hierarchy.locality_at(locality_id, self._on(at))
        except OrgDomainError as exc:
            raise DomainError("unknown_locality", f"Không tìm thấy địa bàn «{locality_id}».") from exc
        if loc.parent_id is None:
            raise DomainError(
                "no_higher_level",
                f"Địa bàn «{loc.name}» là cấp cao nhất trong sổ đăng ký tổ chức; không có cấp trên để báo cáo.",
            )
        pc = self._one(loc.parent_id, UnitKind.PARTY_COMMITTEE, at, "cấp ủy cấp trên")
        ubnd = self._one(loc.parent_id, UnitKind.PEOPLES_COMMITTEE, at, "Ủy ban nhân dân cấp trên")
        return loc.parent_id, party(pc), party(ubnd)

    def working_group(self, locality_id: str, member_ids: Sequence[str], at: datetime) -> list[PartyRef]:
        """Members at ``locality_id``: given ids (checked to be of that level) or the default set."""
        if member_ids:
            members = self.units(member_ids, at)
            outside = [u.id for u in members if u.locality_id != locality_id]
            if outside:
                raise DomainError(
                    "member_not_at_level",
                    f"Thành viên đoàn công tác phải thuộc cấp «{locality_id}»: {', '.join(outside)} không thuộc cấp này.",
                    {"unit_ids": outside},
                )
            return [party(u) for u in members]
        ubnd = self._counterparts(locality_id, [UnitKind.PEOPLES_COMMITTEE], at)
        return [party(u) for u in ubnd] + self.same_level_parties(locality_id, at, inspection=False)


KIND_VI: dict[UnitKind, str] = {
    UnitKind.PEOPLES_COMMITTEE: "Ủy ban nhân dân",
    UnitKind.DEPARTMENT: "cơ quan chuyên môn của chính quyền",
    UnitKind.PEOPLES_COUNCIL: "Hội đồng nhân dân",
    UnitKind.PARTY_COMMITTEE: "cấp ủy",
}


# --------------------------------------------------------------------------- storage helpers


def facts_of(state: dict[str, Any]) -> list[WorkflowFact]:
    out: list[WorkflowFact] = []
    for raw in state.get("facts", []):
        fact = event_class(raw["type"], int(raw["version"])).model_validate(raw["payload"])
        assert isinstance(fact, WorkflowFact)
        out.append(fact)
    return out


def state_of(agg: Aggregate[Any]) -> dict[str, Any]:
    return {
        "facts": [
            {"type": f.event_type, "version": f.event_version, "payload": f.model_dump(mode="json")}
            for f in agg.history
        ]
    }


@dataclass
class _Kind:
    name: AggregateKind
    store: AggregateStore
    factory: Callable[[list[WorkflowFact]], Aggregate[Any]]
    is_open: Callable[[Aggregate[Any]], bool]
    status: Callable[[Aggregate[Any]], str | None]


# --------------------------------------------------------------------------- the service


class WorkflowService:
    def __init__(
        self,
        *,
        complaints: AggregateStore,
        situations: AggregateStore,
        plans: AggregateStore,
        rejections: AggregateStore,
        runtime_emitter: Emitter,
        org: OrgResolver,
        clock: Clock,
        limits: ComplaintTimeLimits | None = None,
        calendar: HolidayCalendar = DEFAULT_CALENDAR,
        on_saved: Callable[[], None] | None = None,
        access: Access | None = None,
    ) -> None:
        self.emitter = runtime_emitter
        self.org = org
        self.clock = clock
        self.limits = limits or ComplaintTimeLimits()
        self.calendar = calendar
        self.on_saved = on_saved
        # unit tests build the service without HTTP; then the routes refuse everyone (no key)
        self.access = access or Access("tasks", audit=MemoryAuditLog(), load_key=False)
        self.rejections = rejections
        self.kinds: dict[AggregateKind, _Kind] = {
            "complaint": _Kind(
                "complaint",
                complaints,
                lambda fs: Complaint.replay([f for f in fs if isinstance(f, ComplaintFact)], calendar),
                lambda a: isinstance(a, Complaint) and a.status in COMPLAINT_OPEN,
                lambda a: a.status.value if isinstance(a, Complaint) and a.status else None,
            ),
            "situation": _Kind(
                "situation",
                situations,
                lambda fs: Situation.replay([f for f in fs if isinstance(f, SituationFact)], calendar),
                lambda a: False,  # no timers (see services.tasks.workflows.situation)
                lambda a: a.status.value if isinstance(a, Situation) and a.status else None,
            ),
            "plan": _Kind(
                "plan",
                plans,
                lambda fs: Plan.replay([f for f in fs if isinstance(f, PlanFact)], calendar),
                lambda a: isinstance(a, Plan) and a.status == PlanStatus.ACTIVE,
                lambda a: a.status.value if isinstance(a, Plan) and a.status else None,
            ),
        }
        self.router = self._build_router()

    # -- queries ------------------------------------------------------------------
    async def get(self, kind: AggregateKind, aggregate_id: str) -> Aggregate[Any] | None:
        k = self.kinds[kind]
        stored = await k.store.load(aggregate_id)
        return k.factory(facts_of(stored.state)) if stored else None

    # -- requests -----------------------------------------------------------------
    async def handle(self, env: Envelope, request: WorkflowRequest) -> None:
        kind: AggregateKind
        if isinstance(request, ComplaintRequest):
            kind = "complaint"
        elif isinstance(request, SituationRequest):
            kind = "situation"
        elif isinstance(request, PlanRequest):
            kind = "plan"
        else:  # pragma: no cover
            raise TypeError(type(request).__name__)
        k = self.kinds[kind]
        agg_id = request.subject()
        rejection: list[DomainError] = []

        sender = current_principal()

        def decide(current: Stored | None) -> Change | None:
            agg = k.factory(facts_of(current.state) if current else [])
            try:
                authorise_workflow(sender, request, self.org.acts_for, self.clock.now(), self.org.knows_unit)
                new = self._dispatch(agg, request)
            except DomainError as exc:
                rejection.append(exc)
                return None
            if not new:
                return None
            return Change(
                state=state_of(agg),
                outbox=[self.emitter.wrap(f, env) for f in new],
                extra={"status": k.status(agg), "open": k.is_open(agg)},
            )

        outcome = await apply(k.store, agg_id, env.id, decide, on_saved=self.on_saved)
        if rejection:
            await self._reject(env, kind, agg_id, request, rejection[-1])
        elif outcome.applied:
            log.info("workflow request applied", extra={"type": request.event_type, "aggregate_id": agg_id})

    async def _reject(
        self, env: Envelope, kind: AggregateKind, agg_id: str, request: WorkflowRequest, error: DomainError
    ) -> None:
        log.warning(
            "workflow request rejected",
            extra={
                "type": request.event_type,
                "aggregate_id": agg_id,
                "code": error.code,
                "reason": error.message_vi,
            },
        )
        event = WorkflowRequestRejected(
            aggregate_kind=kind,
            aggregate_id=agg_id,
            request_id=request.request_id,
            request_type=request.event_type,
            code=error.code,
            message_vi=error.message_vi,
            occurred_at=self.clock.now(),
        )
        await emit_once(self.rejections, request.request_id, env, event, self.emitter, on_saved=self.on_saved)

    def _dispatch(self, agg: Aggregate[Any], r: WorkflowRequest) -> list[WorkflowFact]:
        at = self.clock.now()
        cid = r.request_id
        creating = isinstance(r, ComplaintReceiptSubmitted | SituationReportSubmitted | PlanAdoptionSubmitted)
        if not agg.exists and not creating:
            kind: AggregateKind = (
                "complaint"
                if isinstance(r, ComplaintRequest)
                else "situation"
                if isinstance(r, SituationRequest)
                else "plan"
            )
            raise DomainError(f"unknown_{kind}", NOT_FOUND_VI[kind].format(id=r.subject()))
        if agg.exists and cid in agg.processed_commands:
            return []
        out: list[Any]
        if isinstance(agg, Complaint):
            out = self._complaint(agg, r, cid, at)
        elif isinstance(agg, Situation):
            out = self._situation(agg, r, cid, at)
        elif isinstance(agg, Plan):
            out = self._plan(agg, r, cid, at)
        else:  # pragma: no cover
            raise TypeError(type(agg).__name__)
        return list(out)

    def _complaint(self, c: Complaint, r: WorkflowRequest, cid: str, at: datetime) -> list[ComplaintFact]:
        match r:
            case ComplaintReceiptSubmitted():
                unit = self.org.unit(r.receiving_unit_id, at, GOVERNMENT_KINDS)
                parties = self.org.same_level_parties(unit.id, at, inspection=True)
                return c.receive(
                    cid,
                    complaint_id=r.complaint_id,
                    kind=r.kind,
                    receiving_unit_id=unit.id,
                    locality_id=unit.locality_id,
                    summary=r.summary,
                    parties=parties,
                    at=at,
                    mass=r.mass,
                    petitioner_count=r.petitioner_count,
                    petitioner_ref=r.petitioner_ref,
                    limits=self.limits,
                )
            case ComplaintResolutionSubmitted():
                self.org.unit(r.decided_by_unit_id, at)
                return c.decide(
                    cid,
                    decided_by_unit_id=r.decided_by_unit_id,
                    decision_ref=r.decision_ref,
                    summary=r.summary,
                    lawful=r.lawful,
                    complex=r.complex,
                    at=at,
                )
            case ComplaintReviewProposalSubmitted():
                to = party(self.org.unit(r.to_unit_id, at), PartyRole.COMPETENT_AUTHORITY)
                return c.propose_review(cid, by_unit_id=r.by_unit_id, to=to, reason=r.reason, at=at)
            case ComplaintAnswerSubmitted():
                self.org.unit(r.by_unit_id, at)
                return c.answer_citizen(
                    cid, by_unit_id=r.by_unit_id, channel=r.channel, answer_ref=r.answer_ref, at=at
                )
            case ComplaintPublicationSubmitted():
                if r.media_unit_id is not None:
                    self.org.unit(r.media_unit_id, at)
                return c.publish_result(
                    cid,
                    channel=r.channel,
                    publication_ref=r.publication_ref,
                    at=at,
                    media_unit_id=r.media_unit_id,
                )
            case ComplaintCloseRequested():
                return c.close(cid, closed_by=r.requested_by, at=at)
            case ComplaintWithdrawalSubmitted():
                return c.withdraw(cid, reason=r.reason, at=at)
        raise DomainError("unsupported_request", f"Loại yêu cầu «{r.event_type}» không áp dụng cho đơn thư.")

    def _situation(self, s: Situation, r: WorkflowRequest, cid: str, at: datetime) -> list[SituationFact]:
        match r:
            case SituationReportSubmitted():
                unit = self.org.unit(r.reporting_unit_id, at, GOVERNMENT_KINDS)
                return s.report(
                    cid,
                    situation_id=r.situation_id,
                    kind=r.kind,
                    reporting_unit_id=unit.id,
                    locality_id=unit.locality_id,
                    summary=r.summary,
                    party_committee=self.org.party_committee(unit.id, at),
                    informed=self.org.same_level_parties(unit.id, at, inspection=False),
                    at=at,
                )
            case SituationEscalationSubmitted():
                assert s.locality_id is not None
                to_loc, pc, ubnd = self.org.higher_level(s.locality_id, at)
                return s.escalate(
                    cid,
                    reason=r.reason,
                    reason_vi=r.reason_vi,
                    requested_by=r.requested_by,
                    to_locality_id=to_loc,
                    to_party_committee=pc,
                    to_peoples_committee=ubnd,
                    at=at,
                )
            case SituationWorkingGroupSubmitted():
                if s.escalation is None:
                    raise DomainError(
                        "not_escalated", "Chỉ thành lập đoàn công tác sau khi đã báo cáo xin ý kiến cấp trên."
                    )
                members = self.org.working_group(s.escalation.to_locality_id, r.member_unit_ids, at)
                return s.form_working_group(
                    cid,
                    formed_by_unit_id=r.formed_by_unit_id,
                    members=members,
                    on_request_of_lower_level=r.on_request_of_lower_level,
                    at=at,
                    note=r.note,
                )
            case SituationResolutionSubmitted():
                self.org.unit(r.by_unit_id, at)
                return s.resolve(cid, by_unit_id=r.by_unit_id, summary=r.summary, at=at)
            case SituationCloseRequested():
                return s.close(cid, closed_by=r.requested_by, at=at)
        raise DomainError(
            "unsupported_request", f"Loại yêu cầu «{r.event_type}» không áp dụng cho tình huống."
        )

    def _plan(self, p: Plan, r: WorkflowRequest, cid: str, at: datetime) -> list[PlanFact]:
        match r:
            case PlanAdoptionSubmitted():
                ids = [
                    *r.issuer_unit_ids,
                    *(u for i in r.items for u in i.assignee_unit_ids),
                    *(u for rt in r.routes for u in (*rt.reporter_unit_ids, rt.to_unit_id)),
                ]
                self.org.units(ids, at)
                return p.adopt(
                    cid,
                    plan_id=r.plan_id,
                    number=r.number,
                    title=r.title,
                    issuer_unit_ids=r.issuer_unit_ids,
                    items=r.items,
                    routes=r.routes,
                    report_due=r.report_due,
                    at=at,
                )
            case PlanTaskStartSubmitted():
                return p.start_task(cid, item_id=r.item_id, unit_id=r.unit_id, at=at)
            case PlanTaskCompletionSubmitted():
                return p.complete_task(
                    cid, item_id=r.item_id, unit_id=r.unit_id, result_summary=r.result_summary, at=at
                )
            case PlanReportSubmitted():
                return p.report_result(
                    cid,
                    reporter_unit_id=r.reporter_unit_id,
                    report_ref=r.report_ref,
                    at=at,
                    to_unit_id=r.to_unit_id,
                    summary=r.summary,
                )
        raise DomainError("unsupported_request", f"Loại yêu cầu «{r.event_type}» không áp dụng cho kế hoạch.")

    # -- time ---------------------------------------------------------------------
    async def tick_all(self) -> int:
        """Fire due reminders / overdue facts of every open complaint and plan.

        Durable: the aggregate records what fired and the save is version-checked, so a restart
        or a second instance never fires twice.
        """
        fired = 0
        for k in self.kinds.values():
            ids = [str(doc["_id"]) async for doc in k.store.collection.find({"open": True}, {"_id": 1})]
            for agg_id in ids:
                now = self.clock.now()

                def decide(current: Stored | None, now: datetime = now, k: _Kind = k) -> Change | None:
                    if current is None:
                        return None
                    agg = k.factory(facts_of(current.state))
                    tick = getattr(agg, "tick", None)
                    new = tick(now) if tick is not None else []
                    if not new:
                        return None
                    return Change(
                        state=state_of(agg),
                        outbox=[self.emitter.wrap(f) for f in new],
                        extra={"status": k.status(agg), "open": k.is_open(agg)},
                        result=len(new),
                    )

                outcome = await apply(k.store, agg_id, None, decide, on_saved=self.on_saved)
                fired += int(outcome.result or 0)
        return fired

    # -- HTTP ---------------------------------------------------------------------
    def _build_router(self) -> APIRouter:
        router = APIRouter(tags=["workflows"])

        async def load(kind: AggregateKind, aggregate_id: str) -> Aggregate[Any]:
            agg = await self.get(kind, aggregate_id)
            if agg is None:
                raise HTTPException(
                    404,
                    detail={"code": f"unknown_{kind}", "message": NOT_FOUND_VI[kind].format(id=aggregate_id)},
                )
            return agg

        access = self.access

        async def readable(
            kind: AggregateKind, aggregate_id: str, request: Request, identity: Identity, what_vi: str
        ) -> Aggregate[Any]:
            agg = await load(kind, aggregate_id)
            units = agg.involved_units()  # type: ignore[attr-defined]
            await access.check(request, identity, access.may_read_case(identity, units), what_vi)
            return agg

        @router.get("/api/complaints/{complaint_id}")
        async def get_complaint(
            complaint_id: str, request: Request, identity: Identity = access.signed_in()
        ) -> dict[str, Any]:
            c = await readable("complaint", complaint_id, request, identity, "khiếu nại, kiến nghị")
            assert isinstance(c, Complaint)
            return complaint_view(c)

        @router.get("/api/situations/{situation_id}")
        async def get_situation(
            situation_id: str, request: Request, identity: Identity = access.signed_in()
        ) -> dict[str, Any]:
            s = await readable("situation", situation_id, request, identity, "vụ việc phức tạp")
            assert isinstance(s, Situation)
            return situation_view(s)

        @router.get("/api/plans/{plan_id}")
        async def get_plan(
            plan_id: str, request: Request, identity: Identity = access.signed_in()
        ) -> dict[str, Any]:
            p = await readable("plan", plan_id, request, identity, "kế hoạch phối hợp")
            assert isinstance(p, Plan)
            return plan_view(p)

        return router


# --------------------------------------------------------------------------- views


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _history(agg: Aggregate[Any]) -> list[dict[str, Any]]:
    return [{"type": f.event_type, **f.model_dump(mode="json")} for f in agg.history]


def complaint_view(c: Complaint) -> dict[str, Any]:
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
        "history": _history(c),
    }


def situation_view(s: Situation) -> dict[str, Any]:
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
        "history": _history(s),
    }


def plan_view(p: Plan) -> dict[str, Any]:
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
        "history": _history(p),
    }


# --------------------------------------------------------------------------- wiring


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
    service = WorkflowService(
        complaints=runtime.store("wf_complaints"),
        situations=runtime.store("wf_situations"),
        plans=runtime.store("wf_plans"),
        rejections=runtime.store("wf_rejections"),
        runtime_emitter=runtime.emitter,
        org=OrgResolver(org, calendar),
        clock=clock,
        limits=limits,
        calendar=calendar,
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

    @runtime.on_start
    async def create_indexes() -> None:
        for k in service.kinds.values():
            await k.store.collection.create_index("open")

    return service
