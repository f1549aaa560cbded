"""Agency systems and their signing keys (who may publish which requests).

Why in the org registry: every service must know, from ``org.events`` alone, which system signed a
request, with which key, and for which units it may act *on the request's date* — the same way it
knows units and people. A system acts for units through effective-dated bindings; keys are
registered and revoked with instants (a revoked key verifies nothing signed after revocation).

Pure: no I/O. Raises :class:`OrgDomainError` subclasses with Vietnamese messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.orgmodel.errors import DuplicateId, OrgDomainError, UnknownReference
from shared.security.signing import RegisteredKey, thumbprint

SYSTEM_KINDS: frozenset[str] = frozenset({"agency", "link_gateway", "platform"})


@dataclass(frozen=True)
class Binding:
    """The system acts for ``unit_id`` during ``[valid_from, valid_to)``."""

    unit_id: str
    valid_from: date
    valid_to: date | None = None

    def covers(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


@dataclass
class AgencySystem:
    system_id: str
    name_vi: str
    kind: str
    valid_from: date
    bindings: list[Binding] = field(default_factory=list)
    keys: dict[str, RegisteredKey] = field(default_factory=dict)

    def unit_ids_on(self, on: date) -> tuple[str, ...]:
        if on < self.valid_from:
            return ()
        return tuple(dict.fromkeys(b.unit_id for b in self.bindings if b.covers(on)))


@dataclass
class SystemRegistry:
    systems: dict[str, AgencySystem] = field(default_factory=dict)
    _keys: dict[str, RegisteredKey] = field(default_factory=dict)

    # ---------------------------------------------------------------- changes

    def register(
        self, system_id: str, name_vi: str, kind: str, unit_ids: Sequence[str], valid_from: date
    ) -> None:
        if system_id in self.systems:
            raise DuplicateId(f"Hệ thống «{system_id}» đã được đăng ký.", system_id=system_id)
        if kind not in SYSTEM_KINDS:
            raise OrgDomainError(
                f"Loại hệ thống «{kind}» không hợp lệ (agency, link_gateway, platform).", code="unknown_kind"
            )
        self.systems[system_id] = AgencySystem(
            system_id=system_id,
            name_vi=name_vi,
            kind=kind,
            valid_from=valid_from,
            bindings=[Binding(u, valid_from) for u in dict.fromkeys(unit_ids)],
        )

    def change_units(self, system_id: str, unit_ids: Sequence[str], on: date) -> None:
        system = self._system(system_id)
        kept: list[Binding] = []
        for b in system.bindings:
            if b.valid_from >= on:
                continue  # a binding that would only start on or after ``on`` is replaced
            if b.valid_to is None or b.valid_to > on:
                b = Binding(b.unit_id, b.valid_from, on)
            kept.append(b)
        kept.extend(Binding(u, on) for u in dict.fromkeys(unit_ids))
        system.bindings = kept

    def add_key(self, system_id: str, public_jwk: Mapping[str, str], valid_from: datetime) -> str:
        system = self._system(system_id)
        kid = str(public_jwk.get("kid") or "")
        actual = thumbprint(public_jwk)
        if kid != actual:
            raise OrgDomainError(
                f"Mã khóa (kid) «{kid}» không phải dấu vân tay RFC 7638 của khóa ({actual}).",
                code="kid_mismatch",
            )
        if kid in self._keys:
            raise DuplicateId(f"Khóa «{kid}» đã được đăng ký.", kid=kid)
        key = RegisteredKey(
            system_id=system_id,
            kid=kid,
            public_jwk={k: str(v) for k, v in public_jwk.items()},
            valid_from=valid_from,
        )
        system.keys[kid] = key
        self._keys[kid] = key
        return kid

    def revoke_key(self, system_id: str, kid: str, revoked_at: datetime) -> None:
        system = self._system(system_id)
        key = system.keys.get(kid)
        if key is None:
            raise UnknownReference(f"Hệ thống «{system_id}» không có khóa «{kid}».", kid=kid)
        if key.revoked_at is not None and key.revoked_at <= revoked_at:
            return  # revoked earlier already: the earliest revocation stands
        revoked = RegisteredKey(key.system_id, key.kid, key.public_jwk, key.valid_from, revoked_at)
        system.keys[kid] = revoked
        self._keys[kid] = revoked

    # ---------------------------------------------------------------- queries

    def key(self, kid: str) -> RegisteredKey | None:
        return self._keys.get(kid)

    def kind_of(self, system_id: str) -> str | None:
        system = self.systems.get(system_id)
        return system.kind if system else None

    def get(self, system_id: str) -> AgencySystem | None:
        return self.systems.get(system_id)

    def acts_for(self, system_id: str, unit_id: str, on: date) -> bool:
        system = self.systems.get(system_id)
        return system is not None and unit_id in system.unit_ids_on(on)

    def _system(self, system_id: str) -> AgencySystem:
        system = self.systems.get(system_id)
        if system is None:
            raise UnknownReference(f"Chưa đăng ký hệ thống «{system_id}».", system_id=system_id)
        return system
