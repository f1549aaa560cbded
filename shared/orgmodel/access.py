"""Platform roles granted to people at units (``org.access_granted`` / ``org.access_revoked``).

Pure. The grants a signed-in person's access token carries are :meth:`AccessGrants.in_force` on the
day the token is issued; each grant also carries its own dates so a token never outlives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from shared.access.roles import ALL_UNITS, Grant, Role
from shared.orgmodel.errors import OrgDomainError, put_once


@dataclass(frozen=True)
class GrantRecord:
    grant_id: str
    person_id: str
    grant: Grant
    reason: str = ""


@dataclass
class AccessGrants:
    records: dict[str, GrantRecord] = field(default_factory=dict)

    def grant(
        self,
        grant_id: str,
        person_id: str,
        role: str,
        unit_id: str,
        valid_from: date,
        valid_to: date | None = None,
        reason: str = "",
    ) -> None:
        try:
            parsed = Role(role)
        except ValueError as exc:
            raise OrgDomainError(f"Vai trò «{role}» không tồn tại.", code="unknown_role") from exc
        if valid_to is not None and valid_to <= valid_from:
            raise OrgDomainError(
                "Ngày hết hiệu lực của quyền phải sau ngày bắt đầu.", code="invalid_interval"
            )
        record = GrantRecord(grant_id, person_id, Grant(parsed, unit_id, valid_from, valid_to), reason)
        put_once(
            self.records,
            grant_id,
            record,
            lambda: OrgDomainError(
                f"Mã cấp quyền «{grant_id}» đã được dùng cho một quyền khác.", code="duplicate_grant"
            ),
        )

    def revoke(self, grant_id: str, on: date) -> None:
        record = self.records.get(grant_id)
        if record is None:
            raise OrgDomainError(f"Không có quyền mang mã «{grant_id}».", code="unknown_reference")
        g = record.grant
        end = on if g.valid_to is None else min(g.valid_to, on)
        end = max(end, g.valid_from)
        self.records[grant_id] = replace(record, grant=replace(g, valid_to=end))

    def of(self, person_id: str) -> tuple[GrantRecord, ...]:
        return tuple(r for r in self.records.values() if r.person_id == person_id)

    def in_force(self, person_id: str, on: date) -> tuple[Grant, ...]:
        return tuple(r.grant for r in self.of(person_id) if r.grant.in_force(on))

    def holders(self, role: Role, on: date) -> tuple[str, ...]:
        return tuple(
            sorted(
                {r.person_id for r in self.records.values() if r.grant.role == role and r.grant.in_force(on)}
            )
        )


def platform_wide(unit_id: str) -> bool:
    return unit_id == ALL_UNITS
