"""The two trees of the hierarchy — địa bàn and units — and the invariants every change keeps.

State and checks only: :class:`Tree` holds the levels, địa bàn and units, finds them, and
refuses a state that breaks an invariant (listed in :mod:`shared.orgmodel.hierarchy`). The
queries at a date are :mod:`shared.orgmodel.tree_queries`; the changes are
:class:`~shared.orgmodel.hierarchy.Hierarchy`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from shared.orgmodel.errors import (
    BeforeExistence,
    DuplicateId,
    HasActiveChildren,
    HierarchyCycle,
    InvalidOperation,
    NotActive,
    OrgDomainError,
    UnknownParent,
    UnknownReference,
    day_vi,
    put_once,
)
from shared.orgmodel.units import Interval, Level, Locality, Timeline, TreeNode, Unit

N = TypeVar("N", bound=TreeNode)

Span = tuple[Interval, str | None]
"""A dated reference: during ``interval``, the node points to the id (None: to no one)."""


def _spans(timeline: Timeline[str] | Timeline[str | None]) -> Iterator[Span]:
    return ((e.interval, e.value) for e in timeline.entries)


@dataclass
class Tree:
    """Levels, địa bàn and units, with the lookups and invariant checks the changes share."""

    levels: dict[str, Level] = field(default_factory=dict)
    localities: dict[str, Locality] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)

    # ------------------------------------------------------------------ levels

    def define_level(self, level: Level) -> None:
        """Declare an administrative level. Re-declaring the identical level is a no-op."""
        put_once(
            self.levels,
            level.code,
            level,
            lambda: DuplicateId(
                f"Cấp hành chính “{level.code}” đã được khai báo với thông tin khác.", id=level.code
            ),
        )

    def level(self, code: str) -> Level:
        try:
            return self.levels[code]
        except KeyError:
            raise UnknownReference(
                f"Không tìm thấy cấp hành chính “{code}”.", code="unknown_level", id=code
            ) from None

    # ----------------------------------------------------------------- lookups

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

    def _unit_for_change(self, unit_id: str, on: date) -> Unit:
        unit = self._unit_ref(unit_id)
        _check_changeable(unit, on, "đơn vị", " (thao tác phải có ngày sau ngày đó)")
        return unit

    def _locality_for_change(self, locality_id: str, on: date) -> Locality:
        loc = self._locality_ref(locality_id, child=None)
        _check_changeable(loc, on, "địa bàn", "")
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

    # ------------------------------------------------------------ all or nothing

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """All-or-nothing: restore the previous state if the block raises."""
        saved = (copy.deepcopy(self.localities), copy.deepcopy(self.units))
        try:
            yield
        except BaseException:
            self.localities, self.units = saved
            raise

    @staticmethod
    def _insert_checked(table: dict[str, N], node: N, check: Callable[[str], None]) -> None:
        """Add ``node`` to ``table`` and keep it only if ``check(node.id)`` accepts the new state."""
        table[node.id] = node
        try:
            check(node.id)
        except OrgDomainError:
            del table[node.id]
            raise

    @staticmethod
    @contextmanager
    def _restoring(timeline: Timeline[Any]) -> Iterator[None]:
        """All-or-nothing for one time line: its entries as they were if the block is refused."""
        saved = list(timeline.entries)  # entries are frozen: a shallow copy keeps them
        try:
            yield
        except OrgDomainError:
            timeline.entries = saved
            raise

    # ------------------------------------------------------------------ checks

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

    def _check_unit_integrity(self, unit_id: str) -> None:
        unit = self.units[unit_id]
        _refuse_outliving(
            unit_id,
            _spans(unit.parents),
            lambda parent_id: self._unit_parent_ref(parent_id, child=unit_id),
            lambda parent, span: (
                f"Đơn vị cấp trên “{parent.id}” (hiệu lực {parent.existence.describe()}) không tồn tại trong "
                f"suốt thời gian “{unit_id}” trực thuộc nó {span.describe()}."
            ),
            "parent_not_active",
        )
        _refuse_outliving(
            unit_id,
            _spans(unit.localities),
            lambda locality_id: self._locality_ref(locality_id, child=unit_id),
            lambda loc, span: (
                f"Địa bàn “{loc.id}” (hiệu lực {loc.existence.describe()}) không tồn tại trong suốt thời gian "
                f"đơn vị “{unit_id}” đặt tại đó {span.describe()}."
            ),
            "locality_not_active",
        )

    def _check_locality_integrity(self, locality_id: str) -> None:
        _refuse_outliving(
            locality_id,
            _spans(self.localities[locality_id].parents),
            lambda parent_id: self._locality_ref(parent_id, child=locality_id),
            lambda parent, span: (
                f"Địa bàn cấp trên “{parent.id}” (hiệu lực {parent.existence.describe()}) không tồn tại trong "
                f"suốt khoảng {span.describe()} mà “{locality_id}” trực thuộc."
            ),
            "parent_not_active",
        )

    def _check_unit_referrers(self, unit_id: str) -> None:
        target = self.units[unit_id]
        _refuse_orphans(
            target,
            ((u.id, span) for u in self.units.values() for span in _spans(u.parents)),
            lambda child, span: (
                f"Không thể kết thúc đơn vị “{unit_id}” từ ngày {day_vi(target.existence.end or span.start)}: "
                f"đơn vị “{child}” vẫn trực thuộc trong khoảng {span.describe()}."
            ),
        )

    def _check_locality_referrers(self, locality_id: str) -> None:
        target = self.localities[locality_id]
        _refuse_orphans(
            target,
            ((loc.id, span) for loc in self.localities.values() for span in _spans(loc.parents)),
            lambda child, span: (
                f"Không thể kết thúc địa bàn “{locality_id}”: địa bàn “{child}” vẫn trực thuộc "
                f"trong khoảng {span.describe()}."
            ),
        )
        _refuse_orphans(
            target,
            ((u.id, span) for u in self.units.values() for span in _spans(u.localities)),
            lambda child, span: (
                f"Không thể kết thúc địa bàn “{locality_id}”: đơn vị “{child}” vẫn đặt tại đó "
                f"trong khoảng {span.describe()}."
            ),
            code="locality_not_empty",
        )

    def _check_unit_cycles(self, start_ids: Iterable[str], since: date) -> None:
        self._check_no_cycle(
            list(start_ids),
            lambda i, t: self.units[i].parent_at(t),
            _breakpoints(self.units.values(), since),
            "đơn vị",
        )

    def _check_locality_cycles(self, start_ids: Iterable[str], since: date) -> None:
        self._check_no_cycle(
            list(start_ids),
            lambda i, t: self.localities[i].parent_at(t),
            _breakpoints(self.localities.values(), since),
            "địa bàn",
        )

    @staticmethod
    def _check_no_cycle(
        start_ids: Sequence[str],
        parent_at: Callable[[str, date], str | None],
        dates: Sequence[date],
        noun: str,
    ) -> None:
        for t in dates:
            for start in start_ids:
                chain = [start]
                current = parent_at(start, t)
                while current is not None:
                    if current in chain:
                        cycle = " → ".join([*chain[chain.index(current) :], current])
                        raise HierarchyCycle(
                            f"Thao tác bị từ chối: vào ngày {day_vi(t)} {noun} “{current}” sẽ trở thành cấp trên "
                            f"của chính nó (vòng lặp {cycle}).",
                            id=start,
                            on=t,
                        )
                    chain.append(current)
                    current = parent_at(current, t)


def _check_changeable(node: TreeNode, on: date, noun: str, after_start: str) -> None:
    """A change dated ``on`` must fall strictly after the node began and before it ended."""
    if on <= node.existence.start:
        raise BeforeExistence(
            f"Thao tác ngày {day_vi(on)} đối với {noun} “{node.id}” không hợp lệ: {noun} chỉ tồn tại "
            f"từ ngày {day_vi(node.existence.start)}{after_start}.",
            id=node.id,
            on=on,
        )
    if node.existence.end is not None and on >= node.existence.end:
        raise NotActive(
            f"{noun.capitalize()} “{node.id}” đã kết thúc từ ngày {day_vi(node.existence.end)}; "
            f"không thể thao tác ngày {day_vi(on)}.",
            id=node.id,
            on=on,
        )


def _refuse_outliving(
    child_id: str,
    spans: Iterable[Span],
    ref: Callable[[str], TreeNode],
    refusal: Callable[[TreeNode, Interval], str],
    code: str,
) -> None:
    """Every node ``child_id`` points to exists during the whole time it points to it."""
    for interval, target_id in spans:
        if target_id is None:
            continue
        target = ref(target_id)
        if not target.existence.covers(interval):
            raise NotActive(refusal(target, interval), code=code, id=target.id, child=child_id)


def _refuse_orphans(
    target: TreeNode,
    references: Iterable[tuple[str, Span]],
    refusal: Callable[[str, Interval], str],
    code: str | None = None,
) -> None:
    """No node points to ``target`` outside its life (``references``: who points, and when)."""
    for child_id, (interval, target_id) in references:
        if target_id == target.id and not target.existence.covers(interval):
            raise HasActiveChildren(refusal(child_id, interval), code=code, id=target.id, child=child_id)


def _breakpoints(nodes: Iterable[TreeNode], since: date) -> list[date]:
    """``since`` and every later date on which some node's parent changes."""
    dates = {since}
    for node in nodes:
        dates.update(d for d in node.parents.change_dates() if d >= since)
    return sorted(dates)
