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

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from shared.orgmodel.errors import (
    AmbiguousCounterpart,
    BeforeExistence,
    CounterpartNotFound,
    DuplicateId,
    HasActiveChildren,
    HierarchyCycle,
    InvalidOperation,
    NotActive,
    OrgDomainError,
    UnknownParent,
    UnknownReference,
)
from shared.orgmodel.units import (
    Dated,
    Interval,
    Level,
    Locality,
    LocalityAt,
    NewUnit,
    Timeline,
    Unit,
    UnitAt,
    UnitKind,
    sort_units,
)


@dataclass(frozen=True)
class NewLocality:
    """Specification of a địa bàn created by an operation (register, merge into a new one)."""

    id: str
    name: str
    level_code: str
    parent_id: str | None = None


def _covers(outer: Interval, inner: Interval) -> bool:
    if inner.start < outer.start:
        return False
    if outer.end is None:
        return True
    return inner.end is not None and inner.end <= outer.end


def _d(on: date) -> str:
    return on.strftime("%d/%m/%Y")


@dataclass
class Hierarchy:
    """Aggregate root for units and địa bàn (see module docstring for invariants)."""

    levels: dict[str, Level] = field(default_factory=dict)
    localities: dict[str, Locality] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)

    # ------------------------------------------------------------------ levels

    def define_level(self, level: Level) -> None:
        """Declare an administrative level. Re-declaring the identical level is a no-op."""
        existing = self.levels.get(level.code)
        if existing is not None:
            if existing == level:
                return
            raise DuplicateId(
                f"Cấp hành chính “{level.code}” đã được khai báo với thông tin khác.", id=level.code
            )
        self.levels[level.code] = level

    def level(self, code: str) -> Level:
        try:
            return self.levels[code]
        except KeyError:
            raise UnknownReference(
                f"Không tìm thấy cấp hành chính “{code}”.", code="unknown_level", id=code
            ) from None

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
            names=Timeline([Dated(Interval(valid_from), spec.name)]),
            parents=Timeline([Dated(Interval(valid_from), spec.parent_id)]),
        )
        self.localities[spec.id] = locality
        try:
            self._check_locality_integrity(spec.id)
        except OrgDomainError:
            del self.localities[spec.id]
            raise

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
        saved = copy.deepcopy(loc.parents)
        loc.parents.change_from(on, parent_id, what=f"địa bàn cấp trên của “{locality_id}”")
        try:
            self._check_locality_integrity(locality_id)
            self._check_no_cycle(
                [locality_id],
                lambda i, t: self.localities[i].parent_at(t),
                self._locality_breakpoints(on),
                "loc",
            )
        except OrgDomainError:
            loc.parents = saved
            raise

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
                        f"Địa bàn kế thừa “{successor_id}” không tồn tại vào ngày {_d(on)}.", id=successor_id
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
                        f"Không thể hợp nhất địa bàn “{sid}” từ ngày {_d(on)}: còn các đơn vị "
                        f"{', '.join(sorted(located))} chưa được hợp nhất hoặc chuyển địa bàn.",
                        code="locality_not_empty",
                        id=sid,
                    )
                for uid in located:
                    self.units[uid].localities.change_from(on, successor_id, what=f"địa bàn của “{uid}”")
                self._end_locality(sid, on, (successor_id,))
            for sid in sources:
                self._check_locality_referrers(sid)
            self._check_locality_integrity(successor_id)
            self._check_no_cycle(
                [successor_id],
                lambda i, t: self.localities[i].parent_at(t),
                self._locality_breakpoints(on),
                "loc",
            )
        return successor_id

    def dissolve_locality(self, locality_id: str, on: date) -> None:
        """End a địa bàn (e.g. a district abolished in 2025) once nothing points to it."""
        self._locality_for_change(locality_id, on)
        with self._atomic():
            self._end_locality(locality_id, on, ())
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
                f"Địa bàn “{spec.locality_id}” của đơn vị “{spec.id}” không tồn tại vào ngày {_d(valid_from)}.",
                id=spec.locality_id,
            )
        if spec.parent_id is not None:
            self._unit_parent_ref(spec.parent_id, child=spec.id)
        unit = Unit(
            id=spec.id,
            kind=spec.kind,
            function=spec.function,
            existence=Interval(valid_from),
            names=Timeline([Dated(Interval(valid_from), spec.name)]),
            parents=Timeline([Dated(Interval(valid_from), spec.parent_id)]),
            localities=Timeline([Dated(Interval(valid_from), spec.locality_id)]),
        )
        self.units[spec.id] = unit
        try:
            self._check_unit_integrity(spec.id)
        except OrgDomainError:
            del self.units[spec.id]
            raise

    def rename_unit(self, unit_id: str, name: str, on: date) -> None:
        unit = self._unit_for_change(unit_id, on)
        unit.names.change_from(on, name, what=f"tên đơn vị “{unit_id}”")

    def reparent_unit(self, unit_id: str, parent_id: str | None, on: date) -> None:
        """Put ``unit_id`` under ``parent_id`` from ``on`` (refusing cycles on any later date)."""
        unit = self._unit_for_change(unit_id, on)
        if parent_id is not None:
            self._unit_parent_ref(parent_id, child=unit_id)
        saved = copy.deepcopy(unit.parents)
        unit.parents.change_from(on, parent_id, what=f"đơn vị cấp trên của “{unit_id}”")
        try:
            self._check_unit_integrity(unit_id)
            self._check_unit_cycles([unit_id], on)
        except OrgDomainError:
            unit.parents = saved
            raise

    def relocate_unit(self, unit_id: str, locality_id: str, on: date) -> None:
        """Move a unit to another địa bàn from ``on``."""
        unit = self._unit_for_change(unit_id, on)
        self._locality_ref(locality_id, child=unit_id)
        saved = copy.deepcopy(unit.localities)
        unit.localities.change_from(on, locality_id, what=f"địa bàn của “{unit_id}”")
        try:
            self._check_unit_integrity(unit_id)
        except OrgDomainError:
            unit.localities = saved
            raise

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
                        f"Đơn vị kế thừa “{successor_id}” không tồn tại vào ngày {_d(on)}.", id=successor_id
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
                self._end_unit(sid, on, (successor_id,), "merged")
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
            self._end_unit(source_id, on, tuple(new_ids), "split")
            self._check_unit_referrers(source_id)
            for uid in [*new_ids, *children]:
                self._check_unit_integrity(uid)
            self._check_unit_cycles([*new_ids, *children], on)
        return tuple(new_ids)

    def dissolve_unit(self, unit_id: str, on: date) -> None:
        """End a unit with no successor. Refused while units still point to it after ``on``."""
        self._unit_for_change(unit_id, on)
        with self._atomic():
            self._end_unit(unit_id, on, (), "dissolved")
            self._check_unit_referrers(unit_id)

    # ----------------------------------------------------------------- queries

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
                f"Đơn vị “{unit_id}” không tồn tại vào ngày {_d(on)} (hiệu lực {unit.existence.describe()}).",
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
            raise NotActive(f"Địa bàn “{locality_id}” không tồn tại vào ngày {_d(on)}.", id=locality_id)
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
                f"Không có đơn vị loại “{label}” tại địa bàn của “{subject_id}” vào ngày {_d(on)}.",
                subject=subject_id,
                kind=label,
            )
        if len(found) > 1:
            raise AmbiguousCounterpart(
                f"Có nhiều đơn vị loại “{label}” tại địa bàn của “{subject_id}” vào ngày {_d(on)}: "
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

    # ---------------------------------------------------------------- internals

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

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """All-or-nothing: restore the previous state if the block raises."""
        saved = (copy.deepcopy(self.localities), copy.deepcopy(self.units))
        try:
            yield
        except BaseException:
            self.localities, self.units = saved
            raise

    def _check_new_id(self, new_id: str) -> None:
        if not new_id or not new_id.strip():
            raise InvalidOperation("Mã định danh không được để trống.", code="empty_id")
        if new_id in self.units or new_id in self.localities:
            raise DuplicateId(f"Mã “{new_id}” đã được sử dụng cho một đơn vị hoặc địa bàn khác.", id=new_id)

    @staticmethod
    def _distinct(ids: Sequence[str], what: str) -> list[str]:
        if not ids:
            raise InvalidOperation(f"Cần ít nhất một {what} nguồn.")
        if len(set(ids)) != len(ids):
            raise InvalidOperation(f"Danh sách {what} nguồn có mã trùng lặp: {', '.join(ids)}.")
        return list(ids)

    def _unit_ref(self, unit_id: str) -> Unit:
        unit = self.units.get(unit_id)
        if unit is None:
            raise UnknownReference(f"Không tìm thấy đơn vị “{unit_id}”.", code="unknown_unit", id=unit_id)
        return unit

    def _unit_parent_ref(self, parent_id: str, *, child: str) -> Unit:
        parent = self.units.get(parent_id)
        if parent is None:
            raise UnknownParent(
                f"Đơn vị cấp trên “{parent_id}” của “{child}” không tồn tại.", id=parent_id, child=child
            )
        return parent

    def _locality_ref(self, locality_id: str, *, child: str | None) -> Locality:
        loc = self.localities.get(locality_id)
        if loc is None:
            if child is not None:
                raise UnknownParent(
                    f"Địa bàn “{locality_id}” (được tham chiếu bởi “{child}”) không tồn tại.",
                    code="unknown_locality",
                    id=locality_id,
                    child=child,
                )
            raise UnknownReference(
                f"Không tìm thấy địa bàn “{locality_id}”.", code="unknown_locality", id=locality_id
            )
        return loc

    def _check_rank(self, child_id: str, child_level: Level, parent: Locality) -> None:
        parent_level = self.level(parent.level_code)
        if parent_level.rank >= child_level.rank:
            raise InvalidOperation(
                f"Địa bàn “{parent.id}” ({parent_level.name_vi}) không thể là cấp trên của “{child_id}” "
                f"({child_level.name_vi}): cấp trên phải ở cấp hành chính cao hơn.",
                code="level_rank_violation",
                id=child_id,
                parent=parent.id,
            )

    def _unit_for_change(self, unit_id: str, on: date) -> Unit:
        unit = self._unit_ref(unit_id)
        if on <= unit.existence.start:
            raise BeforeExistence(
                f"Thao tác ngày {_d(on)} đối với đơn vị “{unit_id}” không hợp lệ: đơn vị chỉ tồn tại "
                f"từ ngày {_d(unit.existence.start)} (thao tác phải có ngày sau ngày đó).",
                id=unit_id,
                on=on,
            )
        if unit.existence.end is not None and on >= unit.existence.end:
            raise NotActive(
                f"Đơn vị “{unit_id}” đã kết thúc từ ngày {_d(unit.existence.end)}; "
                f"không thể thao tác ngày {_d(on)}.",
                id=unit_id,
                on=on,
            )
        return unit

    def _locality_for_change(self, locality_id: str, on: date) -> Locality:
        loc = self._locality_ref(locality_id, child=None)
        if on <= loc.existence.start:
            raise BeforeExistence(
                f"Thao tác ngày {_d(on)} đối với địa bàn “{locality_id}” không hợp lệ: địa bàn chỉ tồn tại "
                f"từ ngày {_d(loc.existence.start)}.",
                id=locality_id,
                on=on,
            )
        if loc.existence.end is not None and on >= loc.existence.end:
            raise NotActive(
                f"Địa bàn “{locality_id}” đã kết thúc từ ngày {_d(loc.existence.end)}; "
                f"không thể thao tác ngày {_d(on)}.",
                id=locality_id,
                on=on,
            )
        return loc

    def _first_not_in(self, candidate: str | None, excluded: Sequence[str], on: date) -> str | None:
        while candidate is not None and candidate in excluded:
            candidate = self.units[candidate].parent_at(on)
        return candidate

    def _children_from(self, unit_id: str, on: date) -> list[str]:
        return sorted(u.id for u in self.units.values() if u.exists_at(on) and u.parent_at(on) == unit_id)

    def _child_localities_from(self, locality_id: str, on: date) -> list[str]:
        return sorted(
            loc.id
            for loc in self.localities.values()
            if loc.exists_at(on) and loc.parent_at(on) == locality_id
        )

    def _units_located_from(self, locality_id: str, on: date) -> list[str]:
        return sorted(
            u.id for u in self.units.values() if u.exists_at(on) and u.locality_at(on) == locality_id
        )

    def _end_unit(self, unit_id: str, on: date, successors: tuple[str, ...], reason: str) -> None:
        unit = self.units[unit_id]
        unit.existence = Interval(unit.existence.start, on)
        unit.names.close(on)
        unit.parents.close(on)
        unit.localities.close(on)
        unit.successor_ids = successors
        unit.end_reason = reason

    def _end_locality(self, locality_id: str, on: date, successors: tuple[str, ...]) -> None:
        loc = self.localities[locality_id]
        loc.existence = Interval(loc.existence.start, on)
        loc.names.close(on)
        loc.parents.close(on)
        loc.successor_ids = successors

    def _check_unit_integrity(self, unit_id: str) -> None:
        unit = self.units[unit_id]
        for entry in unit.parents.entries:
            if entry.value is None:
                continue
            parent = self._unit_parent_ref(entry.value, child=unit_id)
            if not _covers(parent.existence, entry.interval):
                raise NotActive(
                    f"Đơn vị cấp trên “{parent.id}” (hiệu lực {parent.existence.describe()}) không tồn tại trong "
                    f"suốt thời gian “{unit_id}” trực thuộc nó {entry.interval.describe()}.",
                    code="parent_not_active",
                    id=parent.id,
                    child=unit_id,
                )
        for loc_entry in unit.localities.entries:
            loc = self._locality_ref(loc_entry.value, child=unit_id)
            if not _covers(loc.existence, loc_entry.interval):
                raise NotActive(
                    f"Địa bàn “{loc.id}” (hiệu lực {loc.existence.describe()}) không tồn tại trong suốt thời gian "
                    f"đơn vị “{unit_id}” đặt tại đó {loc_entry.interval.describe()}.",
                    code="locality_not_active",
                    id=loc.id,
                    child=unit_id,
                )

    def _check_unit_referrers(self, unit_id: str) -> None:
        target = self.units[unit_id]
        for other in self.units.values():
            for entry in other.parents.entries:
                if entry.value == unit_id and not _covers(target.existence, entry.interval):
                    raise HasActiveChildren(
                        f"Không thể kết thúc đơn vị “{unit_id}” từ ngày {_d(target.existence.end or entry.interval.start)}: "
                        f"đơn vị “{other.id}” vẫn trực thuộc trong khoảng {entry.interval.describe()}.",
                        id=unit_id,
                        child=other.id,
                    )

    def _check_locality_integrity(self, locality_id: str) -> None:
        loc = self.localities[locality_id]
        for entry in loc.parents.entries:
            if entry.value is None:
                continue
            parent = self._locality_ref(entry.value, child=locality_id)
            if not _covers(parent.existence, entry.interval):
                raise NotActive(
                    f"Địa bàn cấp trên “{parent.id}” (hiệu lực {parent.existence.describe()}) không tồn tại trong "
                    f"suốt khoảng {entry.interval.describe()} mà “{locality_id}” trực thuộc.",
                    code="parent_not_active",
                    id=parent.id,
                    child=locality_id,
                )

    def _check_locality_referrers(self, locality_id: str) -> None:
        target = self.localities[locality_id]
        for other in self.localities.values():
            for entry in other.parents.entries:
                if entry.value == locality_id and not _covers(target.existence, entry.interval):
                    raise HasActiveChildren(
                        f"Không thể kết thúc địa bàn “{locality_id}”: địa bàn “{other.id}” vẫn trực thuộc "
                        f"trong khoảng {entry.interval.describe()}.",
                        id=locality_id,
                        child=other.id,
                    )
        for unit in self.units.values():
            for loc_entry in unit.localities.entries:
                if loc_entry.value == locality_id and not _covers(target.existence, loc_entry.interval):
                    raise HasActiveChildren(
                        f"Không thể kết thúc địa bàn “{locality_id}”: đơn vị “{unit.id}” vẫn đặt tại đó "
                        f"trong khoảng {loc_entry.interval.describe()}.",
                        code="locality_not_empty",
                        id=locality_id,
                        child=unit.id,
                    )

    def _unit_breakpoints(self, since: date) -> list[date]:
        dates = {since}
        for u in self.units.values():
            dates.update(d for d in u.parents.change_dates() if d >= since)
        return sorted(dates)

    def _locality_breakpoints(self, since: date) -> list[date]:
        dates = {since}
        for loc in self.localities.values():
            dates.update(d for d in loc.parents.change_dates() if d >= since)
        return sorted(dates)

    def _check_unit_cycles(self, start_ids: Iterable[str], since: date) -> None:
        self._check_no_cycle(
            list(start_ids), lambda i, t: self.units[i].parent_at(t), self._unit_breakpoints(since), "unit"
        )

    def _check_no_cycle(
        self,
        start_ids: Sequence[str],
        parent_at: Callable[[str, date], str | None],
        dates: Sequence[date],
        what: str,
    ) -> None:
        for t in dates:
            for start in start_ids:
                chain = [start]
                current = parent_at(start, t)
                while current is not None:
                    if current in chain:
                        cycle = " → ".join([*chain[chain.index(current) :], current])
                        noun = "đơn vị" if what == "unit" else "địa bàn"
                        raise HierarchyCycle(
                            f"Thao tác bị từ chối: vào ngày {_d(t)} {noun} “{current}” sẽ trở thành cấp trên "
                            f"của chính nó (vòng lặp {cycle}).",
                            id=start,
                            on=t,
                        )
                    chain.append(current)
                    current = parent_at(current, t)


__all__ = ["Hierarchy", "NewLocality"]
