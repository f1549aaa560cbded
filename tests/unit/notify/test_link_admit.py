"""services/notify/domain/links.py admit: the order every link, signed or opaque, is judged in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.links import (
    Action,
    Expired,
    LinkClaims,
    Revoked,
    WrongRecipient,
    admit,
    verify,
)
from tests.unit.notify.test_links import KEYS, NOW, _issue


def _claims(expires_at: datetime = NOW + timedelta(days=1)) -> LinkClaims:
    token = _issue(expires_at=expires_at)
    return verify(token, NOW - timedelta(days=30), KEYS).claims


def test_grants_with_the_key_id_and_the_time() -> None:
    claims = _claims()
    link = admit(claims, NOW, "k9", expect_action=Action.GIVE_OPINION, expect_unit_id="unit-mttq-kg")
    assert (link.key_id, link.verified_at, link.claims) == ("k9", NOW, claims)


def test_expiry_before_revocation_before_context() -> None:
    past = _claims(expires_at=NOW)
    with pytest.raises(Expired) as expired:
        admit(past, NOW, "k1", revoked=True, expect_decision_id="other")
    assert expired.value.claims == past
    with pytest.raises(Revoked):
        admit(_claims(), NOW, "k1", revoked=True, expect_decision_id="other")
    with pytest.raises(WrongRecipient):
        admit(_claims(), NOW, "k1", expect_decision_id="other")


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        admit(_claims(), NOW.replace(tzinfo=None), "k1")


def test_tz_of_now_is_kept() -> None:
    assert admit(_claims(), NOW.astimezone(UTC), "k1").verified_at == NOW
