"""Action links: signing, verification errors, single-use rule, substitute routing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify.domain.links import (
    Action,
    AlreadyUsed,
    Expired,
    LinkError,
    Malformed,
    SigningKey,
    Tampered,
    UnknownKey,
    UseDecision,
    WrongRecipient,
    issue_link,
    single_use_rule,
    verify,
)

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
K1 = SigningKey("k1", b"a" * 32)
K2 = SigningKey("k2", b"b" * 32)
KEYS = {"k1": K1.secret, "k2": K2.secret}


def _issue(**kw: object) -> str:
    args: dict[str, object] = {
        "key": K1,
        "recipient_unit_id": "unit-mttq-kg",
        "recipient_role": "fatherland_front",
        "person_id": "p-001",
        "decision_id": "dec-42",
        "action": Action.GIVE_OPINION,
        "expires_at": NOW + timedelta(days=7),
    }
    args.update(kw)
    return issue_link(**args).token  # type: ignore[arg-type]


def test_round_trip_returns_all_claims() -> None:
    link = issue_link(
        key=K1,
        recipient_unit_id="unit-mttq-kg",
        recipient_role="fatherland_front",
        person_id="p-001",
        decision_id="dec-42",
        action=Action.GIVE_OPINION,
        expires_at=NOW + timedelta(days=7, microseconds=5),
    )
    v = verify(link.token, NOW, KEYS)
    assert v.claims == link.claims
    assert v.key_id == "k1"
    assert v.single_use
    assert len(link.token_id) >= 32  # token_urlsafe(24): 192 bits
    assert link.url("https://dv.example.vn/") == f"https://dv.example.vn/a/{link.token}"


def test_token_ids_are_random() -> None:
    assert (
        len(
            {
                issue_link(
                    key=K1,
                    recipient_unit_id="u",
                    recipient_role="r",
                    person_id="p",
                    decision_id="d",
                    action=Action.VIEW_ISSUED,
                    expires_at=NOW + timedelta(days=1),
                ).token_id
                for _ in range(50)
            }
        )
        == 50
    )


def test_key_rotation_old_key_still_verifies_and_retired_key_is_unknown() -> None:
    old = _issue(key=K1)
    new = _issue(key=K2)
    assert verify(old, NOW, KEYS).key_id == "k1"
    assert verify(new, NOW, KEYS).key_id == "k2"
    with pytest.raises(UnknownKey) as exc:
        verify(old, NOW, {"k2": K2.secret})
    assert exc.value.status == 404


def _swap_payload(token: str, **changes: object) -> str:
    v, kid, body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    nb = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return ".".join([v, kid, nb, sig])


@pytest.mark.parametrize(
    "change",
    [
        {"u": "unit-other"},
        {"r": "dan_van_board"},
        {"p": "p-999"},
        {"d": "dec-43"},
        {"a": "view"},
        {"e": 4102444800},
        {"t": "X" * 32},
    ],
)
def test_any_claim_change_is_tampered(change: dict[str, object]) -> None:
    with pytest.raises(Tampered) as exc:
        verify(_swap_payload(_issue(), **change), NOW, KEYS)
    assert exc.value.status == 403


def test_key_id_swap_is_tampered() -> None:
    token = _issue(key=K1)
    with pytest.raises(Tampered):
        verify(token.replace("dv1.k1.", "dv1.k2.", 1), NOW, KEYS)


def test_signature_from_another_key_is_tampered() -> None:
    t1 = _issue(key=K1).split(".")
    t2 = _issue(key=K2).split(".")
    with pytest.raises(Tampered):
        verify(".".join([*t1[:3], t2[3]]), NOW, KEYS)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "dv1.k1.x",
        "dv2.k1.e30.AAAA",
        "dv1.k1..AAAA",
        "dv1.k 1.e30.AAAA",
        "dv1.k1.e30.@@@",
        "dv1.k1.e30.AAAA",
        "dv1.k1.e30." + "A" * 43 + ".extra",
        "dv1.k1.e30.ÀÁ",
        "x" * 5000,
    ],
)
def test_malformed(token: str) -> None:
    with pytest.raises(Malformed) as exc:
        verify(token, NOW, KEYS)
    assert exc.value.status == 400


def test_truncated_token_is_malformed_or_tampered_never_other() -> None:
    token = _issue()
    for cut in range(1, len(token)):
        with pytest.raises((Malformed, Tampered, UnknownKey)):
            verify(token[:cut], NOW, KEYS)


def test_expired_at_and_after_expiry() -> None:
    token = _issue(expires_at=NOW)
    with pytest.raises(Expired) as exc:
        verify(token, NOW, KEYS)
    assert exc.value.status == 410
    assert exc.value.expired_at == NOW
    assert exc.value.claims is not None and exc.value.claims.decision_id == "dec-42"
    assert verify(token, NOW - timedelta(seconds=1), KEYS)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        verify(_issue(), NOW.replace(tzinfo=None), KEYS)


@pytest.mark.parametrize(
    "expect",
    [
        {"expect_action": Action.VIEW_ISSUED},
        {"expect_decision_id": "dec-43"},
        {"expect_unit_id": "u-x"},
        {"expect_person_id": "p-x"},
    ],
)
def test_wrong_recipient(expect: dict[str, object]) -> None:
    with pytest.raises(WrongRecipient) as exc:
        verify(_issue(), NOW, KEYS, **expect)  # type: ignore[arg-type]
    assert exc.value.status == 403


def test_matching_expectations_pass() -> None:
    v = verify(
        _issue(),
        NOW,
        KEYS,
        expect_action=Action.GIVE_OPINION,
        expect_decision_id="dec-42",
        expect_unit_id="unit-mttq-kg",
        expect_person_id="p-001",
    )
    assert v.claims.person_id == "p-001"


def test_every_error_has_vietnamese_message_and_4xx() -> None:
    for cls in (Malformed, Tampered, UnknownKey, Expired, WrongRecipient, AlreadyUsed):
        err: LinkError = cls()
        assert 400 <= err.status < 500
        assert err.message_vi and err.title_vi
        # Vietnamese with diacritics, not ASCII-folded text.
        assert not err.message_vi.isascii()
    assert {c.status for c in (Malformed, Tampered, UnknownKey, Expired, AlreadyUsed)} == {
        400,
        403,
        404,
        409,
        410,
    }


def test_signing_key_validation() -> None:
    with pytest.raises(ValueError):
        SigningKey("k1", b"short")
    with pytest.raises(ValueError):
        SigningKey("bad.id", b"a" * 32)
    with pytest.raises(ValueError):
        issue_link(
            key=K1,
            recipient_unit_id="",
            recipient_role="r",
            person_id="p",
            decision_id="d",
            action=Action.GIVE_OPINION,
            expires_at=NOW,
        )
    with pytest.raises(ValueError):
        _issue(token_id="short")


def test_single_use_rule() -> None:
    opinion = verify(_issue(), NOW, KEYS)
    view = verify(_issue(action=Action.VIEW_ISSUED), NOW, KEYS)
    assert single_use_rule(opinion, already_submitted=False, wants_submit=False) is UseDecision.SHOW_FORM
    assert single_use_rule(opinion, already_submitted=False, wants_submit=True) is UseDecision.ACCEPT
    assert single_use_rule(opinion, already_submitted=True, wants_submit=True) is UseDecision.SHOW_SUBMITTED
    assert single_use_rule(opinion, already_submitted=True, wants_submit=False) is UseDecision.SHOW_SUBMITTED
    assert single_use_rule(view, already_submitted=True, wants_submit=False) is UseDecision.SHOW_FORM


@settings(max_examples=60, deadline=None)
@given(
    unit=st.text(min_size=1, max_size=40),
    role=st.text(min_size=1, max_size=20),
    person=st.text(min_size=1, max_size=40),
    decision=st.text(min_size=1, max_size=40),
    action=st.sampled_from(list(Action)),
)
def test_round_trip_any_unicode_ids(unit: str, role: str, person: str, decision: str, action: Action) -> None:
    link = issue_link(
        key=K1,
        recipient_unit_id=unit,
        recipient_role=role,
        person_id=person,
        decision_id=decision,
        action=action,
        expires_at=NOW + timedelta(hours=1),
    )
    assert link.token.isascii()
    assert verify(link.token, NOW, KEYS).claims == link.claims
