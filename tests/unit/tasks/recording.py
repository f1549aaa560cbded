"""Test doubles that keep the facts the commands returned.

The aggregates keep only their state (the facts and their hash chain are the repository's); a
test that needs the stream — to replay it, to verify its chain, to look at a fact — drives a
``Recorded…`` aggregate, whose ``history`` is every list its commands and ticks returned, in
order: exactly what the repository would have stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from services.tasks.domain.complaint import Complaint
from services.tasks.domain.decision import Decision
from services.tasks.domain.plan import Plan
from services.tasks.domain.situation import Situation
from shared.contract.envelope import Event
from shared.contract.events.decisions import DecisionFact
from shared.contract.events.workflows import ComplaintFact, PlanFact, SituationFact
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.chain import HashChain

F = TypeVar("F", bound=Event)


class Recording(Aggregate[F]):
    """Mixin: records what :meth:`Aggregate._emit` returned (nothing else changes)."""

    @property
    def history(self) -> list[F]:
        recorded: list[F] = self.__dict__.setdefault("_recorded", [])
        return recorded

    def _emit(self, *events: F) -> list[F]:
        out = super()._emit(*events)
        self.history.extend(out)
        return out


class RecordedDecision(Recording[DecisionFact], Decision):
    pass


class RecordedComplaint(Recording[ComplaintFact], Complaint):
    pass


class RecordedSituation(Recording[SituationFact], Situation):
    pass


class RecordedPlan(Recording[PlanFact], Plan):
    pass


def chain_of(facts: Iterable[Any]) -> HashChain:
    """The hash chain the repository would store over ``facts``."""
    chain = HashChain()
    for fact in facts:
        chain.append(fact)
    return chain
