"""In-memory fake of the reports read-model store (:class:`services.reports.ports.ReportsStorePort`).

For unit tests of the reports application layer (handlers, pages): no database, no Kafka.
It keeps what the document-store adapter keeps and answers the same way:

* per decision, the stored log (facts by ``seq``, refusals by request id), a version and an
  inbox of the last ``inbox_size`` envelope ids, as :func:`shared.reliability.unit_of_work.apply`
  does — an envelope already in the inbox is a ``duplicate``; an input already in the log
  (same ``seq`` / request id under a new envelope id) changes nothing and is not put in
  the inbox;
* the view is derived with the same pure code (:func:`services.reports.domain.decision_view.recorded`);
* queries list only drafted decisions, the most recently changed first, filtered by issuing
  unit and status when those are given (an empty string filters nothing, as there);
* dead letters are kept once per key, newest first (without a time last), then by key.

``fail_next_dead_letters`` makes the next calls of :meth:`add_dead_letter` raise, to test the
handler's retry. Never used as proof of the real line: the integration tests are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.reports.domain.dead_letters import DeadLetter
from services.reports.domain.decision_view import recorded
from services.reports.domain.view_model import DecisionView
from shared.contract.events.decisions import DecisionFact, RequestRejected
from shared.reliability.unit_of_work import Outcome


@dataclass
class StoredDecision:
    """One decision's document: its log, version, inbox and derived view."""

    version: int
    state: dict[str, Any]
    view: DecisionView
    inbox: list[str] = field(default_factory=list)


class MemoryReportsStore:
    """The reports store in memory; inspect :attr:`decisions` and :attr:`dead` in assertions."""

    def __init__(self, *, inbox_size: int = 1000) -> None:
        self.inbox_size = inbox_size
        self.decisions: dict[str, StoredDecision] = {}
        self.dead: dict[str, DeadLetter] = {}
        self.fail_next_dead_letters = 0

    # -- decisions ----------------------------------------------------------------
    async def record_decision_event(self, message_id: str, event: DecisionFact | RequestRejected) -> Outcome:
        current = self.decisions.get(event.decision_id)
        if current is not None and message_id in current.inbox:
            return Outcome(applied=False, duplicate=True, version=current.version)
        got = recorded(current.state if current else None, event)
        if got is None:
            return Outcome(applied=False, version=current.version if current else 0)
        state, view = got
        inbox = [*(current.inbox if current else ()), message_id][-self.inbox_size :]
        version = (current.version if current else 0) + 1
        self.decisions[event.decision_id] = StoredDecision(
            version=version, state=state, view=view, inbox=inbox
        )
        return Outcome(applied=True, version=version)

    async def get(self, decision_id: str) -> DecisionView | None:
        doc = self.decisions.get(decision_id)
        return _copy(doc.view) if doc else None

    async def recent(
        self, *, unit_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[DecisionView]:
        views = sorted(self._drafted(unit_id, status), key=_last_event_at, reverse=True)
        return views[:limit]

    async def all_views(self, *, unit_id: str | None = None) -> list[DecisionView]:
        return self._drafted(unit_id)

    async def status_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self._drafted():
            out[v.status.value] = out.get(v.status.value, 0) + 1
        return out

    def _drafted(self, unit_id: str | None = None, status: str | None = None) -> list[DecisionView]:
        return [
            _copy(d.view)
            for d in self.decisions.values()
            if d.view.drafted_at is not None
            and (not unit_id or d.view.issuer_unit_id == unit_id)
            and (not status or d.view.status.value == status)
        ]

    # -- dead letters -------------------------------------------------------------
    async def add_dead_letter(self, dl: DeadLetter) -> bool:
        if self.fail_next_dead_letters > 0:
            self.fail_next_dead_letters -= 1
            raise ConnectionError("fake store: dead letter not stored")
        if dl.key in self.dead:
            return False
        self.dead[dl.key] = dl.model_copy(deep=True)
        return True

    async def dead_letters(self, *, topic: str | None = None, limit: int = 200) -> list[DeadLetter]:
        chosen = sorted((d for d in self.dead.values() if not topic or d.topic == topic), key=lambda d: d.key)
        chosen.sort(key=_at, reverse=True)  # stable: equal times stay in key order
        return [d.model_copy(deep=True) for d in chosen[:limit]]

    async def dead_letter_count(self) -> int:
        return len(self.dead)


def _copy(view: DecisionView) -> DecisionView:
    """A reader gets its own copy, as from a database: changing it changes nothing stored."""
    return view.model_copy(deep=True)


def _last_event_at(view: DecisionView) -> tuple[bool, datetime | None]:
    return (view.last_event_at is not None, view.last_event_at)


def _at(dl: DeadLetter) -> tuple[bool, datetime | None]:
    return (dl.at is not None, dl.at)
