"""Time passes over a decision: the public comment window closes, consultees without an opinion
are reminded, then escalated. The schedule is written once, in :meth:`DecisionTimers.due_timers`,
and both ``tick`` (emit what is due) and ``next_timer_at`` (when to look again) read it:

* the public comment window closes once ``now`` reaches its closing instant;
* a reminder from the end of the working day that leaves ``reminder_lead_working_days`` working
  days before the consultee's deadline, until the deadline (a missed reminder is not sent late:
  escalation takes over);
* level 1 escalation once the deadline has passed: the head of the consultee unit;
* level 2 escalation ``escalation_level2_after_working_days`` working days after the deadline:
  the standing committee of the party committee at the same level.

Each fires at most once per consultee, round and kind (the aggregate records which fired).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.tasks.domain.decision import messages as vi
from services.tasks.domain.decision.state import ConsulteeState, DecisionState
from services.tasks.domain.decision.status import TIMED
from services.tasks.domain.schedule import deadline_timers
from services.tasks.domain.text import fmt
from shared.contract.events.decisions import (
    ConsultationRequirement,
    DecisionFact,
    Escalated,
    ModerationOutcome,
    PublicCommentClosed,
    ReminderDue,
)
from shared.eventsourcing.aggregate import Timer


class DecisionTimers(DecisionState):
    """The decision's time-driven facts."""

    def due_timers(self, now: datetime) -> Sequence[Timer[DecisionFact]]:
        if self.status not in TIMED or self.requirement is None:
            return []
        timers: list[Timer[DecisionFact]] = []
        closes = self.public_comment_closes_at
        if self.public_comment_open and closes is not None:
            timers.append(
                Timer(
                    at=closes,
                    key=("public_comment", "closed"),
                    strict=False,
                    build=lambda: self._public_comment_closed(now, None),
                )
            )
        for c in self.missing_consultees():
            timers += self._consultee_timers(c, self.requirement, now)
        return timers

    def _consultee_timers(
        self, c: ConsulteeState, req: ConsultationRequirement, now: datetime
    ) -> list[Timer[DecisionFact]]:
        deadline_vi = fmt(c.deadline, self.calendar)
        after = req.escalation_level2_after_working_days
        level2_at = self.calendar.add_working_days(c.deadline, after)
        timers = deadline_timers(
            (c.unit_id, c.round),
            due=c.deadline,
            remind_at=self.calendar.add_working_days(c.deadline, -req.reminder_lead_working_days),
            fired=self.fired,
            overdue_kind="escalation_1",
            reminder=lambda: self._fact(
                ReminderDue,
                at=now,
                consultee_unit_id=c.unit_id,
                round=c.round,
                deadline=c.deadline,
                message_vi=vi.reminder(c.label, self.title, deadline_vi),
            ),
            overdue=lambda: self._escalated(
                c,
                now,
                level=1,
                to=(c.unit_id, c.kind, "head"),
                message_vi=vi.escalation_to_head(c.label, self.title, deadline_vi),
            ),
        )
        if (c.unit_id, c.round, "escalation_2") not in self.fired:
            timers.append(
                Timer(
                    at=level2_at,
                    key=(c.unit_id, c.round, "escalation_2"),
                    build=lambda: self._escalated(
                        c,
                        now,
                        level=2,
                        to=(req.escalation_unit_id, "party_committee", "standing_committee"),
                        message_vi=vi.escalation_to_committee(c.label, self.title, after, deadline_vi),
                    ),
                )
            )
        return timers

    def _escalated(
        self, c: ConsulteeState, now: datetime, *, level: int, to: tuple[str, str, str], message_vi: str
    ) -> Escalated:
        unit_id, kind, role = to
        return self._fact(
            Escalated,
            at=now,
            consultee_unit_id=c.unit_id,
            round=c.round,
            level=level,
            deadline=c.deadline,
            escalate_to_unit_id=unit_id,
            escalate_to_kind=kind,
            escalate_to_role=role,
            message_vi=message_vi,
        )

    def _public_comment_closed(self, at: datetime, command_id: str | None) -> PublicCommentClosed:
        outcomes = [p.outcome for p in self.public_comments.values()]
        return self._fact(
            PublicCommentClosed,
            at=at,
            command_id=command_id,
            approved_count=outcomes.count(ModerationOutcome.APPROVED),
            rejected_count=outcomes.count(ModerationOutcome.REJECTED),
            pending_count=outcomes.count(None),
        )
