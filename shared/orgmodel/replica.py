"""A local copy of the org registry, kept in memory by any service from ``org.events``.

Why: each service owns its database and talks to others only through events.
The workflow (tasks) must answer "who must be consulted" at request time and
notify must know whom to write to — without calling the org service. Each
*process* reads the whole of ``org.events`` from its beginning
(:class:`shared.reliability.topic_copy.TopicCopy`, no consumer group, so every
instance of a service sees every change) and projects it with the same pure
domain code the org service uses, so both sides agree by construction. The topic
is the durable copy (it is kept for ever); a redelivered envelope is recognised
by its id.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from shared.access.guard import today_vn
from shared.contract.envelope import Envelope, Event, event_class
from shared.contract.events.org import OrgEvent
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.projection import Projection
from shared.orgmodel.registry import OrgRegistry
from shared.reliability.errors import PermanentError

log = logging.getLogger("org.replica")


class OrgReplica:
    def __init__(self) -> None:
        self.projection = Projection()
        self.count = 0
        self.last_event_at: datetime | None = None
        self._seen: set[str] = set()
        self._digest = 0

    @property
    def digest(self) -> str:
        """What this copy holds, in 64 hex digits: the XOR of the sha256 of every applied envelope id
        (order-free), so two copies that applied the same events report the same digest."""
        return f"{self._digest:064x}"

    @property
    def registry(self) -> OrgRegistry:
        return self.projection.registry

    def has_applied(self, envelope_id: str) -> bool:
        return envelope_id in self._seen

    async def on_event(self, env: Envelope, event: Event) -> None:
        """Handler for ``org.events``: apply once per envelope id (a refusal dead-letters it)."""
        if not isinstance(event, OrgEvent) or env.id in self._seen:
            return
        self._apply(event)
        self._seen.add(env.id)
        self._digest ^= int.from_bytes(hashlib.sha256(env.id.encode()).digest(), "big")

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
