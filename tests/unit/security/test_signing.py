"""Signed envelopes: every way a signature can be wrong is refused with its own reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.security.principal import Principal, RecordAuthenticator, Unauthenticated
from shared.security.signing import (
    SIGNATURE_HEADER,
    RegisteredKey,
    SignatureRefused,
    SigningKey,
    new_signing_key,
    sign,
    verify,
)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class Directory:
    def __init__(self, *keys: RegisteredKey, kinds: dict[str, str] | None = None) -> None:
        self.keys = {k.kid: k for k in keys}
        self.kinds = kinds or {}

    def key(self, kid: str) -> RegisteredKey | None:
        return self.keys.get(kid)

    def kind_of(self, system_id: str) -> str | None:
        return self.kinds.get(system_id)


def registered(
    key: SigningKey, *, revoked_at: datetime | None = None, system_id: str | None = None
) -> RegisteredKey:
    return RegisteredKey(system_id or key.system_id, key.kid, key.public_jwk(), EPOCH, revoked_at)


def refusal(headers: dict[str, str], value: bytes, directory: Directory, at: datetime = NOW) -> str:
    with pytest.raises(SignatureRefused) as info:
        verify(headers, value, directory, appended_at=at)
    assert info.value.message_vi  # every refusal explains itself in Vietnamese
    return info.value.code


KEY = new_signing_key("kg.ubnd.vpdt")
VALUE = json.dumps({"id": "e1", "type": "decision.draft_submitted"}).encode()


def test_a_good_signature_names_its_system_and_time() -> None:
    signer = verify(
        {SIGNATURE_HEADER: sign(KEY, VALUE, now=NOW)}, VALUE, Directory(registered(KEY)), appended_at=NOW
    )
    assert (signer.system_id, signer.kid, signer.issued_at) == (KEY.system_id, KEY.kid, NOW)


def test_unsigned_unknown_key_and_other_key_are_refused() -> None:
    other = new_signing_key("kg.ubnd.vpdt")
    assert refusal({}, VALUE, Directory(registered(KEY))) == "unsigned_request"
    assert (
        refusal({SIGNATURE_HEADER: sign(other, VALUE, now=NOW)}, VALUE, Directory(registered(KEY)))
        == "unknown_key"
    )
    assert (
        refusal({SIGNATURE_HEADER: "not.a.jws"}, VALUE, Directory(registered(KEY))) == "signature_malformed"
    )


def test_a_key_registered_to_another_system_cannot_sign_as_this_one() -> None:
    # the org registry says the key belongs to "notify"; the JWS claims to be kg.ubnd.vpdt
    directory = Directory(registered(KEY, system_id="notify"))
    assert refusal({SIGNATURE_HEADER: sign(KEY, VALUE, now=NOW)}, VALUE, directory) == "signer_mismatch"


def test_a_forged_signature_with_a_known_kid_is_refused() -> None:
    attacker = new_signing_key(KEY.system_id)
    forged = SigningKey(KEY.system_id, KEY.kid, attacker.key)  # claims KEY's kid, signs with its own key
    assert (
        refusal({SIGNATURE_HEADER: sign(forged, VALUE, now=NOW)}, VALUE, Directory(registered(KEY)))
        == "bad_signature"
    )


@given(st.binary(min_size=1, max_size=200))
def test_any_change_of_the_signed_bytes_is_detected(other: bytes) -> None:
    if other == VALUE:
        return
    header = {SIGNATURE_HEADER: sign(KEY, VALUE, now=NOW)}
    assert refusal(header, other, Directory(registered(KEY))) == "tampered_request"


def test_revoked_key_refuses_what_is_signed_after_revocation_only() -> None:
    directory = Directory(registered(KEY, revoked_at=NOW - timedelta(minutes=1)))
    assert refusal({SIGNATURE_HEADER: sign(KEY, VALUE, now=NOW)}, VALUE, directory) == "revoked_key"
    before = NOW - timedelta(minutes=2)
    verify({SIGNATURE_HEADER: sign(KEY, VALUE, now=before)}, VALUE, directory, appended_at=before)


def test_a_signature_replayed_later_is_refused_but_a_late_consumer_accepts_it() -> None:
    header = {SIGNATURE_HEADER: sign(KEY, VALUE, now=NOW)}
    directory = Directory(registered(KEY))
    # the broker appended it an hour after signing: a captured request published again
    assert refusal(header, VALUE, directory, at=NOW + timedelta(hours=1)) == "replayed_request"
    # appended in time (the consumer may read it much later: only the append time counts)
    verify(header, VALUE, directory, appended_at=NOW + timedelta(seconds=30))


def test_the_authenticator_turns_refusals_into_values() -> None:
    auth = RecordAuthenticator(lambda: Directory(registered(KEY), kinds={KEY.system_id: "agency"}))
    ms = int(NOW.timestamp() * 1000)
    ok = auth({SIGNATURE_HEADER: sign(KEY, VALUE, now=NOW)}, VALUE, ms)
    assert isinstance(ok, Principal) and ok.kind == "agency"
    bad = auth({}, VALUE, ms)
    assert isinstance(bad, Unauthenticated) and bad.code == "unsigned_request"


def test_private_jwk_round_trip_keeps_the_kid() -> None:
    raw = {**KEY.key.as_dict(private=True), "kid": KEY.kid}
    again = SigningKey.from_jwk("x", json.dumps(raw))
    assert again.kid == KEY.kid
    with pytest.raises(ValueError):
        SigningKey.from_jwk("x", KEY.public_jwk())  # a public key cannot sign
