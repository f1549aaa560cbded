"""Application layer of the decision workflow: a dispatch table of small command functions.

Everything else is the shared path (:class:`shared.eventsourcing.handler.Handler`): load the
verified decision, run one command, append its facts with their envelopes in one atomic write;
a refused request is answered once with ``decision.request_rejected`` and the decision is
untouched. Here: who the sender acts as (:mod:`services.tasks.authorization`), what the org
registry says (the consultation the policy requires, who may give a unit's opinion), and requests
that arrive before their draft wait in :mod:`services.tasks.parking`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from services.tasks.authorization import AuthorityPort, authorise, require_principal, unsupported
from services.tasks.clock import Clock
from services.tasks.domain.decision import Decision
from services.tasks.parking import ParkedRequests
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import (
    ActingAs,
    Actor,
    ActorChannel,
    ConsultationCloseRequested,
    ConsultationRequirement,
    DecisionFact,
    DecisionFlag,
    DecisionRequest,
    DispositionSubmitted,
    DocType,
    DraftSubmitted,
    IssuanceRequested,
    OpinionSubmitted,
    OverrideRequested,
    PublicCommentModerationSubmitted,
    PublicCommentSubmitted,
    RequestRejected,
    RevisionSubmitted,
    SynthesisSubmitted,
    WithdrawalRequested,
)
from shared.eventsourcing.errors import DomainError
from shared.eventsourcing.handler import Handler
from shared.eventsourcing.repository import EventSourcedRepository
from shared.reliability.emit import Emitter
from shared.security.principal import Principal, reset_current, set_current
from shared.security.principal import current as current_principal
from shared.store import AggregateStore

log = logging.getLogger("tasks.decisions")

TIMER_ACTOR = Actor(channel=ActorChannel.TIMER, system_id="tasks")


class OrgPort(AuthorityPort, Protocol):
    """What the workflow needs to know about the organisation (from the org registry's events)."""

    def requirement_for(
        self, issuer_unit_id: str, doc_type: DocType, flags: Sequence[DecisionFlag], at: datetime
    ) -> ConsultationRequirement:
        """The consultation the policy in force requires; raises DomainError (unknown unit,
        not subject to consultation…)."""
        ...

    def acting_as(self, person_id: str, unit_id: str, at: datetime) -> ActingAs | None:
        """Whether the person may give the unit's opinion on that date (holder or substitute)."""
        ...


# --------------------------------------------------------------------------- the dispatch table
# Each entry: (service, decision, request, at) → the facts. A screen or less each.

Run = Callable[["DecisionService", Decision, Any, datetime], list[DecisionFact]]


def _draft(s: DecisionService, d: Decision, r: DraftSubmitted, at: datetime) -> list[DecisionFact]:
    facts = d.draft(
        r.request_id,
        decision_id=r.decision_id,
        issuer_unit_id=r.issuer_unit_id,
        doc_type=r.doc_type,
        title=r.title,
        flags=r.flags,
        articles=[(a.article_id, a.text) for a in r.articles],
        at=at,
    )
    if not facts:
        return []
    requirement = s.org.requirement_for(r.issuer_unit_id, r.doc_type, r.flags, at)
    return facts + d.request_consultation(f"{r.request_id}:consult", requirement=requirement, at=at)


def _revise(s: DecisionService, d: Decision, r: RevisionSubmitted, at: datetime) -> list[DecisionFact]:
    return d.revise(
        r.request_id,
        articles=[(a.article_id, a.text) for a in r.articles],
        at=at,
        reconsultation_deadline=s.reconsultation_deadline(d, at),
    )


def _opinion(s: DecisionService, d: Decision, r: OpinionSubmitted, at: datetime) -> list[DecisionFact]:
    acting = s.org.acting_as(r.person_id, r.consultee_unit_id, at)
    if acting is None:
        raise DomainError(
            "not_authorised_for_unit",
            "Người gửi ý kiến không phải người phụ trách hoặc người được ủy quyền của đơn vị được lấy ý kiến.",
        )
    return d.give_opinion(
        r.request_id,
        consultee_unit_id=r.consultee_unit_id,
        given_by=r.person_id,
        acting_as=acting,
        stance=r.stance,
        comments={c.article_id: c.text for c in r.comments},
        draft_version=r.draft_version,
        at=at,
        general_comment=r.general_comment,
        attachments=r.attachments,
        link_token_id=r.link_token_id,
    )


def _comment(s: DecisionService, d: Decision, r: PublicCommentSubmitted, at: datetime) -> list[DecisionFact]:
    return d.record_public_comment(
        r.request_id, text=r.text, at=at, article_id=r.article_id, author_ref=r.author_ref, channel=r.channel
    )


def _moderate(
    s: DecisionService, d: Decision, r: PublicCommentModerationSubmitted, at: datetime
) -> list[DecisionFact]:
    return d.moderate_public_comment(
        r.request_id,
        comment_id=r.comment_id,
        outcome=r.outcome,
        moderator_id=r.moderator_id,
        at=at,
        reason=r.reason,
    )


def _close(
    s: DecisionService, d: Decision, r: ConsultationCloseRequested, at: datetime
) -> list[DecisionFact]:
    return d.close_consultation(r.request_id, at=at, closed_by=r.requested_by)


def _synthesise(s: DecisionService, d: Decision, r: SynthesisSubmitted, at: datetime) -> list[DecisionFact]:
    return d.synthesise(
        r.request_id, by_unit_id=r.by_unit_id, summary=r.summary, at=at, by_person_id=r.by_person_id
    )


def _dispose(s: DecisionService, d: Decision, r: DispositionSubmitted, at: datetime) -> list[DecisionFact]:
    return d.record_disposition(
        r.request_id,
        opinion_id=r.opinion_id,
        disposition=r.disposition,
        by_unit_id=r.by_unit_id,
        at=at,
        reason=r.reason,
    )


def _issue(s: DecisionService, d: Decision, r: IssuanceRequested, at: datetime) -> list[DecisionFact]:
    return d.request_issuance(
        r.request_id, requested_by=r.requested_by, at=at, implementing_unit_ids=r.implementing_unit_ids
    )


def _override(s: DecisionService, d: Decision, r: OverrideRequested, at: datetime) -> list[DecisionFact]:
    return d.override(  # who may override: services.tasks.authorization
        r.request_id,
        by_person_id=r.by_person_id,
        role=r.role,
        reason=r.reason,
        at=at,
        consultee_unit_ids=r.consultee_unit_ids,
    )


def _withdraw(s: DecisionService, d: Decision, r: WithdrawalRequested, at: datetime) -> list[DecisionFact]:
    return d.withdraw(r.request_id, by_person_id=r.by_person_id, reason=r.reason, at=at)


DISPATCH: Mapping[type[DecisionRequest], Run] = {
    DraftSubmitted: _draft,
    RevisionSubmitted: _revise,
    OpinionSubmitted: _opinion,
    PublicCommentSubmitted: _comment,
    PublicCommentModerationSubmitted: _moderate,
    ConsultationCloseRequested: _close,
    SynthesisSubmitted: _synthesise,
    DispositionSubmitted: _dispose,
    IssuanceRequested: _issue,
    OverrideRequested: _override,
    WithdrawalRequested: _withdraw,
}


def index_fields(decision: Decision, now: datetime) -> dict[str, Any]:
    """What queries need beside the decision: the timer scheduler, dashboards, the API."""
    return {
        "next_timer_at": decision.next_timer_at(now),
        "status": decision.status.value if decision.status else None,
        "issuer_unit_id": decision.issuer_unit_id,
        "version_no": decision.version,
    }


def refusal(request: Event, error: DomainError, system_id: str | None, at: datetime) -> RequestRejected:
    assert isinstance(request, DecisionRequest)
    return RequestRejected(
        decision_id=request.decision_id,
        request_id=request.request_id,
        request_type=request.event_type,
        code=error.code,
        message_vi=error.message_vi,
        occurred_at=at,
        sender_system_id=system_id,
    )


def unknown(decision_id: str) -> DomainError:
    return DomainError("unknown_decision", f"Không tìm thấy dự thảo văn bản mã «{decision_id}».")


class DecisionService:
    def __init__(
        self,
        *,
        decisions: EventSourcedRepository[Decision],
        rejections: AggregateStore,
        emitter: Emitter,
        org: OrgPort,
        clock: Clock,
        on_saved: Callable[[], None] | None = None,
        parked: ParkedRequests | None = None,
    ) -> None:
        self.decisions = decisions
        self.org = org
        self.clock = clock
        self.parked = parked
        """Where a verified request for a decision that does not exist yet waits (None: refuse at once)."""
        self.handler: Handler[Decision] = Handler(
            name="decisions",
            repository=decisions,
            rejections=rejections,
            emitter=emitter,
            now=clock.now,
            refusal=refusal,
            index=index_fields,
            timer_actor=TIMER_ACTOR,
            on_saved=on_saved,
        )

    async def get(self, decision_id: str) -> Decision | None:
        return await self.decisions.get(decision_id)

    async def handle(self, env: Envelope, request: DecisionRequest, *, may_park: bool = True) -> None:
        early: list[Principal] = []
        sender = current_principal()

        def command(d: Decision, exists: bool) -> list[DecisionFact]:
            principal = require_principal(sender)  # an unsigned or forged request goes no further
            if not exists and not isinstance(request, DraftSubmitted):
                if may_park and self.parked is not None:
                    early.append(principal)  # before its draft: wait for it (parking.py)
                    return []
                raise unknown(request.decision_id)
            at = self.clock.now()
            d.acting = authorise(principal, request, d, self.org, at)
            run = DISPATCH.get(type(request))
            if run is None:
                raise unsupported(request)
            return run(self, d, request, at)

        outcome = await self.handler.handle(env, request, command)
        if early and self.parked is not None:
            if await self.parked.park(env, request.decision_id, early[0], self.clock.now()):
                log.info(
                    "request parked until its decision exists",
                    extra={"type": request.event_type, "decision_id": request.decision_id},
                )
            return
        if isinstance(request, DraftSubmitted) and outcome.applied and self.parked is not None:
            await self.handle_parked(request.decision_id)

    async def handle_parked(self, decision_id: str | None = None) -> int:
        """Handle the parked requests whose decision now exists; refuse those that waited too long."""
        if self.parked is None:
            return 0
        handled = 0
        async for env, principal, parked_at in self.parked.waiting(decision_id):
            request = env.event()
            assert isinstance(request, DecisionRequest)
            exists = await self.decisions.get(request.decision_id) is not None
            if not exists and not self.parked.expired(parked_at, self.clock.now()):
                continue
            token = set_current(principal)
            try:  # the decision exists: handled as on arrival; still none: refused unknown_decision
                await self.handle(env, request, may_park=False)
            finally:
                reset_current(token)
            await self.parked.done(env)
            handled += 1
        return handled

    def reconsultation_deadline(self, d: Decision, at: datetime) -> datetime | None:
        """A revision that changes commented articles re-opens consultation for those
        consultees: they get the policy's full window again, counted from now."""
        if d.issuer_unit_id is None or d.doc_type is None or d.requirement is None:
            return None
        try:
            return self.org.requirement_for(d.issuer_unit_id, d.doc_type, d.flags, at).deadline
        except DomainError:
            return None

    async def tick_all(self) -> int:
        """Fire due reminders/escalations/closings of the decisions whose next timer has come."""
        return await self.handler.tick_all()
