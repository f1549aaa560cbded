"""The workflows' dispatch tables: one small function per request type.

Each function resolves the units the request names from the org registry copy
(:class:`OrgResolver`, unknown units refused in Vietnamese) and calls one domain command. The
shared path (:class:`shared.eventsourcing.handler.Handler`) does the loading, saving, answering
and refusing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.tasks.domain.complaint import Complaint
from services.tasks.domain.plan import Plan
from services.tasks.domain.situation import Situation
from services.tasks.workflows.org_resolver import GOVERNMENT_KINDS, OrgResolver, party
from shared.contract.events.workflows import (
    ComplaintAnswerSubmitted,
    ComplaintCloseRequested,
    ComplaintPublicationSubmitted,
    ComplaintReceiptSubmitted,
    ComplaintResolutionSubmitted,
    ComplaintReviewProposalSubmitted,
    ComplaintTimeLimits,
    ComplaintWithdrawalSubmitted,
    PartyRole,
    PlanAdoptionSubmitted,
    PlanReportSubmitted,
    PlanTaskCompletionSubmitted,
    PlanTaskStartSubmitted,
    SituationCloseRequested,
    SituationEscalationSubmitted,
    SituationReportSubmitted,
    SituationResolutionSubmitted,
    SituationWorkingGroupSubmitted,
    WorkflowFact,
    WorkflowRequest,
)
from shared.eventsourcing.errors import DomainError


@dataclass(frozen=True)
class Context:
    org: OrgResolver
    limits: ComplaintTimeLimits
    at: datetime


Run = Callable[[Context, Any, Any], list[Any]]
"""``run(context, aggregate, request)`` → the new facts."""

CREATING: tuple[type[WorkflowRequest], ...] = (
    ComplaintReceiptSubmitted,
    SituationReportSubmitted,
    PlanAdoptionSubmitted,
)
"""The requests that create their aggregate (any other one needs it to exist)."""


# --------------------------------------------------------------------------- complaints


def _receive(x: Context, c: Complaint, r: ComplaintReceiptSubmitted) -> list[WorkflowFact]:
    unit = x.org.unit(r.receiving_unit_id, x.at, GOVERNMENT_KINDS)
    return list(
        c.receive(
            r.request_id,
            complaint_id=r.complaint_id,
            kind=r.kind,
            receiving_unit_id=unit.id,
            locality_id=unit.locality_id,
            summary=r.summary,
            parties=x.org.same_level_parties(unit.id, x.at, inspection=True),
            at=x.at,
            mass=r.mass,
            petitioner_count=r.petitioner_count,
            petitioner_ref=r.petitioner_ref,
            limits=x.limits,
        )
    )


def _decide(x: Context, c: Complaint, r: ComplaintResolutionSubmitted) -> list[WorkflowFact]:
    x.org.unit(r.decided_by_unit_id, x.at)
    return list(
        c.decide(
            r.request_id,
            decided_by_unit_id=r.decided_by_unit_id,
            decision_ref=r.decision_ref,
            summary=r.summary,
            lawful=r.lawful,
            complex=r.complex,
            at=x.at,
        )
    )


def _propose_review(x: Context, c: Complaint, r: ComplaintReviewProposalSubmitted) -> list[WorkflowFact]:
    to = party(x.org.unit(r.to_unit_id, x.at), PartyRole.COMPETENT_AUTHORITY)
    return list(c.propose_review(r.request_id, by_unit_id=r.by_unit_id, to=to, reason=r.reason, at=x.at))


def _answer(x: Context, c: Complaint, r: ComplaintAnswerSubmitted) -> list[WorkflowFact]:
    x.org.unit(r.by_unit_id, x.at)
    return list(
        c.answer_citizen(
            r.request_id, by_unit_id=r.by_unit_id, channel=r.channel, answer_ref=r.answer_ref, at=x.at
        )
    )


def _publish(x: Context, c: Complaint, r: ComplaintPublicationSubmitted) -> list[WorkflowFact]:
    if r.media_unit_id is not None:
        x.org.unit(r.media_unit_id, x.at)
    return list(
        c.publish_result(
            r.request_id,
            channel=r.channel,
            publication_ref=r.publication_ref,
            at=x.at,
            media_unit_id=r.media_unit_id,
        )
    )


def _close_complaint(x: Context, c: Complaint, r: ComplaintCloseRequested) -> list[WorkflowFact]:
    return list(c.close(r.request_id, closed_by=r.requested_by, at=x.at))


def _withdraw_complaint(x: Context, c: Complaint, r: ComplaintWithdrawalSubmitted) -> list[WorkflowFact]:
    return list(c.withdraw(r.request_id, reason=r.reason, at=x.at))


# --------------------------------------------------------------------------- complex situations


def _report_situation(x: Context, s: Situation, r: SituationReportSubmitted) -> list[WorkflowFact]:
    unit = x.org.unit(r.reporting_unit_id, x.at, GOVERNMENT_KINDS)
    return list(
        s.report(
            r.request_id,
            situation_id=r.situation_id,
            kind=r.kind,
            reporting_unit_id=unit.id,
            locality_id=unit.locality_id,
            summary=r.summary,
            party_committee=x.org.party_committee(unit.id, x.at),
            informed=x.org.same_level_parties(unit.id, x.at, inspection=False),
            at=x.at,
        )
    )


def _escalate(x: Context, s: Situation, r: SituationEscalationSubmitted) -> list[WorkflowFact]:
    assert s.locality_id is not None
    to_loc, pc, ubnd = x.org.higher_level(s.locality_id, x.at)
    return list(
        s.escalate(
            r.request_id,
            reason=r.reason,
            reason_vi=r.reason_vi,
            requested_by=r.requested_by,
            to_locality_id=to_loc,
            to_party_committee=pc,
            to_peoples_committee=ubnd,
            at=x.at,
        )
    )


def _working_group(x: Context, s: Situation, r: SituationWorkingGroupSubmitted) -> list[WorkflowFact]:
    if s.escalation is None:
        raise DomainError(
            "not_escalated", "Chỉ thành lập đoàn công tác sau khi đã báo cáo xin ý kiến cấp trên."
        )
    members = x.org.working_group(s.escalation.to_locality_id, r.member_unit_ids, x.at)
    return list(
        s.form_working_group(
            r.request_id,
            formed_by_unit_id=r.formed_by_unit_id,
            members=members,
            on_request_of_lower_level=r.on_request_of_lower_level,
            at=x.at,
            note=r.note,
        )
    )


def _resolve_situation(x: Context, s: Situation, r: SituationResolutionSubmitted) -> list[WorkflowFact]:
    x.org.unit(r.by_unit_id, x.at)
    return list(s.resolve(r.request_id, by_unit_id=r.by_unit_id, summary=r.summary, at=x.at))


def _close_situation(x: Context, s: Situation, r: SituationCloseRequested) -> list[WorkflowFact]:
    return list(s.close(r.request_id, closed_by=r.requested_by, at=x.at))


# --------------------------------------------------------------------------- coordination plans


def _adopt(x: Context, p: Plan, r: PlanAdoptionSubmitted) -> list[WorkflowFact]:
    x.org.units(
        [
            *r.issuer_unit_ids,
            *(u for i in r.items for u in i.assignee_unit_ids),
            *(u for rt in r.routes for u in (*rt.reporter_unit_ids, rt.to_unit_id)),
        ],
        x.at,
    )
    return list(
        p.adopt(
            r.request_id,
            plan_id=r.plan_id,
            number=r.number,
            title=r.title,
            issuer_unit_ids=r.issuer_unit_ids,
            items=r.items,
            routes=r.routes,
            report_due=r.report_due,
            at=x.at,
        )
    )


def _start_task(x: Context, p: Plan, r: PlanTaskStartSubmitted) -> list[WorkflowFact]:
    return list(p.start_task(r.request_id, item_id=r.item_id, unit_id=r.unit_id, at=x.at))


def _complete_task(x: Context, p: Plan, r: PlanTaskCompletionSubmitted) -> list[WorkflowFact]:
    return list(
        p.complete_task(
            r.request_id, item_id=r.item_id, unit_id=r.unit_id, result_summary=r.result_summary, at=x.at
        )
    )


def _report_plan(x: Context, p: Plan, r: PlanReportSubmitted) -> list[WorkflowFact]:
    return list(
        p.report_result(
            r.request_id,
            reporter_unit_id=r.reporter_unit_id,
            report_ref=r.report_ref,
            at=x.at,
            to_unit_id=r.to_unit_id,
            summary=r.summary,
        )
    )


DISPATCH: Mapping[type[WorkflowRequest], Run] = {
    ComplaintReceiptSubmitted: _receive,
    ComplaintResolutionSubmitted: _decide,
    ComplaintReviewProposalSubmitted: _propose_review,
    ComplaintAnswerSubmitted: _answer,
    ComplaintPublicationSubmitted: _publish,
    ComplaintCloseRequested: _close_complaint,
    ComplaintWithdrawalSubmitted: _withdraw_complaint,
    SituationReportSubmitted: _report_situation,
    SituationEscalationSubmitted: _escalate,
    SituationWorkingGroupSubmitted: _working_group,
    SituationResolutionSubmitted: _resolve_situation,
    SituationCloseRequested: _close_situation,
    PlanAdoptionSubmitted: _adopt,
    PlanTaskStartSubmitted: _start_task,
    PlanTaskCompletionSubmitted: _complete_task,
    PlanReportSubmitted: _report_plan,
}
