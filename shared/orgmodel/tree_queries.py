"""Queries on the hierarchy "as of a date": a unit or địa bàn as it was, its parents and children,
the same-level counterparts of a kind, the successors that carry an old unit's role today.

Why every query takes a date: consultation duties are decided "as of" a day, and the answer for a
past day must stay the same after merges and re-parenting (:mod:`shared.orgmodel.units`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from shared.orgmodel.errors import (
    AmbiguousCounterpart,
    CounterpartNotFound,
    NotActive,
    UnknownReference,
    day_vi,
)
from shared.orgmodel.tree import Tree
from shared.orgmodel.units import LocalityAt, Unit, UnitAt, UnitKind, sort_units


class TreeQueries(Tree):
    """The read side of :class:`~shared.orgmodel.hierarchy.Hierarchy` (no query changes the state)."""

    def has_unit(self, unit_id: str) -> bool:
        return unit_id in self.units

    def has_locality(self, locality_id: str) -> bool:
        return locality_id in self.localities

    def unit(self, unit_id: str) -> Unit:
        """The entity with its whole history (read-only use, please)."""
        return self._unit_ref(unit_id)

    def find_unit(self, unit_id: str, on: date) -> UnitAt | None:
        unit = self.units.get(unit_id)
        if unit is None or not unit.exists_at(on):
            return None
        return self._view(unit, on)

    def unit_at(self, unit_id: str, on: date) -> UnitAt:
        unit = self._unit_ref(unit_id)
        if not unit.exists_at(on):
            raise NotActive(
                f"Đơn vị “{unit_id}” không tồn tại vào ngày {day_vi(on)} (hiệu lực {unit.existence.describe()}).",
                id=unit_id,
            )
        return self._view(unit, on)

    def parent_of(self, unit_id: str, on: date) -> UnitAt | None:
        view = self.unit_at(unit_id, on)
        return self.unit_at(view.parent_id, on) if view.parent_id is not None else None

    def ancestors_of(self, unit_id: str, on: date) -> tuple[UnitAt, ...]:
        out: list[UnitAt] = []
        current = self.parent_of(unit_id, on)
        while current is not None:
            out.append(current)
            current = self.parent_of(current.id, on)
        return tuple(out)

    def children_of(self, unit_id: str, on: date, kind: UnitKind | None = None) -> tuple[UnitAt, ...]:
        self.unit_at(unit_id, on)
        found = [
            self._view(u, on)
            for u in self.units.values()
            if u.exists_at(on) and u.parent_at(on) == unit_id and (kind is None or u.kind == kind)
        ]
        return sort_units(found)

    def locality_at(self, locality_id: str, on: date) -> LocalityAt:
        loc = self._locality_ref(locality_id, child=None)
        if not loc.exists_at(on):
            raise NotActive(f"Địa bàn “{locality_id}” không tồn tại vào ngày {day_vi(on)}.", id=locality_id)
        return LocalityAt(
            id=loc.id,
            name=loc.name_at(on) or loc.id,
            level=self.level(loc.level_code),
            parent_id=loc.parent_at(on),
            valid_from=loc.existence.start,
            valid_to=loc.existence.end,
            on=on,
        )

    def locality_of(self, unit_id: str, on: date) -> LocalityAt:
        return self.locality_at(self.unit_at(unit_id, on).locality_id, on)

    def locality_ancestors(self, locality_id: str, on: date) -> tuple[LocalityAt, ...]:
        out: list[LocalityAt] = []
        current = self.locality_at(locality_id, on).parent_id
        while current is not None:
            view = self.locality_at(current, on)
            out.append(view)
            current = view.parent_id
        return tuple(out)

    def child_localities(self, locality_id: str, on: date) -> tuple[LocalityAt, ...]:
        self.locality_at(locality_id, on)
        kids = [
            self.locality_at(loc.id, on)
            for loc in self.localities.values()
            if loc.exists_at(on) and loc.parent_at(on) == locality_id
        ]
        return tuple(sorted(kids, key=lambda x: x.id))

    def is_within(self, locality_id: str, ancestor_id: str, on: date) -> bool:
        """True if ``locality_id`` is ``ancestor_id`` or lies under it on ``on``."""
        if locality_id == ancestor_id:
            return True
        return any(a.id == ancestor_id for a in self.locality_ancestors(locality_id, on))

    def units_at(
        self, locality_id: str, on: date, kind: UnitKind | None = None, function: str | None = None
    ) -> tuple[UnitAt, ...]:
        """Units located at the địa bàn on ``on`` (optionally of a kind / function)."""
        self.locality_at(locality_id, on)
        found = [
            self._view(u, on)
            for u in self.units.values()
            if u.exists_at(on)
            and u.locality_at(on) == locality_id
            and (kind is None or u.kind == kind)
            and (function is None or u.function == function)
        ]
        return sort_units(found)

    def counterparts(
        self,
        subject_id: str,
        kinds: UnitKind | Sequence[UnitKind],
        on: date,
        function: str | None = None,
    ) -> tuple[UnitAt, ...]:
        """Same-level units of a kind: those at the địa bàn of ``subject_id`` (a unit or địa bàn).

        With several ``kinds``, the first kind that has any unit there wins — that is
        how "the Ban Dân vận, or at commune level the Khối dân vận" is expressed
        without hard-coding levels.
        """
        locality_id = self._subject_locality(subject_id, on)
        wanted = (kinds,) if isinstance(kinds, UnitKind) else tuple(kinds)
        for kind in wanted:
            found = self.units_at(locality_id, on, kind=kind, function=function)
            if found:
                return found
        return ()

    def counterpart(
        self,
        subject_id: str,
        kinds: UnitKind | Sequence[UnitKind],
        on: date,
        function: str | None = None,
    ) -> UnitAt:
        """Exactly one same-level unit of a kind ("who was the Ban Dân vận of X on D")."""
        found = self.counterparts(subject_id, kinds, on, function)
        label = kinds.value if isinstance(kinds, UnitKind) else "/".join(k.value for k in kinds)
        if not found:
            raise CounterpartNotFound(
                f"Không có đơn vị loại “{label}” tại địa bàn của “{subject_id}” vào ngày {day_vi(on)}.",
                subject=subject_id,
                kind=label,
            )
        if len(found) > 1:
            raise AmbiguousCounterpart(
                f"Có nhiều đơn vị loại “{label}” tại địa bàn của “{subject_id}” vào ngày {day_vi(on)}: "
                f"{', '.join(u.id for u in found)}.",
                subject=subject_id,
                kind=label,
            )
        return found[0]

    def resolve(self, unit_id: str, on: date) -> tuple[str, ...]:
        """The unit(s) that carry ``unit_id``'s role on ``on``: itself, or its successors.

        Lets callers holding an old id (e.g. a task addressed to a commune that was
        merged since) find who answers today. Dissolved units resolve to ``()``.
        """
        unit = self._unit_ref(unit_id)
        if unit.exists_at(on):
            return (unit_id,)
        if on < unit.existence.start:
            return ()
        out: list[str] = []
        for succ in unit.successor_ids:
            for rid in self.resolve(succ, on):
                if rid not in out:
                    out.append(rid)
        return tuple(out)

    def all_units_at(self, on: date) -> tuple[UnitAt, ...]:
        return sort_units([self._view(u, on) for u in self.units.values() if u.exists_at(on)])

    def _view(self, unit: Unit, on: date) -> UnitAt:
        locality_id = unit.locality_at(on)
        assert locality_id is not None  # invariant: an existing unit always has a địa bàn
        return UnitAt(
            id=unit.id,
            name=unit.name_at(on) or unit.id,
            kind=unit.kind,
            function=unit.function,
            level=self.level(self.localities[locality_id].level_code),
            locality_id=locality_id,
            parent_id=unit.parent_at(on),
            valid_from=unit.existence.start,
            valid_to=unit.existence.end,
            on=on,
        )

    def _subject_locality(self, subject_id: str, on: date) -> str:
        if subject_id in self.units:
            return self.unit_at(subject_id, on).locality_id
        if subject_id in self.localities:
            return self.locality_at(subject_id, on).id
        raise UnknownReference(
            f"Không tìm thấy đơn vị hoặc địa bàn “{subject_id}”.", code="unknown_unit", id=subject_id
        )
