"""Projection: events rebuild exactly the registry loaded from the seeds."""

from __future__ import annotations

from datetime import date

from shared.contract import topics
from shared.contract.envelope import Envelope, registered_events
from shared.contract.events.org import ORG_EVENT_TYPES, OrgEvent
from shared.orgmodel.policy import ConsultationPolicy, DocumentFlags, DocumentType
from shared.orgmodel.projection import Projection, policy_events, replay, seed_events
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_format import parse_seed
from shared.orgmodel.seed_loading import build_registry
from shared.orgmodel.seed_specs import Seed


def _roundtrip(events: list[OrgEvent]) -> list[OrgEvent]:
    out: list[OrgEvent] = []
    for e in events:
        env = Envelope.from_bytes(Envelope.wrap(e, source="org").to_bytes())
        decoded = env.event()
        assert isinstance(decoded, OrgEvent) and env.topic == topics.ORG_EVENTS and env.subject == "vn"
        out.append(decoded)
    return out


def test_projection_from_seed_events_equals_direct_load(
    kg_seed: Seed, to_seed: Seed, policies: list[ConsultationPolicy], registry: OrgRegistry
) -> None:
    events = seed_events(kg_seed) + seed_events(to_seed) + policy_events(policies)
    rebuilt = replay(_roundtrip(events))
    assert rebuilt == registry
    flags = DocumentFlags(touches_peoples_rights=True)
    on = date(2024, 5, 2)
    assert rebuilt.required_consultation("kg.ubnd", DocumentType.QUYET_DINH, flags, on) == (
        registry.required_consultation("kg.ubnd", DocumentType.QUYET_DINH, flags, on)
    )


def test_history_events_replay_equal() -> None:
    text = """format: danvan-org/1
levels: [{code: province, rank: 1, name_vi: Cấp tỉnh}, {code: commune, rank: 2, name_vi: Cấp xã}]
localities:
  - id: p
    name: Tỉnh P
    level: province
    valid_from: 2020-01-01
    units:
      - {id: tu, name: Tỉnh ủy, kind: party_committee}
      - {id: a, name: A, kind: department, parent: tu}
      - {id: b, name: B, kind: department, parent: tu}
      - {id: a1, name: A1, kind: department, parent: a}
    localities:
      - {id: c1, name: Xã 1, level: commune}
      - {id: c2, name: Xã 2, level: commune}
people:
  - id: x
    full_name: Cán bộ X
    positions: [{id: x1, unit: a, role: giam_doc, valid_from: 2020-01-01}]
history:
  - {op: rename_unit, unit: a, name: A mới, on: 2021-01-01}
  - {op: reparent_unit, unit: b, on: 2021-02-01}
  - {op: relocate_unit, unit: b, locality: c1, on: 2021-03-01}
  - {op: end_assignment, assignment: x1, on: 2021-04-01}
  - {op: split_unit, source: a, on: 2021-05-01, into: [{id: a2, name: A2, kind: department}, {id: a3, name: A3, kind: department}], children_to: {a1: a3}}
  - {op: merge_units, sources: [a2, a3], into: b, on: 2021-06-01}
  - {op: rename_locality, locality: c1, name: Xã Một, on: 2021-07-01}
  - {op: merge_localities, sources: [c1, c2], into: c12, on: 2022-01-01, new: {name: Xã 12, level: commune}, relocate_units: true}
  - {op: dissolve_unit, unit: a1, on: 2022-02-01}
"""
    seed = parse_seed(text)
    direct = build_registry([seed])
    assert replay(_roundtrip(seed_events(seed))) == direct
    assert direct.hierarchy.unit_at("b", date(2022, 1, 1)).locality_id == "c12"


def test_apply_is_idempotent_for_redelivery(kg_seed: Seed) -> None:
    events = seed_events(kg_seed)
    projection = Projection()
    for e in events:
        assert projection.apply(e)
    assert not projection.apply(events[0])
    assert projection.registry == build_registry([kg_seed])


def test_every_org_event_registered_on_org_topic() -> None:
    registry = registered_events()
    for cls in ORG_EVENT_TYPES:
        assert registry[(cls.event_type, cls.event_version)] is cls
        assert cls.topic == topics.ORG_EVENTS and cls.event_type.startswith("org.")
        assert cls.model_config.get("frozen") is True
