"""An in-memory :class:`shared.store.AggregateStore`: the same load/save semantics, no server.

Same as the document store: a save names the version it read (0 creates) and raises
:class:`shared.reliability.errors.ConcurrencyConflict` when the document changed (or exists) since;
the state, the outgoing envelopes (appended to the outbox) and the processed mark (the inbox,
bounded to ``inbox_size``) change in one step; ``extra`` fields sit beside the state. Documents are
kept in the stored shape (``_id``, ``version``, ``state``, ``inbox``, ``outbox``, ``outbox_pending``…),
copied in and out, so a test can neither change a stored document by accident nor miss a write.

Why a subclass of :class:`~shared.store.AggregateStore` (rather than a Protocol both implement):
:func:`shared.reliability.unit_of_work.apply` takes an ``AggregateStore``, and the fake must go
through the very same ``apply``. It overrides all three operations and never touches ``collection``
(there is none: reading it fails, so a query that bypasses the store's methods shows at once).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.contract.envelope import Envelope
from shared.reliability.errors import ConcurrencyConflict
from shared.store import AggregateStore, Doc, Stored


class InMemoryStateStore(AggregateStore):
    def __init__(self, name: str = "memory", *, inbox_size: int = 1000) -> None:  # no collection
        self.name = name
        self.inbox_size = inbox_size
        self.docs: dict[str, Doc] = {}
        self.saves = 0
        """How many saves succeeded (a redelivery that writes nothing leaves it unchanged)."""

    async def ensure_indexes(self) -> None:
        return None

    async def load(self, aggregate_id: str) -> Stored | None:
        doc = self.docs.get(aggregate_id)
        if doc is None:
            return None
        return Stored(
            id=aggregate_id,
            version=int(doc["version"]),
            state=copy.deepcopy(doc.get("state", {})),
            inbox=list(doc.get("inbox", [])),
        )

    async def save(
        self,
        aggregate_id: str,
        *,
        expected_version: int,
        state: Mapping[str, Any],
        outbox: Sequence[Envelope] = (),
        processed: str | None = None,
        inbox: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        current = self.docs.get(aggregate_id)
        found = 0 if current is None else int(current["version"])
        if found != expected_version:
            what = "already exists" if expected_version == 0 else f"changed since version {expected_version}"
            raise ConcurrencyConflict(f"{self.name}/{aggregate_id} {what}")
        new_inbox = [*inbox, *([processed] if processed is not None else [])][-self.inbox_size :]
        envelopes = [e.model_dump(mode="json") for e in outbox]
        doc: Doc = (
            copy.deepcopy(current)
            if current
            else {"_id": aggregate_id, "outbox": [], "outbox_pending": False}
        )
        doc.update(
            version=expected_version + 1,
            state=copy.deepcopy(dict(state)),
            inbox=new_inbox,
            updated_at=datetime.now(UTC),
            **copy.deepcopy(dict(extra or {})),
        )
        if envelopes:
            doc["outbox"] = [*doc["outbox"], *envelopes]
            doc["outbox_pending"] = True
        self.docs[aggregate_id] = doc
        self.saves += 1
        return expected_version + 1

    # -- for tests ---------------------------------------------------------------------------
    def states(self) -> dict[str, dict[str, Any]]:
        return {k: copy.deepcopy(d["state"]) for k, d in self.docs.items()}

    def outbox(self) -> list[Envelope]:
        """Every envelope saved so far, document by document (nothing is relayed here)."""
        return [Envelope.model_validate(e) for d in self.docs.values() for e in d["outbox"]]
