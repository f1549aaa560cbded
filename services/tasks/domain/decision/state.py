"""The Decision's state: what its facts say, applied in one place (:meth:`DecisionState._when`),
and the queries the rules ask of it (who is missing, what blocks issuance).

The commands live in :mod:`.consultation` and :mod:`.commands`, the time-driven facts in
:mod:`.timers`; each is a layer over this class, and :class:`~.commands.Decision` is the whole.
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from datetime import datetime

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from services.tasks.domain.decision import messages as vi
from services.tasks.domain.decision.status import ALLOWED_STATUSES, OPEN_CONSULTATION, DecisionStatus
from services.tasks.domain.schedule import CalendarAggregate
from services.tasks.domain.text import fmt
from shared.contract.events.decisions import (
    ConsultationClosed,
    ConsultationRequested,
    ConsultationRequirement,
    CoordinationTasksCreated,
    DecisionDrafted,
    DecisionFact,
    DecisionFlag,
    DecisionIssued,
    DecisionRevised,
    DecisionSynthesised,
    DecisionWithdrawn,
    DispositionRecorded,
    DocType,
    Escalated,
    IssuanceRefused,
    MissingItem,
    ModerationOutcome,
    OpinionRecorded,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentOpened,
    PublicCommentRecorded,
    ReminderDue,
    Stance,
)
from shared.eventsourcing.errors import DomainError

S = DecisionStatus


@dataclass
class ConsulteeState:
    """Progress of one required consultee."""

    unit_id: str
    kind: str
    name_vi: str
    deadline: datetime
    round: int = 1
    opinion_id: str | None = None
    valid_for_version: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name_vi} ({self.unit_id})" if self.name_vi else self.unit_id


@dataclass
class PublicCommentState:
    comment_id: str
    outcome: ModerationOutcome | None = None


class DecisionState(CalendarAggregate[DecisionFact]):
    """The state of one decision; ``version`` is the *draft* version (the fact count is ``seq``)."""

    kind_vi = "dự thảo"
    not_created = vi.NOT_DRAFTED
    allowed = ALLOWED_STATUSES
    command_vi = vi.COMMAND_VI
    status_vi = vi.STATUS_VI
    snapshot_fields = (
        "status",
        "issuer_unit_id",
        "doc_type",
        "title",
        "flags",
        "version",
        "articles",
        "requirement",
        "consultees",
        "opinions",
        "overrides",
        "dispositions",
        "public_comment_open",
        "public_comment_closes_at",
        "public_comments",
        "synthesis",
        "fired",
    )

    status: DecisionStatus | None
    issuer_unit_id: str | None
    doc_type: DocType | None
    title: str
    flags: tuple[DecisionFlag, ...]
    version: int
    articles: dict[str, str]
    requirement: ConsultationRequirement | None
    consultees: dict[str, ConsulteeState]
    opinions: dict[str, OpinionRecorded]
    overrides: dict[str, OverrideRecorded]
    dispositions: dict[str, DispositionRecorded]
    public_comment_open: bool
    public_comment_closes_at: datetime | None
    public_comments: dict[str, PublicCommentState]
    synthesis: DecisionSynthesised | None
    fired: set[tuple[str, int, str]]
    """(consultee, round, kind) of every reminder and escalation that fired."""

    def __init__(self, calendar: HolidayCalendar = DEFAULT_CALENDAR) -> None:
        super().__init__(calendar)
        self.issuer_unit_id = None
        self.doc_type = None
        self.title = ""
        self.flags = ()
        self.version = 0
        self.articles = {}
        self.requirement = None
        self.consultees = {}
        self.opinions = {}
        self.overrides = {}
        self.dispositions = {}
        self.public_comment_open = False
        self.public_comment_closes_at = None
        self.public_comments = {}
        self.synthesis = None
        self.fired = set()

    @property
    def decision_id(self) -> str | None:
        return self.subject

    # ================================================================= queries

    def _new_id(self, kind: str, existing: Sized) -> str:
        """The id of the next opinion (``op``), public comment (``pc``) or override (``ov``)."""
        return f"{self.decision_id}:{kind}:{len(existing) + 1}"

    def valid_override_ids(self) -> tuple[str, ...]:
        return tuple(o.override_id for o in self.overrides.values() if o.draft_version == self.version)

    def has_valid_opinion(self, unit_id: str) -> bool:
        c = self.consultees.get(unit_id)
        return c is not None and c.opinion_id is not None and c.valid_for_version == self.version

    def valid_opinion_ids(self) -> tuple[str, ...]:
        """The opinions that count on the current draft version (in policy order)."""
        return tuple(
            c.opinion_id
            for c in self.consultees.values()
            if c.opinion_id and self.has_valid_opinion(c.unit_id)
        )

    def missing_consultees(self, *, include_overridden: bool = False) -> list[ConsulteeState]:
        """Required consultees without a valid opinion on the current version (in policy order)."""
        overridden: set[str] = set()
        if not include_overridden:
            for o in self.overrides.values():
                if o.draft_version == self.version:
                    overridden.update(o.consultee_unit_ids)
        return [
            c
            for c in self.consultees.values()
            if not self.has_valid_opinion(c.unit_id) and c.unit_id not in overridden
        ]

    def consultee_missing_item(self, c: ConsulteeState) -> MissingItem:
        if c.opinion_id is None:
            return MissingItem(
                code="opinion_missing", message_vi=vi.opinion_missing(c.label), unit_id=c.unit_id
            )
        old = self.opinions[c.opinion_id].draft_version
        return MissingItem(
            code="opinion_outdated",
            message_vi=vi.opinion_outdated(c.label, old, self.version),
            unit_id=c.unit_id,
        )

    def issuance_blockers(self) -> list[MissingItem]:
        """Everything that stands between the decision and issuance, in a stable order.

        This is the rule itself; ``request_issuance`` refuses while it is non-empty, and the only
        path to ``ISSUED`` goes through ``request_issuance``.
        """
        items: list[MissingItem] = []
        if self.requirement is None:
            items.append(
                MissingItem(code="consultation_not_requested", message_vi=vi.CONSULTATION_NOT_REQUESTED)
            )
        else:
            items.extend(self.consultee_missing_item(c) for c in self.missing_consultees())
            if self.requirement.public_comment_required and self.public_comment_open:
                closes = fmt(self.public_comment_closes_at, self.calendar)
                items.append(
                    MissingItem(code="public_comment_window_open", message_vi=vi.public_window_open(closes))
                )
            pending = [p.comment_id for p in self.public_comments.values() if p.outcome is None]
            if pending:
                items.append(
                    MissingItem(
                        code="public_comments_pending_moderation",
                        message_vi=vi.comments_pending(len(pending)),
                    )
                )
            if self.status in OPEN_CONSULTATION:
                items.append(
                    MissingItem(code="consultation_not_closed", message_vi=vi.CONSULTATION_NOT_CLOSED)
                )
        if self.synthesis is None or self.synthesis.draft_version != self.version:
            items.append(MissingItem(code="synthesis_missing", message_vi=vi.SYNTHESIS_MISSING))
        if self.requirement is not None and self.requirement.dispositions_required:
            for c in self.consultees.values():
                if not self.has_valid_opinion(c.unit_id) or c.opinion_id is None:
                    continue
                op = self.opinions[c.opinion_id]
                if op.stance != Stance.AGREE and op.opinion_id not in self.dispositions:
                    items.append(
                        MissingItem(
                            code="disposition_missing",
                            message_vi=vi.disposition_missing(c.label),
                            unit_id=c.unit_id,
                        )
                    )
        return items

    def required(self) -> ConsultationRequirement:
        """The consultation requirement, refused when consultation was never requested."""
        if self.requirement is None:
            raise DomainError("consultation_not_requested", "Chưa gửi lấy ý kiến về dự thảo này.")
        return self.requirement

    # ================================================================= event application

    def _when(self, event: DecisionFact) -> None:
        """The only place state changes (through :meth:`Aggregate._apply`, also on replay)."""
        if isinstance(event, DecisionDrafted):
            self.status = S.DRAFTED
            self.issuer_unit_id = event.issuer_unit_id
            self.doc_type = event.doc_type
            self.title = event.title
            self.flags = event.flags
            self.version = 1
            self.articles = {a.article_id: a.text for a in event.articles}
        elif isinstance(event, DecisionRevised):
            self.version = event.version
            self.articles = {a.article_id: a.text for a in event.articles}
            for uid in event.carried_over_consultee_unit_ids:
                self.consultees[uid].valid_for_version = event.version
            for uid in event.reopened_consultee_unit_ids:
                c = self.consultees[uid]
                c.round += 1
                assert event.reconsultation_deadline is not None
                c.deadline = event.reconsultation_deadline
            if self.status != S.DRAFTED:
                self.status = S.REVISED
        elif isinstance(event, ConsultationRequested):
            req = event.requirement
            self.requirement = req
            self.consultees = {
                c.unit_id: ConsulteeState(
                    unit_id=c.unit_id, kind=c.kind, name_vi=c.name_vi, deadline=req.deadline
                )
                for c in req.consultees
            }
            self.status = S.CONSULTATION_REQUESTED
        elif isinstance(event, OpinionRecorded):
            self.opinions[event.opinion_id] = event
            c = self.consultees[event.consultee_unit_id]
            c.opinion_id = event.opinion_id
            c.valid_for_version = event.draft_version
            if self.status in (S.CONSULTATION_REQUESTED, S.REVISED):
                self.status = S.COLLECTING
        elif isinstance(event, PublicCommentOpened):
            self.public_comment_open = True
            self.public_comment_closes_at = event.closes_at
        elif isinstance(event, PublicCommentRecorded):
            self.public_comments[event.comment_id] = PublicCommentState(comment_id=event.comment_id)
        elif isinstance(event, PublicCommentModerated):
            self.public_comments[event.comment_id].outcome = event.outcome
        elif isinstance(event, PublicCommentClosed):
            self.public_comment_open = False
        elif isinstance(event, ConsultationClosed):
            self.status = S.CONSULTATION_CLOSED
        elif isinstance(event, ReminderDue):
            self.fired.add((event.consultee_unit_id, event.round, "reminder"))
        elif isinstance(event, Escalated):
            self.fired.add((event.consultee_unit_id, event.round, f"escalation_{event.level}"))
        elif isinstance(event, DecisionSynthesised):
            self.synthesis = event
            self.status = S.SYNTHESISED
        elif isinstance(event, DispositionRecorded):
            self.dispositions[event.opinion_id] = event
        elif isinstance(event, OverrideRecorded):
            self.overrides[event.override_id] = event
        elif isinstance(event, DecisionIssued):
            self.status = S.ISSUED
        elif isinstance(event, DecisionWithdrawn):
            self.status = S.WITHDRAWN
        elif isinstance(event, IssuanceRefused | CoordinationTasksCreated):
            pass  # recorded facts; they change no state
        else:  # pragma: no cover - a new fact type must be handled explicitly
            raise TypeError(f"unhandled decision event {type(event).__name__}")
