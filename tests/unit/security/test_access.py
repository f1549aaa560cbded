"""Roles per unit, access tokens and the audit chain (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import OKPKey

from shared.access.audit import AuditEntry, MemoryAuditLog, verify_chain
from shared.access.roles import ALL_UNITS, Grant, Identity, Role
from shared.access.tokens import TokenRefused, issue, verify

TREE = {"kg.rg.ubnd": ("kg.ubnd",), "kg.ubnd": (), "kg.bdv": ("kg.cap_uy",), "kg.cap_uy": ()}
ON = date(2026, 12, 2)


def ancestors(unit: str) -> tuple[str, ...]:
    return TREE.get(unit, ())


def person(*grants: Grant) -> Identity:
    return Identity(subject="p.1", name="Người thử", grants=grants)


def test_a_grant_covers_its_unit_and_the_units_below_not_above_or_beside() -> None:
    me = person(Grant(Role.DRAFTER, "kg.ubnd", date(2024, 1, 1)))
    assert me.covers({Role.DRAFTER}, "kg.ubnd", ON, ancestors)
    assert me.covers({Role.DRAFTER}, "kg.rg.ubnd", ON, ancestors)
    assert not me.covers({Role.DRAFTER}, "kg.bdv", ON, ancestors)
    assert not me.covers({Role.APPROVER}, "kg.ubnd", ON, ancestors)
    child = person(Grant(Role.DRAFTER, "kg.rg.ubnd", date(2024, 1, 1)))
    assert not child.covers({Role.DRAFTER}, "kg.ubnd", ON, ancestors)


def test_grants_are_effective_dated() -> None:
    me = person(Grant(Role.APPROVER, "kg.ubnd", date(2026, 1, 1), date(2026, 12, 2)))
    assert me.covers({Role.APPROVER}, "kg.ubnd", date(2026, 12, 1), ancestors)
    assert not me.covers({Role.APPROVER}, "kg.ubnd", ON, ancestors)  # valid_to is exclusive
    assert not me.covers({Role.APPROVER}, "kg.ubnd", date(2025, 12, 31), ancestors)


def test_cases_are_visible_to_auditors_and_casework_of_the_units_not_to_operators() -> None:
    assert person(Grant(Role.AUDITOR, ALL_UNITS, date(2024, 1, 1))).may_read_case(["kg.bdv"], ON, ancestors)
    assert not person(Grant(Role.OPERATOR, ALL_UNITS, date(2024, 1, 1))).may_read_case(
        ["kg.bdv"], ON, ancestors
    )
    syn = person(Grant(Role.SYNTHESISER, "kg.bdv", date(2024, 1, 1)))
    assert syn.may_read_case(["kg.ubnd", "kg.bdv"], ON, ancestors)
    assert not syn.may_read_case(["kg.ubnd"], ON, ancestors)


@given(st.sampled_from(list(Role)), st.sampled_from(sorted(TREE)), st.sampled_from(sorted(TREE)))
def test_coverage_is_exactly_self_or_ancestor(role: Role, granted_at: str, unit: str) -> None:
    me = person(Grant(role, granted_at, date(2020, 1, 1)))
    assert me.covers({role}, unit, ON, ancestors) == (granted_at == unit or granted_at in ancestors(unit))


KEY = OKPKey.generate_key("Ed25519")
PUBLIC = OKPKey.import_key(KEY.as_dict(private=False))


def _token(now: datetime, key: OKPKey = KEY) -> str:
    return issue(
        key,
        subject="p.kg.004",
        name="Huỳnh Thị Ngọc Lan",
        session_id="s1",
        method="password",
        grants=(Grant(Role.SYNTHESISER, "kg.bdv", date(2024, 1, 1), date(2027, 1, 1)),),
        now=now,
    )


def test_a_token_round_trips_its_identity() -> None:
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    identity = verify(_token(now), PUBLIC, now=now + timedelta(minutes=9))
    assert identity.subject == "p.kg.004" and identity.name == "Huỳnh Thị Ngọc Lan"
    assert identity.grants == (Grant(Role.SYNTHESISER, "kg.bdv", date(2024, 1, 1), date(2027, 1, 1)),)


def test_expired_forged_and_tampered_tokens_are_refused() -> None:
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    with pytest.raises(TokenRefused) as expired:
        verify(_token(now), PUBLIC, now=now + timedelta(minutes=10))
    assert expired.value.code == "token_expired"
    with pytest.raises(TokenRefused) as forged:
        verify(_token(now, OKPKey.generate_key("Ed25519")), PUBLIC, now=now)
    assert forged.value.code == "token_invalid"
    header, payload, sig = _token(now).split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["grants"] = [{"r": "auditor", "u": "*", "f": "2020-01-01", "t": None}]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenRefused):
        verify(f"{header}.{forged_payload}.{sig}", PUBLIC, now=now)
    with pytest.raises(TokenRefused):
        verify("not-a-token", PUBLIC, now=now)


async def test_the_audit_log_is_a_hash_chain_that_shows_an_edit() -> None:
    log = MemoryAuditLog()
    for i in range(5):
        await log.record(
            AuditEntry("org", "refusal", f"p.{i}", "POST /api/changes", "missing_role", "refused")
        )
    docs = log.docs
    assert verify_chain(docs) is None
    docs[2] = {**docs[2], "who": "p.someone-else"}
    assert verify_chain(docs) == 3
    assert verify_chain(log.docs[:2] + log.docs[3:]) == 4  # a removed entry breaks the next one
