"""A local copy of the org registry, kept by any service from ``org.events``.

Why: each service owns its database and talks to others only through events.
The workflow (tasks) must answer "who must be consulted" at request time and
notify must know whom to write to — without calling the org service. They
store every org event they receive in *their own* database (deduplicated by
envelope id) and project it with the same pure domain code the org service
uses, so both sides agree by construction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.org.domain.errors import OrgDomainError
from services.org.domain.projection import Projection
from services.org.domain.registry import OrgRegistry
from shared.access.guard import today_vn
from shared.contract.envelope import Envelope, Event, event_class
from shared.contract.events.org import OrgEvent
from shared.reliability.errors import PermanentError
from shared.store import Doc

log = logging.getLogger("org.replica")


class OrgReplica:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self.collection = collection
        self.projection = Projection()
        self.count = 0
        self.last_event_at: datetime | None = None

    @property
    def registry(self) -> OrgRegistry:
        return self.projection.registry

    async def load(self) -> int:
        """Rebuild the in-memory registry from the stored events (at start-up)."""
        await self.collection.create_index([("n", ASCENDING)])
        async for doc in self.collection.find({}).sort("n", ASCENDING):
            env = Envelope.model_validate(doc["envelope"])
            self._apply(env.event())
        log.info("org replica loaded", extra={"events": self.count})
        return self.count

    async def on_event(self, env: Envelope, event: Event) -> None:
        """Consumer handler for ``org.events``: store then apply, once per envelope id."""
        if not isinstance(event, OrgEvent):
            return
        if await self.collection.find_one({"_id": env.id}, {"_id": 1}) is not None:
            return  # redelivered: already stored and applied
        self._apply(event)  # refuses (dead-letter) before anything is stored
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.insert_one(
                {"_id": env.id, "n": self.count, "type": env.type, "envelope": env.model_dump(mode="json")}
            )

    def _apply(self, event: Event) -> None:
        assert isinstance(event, OrgEvent)
        try:
            self.projection.apply(event)
        except OrgDomainError as exc:
            raise PermanentError(
                f"org event cannot be applied to the local copy: {exc.code}: {exc.message_vi}"
            ) from exc
        self.count += 1
        self.last_event_at = datetime.now(UTC)


def org_event_types() -> list[type[Event]]:
    from shared.contract.events.org import ORG_EVENT_TYPES

    return [event_class(c.event_type, c.event_version) for c in ORG_EVENT_TYPES]


def unit_ancestors(registry: Callable[[], OrgRegistry]) -> Callable[[str], tuple[str, ...]]:
    """``ancestors(unit_id)`` for :class:`shared.access.guard.Access`: the unit's parents today, from
    the registry ``registry()`` returns (a replica's, or org's own); unknown unit → none."""

    def ancestors(unit_id: str) -> tuple[str, ...]:
        with contextlib.suppress(OrgDomainError):
            return tuple(u.id for u in registry().hierarchy.ancestors_of(unit_id, today_vn()))
        return ()

    return ancestors
