"""Signed envelopes: every request carries a JWS (Ed25519) over the exact bytes on Kafka.

Why a detached digest in a header: the envelope schema is published and must not change, and a
signature over the *record value bytes* leaves nothing to canonicalise — a consumer hashes what it
received. The Kafka header ``dv-signature`` holds a compact JWS whose protected header names the key
(``kid``, the RFC 7638 thumbprint) and whose payload is::

    {"iss": <system id>, "sha256": <base64url digest of the record value>, "iat": <unix seconds>}

``iat`` is compared with the time the *broker* appended the record (request topics use
``LogAppendTime``), so a captured message re-published later is refused as a replay, while a
consumer that is hours behind still accepts what was appended in time. Within that window a
re-published copy has the same envelope id and request id, so the idempotent handlers ignore it.

Pure: no Kafka or store imports. Keys come from the org registry through :class:`KeyDirectory`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

SIGNATURE_HEADER = "dv-signature"
ALGORITHM = "Ed25519"
TYPE = "dv-envelope+jws"
DEFAULT_MAX_SKEW_SECONDS = 300


class SignatureRefused(Exception):
    """Why a signed (or unsigned) message is not accepted; ``message_vi`` is shown to people."""

    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(f"{code}: {message_vi}")
        self.code = code
        self.message_vi = message_vi


@dataclass(frozen=True)
class SigningKey:
    """A system's private key, loaded from its JWK."""

    system_id: str
    kid: str
    key: OKPKey

    @classmethod
    def from_jwk(cls, system_id: str, jwk: str | Mapping[str, Any]) -> SigningKey:
        raw = json.loads(jwk) if isinstance(jwk, str) else dict(jwk)
        if raw.get("kty") != "OKP" or raw.get("crv") != "Ed25519" or "d" not in raw:
            raise ValueError("the signing key must be a private Ed25519 JWK (kty OKP, crv Ed25519, d)")
        key = OKPKey.import_key({k: v for k, v in raw.items() if k != "kid"})
        return cls(system_id=system_id, kid=key.thumbprint(), key=key)

    def public_jwk(self) -> dict[str, str]:
        pub = {str(k): str(v) for k, v in self.key.as_dict(private=False).items()}
        pub["kid"] = self.kid
        return pub


def new_signing_key(system_id: str) -> SigningKey:
    key = OKPKey.generate_key("Ed25519")
    return SigningKey(system_id=system_id, kid=key.thumbprint(), key=key)


def thumbprint(public_jwk: Mapping[str, Any]) -> str:
    return OKPKey.import_key({k: v for k, v in public_jwk.items() if k != "kid"}).thumbprint()


def _digest(value: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value).digest()).rstrip(b"=").decode()


def sign(key: SigningKey, value: bytes, *, now: datetime | None = None) -> str:
    """The ``dv-signature`` header value for a record whose value is ``value``."""
    moment = now or datetime.now(UTC)
    payload = json.dumps(
        {"iss": key.system_id, "sha256": _digest(value), "iat": int(moment.timestamp())},
        separators=(",", ":"),
    ).encode()
    return jws.serialize_compact(
        {"alg": ALGORITHM, "kid": key.kid, "typ": TYPE}, payload, key.key, algorithms=[ALGORITHM]
    )


@dataclass(frozen=True)
class RegisteredKey:
    """A public key as the org registry knows it."""

    system_id: str
    kid: str
    public_jwk: Mapping[str, str]
    valid_from: datetime
    revoked_at: datetime | None = None


class KeyDirectory(Protocol):
    """Where verifiers find keys (the local copy of the org registry)."""

    def key(self, kid: str) -> RegisteredKey | None: ...


@dataclass(frozen=True)
class Signer:
    """Who signed a message, once verified."""

    system_id: str
    kid: str
    issued_at: datetime


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        head_b64, payload_b64, _ = token.split(".")
        header = _b64json(head_b64)
        payload = _b64json(payload_b64)
    except (ValueError, json.JSONDecodeError) as exc:
        raise SignatureRefused(
            "signature_malformed", "Chữ ký số của thông điệp sai định dạng (không phải JWS hợp lệ)."
        ) from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise SignatureRefused("signature_malformed", "Chữ ký số của thông điệp sai định dạng.")
    return header, payload


def verify(
    headers: Mapping[str, str],
    value: bytes,
    directory: KeyDirectory,
    *,
    appended_at: datetime,
    max_skew_seconds: int = DEFAULT_MAX_SKEW_SECONDS,
) -> Signer:
    """Verify the ``dv-signature`` header of a record; raises :class:`SignatureRefused` with the reason."""
    token = headers.get(SIGNATURE_HEADER)
    if not token:
        raise SignatureRefused(
            "unsigned_request",
            "Yêu cầu không có chữ ký số của hệ thống gửi; mọi yêu cầu phải được ký bằng khóa đã đăng ký.",
        )
    header, claimed = _unverified(token)
    kid = str(header.get("kid") or "")
    if header.get("alg") != ALGORITHM or not kid:
        raise SignatureRefused(
            "signature_algorithm", f"Chữ ký số phải dùng thuật toán {ALGORITHM} và ghi mã khóa (kid)."
        )
    registered = directory.key(kid)
    if registered is None:
        raise SignatureRefused(
            "unknown_key", f"Khóa ký «{kid[:16]}…» chưa được đăng ký trong sổ đăng ký tổ chức."
        )
    try:
        result = jws.deserialize_compact(
            token, OKPKey.import_key(dict(registered.public_jwk)), algorithms=[ALGORITHM]
        )
        payload = json.loads(result.payload)
    except (JoseError, ValueError) as exc:
        raise SignatureRefused("bad_signature", "Chữ ký số không khớp với khóa đã đăng ký.") from exc
    if payload != claimed or payload.get("iss") != registered.system_id:
        raise SignatureRefused(
            "signer_mismatch", "Hệ thống ghi trong chữ ký không phải chủ sở hữu của khóa đã ký."
        )
    if payload.get("sha256") != _digest(value):
        raise SignatureRefused(
            "tampered_request", "Nội dung yêu cầu đã bị thay đổi sau khi ký (mã băm không khớp)."
        )
    try:
        issued_at = datetime.fromtimestamp(int(payload["iat"]), UTC)
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureRefused("signature_malformed", "Chữ ký số thiếu thời điểm ký (iat).") from exc
    if registered.revoked_at is not None and issued_at >= registered.revoked_at:
        raise SignatureRefused(
            "revoked_key",
            f"Khóa ký của hệ thống «{registered.system_id}» đã bị thu hồi từ "
            f"{_vi(registered.revoked_at)}; yêu cầu ký sau thời điểm đó không được chấp nhận.",
        )
    if issued_at < registered.valid_from:
        raise SignatureRefused(
            "key_not_yet_valid",
            f"Khóa ký của hệ thống «{registered.system_id}» chỉ có hiệu lực từ {_vi(registered.valid_from)}.",
        )
    skew = abs((appended_at - issued_at).total_seconds())
    if skew > max_skew_seconds:
        raise SignatureRefused(
            "replayed_request",
            f"Yêu cầu được ký lúc {_vi(issued_at)} nhưng đến hệ thống lúc {_vi(appended_at)} "
            f"(lệch quá {max_skew_seconds} giây): có thể là thông điệp bị phát lại, không được chấp nhận.",
        )
    return Signer(system_id=registered.system_id, kid=kid, issued_at=issued_at)


def _vi(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%H:%M:%S ngày %d/%m/%Y (UTC)")
    return moment.strftime("%d/%m/%Y")
