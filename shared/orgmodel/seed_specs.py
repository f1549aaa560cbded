"""The parsed form of an org seed document: located specs, in document order (no I/O, no YAML).

Why specs and not domain objects straight away: a seed may refer to ids the registry already
holds (bulk import) and is applied later, in parent-before-child order, by
:mod:`shared.orgmodel.seed_loading` or turned into events by :mod:`shared.orgmodel.projection`.
Each spec carries its :class:`Where` so a refusal at that point still names the key path and line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from shared.orgmodel.errors import OrgDomainError, SeedFormatError
from shared.orgmodel.positions import ContactChannels
from shared.orgmodel.units import Level, UnitKind

T = TypeVar("T")


@dataclass(frozen=True)
class Where:
    """Where a spec came from, for error messages."""

    path: str
    line: int | None


def run_at(where: Where, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a domain operation, re-raising its refusal as a :class:`SeedFormatError` at ``where``."""
    try:
        return fn(*args, **kwargs)
    except SeedFormatError:
        raise
    except OrgDomainError as exc:
        raise SeedFormatError(exc.message_vi, path=where.path, line=where.line, code=exc.code) from exc


@dataclass(frozen=True)
class LevelSpec:
    level: Level
    where: Where


@dataclass(frozen=True)
class LocalitySpec:
    id: str
    name: str
    level_code: str
    parent_id: str | None
    valid_from: date
    where: Where


@dataclass(frozen=True)
class UnitSpec:
    id: str
    name: str
    kind: UnitKind
    locality_id: str
    parent_id: str | None
    function: str | None
    valid_from: date
    where: Where


@dataclass(frozen=True)
class PersonSpec:
    id: str
    full_name: str
    contacts: ContactChannels
    where: Where


@dataclass(frozen=True)
class AssignmentSpec:
    id: str
    person_id: str
    unit_id: str
    role: str
    valid_from: date
    valid_to: date | None
    duties: tuple[str, ...]
    where: Where


@dataclass(frozen=True)
class DelegationSpec:
    id: str
    unit_id: str
    role: str
    delegate_id: str
    valid_from: date
    valid_to: date | None
    reason: str
    where: Where


@dataclass(frozen=True)
class HistoryOp:
    """One dated change in ``history`` (applied in document order after everything else).

    ``op`` is one of: rename_unit, reparent_unit, relocate_unit, merge_units, split_unit,
    dissolve_unit, rename_locality, reparent_locality, merge_localities,
    dissolve_locality, end_assignment. ``args`` holds the op's validated arguments.
    """

    op: str
    on: date
    args: Mapping[str, Any]
    where: Where


@dataclass
class Seed:
    """A parsed org document (localities, units, people, history)."""

    source: str
    registry_id: str = "vn"
    levels: list[LevelSpec] = field(default_factory=list)
    localities: list[LocalitySpec] = field(default_factory=list)
    units: list[UnitSpec] = field(default_factory=list)
    persons: list[PersonSpec] = field(default_factory=list)
    assignments: list[AssignmentSpec] = field(default_factory=list)
    delegations: list[DelegationSpec] = field(default_factory=list)
    history: list[HistoryOp] = field(default_factory=list)

    def ordered_localities(self) -> list[LocalitySpec]:
        """Parents before children (stable); refuses a cycle among the document's địa bàn."""
        return _topological(self.localities, lambda s: s.id, lambda s: s.parent_id, "địa bàn")

    def ordered_units(self) -> list[UnitSpec]:
        """Parents before children (stable); refuses a cycle among the document's units."""
        return _topological(self.units, lambda s: s.id, lambda s: s.parent_id, "đơn vị")

    def check_unique_ids(self) -> None:
        """Refuse an id used twice in one group (địa bàn and units share one group)."""
        seen: dict[str, str] = {}
        groups: list[tuple[str, Sequence[Any]]] = [
            ("địa bàn/đơn vị", [*self.localities, *self.units]),
            ("cán bộ", self.persons),
            ("phân công", self.assignments),
            ("ủy quyền", self.delegations),
        ]
        for label, specs in groups:
            seen.clear()
            for spec in specs:
                if spec.id in seen:
                    raise SeedFormatError(
                        f"mã {label} “{spec.id}” bị trùng (đã dùng tại {seen[spec.id]}).",
                        path=spec.where.path,
                        line=spec.where.line,
                        code="duplicate_id",
                    )
                seen[spec.id] = spec.where.path + (f" dòng {spec.where.line}" if spec.where.line else "")


def _topological(
    items: Sequence[T], key: Callable[[T], str], parent: Callable[[T], str | None], what: str
) -> list[T]:
    by_id = {key(i): i for i in items}
    out: list[T] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(item: T, trail: list[str]) -> None:
        k = key(item)
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            cycle = " → ".join([*trail[trail.index(k) :], k])
            where: Where = getattr(item, "where")  # noqa: B009 - specs all carry ``where``
            raise SeedFormatError(
                f"vòng lặp cấp trên giữa các {what}: {cycle}.",
                path=where.path,
                line=where.line,
                code="hierarchy_cycle",
            )
        state[k] = 1
        p = parent(item)
        if p is not None and p in by_id:
            visit(by_id[p], [*trail, k])
        state[k] = 2
        out.append(item)

    for item in items:
        visit(item, [])
    return out
