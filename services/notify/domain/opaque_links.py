"""Opaque action links: ``/a/<random token>``, the claims kept server-side.

Why: the signed links of :mod:`services.notify.domain.links` carry their claims (person, role,
unit, decision) readable in base64 JSON, and are long; link scanners of the receiving mail systems
distrust such links and readers could learn who a link is for. A new link is a random token of
192 bits (``secrets.token_urlsafe(24)``, 32 URL-safe characters) and nothing else; notify's links
collection holds what it grants. The store keys the lookup on the token's SHA-256
(:func:`token_digest`) so the index holds no usable credential.

Signed links already sent (``dv1.…``) keep working until they expire: the pages tell the two
formats apart with :func:`is_signed` and verify those as before.

What a link may do is decided here, pure: unknown → :class:`NotOnRecord`; past expiry →
:class:`Expired` (with the claims, so the page can still show what was submitted); revoked →
:class:`Revoked`; opened for another action, decision, unit or person → :class:`WrongRecipient`.
Single use is unchanged (:func:`services.notify.domain.links.single_use_rule` on the result).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.links import (
    TOKEN_VERSION,
    Action,
    LinkClaims,
    Malformed,
    NotOnRecord,
    VerifiedLink,
    admit,
    require_aware,
)

TOKEN_BYTES = 24
OPAQUE_KEY_ID = "opaque"
"""The ``key_id`` of a :class:`VerifiedLink` opened from the store (no signing key involved)."""
_OPAQUE_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def new_token() -> str:
    """A fresh link token: 192 random bits, URL-safe, 32 characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_signed(token: str) -> bool:
    """A link of the former, signed format (verified with the link keys, as before)."""
    return token.startswith(TOKEN_VERSION + ".")


def token_digest(token: str) -> str:
    """The key the links collection is searched on (SHA-256 hex of the token)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def check_shape(token: str) -> None:
    """Raise :class:`Malformed` unless ``token`` has the shape of an opaque token (a link cut short
    when copied says so, rather than "not issued")."""
    if not isinstance(token, str) or not _OPAQUE_RE.match(token):
        raise Malformed("not an opaque token")


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """What notify stored when it issued an opaque link."""

    claims: LinkClaims
    revoked: bool = False


def open_record(
    record: LinkRecord | None,
    now: datetime,
    *,
    expect_action: Action | None = None,
    expect_decision_id: str | None = None,
    expect_unit_id: str | None = None,
    expect_person_id: str | None = None,
) -> VerifiedLink:
    """The link a stored record grants at ``now``, or the precise :class:`LinkError`.

    Unknown first (:class:`NotOnRecord`), then as every link (:func:`~services.notify.domain.links.admit`):
    expiry before revocation before the context the page is opened in."""
    require_aware(now)
    if record is None:
        raise NotOnRecord("no link with this token was issued")
    return admit(
        record.claims,
        now,
        OPAQUE_KEY_ID,
        revoked=record.revoked,
        expect_action=expect_action,
        expect_decision_id=expect_decision_id,
        expect_unit_id=expect_unit_id,
        expect_person_id=expect_person_id,
    )
