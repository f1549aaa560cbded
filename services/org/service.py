"""Application layer of the org registry: the registry is one event-sourced aggregate.

Why one aggregate: hierarchy operations (re-parenting, merges) must be checked
against the whole registry (cycles, overlaps), and org events must keep their
order (one Kafka key). A change is a list of proposed org events; it is
validated by applying it to the current registry (the same pure projection the
replicas use), then appended with its outbox in one atomic write by the shared
repository (:mod:`shared.eventsourcing.repository`): the history is never rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from pathlib import Path

from shared.contract.envelope import Envelope
from shared.contract.events.org import OrgEvent
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.repository import Append, EventSourcedRepository
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.projection import Projection, policy_events, seed_events
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_format import parse_policy, parse_seed, parse_units_csv
from shared.orgmodel.systems_file import system_events
from shared.reliability.emit import Emitter
from shared.reliability.errors import ConcurrencyConflict
from shared.store import AggregateStore

SEEDS = Path(__file__).parent / "seeds"
REGISTRY_ID = "vn"


class OrgChangeRefused(Exception):
    def __init__(self, error: OrgDomainError, index: int) -> None:
        super().__init__(error.message_vi)
        self.error = error
        self.index = index


class Registry(Aggregate[OrgEvent]):
    """The org registry as one event-sourced aggregate: its facts are the org events themselves.

    Snapshots are off (``snapshots = False``): the projection is a graph of dataclasses with no
    JSON form yet, so a cold load replays every archived chunk (once per process start, as before);
    every change after that costs O(1) in history (the cached registry, one appended write).
    """

    kind_vi = "sổ đăng ký tổ chức"
    snapshots = False

    def __init__(self) -> None:
        super().__init__()
        self.status = "open"
        self.projection = Projection()

    def change(self, events: Sequence[OrgEvent]) -> list[OrgEvent]:
        """Apply ``events`` in order; the first that contradicts the registry refuses them all."""
        for i, ev in enumerate(events):
            try:
                self._apply(ev)
            except OrgDomainError as exc:
                raise OrgChangeRefused(exc, i) from exc
        return list(events)

    def _when(self, event: OrgEvent) -> None:
        self.projection.apply(event)


class OrgService:
    def __init__(
        self, registries: EventSourcedRepository[Registry], labels: AggregateStore, emitter: Emitter
    ) -> None:
        self.registries = registries
        self.labels = labels
        """Which bundled seeds were loaded (by name: an edited seed file is not loaded again)."""
        self.emitter = emitter
        self.projection = Projection()
        self.version = 0

    @property
    def registry(self) -> OrgRegistry:
        return self.projection.registry

    async def load(self) -> None:
        current = await self.registries.current(REGISTRY_ID)
        self.projection = current.aggregate.projection if current else Projection()
        self.version = current.version if current else 0

    async def change(self, request_id: str, events: Sequence[OrgEvent], *, label: str | None = None) -> int:
        """Validate and append ``events``; returns how many were appended (0 = already done)."""
        if label is not None and await self.labels.load(label) is not None:
            return 0

        def decide(registry: Registry, exists: bool) -> Append | None:
            facts = registry.change(events)
            return Append(facts=facts, outbox=[self.emitter.wrap(ev) for ev in facts], result=len(facts))

        try:
            outcome = await self.registries.execute(REGISTRY_ID, request_id, decide)
        finally:
            await self.load()  # a refused change may have touched the cached copy: read it again
        if label is not None and (outcome.applied or outcome.duplicate):
            with contextlib.suppress(ConcurrencyConflict):  # loaded by another instance meanwhile
                await self.labels.save(label, expected_version=0, state={"request_id": request_id})
        return int(outcome.result or 0)

    async def load_seed(self, name: str) -> int:
        """Load a bundled seed (``kien_giang``, ``thanh_oai``) or the policy (``policy_v1``) once."""
        path = SEEDS / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if name.startswith("policy"):
            events = policy_events(parse_policy(text, str(path.name)), REGISTRY_ID)
        else:
            events = seed_events(parse_seed(text, str(path.name)))
        return await self.change(f"seed:{name}:{digest}", events, label=f"seed:{name}")

    def yaml_events(self, text: str, source: str) -> list[OrgEvent]:
        return seed_events(parse_seed(text, source))

    def csv_events(self, text: str, source: str) -> list[OrgEvent]:
        return seed_events(parse_units_csv(text, source, self.registry.hierarchy))

    def policy_yaml_events(self, text: str, source: str) -> list[OrgEvent]:
        return policy_events(parse_policy(text, source), REGISTRY_ID)

    async def import_yaml(self, request_id: str, text: str, source: str) -> int:
        return await self.change(request_id, seed_events(parse_seed(text, source)))

    async def import_units_csv(self, request_id: str, text: str, source: str) -> int:
        return await self.change(
            request_id, seed_events(parse_units_csv(text, source, self.registry.hierarchy))
        )

    async def publish_policy_yaml(self, request_id: str, text: str, source: str) -> int:
        return await self.change(request_id, policy_events(parse_policy(text, source), REGISTRY_ID))

    async def load_systems(self, text: str, source: str) -> int:
        """Register the systems and keys of a bootstrap file (idempotent)."""
        events = system_events(text, self.registry, source, REGISTRY_ID)
        if not events:
            return 0
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return await self.change(f"systems:{digest}", events)

    def envelope_for(self, event: OrgEvent) -> Envelope:
        return self.emitter.wrap(event)
