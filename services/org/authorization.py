"""Which registry administrators may propose a change (pure).

A registry administrator at unit U may change U and the units below it: the units a change touches
are every unit the proposed events name (``unit_id``, ``parent_id``, merge/split sources and
successors), and for an event about a person the units where that person holds a position today
(or is assigned in the same change). Changes that name no unit — levels, localities, a new person
with no position, the consultation policy, agency systems and keys, platform-wide grants — are the
registry's as a whole and need a platform-wide registry administrator (``unit_id: "*"``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.access.roles import ALL_UNITS
from shared.contract.events.org import (
    AccessGranted,
    DelegationGranted,
    OrgEvent,
    PersonAssigned,
    PersonRegistered,
    PersonUnassigned,
    PersonUpdated,
    UnitChanged,
    UnitDissolved,
    UnitRegistered,
    UnitsMerged,
    UnitSplit,
)
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.registry import OrgRegistry


@dataclass
class Scope:
    units: set[str] = field(default_factory=set)
    registry_wide: list[str] = field(default_factory=list)  # event types that need a platform-wide admin


def _units_of_spec(spec: Any) -> Iterable[str]:
    for name in ("unit_id", "parent_id"):
        value = getattr(spec, name, None)
        if value:
            yield str(value)


def scope_of(events: Sequence[OrgEvent], registry: OrgRegistry, on: date) -> Scope:
    scope = Scope()
    assigned_in_change: dict[str, set[str]] = {}
    for ev in events:
        if isinstance(ev, PersonAssigned):
            assigned_in_change.setdefault(ev.person_id, set()).add(ev.unit_id)
    for ev in events:
        match ev:
            case UnitRegistered() | UnitChanged() | UnitDissolved() | PersonAssigned() | DelegationGranted():
                scope.units.update(_units_of_spec(ev))
            case UnitsMerged():
                scope.units.update(ev.source_ids)
                scope.units.add(ev.successor_id)
                if ev.successor is not None:
                    scope.units.update(_units_of_spec(ev.successor))
            case UnitSplit():
                scope.units.add(ev.source_id)
                for s in ev.successors:
                    scope.units.update(_units_of_spec(s))
            case PersonRegistered() | PersonUpdated() | PersonUnassigned():
                units = set(assigned_in_change.get(ev.person_id or "", set()))
                if ev.person_id:
                    with contextlib.suppress(OrgDomainError):
                        units.update(a.unit_id for a in registry.people.positions_of(ev.person_id, on))
                if isinstance(ev, PersonUnassigned) and ev.unit_id:
                    units.add(ev.unit_id)
                if units:
                    scope.units.update(units)
                else:
                    scope.registry_wide.append(ev.event_type)
            case AccessGranted() if ev.unit_id != ALL_UNITS:
                scope.units.add(ev.unit_id)
            case _:
                scope.registry_wide.append(ev.event_type)
    return scope
