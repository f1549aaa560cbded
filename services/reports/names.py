"""Human names for ids, from the local copy of the org registry.

Why tolerant: the console must render even before the org replica has caught up (or for
a unit that has since been merged away); an unknown id is shown as itself, never an error.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from services.reports.domain.periods import vn_date
from shared.orgmodel.replica import OrgReplica


class OrgNames:
    def __init__(self, replica: OrgReplica) -> None:
        self.replica = replica

    def unit(self, unit_id: str, at: datetime | None = None) -> str:
        h = self.replica.registry.hierarchy
        if not h.has_unit(unit_id):
            return unit_id
        unit = h.unit(unit_id)
        name = unit.name_at(vn_date(at or datetime.now(UTC)))
        if name is None:
            last = unit.names.last()
            name = last.value if last else None
        return name or unit_id

    def person(self, person_id: str) -> str:
        with contextlib.suppress(Exception):
            return self.replica.registry.people.person(person_id).full_name
        return person_id
