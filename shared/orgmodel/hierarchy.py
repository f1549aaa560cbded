"""The org hierarchy aggregate: địa bàn (localities) and units with effective-dated history.

Why one aggregate for both: the invariants cross them (a unit's địa bàn must exist
while the unit points to it; a merge of communes re-homes units), and every change is
one ordered event on one partition key, so all copies replay to the same state.

Invariants kept after every operation (an operation that would break one is refused
and leaves the aggregate unchanged):

* ids are unique across units and địa bàn;
* a unit's parent (and a địa bàn's parent) exists during the whole time it is referenced;
* there is no cycle in the unit hierarchy nor in the địa bàn hierarchy on any date;
* a địa bàn's parent has a strictly smaller level rank;
* history is append-only: a change dated on/before the last change is an overlap;
* nothing is changed on or before the day it began to exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.orgmodel.errors import HasActiveChildren, InvalidOperation, NotActive, day_vi
from shared.orgmodel.tree_queries import TreeQueries
from shared.orgmodel.units import Interval, Locality, NewUnit, Timeline, Unit


@dataclass(frozen=True)
class NewLocality:
    """Specification of a địa bàn created by an operation (register, merge into a new one)."""

    id: str
    name: str
    level_code: str
    parent_id: str | None = None


class Hierarchy(TreeQueries):
    """Aggregate root for units and địa bàn (see module docstring for invariants).

    The state and its checks are :class:`~shared.orgmodel.tree.Tree`, the queries
    :class:`~shared.orgmodel.tree_queries.TreeQueries`; this class holds the changes.
    """

    # -------------------------------------------------------------- localities

    def register_locality(self, spec: NewLocality, valid_from: date) -> None:
        """Add a địa bàn existing from ``valid_from`` (under ``spec.parent_id`` if given)."""
        self._check_new_id(spec.id)
        level = self.level(spec.level_code)
        if spec.parent_id is not None:
            parent = self._locality_ref(spec.parent_id, child=spec.id)
            self._check_rank(spec.id, level, parent)
        locality = Locality(
            id=spec.id,
            level_code=level.code,
            existence=Interval(valid_from),
            names=Timeline.starting(valid_from, spec.name),
            parents=Timeline.starting(valid_from, spec.parent_id),
        )
        self._insert_checked(self.localities, locality, self._check_locality_integrity)

    def rename_locality(self, locality_id: str, name: str, on: date) -> None:
        loc = self._locality_for_change(locality_id, on)
        loc.names.change_from(on, name, what=f"tên địa bàn “{locality_id}”")

    def reparent_locality(self, locality_id: str, parent_id: str | None, on: date) -> None:
        """Move a địa bàn under another (e.g. a commune directly under the province, 2025)."""
        loc = self._locality_for_change(locality_id, on)
        if parent_id is not None:
            self._check_rank(
                locality_id, self.level(loc.level_code), self._locality_ref(parent_id, child=locality_id)
            )
        with self._restoring(loc.parents):
            loc.parents.change_from(on, parent_id, what=f"địa bàn cấp trên của “{locality_id}”")
            self._check_locality_integrity(locality_id)
            self._check_locality_cycles([locality_id], on)

    def merge_localities(
        self,
        source_ids: Sequence[str],
        successor: str | NewLocality,
        on: date,
        *,
        relocate_units: bool = False,
    ) -> str:
        """Merge địa bàn ``source_ids`` into ``successor`` (existing, or new from ``on``).

        Child địa bàn of the sources move under the successor on ``on``. Units still
        located in a source must have been merged/relocated first, unless
        ``relocate_units`` moves them as they are. Returns the successor id.
        """
        sources = self._distinct(source_ids, "địa bàn")
        for sid in sources:
            self._locality_for_change(sid, on)
        with self._atomic():
            if isinstance(successor, NewLocality):
                parent = successor.parent_id
                if parent is None:
                    parent = self.localities[sources[0]].parent_at(on)
                self.register_locality(
                    NewLocality(successor.id, successor.name, successor.level_code, parent), on
                )
                successor_id = successor.id
            else:
                successor_id = successor
                succ = self._locality_ref(successor_id, child=None)
                if not succ.exists_at(on):
                    raise NotActive(
                        f"Địa bàn kế thừa “{successor_id}” không tồn tại vào ngày {day_vi(on)}.",
                        id=successor_id,
                    )
            if successor_id in sources:
                raise InvalidOperation(
                    f"Không thể hợp nhất địa bàn “{successor_id}” vào chính nó.", id=successor_id
                )
            for sid in sources:
                for child in self._child_localities_from(sid, on):
                    self.localities[child].parents.change_from(
                        on, successor_id, what=f"địa bàn cấp trên của “{child}”"
                    )
                located = self._units_located_from(sid, on)
                if located and not relocate_units:
                    raise HasActiveChildren(
                        f"Không thể hợp nhất địa bàn “{sid}” từ ngày {day_vi(on)}: còn các đơn vị "
                        f"{', '.join(sorted(located))} chưa được hợp nhất hoặc chuyển địa bàn.",
                        code="locality_not_empty",
                        id=sid,
                    )
                for uid in located:
                    self.units[uid].localities.change_from(on, successor_id, what=f"địa bàn của “{uid}”")
                self.localities[sid].end(on, (successor_id,))
            for sid in sources:
                self._check_locality_referrers(sid)
            self._check_locality_integrity(successor_id)
            self._check_locality_cycles([successor_id], on)
        return successor_id

    def dissolve_locality(self, locality_id: str, on: date) -> None:
        """End a địa bàn (e.g. a district abolished in 2025) once nothing points to it."""
        self._locality_for_change(locality_id, on)
        with self._atomic():
            self.localities[locality_id].end(on, ())
            self._check_locality_referrers(locality_id)

    # ------------------------------------------------------------------- units

    def register_unit(self, spec: NewUnit, valid_from: date) -> None:
        """Add a unit existing from ``valid_from`` at địa bàn ``spec.locality_id``."""
        self._check_new_id(spec.id)
        if spec.locality_id is None:
            raise InvalidOperation(f"Đơn vị “{spec.id}” phải thuộc một địa bàn.", id=spec.id)
        loc = self._locality_ref(spec.locality_id, child=spec.id)
        if not loc.exists_at(valid_from):
            raise NotActive(
                f"Địa bàn “{spec.locality_id}” của đơn vị “{spec.id}” không tồn tại vào ngày {day_vi(valid_from)}.",
                id=spec.locality_id,
            )
        if spec.parent_id is not None:
            self._unit_parent_ref(spec.parent_id, child=spec.id)
        unit = Unit(
            id=spec.id,
            kind=spec.kind,
            function=spec.function,
            existence=Interval(valid_from),
            names=Timeline.starting(valid_from, spec.name),
            parents=Timeline.starting(valid_from, spec.parent_id),
            localities=Timeline.starting(valid_from, spec.locality_id),
        )
        self._insert_checked(self.units, unit, self._check_unit_integrity)

    def rename_unit(self, unit_id: str, name: str, on: date) -> None:
        unit = self._unit_for_change(unit_id, on)
        unit.names.change_from(on, name, what=f"tên đơn vị “{unit_id}”")

    def reparent_unit(self, unit_id: str, parent_id: str | None, on: date) -> None:
        """Put ``unit_id`` under ``parent_id`` from ``on`` (refusing cycles on any later date)."""
        unit = self._unit_for_change(unit_id, on)
        if parent_id is not None:
            self._unit_parent_ref(parent_id, child=unit_id)
        with self._restoring(unit.parents):
            unit.parents.change_from(on, parent_id, what=f"đơn vị cấp trên của “{unit_id}”")
            self._check_unit_integrity(unit_id)
            self._check_unit_cycles([unit_id], on)

    def relocate_unit(self, unit_id: str, locality_id: str, on: date) -> None:
        """Move a unit to another địa bàn from ``on``."""
        unit = self._unit_for_change(unit_id, on)
        self._locality_ref(locality_id, child=unit_id)
        with self._restoring(unit.localities):
            unit.localities.change_from(on, locality_id, what=f"địa bàn của “{unit_id}”")
            self._check_unit_integrity(unit_id)

    def merge_units(self, source_ids: Sequence[str], successor: str | NewUnit, on: date) -> str:
        """Merge units on ``on``: ``A+B → C`` (``successor`` a :class:`NewUnit`) or ``A → B``.

        The sources end on ``on`` and name the successor; their children pass to the
        successor (so "the board of X after D" resolves to the merged unit). Returns
        the successor id.
        """
        sources = self._distinct(source_ids, "đơn vị")
        for sid in sources:
            self._unit_for_change(sid, on)
        first = self.units[sources[0]]
        with self._atomic():
            if isinstance(successor, NewUnit):
                spec = successor.with_defaults(
                    locality_id=first.locality_at(on), parent_id=first.parent_at(on)
                )
                if spec.parent_id in sources:
                    raise InvalidOperation(
                        f"Đơn vị kế thừa “{spec.id}” không thể trực thuộc đơn vị bị hợp nhất “{spec.parent_id}”.",
                        id=spec.id,
                    )
                self.register_unit(spec, on)
                successor_id = spec.id
            else:
                successor_id = successor
                succ = self._unit_ref(successor_id)
                if not succ.exists_at(on):
                    raise NotActive(
                        f"Đơn vị kế thừa “{successor_id}” không tồn tại vào ngày {day_vi(on)}.",
                        id=successor_id,
                    )
            if successor_id in sources:
                raise InvalidOperation(
                    f"Không thể hợp nhất đơn vị “{successor_id}” vào chính nó.", id=successor_id
                )
            moved: list[str] = [successor_id]
            for sid in sources:
                grand_parent = self.units[sid].parent_at(on)
                for child in self._children_from(sid, on):
                    target = (
                        successor_id
                        if child != successor_id
                        else self._first_not_in(grand_parent, sources, on)
                    )
                    self.units[child].parents.change_from(on, target, what=f"đơn vị cấp trên của “{child}”")
                    moved.append(child)
                self.units[sid].end_for(on, (successor_id,), "merged")
            for sid in sources:
                self._check_unit_referrers(sid)
            for uid in moved:
                self._check_unit_integrity(uid)
            self._check_unit_cycles(moved, on)
        return successor_id

    def split_unit(
        self,
        source_id: str,
        successors: Sequence[NewUnit],
        on: date,
        children_to: Mapping[str, str] | None = None,
    ) -> tuple[str, ...]:
        """Split ``source_id`` on ``on`` into new units; each child goes where ``children_to`` says.

        With a single successor, children default to it; otherwise every child active
        on ``on`` must be mapped (to a successor or any unit active then).
        """
        source = self._unit_for_change(source_id, on)
        if not successors:
            raise InvalidOperation(f"Chia tách “{source_id}” cần ít nhất một đơn vị kế thừa.", id=source_id)
        mapping = dict(children_to or {})
        with self._atomic():
            new_ids: list[str] = []
            for spec in successors:
                full = spec.with_defaults(locality_id=source.locality_at(on), parent_id=source.parent_at(on))
                if full.parent_id == source_id:
                    raise InvalidOperation(
                        f"Đơn vị kế thừa “{full.id}” không thể trực thuộc đơn vị bị chia tách “{source_id}”.",
                        id=full.id,
                    )
                self.register_unit(full, on)
                new_ids.append(full.id)
            children = self._children_from(source_id, on)
            for child in children:
                target = mapping.get(child) or (new_ids[0] if len(new_ids) == 1 else None)
                if target is None:
                    raise InvalidOperation(
                        f"Chia tách “{source_id}”: chưa chỉ định đơn vị cấp trên mới cho đơn vị trực thuộc “{child}”.",
                        code="unmapped_children",
                        id=child,
                    )
                self._unit_parent_ref(target, child=child)
                self.units[child].parents.change_from(on, target, what=f"đơn vị cấp trên của “{child}”")
            self.units[source_id].end_for(on, tuple(new_ids), "split")
            self._check_unit_referrers(source_id)
            for uid in [*new_ids, *children]:
                self._check_unit_integrity(uid)
            self._check_unit_cycles([*new_ids, *children], on)
        return tuple(new_ids)

    def dissolve_unit(self, unit_id: str, on: date) -> None:
        """End a unit with no successor. Refused while units still point to it after ``on``."""
        self._unit_for_change(unit_id, on)
        with self._atomic():
            self.units[unit_id].end_for(on, (), "dissolved")
            self._check_unit_referrers(unit_id)


__all__ = ["Hierarchy", "NewLocality"]
