"""Access tokens: what org hands a signed-in person, what every service verifies (pure).

A compact JWS (Ed25519, ``typ: dv-access+jwt``) signed with org's *session key* — a key of its own,
never the key org signs Kafka envelopes with. Claims::

    {"iss": "danvan-org", "sub": <person id>, "name": ..., "sid": <session id>, "amr": "password"|"oidc",
     "grants": [{"r": role, "u": unit, "f": "YYYY-MM-DD", "t": "YYYY-MM-DD"|null}, ...],
     "iat": <unix>, "exp": <unix>}

Why short-lived, self-contained tokens with a server-side session behind them: services own their
databases and talk to each other only through Kafka, so none can ask org "is this session alive?".
The session lives in org's store (sign-out, lockout and expiry end it); a token is valid at most
``ttl`` (10 minutes by default) and is re-issued from the live session by org's sign-in page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from shared.access.roles import Grant, Identity, Role
from shared.security.local_secrets import read_local

ALGORITHM = "Ed25519"
TYPE = "dv-access+jwt"
ISSUER = "danvan-org"
DEFAULT_TTL = timedelta(minutes=10)
LOCAL_KEY_FILE = "keys/sessions.jwk"


class TokenRefused(Exception):
    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_vi = message_vi


def _import(raw: str | Mapping[str, Any]) -> OKPKey:
    data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    if data.get("kty") != "OKP" or data.get("crv") != "Ed25519":
        raise ValueError("the session key must be an Ed25519 JWK (kty OKP, crv Ed25519)")
    return OKPKey.import_key({k: v for k, v in data.items() if k != "kid"})


def load_issuer_key() -> OKPKey | None:
    """org's private session key: ``AUTH_TOKEN_KEY`` (JWK JSON) or ``AUTH_TOKEN_KEY_FILE``; locally
    ``.cache/secrets/keys/sessions.jwk`` (never in production)."""
    raw = os.environ.get("AUTH_TOKEN_KEY")
    if not raw and os.environ.get("AUTH_TOKEN_KEY_FILE"):
        raw = Path(os.environ["AUTH_TOKEN_KEY_FILE"]).read_text(encoding="utf-8")
    raw = raw or read_local(LOCAL_KEY_FILE)
    key = _import(raw) if raw else None
    if key is not None and not key.is_private:
        raise ValueError("AUTH_TOKEN_KEY must be the private session key")
    return key


def load_verifier_key() -> OKPKey | None:
    """The public half every service verifies with: ``AUTH_TOKEN_PUBLIC_KEY`` (JWK JSON); locally
    derived from the generated session key."""
    raw = os.environ.get("AUTH_TOKEN_PUBLIC_KEY")
    if raw:
        return _import(raw)
    private = load_issuer_key()
    if private is None:
        return None
    return OKPKey.import_key(private.as_dict(private=False))


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def issue(
    key: OKPKey,
    *,
    subject: str,
    name: str,
    session_id: str,
    method: str,
    grants: tuple[Grant, ...],
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> str:
    moment = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "name": name,
        "sid": session_id,
        "amr": method,
        "grants": [
            {"r": g.role.value, "u": g.unit_id, "f": _day(g.valid_from), "t": _day(g.valid_to)}
            for g in grants
        ],
        "iat": int(moment.timestamp()),
        "exp": int((moment + ttl).timestamp()),
    }
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(
        {"alg": ALGORITHM, "typ": TYPE, "kid": key.thumbprint()}, payload, key, algorithms=[ALGORITHM]
    )


def verify(token: str, key: OKPKey, *, now: datetime | None = None) -> Identity:
    """The identity in a valid token, else :class:`TokenRefused` (expired, forged, malformed)."""
    if len(token) > 16_384:
        raise TokenRefused("token_malformed", "Mã phiên đăng nhập không hợp lệ.")
    try:
        result = jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
        header = result.protected
        claims = json.loads(result.payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise TokenRefused("token_invalid", "Mã phiên đăng nhập không hợp lệ hoặc đã bị sửa đổi.") from exc
    if header.get("typ") != TYPE or not isinstance(claims, dict) or claims.get("iss") != ISSUER:
        raise TokenRefused("token_invalid", "Mã phiên đăng nhập không do hệ thống này cấp.")
    moment = now or datetime.now(UTC)
    try:
        expires = int(claims["exp"])
        grants = tuple(
            Grant(
                role=Role(g["r"]),
                unit_id=str(g["u"]),
                valid_from=date.fromisoformat(g["f"]),
                valid_to=date.fromisoformat(g["t"]) if g.get("t") else None,
            )
            for g in claims.get("grants", [])
        )
        identity = Identity(
            subject=str(claims["sub"]),
            name=str(claims.get("name", "")),
            grants=grants,
            session_id=str(claims.get("sid", "")),
            method=str(claims.get("amr", "password")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenRefused("token_malformed", "Mã phiên đăng nhập thiếu thông tin bắt buộc.") from exc
    if moment.timestamp() >= expires:
        raise TokenRefused("token_expired", "Phiên đăng nhập đã hết hạn; vui lòng đăng nhập lại.")
    return identity
