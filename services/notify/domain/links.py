"""Action links: signed, expiring, single-use links in notifications.

Why: staff of the Dân vận board (``dan_van_board`` — Ban Dân vận), the Fatherland Front
(``fatherland_front`` — Mặt trận Tổ quốc) and the socio-political organisations give their
opinion on a draft *without an account*. The link itself is the credential, so it must be

* unguessable — a random token id of 192 bits (``secrets.token_urlsafe(24)``);
* unforgeable and unalterable — an HMAC-SHA256 over every claim (token id, recipient unit,
  recipient role, person, decision, action, expiry), with the key id inside the token so keys
  can be rotated while links already sent stay valid until their key is retired;
* bounded in time — an expiry, checked against an injected clock;
* single-use for submitting — the store of used token ids is outside this pure module; the
  rule it gives (:func:`single_use_rule`) is that a replay *shows what was submitted* and never
  records a second opinion.

Token layout (URL-safe, no padding)::

    dv1.<key id>.<base64url(canonical JSON claims)>.<base64url(HMAC-SHA256)>

The MAC covers the exact bytes ``dv1.<key id>.<payload>``, so the token is not malleable
(no two strings verify to the same claims) and the key id cannot be swapped.

Every failure is a :class:`LinkError` subclass carrying a Vietnamese message for the page
and the HTTP status the page must answer with — never a 500.

Who receives a link (the holder, or the substitute acting that day) is the org domain's rule
(:meth:`shared.orgmodel.people.PeopleRegistry.dan_van_in_charge`, through :mod:`services.notify.recipients`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

TOKEN_VERSION = "dv1"
MAX_TOKEN_LENGTH = 2048
MIN_SECRET_BYTES = 32
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_B64_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_CLAIM_KEYS = frozenset({"t", "u", "r", "p", "d", "a", "e"})


class Action(StrEnum):
    """What a link lets its holder do. Only :attr:`GIVE_OPINION` is single-use."""

    GIVE_OPINION = "opinion"
    """Góp ý dự thảo — submit an opinion on a draft (single-use)."""
    VIEW_ISSUED = "view"
    """Xem văn bản đã ban hành — read the information given after issuance."""
    SUBMIT_REPORT = "report"
    """Gửi báo cáo — open the reporting form of the reporting regime."""
    MODERATE_PUBLIC_COMMENTS = "moderate"
    """Kiểm duyệt góp ý của nhân dân — the Dân vận board (the synthesiser unit) approves or rejects
    the citizens' comments on one draft. *Not* single-use: the moderator comes back as comments
    arrive; each moderation is deduplicated per (comment, outcome) instead."""


SINGLE_USE_ACTIONS: frozenset[Action] = frozenset({Action.GIVE_OPINION})


# --------------------------------------------------------------------------- errors


class LinkError(Exception):
    """A link cannot be honoured. ``message_vi`` is shown on the page; ``status`` is the HTTP code."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "link_error"
    title_vi: ClassVar[str] = "Liên kết không hợp lệ"
    message_vi: ClassVar[str] = "Liên kết không hợp lệ."

    def __init__(self, detail: str = "") -> None:
        # ``detail`` is for logs only: never shown to the person (it may help an attacker).
        super().__init__(detail or self.code)
        self.detail = detail


class Malformed(LinkError):
    """The string is not a token we could have issued (truncated when copied, mangled by a mail client)."""

    status = 400
    code = "malformed"
    title_vi = "Liên kết không đúng định dạng"
    message_vi = (
        "Liên kết không đầy đủ hoặc bị sai định dạng, có thể do bị cắt ngắn khi sao chép. "
        "Vui lòng mở lại liên kết trong thư hoặc tin nhắn gốc."
    )


class Tampered(LinkError):
    """The signature does not match: the link was altered or forged."""

    status = 403
    code = "tampered"
    title_vi = "Liên kết đã bị thay đổi"
    message_vi = (
        "Liên kết không đúng với liên kết hệ thống đã gửi nên không thể sử dụng. "
        "Vui lòng dùng đúng liên kết trong thông báo gốc hoặc liên hệ cơ quan gửi để được cấp lại."
    )


class UnknownKey(LinkError):
    """The key id is not (or no longer) known: the signing key was retired, or the key id is invented.

    404 because the server does not recognise the link at all; we deliberately do not tell a
    retired key from an invented one.
    """

    status = 404
    code = "unknown_key"
    title_vi = "Không nhận diện được liên kết"
    message_vi = (
        "Hệ thống không nhận diện được liên kết này (liên kết có thể đã được thay thế). "
        "Vui lòng liên hệ cơ quan gửi để được cấp liên kết mới."
    )


class Expired(LinkError):
    """The link is past its expiry: 410 Gone, the resource existed but is no longer available."""

    status = 410
    code = "expired"
    title_vi = "Liên kết đã hết hạn"
    message_vi = (
        "Liên kết đã hết hạn sử dụng. Nếu vẫn cần gửi ý kiến, "
        "vui lòng liên hệ cơ quan chủ trì soạn thảo để được cấp liên kết mới."
    )

    def __init__(self, detail: str = "", *, claims: LinkClaims | None = None) -> None:
        super().__init__(detail)
        # The signature was valid, so the claims are authentic: the page may still show what was
        # submitted with an expired link (a receipt), never accept a new submission.
        self.claims = claims

    @property
    def expired_at(self) -> datetime | None:
        return self.claims.expires_at if self.claims else None


class WrongRecipient(LinkError):
    """The link is valid but opened for another recipient, decision or purpose than it was issued for."""

    status = 403
    code = "wrong_recipient"
    title_vi = "Liên kết không dành cho nội dung này"
    message_vi = (
        "Liên kết này được cấp cho người nhận hoặc văn bản khác, nên không thể dùng tại đây. "
        "Vui lòng dùng đúng liên kết trong thông báo gửi cho đơn vị của đồng chí."
    )


class NotOnRecord(LinkError):
    """The signature verifies but notify never issued this link (or not to this person, unit or
    draft): a forged link made with a leaked secret. Refused like a tampered one."""

    status = 403
    code = "not_on_record"
    title_vi = "Liên kết không do hệ thống cấp"
    message_vi = (
        "Hệ thống không cấp liên kết này nên không thể sử dụng. "
        "Vui lòng dùng đúng liên kết trong thông báo gốc hoặc liên hệ cơ quan gửi để được cấp lại."
    )


class Revoked(LinkError):
    """The link was issued but has been revoked (lost phone, wrong recipient, replaced)."""

    status = 410
    code = "revoked"
    title_vi = "Liên kết đã bị thu hồi"
    message_vi = (
        "Liên kết này đã bị thu hồi và không còn sử dụng được. "
        "Vui lòng liên hệ cơ quan chủ trì soạn thảo để được cấp liên kết mới."
    )


class AlreadyUsed(LinkError):
    """The single-use link was already used to submit. The page shows what was submitted instead."""

    status = 409
    code = "already_used"
    title_vi = "Ý kiến đã được gửi"
    message_vi = (
        "Liên kết này đã được dùng để gửi ý kiến. Mỗi liên kết chỉ gửi được một lần; "
        "nội dung đã gửi được hiển thị bên dưới."
    )

    def __init__(self, detail: str = "", *, token_id: str | None = None) -> None:
        super().__init__(detail)
        self.token_id = token_id


# --------------------------------------------------------------------------- links


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A server secret with its key id. The id travels in the token so verification picks the key."""

    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if not _KEY_ID_RE.match(self.key_id):
            raise ValueError("key_id must be 1–32 characters of [A-Za-z0-9_-]")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"secret must be at least {MIN_SECRET_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a link grants, to whom, until when. All of it is covered by the signature."""

    token_id: str
    recipient_unit_id: str
    recipient_role: str
    person_id: str
    decision_id: str
    action: Action
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ActionLink:
    """An issued link: the token string to put in a URL, and its claims (to record as issued)."""

    token: str
    claims: LinkClaims
    key_id: str

    @property
    def token_id(self) -> str:
        return self.claims.token_id

    def url(self, base_url: str) -> str:
        """The URL of the page behind the link (``{base}/a/{token}``)."""
        return f"{base_url.rstrip('/')}/a/{self.token}"


@dataclass(frozen=True, slots=True)
class VerifiedLink:
    """A token whose signature, key and expiry were checked at ``verified_at``."""

    claims: LinkClaims
    key_id: str
    verified_at: datetime

    @property
    def token_id(self) -> str:
        return self.claims.token_id

    @property
    def single_use(self) -> bool:
        return self.claims.action in SINGLE_USE_ACTIONS


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    if not _B64_RE.match(text):
        raise Malformed("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Malformed("bad base64url") from exc


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware datetime")
    return int(moment.timestamp())


def _mac(secret: bytes, signing_input: bytes) -> bytes:
    return hmac.new(secret, signing_input, hashlib.sha256).digest()


def issue_link(
    *,
    key: SigningKey,
    recipient_unit_id: str,
    recipient_role: str,
    person_id: str,
    decision_id: str,
    action: Action,
    expires_at: datetime,
    token_id: str | None = None,
) -> ActionLink:
    """Issue a signed link. ``token_id`` is random unless given (tests, or re-issuing a known id).

    ``expires_at`` is truncated to whole seconds (that is what the token carries).
    """
    for name, value in (
        ("recipient_unit_id", recipient_unit_id),
        ("recipient_role", recipient_role),
        ("person_id", person_id),
        ("decision_id", decision_id),
    ):
        if not value:
            raise ValueError(f"{name} must not be empty")
    tid = token_id if token_id is not None else secrets.token_urlsafe(24)
    if len(tid) < 22 or not _B64_RE.match(tid):
        raise ValueError("token_id must be ≥ 22 URL-safe characters (≥ 128 bits)")
    exp = _epoch(expires_at)
    payload = {
        "t": tid,
        "u": recipient_unit_id,
        "r": recipient_role,
        "p": person_id,
        "d": decision_id,
        "a": action.value,
        "e": exp,
    }
    body = _b64e(json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
    signing_input = f"{TOKEN_VERSION}.{key.key_id}.{body}"
    token = f"{signing_input}.{_b64e(_mac(key.secret, signing_input.encode('ascii')))}"
    claims = LinkClaims(
        token_id=tid,
        recipient_unit_id=recipient_unit_id,
        recipient_role=recipient_role,
        person_id=person_id,
        decision_id=decision_id,
        action=action,
        expires_at=datetime.fromtimestamp(exp, UTC),
    )
    return ActionLink(token=token, claims=claims, key_id=key.key_id)


def _parse_claims(body: str) -> LinkClaims:
    try:
        data = json.loads(_b64d(body).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed("payload is not JSON") from exc
    if not isinstance(data, dict) or set(data) != _CLAIM_KEYS:
        raise Malformed("payload has wrong fields")
    strings = [data[k] for k in ("t", "u", "r", "p", "d", "a")]
    if not all(isinstance(s, str) and s for s in strings):
        raise Malformed("payload fields must be non-empty strings")
    exp = data["e"]
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise Malformed("expiry is not an integer")
    try:
        action = Action(data["a"])
        expires_at = datetime.fromtimestamp(exp, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise Malformed("unknown action or bad expiry") from exc
    return LinkClaims(
        token_id=data["t"],
        recipient_unit_id=data["u"],
        recipient_role=data["r"],
        person_id=data["p"],
        decision_id=data["d"],
        action=action,
        expires_at=expires_at,
    )


def verify(
    token_str: str,
    now: datetime,
    secret_keys: Mapping[str, bytes],
    *,
    expect_action: Action | None = None,
    expect_decision_id: str | None = None,
    expect_unit_id: str | None = None,
    expect_person_id: str | None = None,
) -> VerifiedLink:
    """Check a token and return its claims, or raise the precise :class:`LinkError`.

    Order matters: structure (:class:`Malformed`) → key id (:class:`UnknownKey`) → signature
    (:class:`Tampered`) → expiry (:class:`Expired`) → the context the page is opened in
    (:class:`WrongRecipient`). Claims are only parsed *after* the signature is checked, so an
    attacker learns nothing from crafted payloads. Whether a single-use link was already used
    is not known here (the store is outside); see :func:`single_use_rule`.
    """
    if not isinstance(token_str, str) or len(token_str) > MAX_TOKEN_LENGTH or not token_str.isascii():
        raise Malformed("not an ASCII string of sane length")
    parts = token_str.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_VERSION:
        raise Malformed("wrong number of parts or version")
    _, key_id, body, sig_text = parts
    if not _KEY_ID_RE.match(key_id) or not body:
        raise Malformed("bad key id or empty payload")
    signature = _b64d(sig_text)
    if len(signature) != hashlib.sha256().digest_size:
        raise Malformed("signature has the wrong length")
    secret = secret_keys.get(key_id)
    if secret is None:
        raise UnknownKey(f"key id {key_id!r} is not configured")
    expected = _mac(secret, f"{TOKEN_VERSION}.{key_id}.{body}".encode("ascii"))
    if not hmac.compare_digest(expected, signature):
        raise Tampered("signature mismatch")
    return admit(
        _parse_claims(body),
        now,
        key_id,
        expect_action=expect_action,
        expect_decision_id=expect_decision_id,
        expect_unit_id=expect_unit_id,
        expect_person_id=expect_person_id,
    )


def require_aware(now: datetime) -> None:
    """Refuse a naive ``now`` (a programming error: expiry is compared with aware datetimes)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive 'now': pass an aware datetime")


def admit(
    claims: LinkClaims,
    now: datetime,
    key_id: str,
    *,
    revoked: bool = False,
    expect_action: Action | None = None,
    expect_decision_id: str | None = None,
    expect_unit_id: str | None = None,
    expect_person_id: str | None = None,
) -> VerifiedLink:
    """The link authentic ``claims`` grant at ``now`` (signed and opaque links alike), or the
    precise :class:`LinkError`, in this order: expiry (:class:`Expired`, with the claims) →
    revocation (:class:`Revoked`) → the context the page is opened in (:class:`WrongRecipient`:
    another action, decision, unit or person than the link grants)."""
    require_aware(now)
    if now >= claims.expires_at:
        raise Expired("past expiry", claims=claims)
    if revoked:
        raise Revoked("link revoked")
    mismatches = [
        name
        for name, want, got in (
            ("action", expect_action, claims.action),
            ("decision", expect_decision_id, claims.decision_id),
            ("unit", expect_unit_id, claims.recipient_unit_id),
            ("person", expect_person_id, claims.person_id),
        )
        if want is not None and want != got
    ]
    if mismatches:
        raise WrongRecipient("mismatch on " + ", ".join(mismatches))
    return VerifiedLink(claims=claims, key_id=key_id, verified_at=now)


# --------------------------------------------------------------------------- single use


class UseDecision(StrEnum):
    """What the page does with a verified link, given whether it was already used."""

    SHOW_FORM = "show_form"
    ACCEPT = "accept"
    SHOW_SUBMITTED = "show_submitted"
    """Replay: show what was stored; never record a second submission."""


def single_use_rule(link: VerifiedLink, *, already_submitted: bool, wants_submit: bool) -> UseDecision:
    """The single-use rule, separated from the store that knows whether the token was used.

    A used opinion link never accepts again, whether the person opens it (GET) or re-posts the
    form (back button, double click, a colleague forwarding the mail): they see what was
    submitted. Links for non-single-use actions are never "used up".
    """
    if link.single_use and already_submitted:
        return UseDecision.SHOW_SUBMITTED
    return UseDecision.ACCEPT if wants_submit else UseDecision.SHOW_FORM
