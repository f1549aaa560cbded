"""The stores notify's application layer depends on: named operations, no PyMongo.

Why classes with the writes in them and only the queries abstract: every write goes through
:func:`shared.reliability.unit_of_work.apply` (load → decide → one atomic save with the outbox and
the inbox), so the write path is the same whatever holds the documents; what differs between the
document store (:mod:`services.notify.stores.mongo`) and the unit tests' memory
(:mod:`shared.testing.notify_stores`) is how a document is *found* by something else than its id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify.readmodel import Draft, Names
from services.notify.readmodel import apply as apply_fact
from shared.contract.envelope import Envelope, Event
from shared.reliability.unit_of_work import Change, Decide, Outcome, apply
from shared.store import AggregateStore, Doc, Stored


async def create_once(
    store: AggregateStore,
    doc_id: str,
    make: Callable[[], Change],
    *,
    message_id: str | None = None,
) -> Stored | None:
    """Create the document once, never change it afterwards: ``None`` if this call created it,
    else the document that was there (a redelivery, a double submit, a reused link)."""
    existing: list[Stored] = []

    def decide(current: Stored | None) -> Change | None:
        if current is not None:
            existing[:] = [current]
            return None
        return make()

    outcome = await apply(store, doc_id, message_id, decide)
    return None if outcome.applied else (existing[0] if existing else await store.load(doc_id))


class DraftStore:
    """The read model of drafts: one document per decision, changed only by the pure ``apply``."""

    def __init__(self, aggregates: AggregateStore) -> None:
        self.aggregates = aggregates

    async def get(self, decision_id: str) -> Draft | None:
        stored = await self.aggregates.load(decision_id)
        return Draft.from_state(dict(stored.state)) if stored else None

    async def apply(self, env: Envelope, decision_id: str, e: Event, names: Names = Names()) -> None:
        """Apply one fact, once per envelope (a stale ``seq`` changes nothing)."""

        def decide(current: Stored | None) -> Change | None:
            draft = Draft.from_state(dict(current.state)) if current else None
            after = apply_fact(draft, decision_id, e, names)
            return None if after is None else Change(state=after.to_state())

        await apply(self.aggregates, decision_id, env.id, decide)


@dataclass(frozen=True, slots=True)
class NewLink:
    """A link about to be issued: its stored claims and the hash its token is looked up by."""

    state: dict[str, Any]
    token_hash: str


class LinkStore(ABC):
    """Action links, one document per (decision, unit, draft version, person) or moderation link."""

    def __init__(self, aggregates: AggregateStore) -> None:
        self.aggregates = aggregates

    async def ensure_link(self, link_id: str, issue: Callable[[], NewLink]) -> Mapping[str, Any]:
        """The stored link ``link_id``, issued (``issue()``) on first use and reused ever after:
        every link notify hands out is created here."""

        def make() -> Change:
            new = issue()
            index = {
                "token_id": new.state["token_id"],
                "decision_id": new.state["decision_id"],
                "token_hash": new.token_hash,
            }
            return Change(state=new.state, extra=index)

        existing = await create_once(self.aggregates, link_id, make)
        stored = existing or await self.aggregates.load(link_id)
        assert stored is not None
        return stored.state

    async def revoke(self, token_id: str, reason: str, now: datetime) -> Mapping[str, Any] | None:
        """Mark the link revoked (idempotent: the first revocation stays); ``None`` if unknown."""
        found = await self.by_token_id(token_id)
        if found is None:
            return None

        def decide(current: Stored | None) -> Change | None:
            if current is None or current.state.get("revoked_at"):
                return None
            return Change(state={**current.state, "revoked_at": now, "revoked_reason": reason})

        await apply(self.aggregates, found.id, None, decide)
        stored = await self.aggregates.load(found.id)
        assert stored is not None
        return stored.state

    @abstractmethod
    async def by_token_id(self, token_id: str) -> Stored | None:
        """The link whose claims carry ``token_id`` (the id in events and submissions)."""

    @abstractmethod
    async def by_token_hash(self, token_hash: str) -> Stored | None:
        """The opaque link whose token hashes to ``token_hash`` (the pages' look-up)."""

    async def ensure_indexes(self) -> None:
        return None


def delivery_index(state: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level fields beside a delivery's state, for the worker's and the operator's queries."""
    return {
        "status": state["status"],
        "next_attempt_at": state["next_attempt_at"],
        "created_at": state["created_at"],
        "channel": state["channel"],
        "decision_id": state["decision_id"],
        "lease_until": state["created_at"],
    }


class DeliveryStore(ABC):
    """Outbound messages, one document per (cause, person, channel); the worker sends them."""

    def __init__(self, aggregates: AggregateStore) -> None:
        self.aggregates = aggregates

    async def create_once(
        self, delivery_id: str, cause_id: str, state: dict[str, Any], outbox: Sequence[Envelope] = ()
    ) -> bool:
        """Store a new delivery (with its envelopes), once per cause: whether this call stored it."""

        def make() -> Change:
            return Change(state=state, outbox=outbox, extra=delivery_index(state))

        return await create_once(self.aggregates, delivery_id, make, message_id=cause_id) is None

    async def change(self, delivery_id: str, decide: Decide) -> Outcome:
        """Record an attempt, a requeue…: ``decide`` on the stored delivery, saved atomically."""
        return await apply(self.aggregates, delivery_id, None, decide)

    @abstractmethod
    async def due(self, now: datetime, limit: int) -> list[Doc]:
        """Pending or failed-retryable deliveries whose time has come, oldest first."""

    @abstractmethod
    async def claim(self, delivery_id: str, now: datetime, until: datetime) -> bool:
        """Lease a due delivery until ``until`` unless another pass holds it: whether we got it."""

    @abstractmethod
    async def latest(self, status: str | None, decision_id: str | None, limit: int) -> list[Doc]:
        """The operator's list: newest first, optionally of one status and/or decision."""

    @abstractmethod
    async def count_status(self, status: str, *, max_time_ms: int) -> int:
        """How many deliveries are in ``status`` (bounded in time, for ``/metrics``)."""

    async def ensure_indexes(self) -> None:
        return None


class PagesStore(ABC):
    """What the pages write: opinions (``submissions``), citizens' comments, moderations. Each is
    created once with its request to the workflow in the same write."""

    def __init__(
        self, submissions: AggregateStore, public_comments: AggregateStore, moderations: AggregateStore
    ) -> None:
        self.submissions = submissions
        self.public_comments = public_comments
        self.moderations = moderations

    @staticmethod
    async def create(
        store: AggregateStore, doc_id: str, state: dict[str, Any], request: Envelope, decision_id: str
    ) -> Stored | None:
        """Store ``state`` with ``request`` in its outbox: ``None`` if stored now, else what was there."""

        def make() -> Change:
            return Change(state=state, outbox=[request], extra={"decision_id": decision_id})

        return await create_once(store, doc_id, make)

    async def submission(self, token_id: str) -> Stored | None:
        return await self.submissions.load(token_id)

    @abstractmethod
    async def moderations_of(self, decision_id: str) -> list[Mapping[str, Any]]:
        """The moderations sent from the page for the decision's comments (their states)."""

    async def ensure_indexes(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class NotifyStores:
    """Every store of notify, as one thing to wire."""

    drafts: DraftStore
    links: LinkStore
    deliveries: DeliveryStore
    pages: PagesStore

    async def ensure_indexes(self) -> None:
        for s in (self.links, self.deliveries, self.pages):
            await s.ensure_indexes()
