"""Application layer of the org registry: the registry is one event-sourced aggregate.

Why one aggregate: hierarchy operations (re-parenting, merges) must be checked
against the whole registry (cycles, overlaps), and org events must keep their
order (one Kafka key). A change is a list of proposed org events; it is
validated by applying it to the current registry (the same pure projection the
replicas use), then appended with its outbox in one atomic write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.contract.envelope import Envelope, event_class
from shared.contract.events.org import OrgEvent
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.projection import Projection, policy_events, seed_events
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_format import parse_policy, parse_seed, parse_units_csv
from shared.orgmodel.systems_file import system_events
from shared.reliability.emit import Emitter
from shared.reliability.unit_of_work import Change, apply
from shared.store import AggregateStore, Stored

SEEDS = Path(__file__).parent / "seeds"
REGISTRY_ID = "vn"


class OrgChangeRefused(Exception):
    def __init__(self, error: OrgDomainError, index: int) -> None:
        super().__init__(error.message_vi)
        self.error = error
        self.index = index


def _events_from_state(state: dict[str, Any]) -> list[OrgEvent]:
    out: list[OrgEvent] = []
    for raw in state.get("events", []):
        ev = event_class(raw["type"], raw["version"]).model_validate(raw["payload"])
        assert isinstance(ev, OrgEvent)
        out.append(ev)
    return out


def _dump(events: Sequence[OrgEvent]) -> list[dict[str, Any]]:
    return [
        {"type": e.event_type, "version": e.event_version, "payload": e.model_dump(mode="json")}
        for e in events
    ]


class OrgService:
    def __init__(self, store: AggregateStore, emitter: Emitter, on_saved: Any = None) -> None:
        self.store = store
        self.emitter = emitter
        self.on_saved = on_saved
        self.projection = Projection()
        self.version = 0

    @property
    def registry(self) -> OrgRegistry:
        return self.projection.registry

    async def load(self) -> None:
        stored = await self.store.load(REGISTRY_ID)
        self._rebuild(stored)

    def _rebuild(self, stored: Stored | None) -> None:
        projection = Projection()
        for ev in _events_from_state(stored.state if stored else {}):
            projection.apply(ev)
        self.projection = projection
        self.version = stored.version if stored else 0

    async def change(self, request_id: str, events: Sequence[OrgEvent], *, label: str | None = None) -> int:
        """Validate and append ``events``; returns how many were appended (0 = already done)."""

        def decide(current: Stored | None) -> Change | None:
            state = current.state if current else {"events": [], "applied": []}
            if label is not None and label in state.get("applied", []):
                return None
            history = _events_from_state(state)
            trial = Projection()
            for ev in history:
                trial.apply(ev)
            for i, ev in enumerate(events):
                try:
                    trial.apply(ev)
                except OrgDomainError as exc:
                    raise OrgChangeRefused(exc, i) from exc
            new_state = {
                "events": state.get("events", []) + _dump(events),
                "applied": [*state.get("applied", []), *([label] if label else [])],
            }
            return Change(
                state=new_state, outbox=[self.emitter.wrap(ev) for ev in events], result=len(events)
            )

        outcome = await apply(self.store, REGISTRY_ID, request_id, decide, on_saved=self.on_saved)
        if outcome.applied or self.version != outcome.version:
            self._rebuild(await self.store.load(REGISTRY_ID))
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
