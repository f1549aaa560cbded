"""A change of a person's contact channels, as told to the addresses they had before.

Why: notifications carry action links, so whoever changes a consultee's e-mail, phone or webhook
in the registry receives that consultee's credentials from then on. The person would never know:
nothing arrives at the old address any more. So when ``org.person_updated`` changes a channel,
notify writes to the *old* addresses — what changed and when, and "if you did not ask for this,
contact the registry administrator".

The new address is never written in full to the old one (the old mailbox may be the one that is
no longer trusted, or read by someone else): it is masked — enough for the person to recognise
their own new address, not enough to learn someone else's.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Field = Literal["email", "phone", "webhook_url"]

FIELD_LABELS_VI: dict[str, str] = {
    "email": "Thư điện tử",
    "phone": "Số điện thoại",
    "webhook_url": "Địa chỉ webhook (hệ thống của đơn vị)",
}
FIELDS: tuple[Field, ...] = ("email", "phone", "webhook_url")


@dataclass(frozen=True, slots=True)
class Contacts:
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None

    def get(self, name: Field) -> str | None:
        value: str | None = getattr(self, name)
        return value or None

    def addresses(self) -> tuple[str, ...]:
        return tuple(v for v in (self.get(f) for f in FIELDS) if v)


@dataclass(frozen=True, slots=True)
class ContactChange:
    """One channel that changed: its label and the new value masked (``None``: removed)."""

    field: Field
    label_vi: str
    new_masked: str | None
    added: bool = False
    """There was no address on this channel before."""

    @property
    def text_vi(self) -> str:
        if self.new_masked is None:
            return f"{self.label_vi}: đã bị xóa"
        if self.added:
            return f"{self.label_vi}: được bổ sung mới là {self.new_masked}"
        return f"{self.label_vi}: được đổi thành {self.new_masked}"


def contact_changes(before: Contacts, after: Contacts) -> tuple[ContactChange, ...]:
    """The channels whose address differs (e-mails compared case-insensitively, phones by digits)."""
    out = []
    for f in FIELDS:
        old, new = before.get(f), after.get(f)
        if _same(f, old, new):
            continue
        out.append(ContactChange(f, FIELD_LABELS_VI[f], mask(f, new) if new else None, added=old is None))
    return tuple(out)


def _same(f: Field, a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    if f == "email":
        return a.strip().lower() == b.strip().lower()
    if f == "phone":
        return _digits(a) == _digits(b)
    return a.strip() == b.strip()


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def mask(f: Field, value: str) -> str:
    if f == "email":
        return mask_email(value)
    if f == "phone":
        return mask_phone(value)
    return mask_url(value)


def _stars(part: str) -> str:
    return (part[:1] + "***") if part else "***"


def mask_email(value: str) -> str:
    """``attacker@example.test`` → ``a***@e***.test``: first letters and the top-level domain only."""
    local, _, domain = value.strip().rpartition("@")
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    masked_domain = _stars(labels[0]) + (f".{tld}" if tld else "")
    return f"{_stars(local)}@{masked_domain}"


def mask_phone(value: str) -> str:
    """``0912 345 678`` → ``*******678``: the last three digits only."""
    digits = _digits(value)
    return "*" * max(len(digits) - 3, 3) + digits[-3:]


def mask_url(value: str) -> str:
    """``https://hooks.example.vn/a/b?t=x`` → ``https://h***.vn/…``: scheme, first letter, top level."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname or ""
    except ValueError:
        return "***"
    labels = host.split(".")
    tld = labels[-1] if len(labels) > 1 and not labels[-1].isdigit() else ""
    masked = _stars(labels[0]) + (f".{tld}" if tld else "")
    return f"{parts.scheme or 'http'}://{masked}/…"
