"""The whole org registry: hierarchy + people + consultation policy.

Why a thin facade: ending a unit (merge, split, dissolution) must also end the
positions held in it, and the seed loader, the projection and the service all need
the same combined operation. Putting it here keeps :class:`Hierarchy` free of people
and keeps the rule in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.orgmodel.access import AccessGrants
from shared.orgmodel.hierarchy import Hierarchy
from shared.orgmodel.people import PeopleRegistry
from shared.orgmodel.policy import (
    ConsultationRequirement,
    DocumentFlags,
    DocumentType,
    PolicySet,
    required_consultation,
)
from shared.orgmodel.systems import SystemRegistry
from shared.orgmodel.units import NewUnit


def _people_factory() -> PeopleRegistry:
    return PeopleRegistry(Hierarchy())


@dataclass
class OrgRegistry:
    """Aggregate facade. Build with :meth:`empty`; ``people.hierarchy`` is ``hierarchy``."""

    hierarchy: Hierarchy = field(default_factory=Hierarchy)
    people: PeopleRegistry = field(default_factory=_people_factory)
    policies: PolicySet = field(default_factory=PolicySet)
    systems: SystemRegistry = field(default_factory=SystemRegistry)
    access: AccessGrants = field(default_factory=AccessGrants)

    def __post_init__(self) -> None:
        self.people.hierarchy = self.hierarchy

    @classmethod
    def empty(cls) -> OrgRegistry:
        return cls()

    def merge_units(self, source_ids: Sequence[str], successor: str | NewUnit, on: date) -> str:
        """Merge units (see :meth:`Hierarchy.merge_units`) and end positions held in the sources."""
        successor_id = self.hierarchy.merge_units(source_ids, successor, on)
        for sid in source_ids:
            self.people.end_unit_assignments(sid, on)
        return successor_id

    def split_unit(
        self,
        source_id: str,
        successors: Sequence[NewUnit],
        on: date,
        children_to: Mapping[str, str] | None = None,
    ) -> tuple[str, ...]:
        new_ids = self.hierarchy.split_unit(source_id, successors, on, children_to)
        self.people.end_unit_assignments(source_id, on)
        return new_ids

    def dissolve_unit(self, unit_id: str, on: date) -> None:
        self.hierarchy.dissolve_unit(unit_id, on)
        self.people.end_unit_assignments(unit_id, on)

    def required_consultation(
        self, issuer_id: str, doc_type: DocumentType, flags: DocumentFlags, on: date
    ) -> ConsultationRequirement:
        return required_consultation(issuer_id, doc_type, flags, on, self.hierarchy, self.policies)
