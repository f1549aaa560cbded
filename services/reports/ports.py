"""The reports service's port to its read-model store: what handlers and pages need of it.

Why a Protocol: the handlers and the console depend on these named operations, not on the
document store, so the application layer is tested against the in-memory fake
(:mod:`shared.testing.reports_store`) and the adapter (:class:`services.reports.store.ReportsStore`)
is the only code that knows collections, queries and indexes.
"""

from __future__ import annotations

from typing import Protocol

from services.reports.domain.dead_letters import DeadLetter
from services.reports.domain.view_model import DecisionView
from shared.contract.events.decisions import DecisionFact, RequestRejected
from shared.reliability.unit_of_work import Outcome


class ReportsQueries(Protocol):
    """What the console and the JSON API read."""

    async def get(self, decision_id: str) -> DecisionView | None:
        """One decision's view (also one with only refused requests, no draft yet)."""
        ...

    async def recent(
        self, *, unit_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[DecisionView]:
        """Drafted decisions, the most recently changed first."""
        ...

    async def all_views(self, *, unit_id: str | None = None) -> list[DecisionView]:
        """Every drafted decision (for compliance over any period)."""
        ...

    async def status_counts(self) -> dict[str, int]:
        """Drafted decisions per status value."""
        ...

    async def dead_letters(self, *, topic: str | None = None, limit: int = 200) -> list[DeadLetter]:
        """Dead letters, the newest first (those without a time last)."""
        ...

    async def dead_letter_count(self) -> int: ...


class ReportsStorePort(ReportsQueries, Protocol):
    """The queries plus what the consumers record."""

    async def record_decision_event(self, message_id: str, event: DecisionFact | RequestRejected) -> Outcome:
        """Add a fact or refused request to its decision's view, once per envelope id and per
        ``seq`` / request id (``duplicate`` when the envelope was processed already)."""
        ...

    async def add_dead_letter(self, dl: DeadLetter) -> bool:
        """Store once per :attr:`DeadLetter.key`; whether it was new."""
        ...
