"""Loading parsed seeds into a registry directly (tests, tools); the service goes through events.

``build_registry([seed])`` equals ``replay(seed_events(seed))`` (:mod:`shared.orgmodel.projection`;
a test checks it): the same domain operations in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.orgmodel.hierarchy import NewLocality
from shared.orgmodel.policy import ConsultationPolicy
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_specs import HistoryOp, Seed, run_at
from shared.orgmodel.units import NewUnit


def load_into(registry: OrgRegistry, seed: Seed) -> None:
    """Apply a parsed seed to ``registry`` directly (levels, địa bàn, units, people, history).

    References to ids already in ``registry`` are allowed (bulk import into an existing
    registry). A domain refusal is re-raised as :class:`SeedFormatError` carrying the
    spec's path and line and the domain error's code.
    """
    h, p = registry.hierarchy, registry.people
    for lv in seed.levels:
        run_at(lv.where, h.define_level, lv.level)
    for loc in seed.ordered_localities():
        run_at(
            loc.where,
            h.register_locality,
            NewLocality(loc.id, loc.name, loc.level_code, loc.parent_id),
            loc.valid_from,
        )
    for u in seed.ordered_units():
        spec = NewUnit(u.id, u.name, u.kind, u.locality_id, u.parent_id, u.function)
        run_at(u.where, h.register_unit, spec, u.valid_from)
    for ps in seed.persons:
        run_at(ps.where, p.register_person, ps.id, ps.full_name, ps.contacts)
    for a in seed.assignments:
        run_at(a.where, p.assign, a.id, a.person_id, a.unit_id, a.role, a.valid_from, a.valid_to, a.duties)
    for d in seed.delegations:
        run_at(
            d.where,
            p.grant_delegation,
            d.id,
            d.unit_id,
            d.role,
            d.delegate_id,
            d.valid_from,
            d.valid_to,
            d.reason,
        )
    for op in seed.history:
        run_at(op.where, apply_history, registry, op)


def apply_history(registry: OrgRegistry, op: HistoryOp) -> None:
    """Apply one ``history`` entry to the registry."""
    h, a, on = registry.hierarchy, op.args, op.on
    match op.op:
        case "rename_unit":
            h.rename_unit(a["unit"], a["name"], on)
        case "reparent_unit":
            h.reparent_unit(a["unit"], a["parent"], on)
        case "relocate_unit":
            h.relocate_unit(a["unit"], a["locality"], on)
        case "merge_units":
            registry.merge_units(a["sources"], a.get("new") or a["into"], on)
        case "split_unit":
            registry.split_unit(a["source"], a["into"], on, a["children_to"])
        case "dissolve_unit":
            registry.dissolve_unit(a["unit"], on)
        case "rename_locality":
            h.rename_locality(a["locality"], a["name"], on)
        case "reparent_locality":
            h.reparent_locality(a["locality"], a["parent"], on)
        case "merge_localities":
            h.merge_localities(
                a["sources"], a.get("new") or a["into"], on, relocate_units=a["relocate_units"]
            )
        case "dissolve_locality":
            h.dissolve_locality(a["locality"], on)
        case "end_assignment":
            registry.people.end_assignment(a["assignment"], on)
        case _:  # pragma: no cover - parse_seed only produces known ops
            raise AssertionError(op.op)


def build_registry(seeds: Sequence[Seed] = (), policies: Sequence[ConsultationPolicy] = ()) -> OrgRegistry:
    """A new registry loaded from seeds (in order) and policy versions."""
    registry = OrgRegistry.empty()
    for seed in seeds:
        load_into(registry, seed)
    for policy in policies:
        registry.policies.publish(policy)
    return registry
