"""Roles per unit, effective-dated, and the identity a signed-in person carries (pure).

A role is granted to a person *at a unit* (``org.access_granted``) and covers that unit and every unit
below it in the registry (a provincial auditor sees the districts). ``unit_id == "*"`` is a
platform-wide grant (operators, auditors, the registry administrator of the whole registry).

Why here and not in a service: every service decides from the same identity (the access token org
issues after sign-in) and the same rules; only the unit hierarchy comes from each service's own
replica of the org registry, through ``ancestors``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

ALL_UNITS = "*"


class Role(StrEnum):
    REGISTRY_ADMIN = "registry_admin"  # quản trị sổ đăng ký: đơn vị, cán bộ, chính sách, khóa
    DRAFTER = "drafter"  # cơ quan soạn thảo
    APPROVER = "approver"  # người có thẩm quyền ban hành
    SYNTHESISER = "synthesiser"  # Ban Dân vận: tổng hợp ý kiến
    STANDING_COMMITTEE = "standing_committee"  # Thường trực cấp ủy: cho phép ngoại lệ
    OPERATOR = "operator"  # vận hành hệ thống
    AUDITOR = "auditor"  # kiểm tra, giám sát: đọc tất cả, nhật ký

    @property
    def label_vi(self) -> str:
        return _LABELS[self]


_LABELS: dict[Role, str] = {
    Role.REGISTRY_ADMIN: "quản trị sổ đăng ký",
    Role.DRAFTER: "cơ quan soạn thảo",
    Role.APPROVER: "người ban hành",
    Role.SYNTHESISER: "cán bộ tổng hợp của Ban Dân vận",
    Role.STANDING_COMMITTEE: "Thường trực cấp ủy",
    Role.OPERATOR: "vận hành hệ thống",
    Role.AUDITOR: "kiểm tra, giám sát",
}

# Roles whose holders work on decisions (and so may read the decisions of the units they cover).
CASEWORK: frozenset[Role] = frozenset(
    {Role.DRAFTER, Role.APPROVER, Role.SYNTHESISER, Role.STANDING_COMMITTEE}
)


@dataclass(frozen=True)
class Grant:
    role: Role
    unit_id: str
    valid_from: date
    valid_to: date | None = None  # exclusive

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


Ancestors = Callable[[str], Sequence[str]]
"""``ancestors(unit_id)`` → the unit's parents up to the root (nearest first), as of today."""


@dataclass(frozen=True)
class Identity:
    """A signed-in person (or an agency's service account) as the access token describes them."""

    subject: str  # registry person id
    name: str
    grants: tuple[Grant, ...]
    session_id: str = ""
    method: str = "password"  # password | oidc
    scopes: frozenset[str] = field(default_factory=frozenset)

    def roles(self, on: date) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants if g.in_force(on))

    def has_role(self, roles: Iterable[Role], on: date) -> bool:
        wanted = set(roles)
        return any(g.role in wanted and g.in_force(on) for g in self.grants)

    def covers(self, roles: Iterable[Role], unit_id: str, on: date, ancestors: Ancestors) -> bool:
        """Holds one of ``roles`` at ``unit_id`` or at a unit above it (or platform-wide)."""
        wanted = set(roles)
        scopes = {g.unit_id for g in self.grants if g.role in wanted and g.in_force(on)}
        if not scopes:
            return False
        if ALL_UNITS in scopes or unit_id in scopes:
            return True
        return any(a in scopes for a in ancestors(unit_id))

    def covers_any(
        self, roles: Iterable[Role], unit_ids: Iterable[str], on: date, ancestors: Ancestors
    ) -> bool:
        wanted = tuple(roles)
        return any(self.covers(wanted, u, on, ancestors) for u in unit_ids)

    def platform_wide(self, roles: Iterable[Role], on: date) -> bool:
        wanted = set(roles)
        return any(g.role in wanted and g.unit_id == ALL_UNITS and g.in_force(on) for g in self.grants)

    def may_read_case(self, unit_ids: Iterable[str], on: date, ancestors: Ancestors) -> bool:
        """A decision/complaint/plan is visible to auditors, and to casework roles of the units
        concerned (issuer, consultees, handlers) or of a unit above them."""
        if self.has_role({Role.AUDITOR}, on):
            return True
        return self.covers_any(CASEWORK, unit_ids, on, ancestors)


def no_ancestors(_: str) -> Sequence[str]:
    return ()
