"""Application layer of the decision workflow: thin handlers around the aggregate.

decode (done by the consumer) → load the aggregate by replaying its stored facts
→ call one domain command → save the new facts and their outgoing envelopes in
one atomic write (:func:`shared.reliability.unit_of_work.apply`).

A request the domain refuses is answered with a ``decision.request_rejected``
event (stored with its own outbox, keyed by request id, so a redelivered request
is answered once); the decision itself is untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from services.tasks.authorization import AuthorityPort, authorise, require_principal
from services.tasks.clock import Clock
from services.tasks.domain.decision import Decision, DecisionStatus
from services.tasks.parking import ParkedRequests
from shared.contract.envelope import Envelope, event_class
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
from shared.eventsourcing.chain import ChainEntry, VerificationResult, verify
from shared.eventsourcing.errors import DomainError
from shared.reliability.emit import Emitter
from shared.reliability.errors import PermanentError
from shared.reliability.unit_of_work import Change, apply, emit_once
from shared.security.principal import Principal, reset_current, set_current
from shared.security.principal import current as current_principal
from shared.store import AggregateStore, Stored

log = logging.getLogger("tasks.decisions")

TIMER_ACTOR = Actor(channel=ActorChannel.TIMER, system_id="tasks")

OPEN_STATUSES = tuple(
    s.value for s in DecisionStatus if s not in (DecisionStatus.ISSUED, DecisionStatus.WITHDRAWN)
)


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


def state_of(decision: Decision) -> dict[str, Any]:
    """The stored form of a decision: its hash chain, whose entries carry every fact.

    Why the chain *is* the event store: the facts replayed to rebuild the
    aggregate are exactly the ones the hashes cover, so editing a stored fact
    is detected by :func:`verify_stored` (tamper-evident history).
    """
    return {"chain": [e.to_dict() for e in decision.chain.entries]}


def chain_of(state: dict[str, Any]) -> list[ChainEntry]:
    return [ChainEntry.from_dict(raw) for raw in state.get("chain", [])]


def facts_from_state(state: dict[str, Any]) -> list[DecisionFact]:
    out: list[DecisionFact] = []
    for entry in chain_of(state):
        fact = event_class(entry.event_type, entry.event_version).model_validate(dict(entry.payload))
        assert isinstance(fact, DecisionFact)
        out.append(fact)
    return out


def verify_stored(state: dict[str, Any]) -> VerificationResult:
    return verify(chain_of(state))


class TamperedHistory(PermanentError):
    """The stored hash chain does not verify: nothing more is written on top of it."""


def load_verified(current: Stored | None) -> Decision:
    """Replay a stored decision, refusing one whose history was altered (so the
    evidence is never overwritten by a re-hashed chain)."""
    if current is None:
        return Decision()
    result = verify_stored(current.state)
    if not result.ok:
        raise TamperedHistory(
            f"decision {current.id}: {result.reason_code} at entry {result.first_broken_seq}: {result.message_vi}"
        )
    return Decision.replay(facts_from_state(current.state))


class DecisionService:
    def __init__(
        self,
        *,
        decisions: AggregateStore,
        rejections: AggregateStore,
        emitter: Emitter,
        org: OrgPort,
        clock: Clock,
        on_saved: Any = None,
        parked: ParkedRequests | None = None,
    ) -> None:
        self.parked = parked
        """Where a verified request for a decision that does not exist yet waits (None: refuse at once)."""
        self.decisions = decisions
        self.rejections = rejections
        self.emitter = emitter
        self.org = org
        self.clock = clock
        self.on_saved = on_saved

    # -- queries ------------------------------------------------------------------
    async def get(self, decision_id: str) -> Decision | None:
        stored = await self.decisions.load(decision_id)
        return Decision.replay(facts_from_state(stored.state)) if stored else None

    # -- requests -----------------------------------------------------------------
    async def handle(self, env: Envelope, request: DecisionRequest, *, may_park: bool = True) -> None:
        rejection: list[DomainError] = []
        early: list[Principal] = []
        sender = current_principal()

        def decide(stored: Stored | None) -> Change | None:
            decision = load_verified(stored)
            try:
                principal = require_principal(sender)  # an unsigned or forged request goes no further
                if stored is None and not isinstance(request, DraftSubmitted):
                    if may_park and self.parked is not None:
                        early.append(principal)  # before its draft: wait for it (parking.py)
                        return None
                    raise _unknown(request.decision_id)
                decision.acting = authorise(principal, request, decision, self.org, self.clock.now())
                new = self._dispatch(decision, request, exists=stored is not None)
            except DomainError as exc:
                rejection.append(exc)
                return None
            if not new:
                return None
            return Change(
                state=state_of(decision),
                outbox=[self.emitter.wrap(f, env) for f in new],
                extra=_index_fields(decision, self.clock.now()),
            )

        outcome = await apply(self.decisions, request.decision_id, env.id, decide, on_saved=self.on_saved)
        if early and self.parked is not None:
            if await self.parked.park(env, request.decision_id, early[0], self.clock.now()):
                log.info(
                    "request parked until its decision exists",
                    extra={"type": request.event_type, "decision_id": request.decision_id},
                )
            return
        if isinstance(request, DraftSubmitted) and outcome.applied and self.parked is not None:
            await self.handle_parked(request.decision_id)
        if rejection:
            system = sender.system_id if isinstance(sender, Principal) else None
            await self._reject(env, request, rejection[-1], system)
        elif outcome.applied:
            log.info(
                "request applied", extra={"type": request.event_type, "decision_id": request.decision_id}
            )

    async def handle_parked(self, decision_id: str | None = None) -> int:
        """Handle the parked requests whose decision now exists; refuse those that waited too long."""
        if self.parked is None:
            return 0
        handled = 0
        async for env, principal, parked_at in self.parked.waiting(decision_id):
            request = env.event()
            assert isinstance(request, DecisionRequest)
            exists = await self.decisions.load(request.decision_id) is not None
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

    async def _reject(
        self, env: Envelope, request: DecisionRequest, error: DomainError, system_id: str | None = None
    ) -> None:
        log.warning(
            "request rejected",
            extra={
                "type": request.event_type,
                "decision_id": request.decision_id,
                "code": error.code,
                "reason": error.message_vi,
                "who": system_id or "unauthenticated",
            },
        )
        event = RequestRejected(
            decision_id=request.decision_id,
            request_id=request.request_id,
            request_type=request.event_type,
            code=error.code,
            message_vi=error.message_vi,
            occurred_at=self.clock.now(),
            sender_system_id=system_id,
        )
        await emit_once(self.rejections, request.request_id, env, event, self.emitter, on_saved=self.on_saved)

    def _dispatch(self, d: Decision, r: DecisionRequest, *, exists: bool) -> list[DecisionFact]:
        at = self.clock.now()
        cid = r.request_id
        if not exists and not isinstance(r, DraftSubmitted):
            raise _unknown(r.decision_id)
        match r:
            case DraftSubmitted():
                facts = d.draft(
                    cid,
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
                requirement = self.org.requirement_for(r.issuer_unit_id, r.doc_type, r.flags, at)
                return facts + d.request_consultation(f"{cid}:consult", requirement=requirement, at=at)
            case RevisionSubmitted():
                return d.revise(
                    cid,
                    articles=[(a.article_id, a.text) for a in r.articles],
                    at=at,
                    reconsultation_deadline=self._reconsultation_deadline(d, at),
                )
            case OpinionSubmitted():
                acting = self.org.acting_as(r.person_id, r.consultee_unit_id, at)
                if acting is None:
                    raise DomainError(
                        "not_authorised_for_unit",
                        "Người gửi ý kiến không phải người phụ trách hoặc người được ủy quyền của đơn vị được lấy ý kiến.",
                    )
                return d.give_opinion(
                    cid,
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
            case PublicCommentSubmitted():
                return d.record_public_comment(
                    cid,
                    text=r.text,
                    at=at,
                    article_id=r.article_id,
                    author_ref=r.author_ref,
                    channel=r.channel,
                )
            case PublicCommentModerationSubmitted():
                return d.moderate_public_comment(
                    cid,
                    comment_id=r.comment_id,
                    outcome=r.outcome,
                    moderator_id=r.moderator_id,
                    at=at,
                    reason=r.reason,
                )
            case ConsultationCloseRequested():
                return d.close_consultation(cid, at=at, closed_by=r.requested_by)
            case SynthesisSubmitted():
                return d.synthesise(
                    cid, by_unit_id=r.by_unit_id, summary=r.summary, at=at, by_person_id=r.by_person_id
                )
            case DispositionSubmitted():
                return d.record_disposition(
                    cid,
                    opinion_id=r.opinion_id,
                    disposition=r.disposition,
                    by_unit_id=r.by_unit_id,
                    at=at,
                    reason=r.reason,
                )
            case IssuanceRequested():
                return d.request_issuance(
                    cid, requested_by=r.requested_by, at=at, implementing_unit_ids=r.implementing_unit_ids
                )
            case OverrideRequested():  # who may override: services.tasks.authorization
                return d.override(
                    cid,
                    by_person_id=r.by_person_id,
                    role=r.role,
                    reason=r.reason,
                    at=at,
                    consultee_unit_ids=r.consultee_unit_ids,
                )
            case WithdrawalRequested():
                return d.withdraw(cid, by_person_id=r.by_person_id, reason=r.reason, at=at)
        raise DomainError("unsupported_request", f"Loại yêu cầu «{r.event_type}» chưa được hỗ trợ.")

    def _reconsultation_deadline(self, d: Decision, at: datetime) -> datetime | None:
        """A revision that changes commented articles re-opens consultation for those
        consultees: they get the policy's full window again, counted from now."""
        if d.issuer_unit_id is None or d.doc_type is None or d.requirement is None:
            return None
        try:
            return self.org.requirement_for(d.issuer_unit_id, d.doc_type, d.flags, at).deadline
        except DomainError:
            return None

    # -- time ---------------------------------------------------------------------
    async def tick_all(self) -> int:
        """Fire due reminders/escalations/closings for the decisions that are due.

        Durable: the aggregate records what fired, so a restart or a second
        instance never fires twice (the save is version-checked). Only decisions
        whose stored ``next_timer_at`` has come are loaded (documents written
        before that field existed are treated as due once).
        """
        fired = 0
        due = {
            "$or": [
                {"next_timer_at": {"$lte": self.clock.now()}},
                {"next_timer_at": {"$exists": False}, "status": {"$in": list(OPEN_STATUSES)}},
            ]
        }
        cursor = self.decisions.collection.find(due, {"_id": 1, "next_timer_at": 1})
        stored_next = {str(doc["_id"]): doc.get("next_timer_at", _NEVER_STORED) async for doc in cursor}
        for decision_id, was in stored_next.items():
            now = self.clock.now()

            def decide(current: Stored | None, now: datetime = now, was: Any = was) -> Change | None:
                if current is None:
                    return None
                try:
                    decision = load_verified(current)
                except TamperedHistory:
                    log.error(
                        "decision history does not verify; timers skipped", extra={"decision_id": current.id}
                    )
                    return None
                decision.acting = TIMER_ACTOR
                new = decision.tick(now)
                index = _index_fields(decision, now)
                if not new and _same_instant(index["next_timer_at"], was):
                    return None  # nothing fired and the next timer stays: a pass writes nothing
                return Change(  # also when nothing fired: the stored next timer must move on
                    state=state_of(decision),
                    outbox=[self.emitter.wrap(f) for f in new],
                    extra=index,
                    result=len(new),
                )

            outcome = await apply(self.decisions, decision_id, None, decide, on_saved=self.on_saved)
            fired += int(outcome.result or 0)
        return fired


_NEVER_STORED = object()
"""A decision written before ``next_timer_at`` existed: its first pass stores one."""


def _same_instant(computed: datetime | None, stored: Any) -> bool:
    """The store keeps milliseconds: compare at that precision."""
    if stored is _NEVER_STORED:
        return False
    if computed is None or stored is None:
        return computed is None and stored is None
    if not isinstance(stored, datetime):
        return False
    return abs((computed - stored).total_seconds()) < 0.001


def _unknown(decision_id: str) -> DomainError:
    return DomainError("unknown_decision", f"Không tìm thấy dự thảo văn bản mã «{decision_id}».")


def _index_fields(decision: Decision, now: datetime) -> dict[str, Any]:
    return {
        "next_timer_at": decision.next_timer_at(now),
        "status": decision.status.value if decision.status else None,
        "issuer_unit_id": decision.issuer_unit_id,
        "version_no": decision.version,
    }
