"""Agency systems and keys in the org registry: effective-dated units, rotation, revocation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.contract.events.org import (
    AgencyKeyRegistered,
    AgencyKeyRevoked,
    AgencySystemRegistered,
    AgencySystemUnitsChanged,
    LevelDefined,
    LocalityRegistered,
    PublicJwk,
    UnitRegistered,
)
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.projection import replay
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.systems import SystemRegistry
from shared.security.signing import new_signing_key

KEY = new_signing_key("sys")
T = datetime(2026, 1, 1, tzinfo=UTC)


def test_units_are_effective_dated() -> None:
    reg = SystemRegistry()
    reg.register("sys", "Hệ thống", "agency", ["a"], date(2025, 1, 1))
    reg.change_units("sys", ["b"], date(2025, 7, 1))
    assert reg.acts_for("sys", "a", date(2025, 6, 30))
    assert not reg.acts_for("sys", "b", date(2025, 6, 30))
    assert reg.acts_for("sys", "b", date(2025, 7, 1))
    assert not reg.acts_for("sys", "a", date(2025, 7, 1))
    assert not reg.acts_for("sys", "a", date(2024, 12, 31))  # before the system existed
    assert not reg.acts_for("other", "a", date(2025, 6, 30))


def test_keys_rotate_and_revoke() -> None:
    reg = SystemRegistry()
    reg.register("sys", "Hệ thống", "agency", [], date(2025, 1, 1))
    kid = reg.add_key("sys", KEY.public_jwk(), T)
    second = new_signing_key("sys")
    reg.add_key("sys", second.public_jwk(), T)
    reg.revoke_key("sys", kid, T)
    reg.revoke_key("sys", kid, datetime(2027, 1, 1, tzinfo=UTC))  # a later revocation keeps the first
    found = reg.key(kid)
    assert found is not None and found.revoked_at == T
    assert reg.key(second.kid) is not None and reg.key(second.kid).revoked_at is None  # type: ignore[union-attr]


def test_bad_keys_and_unknown_references_are_refused() -> None:
    reg = SystemRegistry()
    reg.register("sys", "Hệ thống", "agency", [], date(2025, 1, 1))
    with pytest.raises(OrgDomainError) as info:
        reg.add_key("sys", {**KEY.public_jwk(), "kid": new_signing_key("x").kid}, T)
    assert info.value.code == "kid_mismatch"
    reg.add_key("sys", KEY.public_jwk(), T)
    with pytest.raises(OrgDomainError):
        reg.add_key("sys", KEY.public_jwk(), T)  # the same key twice
    with pytest.raises(OrgDomainError):
        reg.add_key("nobody", new_signing_key("n").public_jwk(), T)
    with pytest.raises(OrgDomainError):
        reg.register("sys", "again", "agency", [], date(2025, 1, 1))
    with pytest.raises(OrgDomainError):
        reg.register("s2", "x", "superuser", [], date(2025, 1, 1))


def test_the_projection_rebuilds_systems_from_org_events() -> None:
    base = [
        LevelDefined(code="tinh", rank=1, name_vi="Tỉnh"),
        LocalityRegistered(
            locality_id="kg", name="Kiên Giang", level_code="tinh", valid_from=date(2020, 1, 1)
        ),
        UnitRegistered(
            unit_id="kg.ubnd",
            name="UBND",
            kind="peoples_committee",
            locality_id="kg",
            valid_from=date(2020, 1, 1),
        ),
    ]
    events = [
        *base,
        AgencySystemRegistered(
            system_id="sys",
            name_vi="Hệ thống",
            kind="agency",
            unit_ids=("kg.ubnd",),
            valid_from=date(2025, 1, 1),
        ),
        AgencyKeyRegistered(system_id="sys", key=PublicJwk.model_validate(KEY.public_jwk()), valid_from=T),
        AgencyKeyRevoked(system_id="sys", kid=KEY.kid, revoked_at=T, reason="lộ khóa"),
        AgencySystemUnitsChanged(system_id="sys", unit_ids=(), on=date(2026, 6, 1)),
    ]
    reg: OrgRegistry = replay(events)
    assert reg.systems.acts_for("sys", "kg.ubnd", date(2026, 5, 31))
    assert not reg.systems.acts_for("sys", "kg.ubnd", date(2026, 6, 1))
    assert reg.systems.key(KEY.kid) is not None
    with pytest.raises(OrgDomainError):  # a system acting for a unit the registry does not know
        replay(
            [
                *base,
                AgencySystemRegistered(
                    system_id="x",
                    name_vi="X",
                    kind="agency",
                    unit_ids=("nowhere",),
                    valid_from=date(2025, 1, 1),
                ),
            ]
        )
