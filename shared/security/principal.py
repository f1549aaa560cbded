"""The sender of the message being handled, as established by its verified signature.

Why a context variable: the reliable consumer verifies the record (its headers, value and the
broker's append time) before dispatch, while the handlers that decide what the sender may do get
only the envelope and the event. The consumer sets :func:`current` for the duration of the handler
call; handlers that do not care never see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from shared.security.signing import (
    DEFAULT_MAX_SKEW_SECONDS,
    RegisteredKey,
    SignatureRefused,
    verify,
)


@dataclass(frozen=True)
class Principal:
    """A registered system whose signature verified."""

    system_id: str
    kid: str
    kind: str  # "agency" | "link_gateway" | "platform"
    signed_at: datetime


@dataclass(frozen=True)
class Unauthenticated:
    """The record could not be attributed to a registered system, and why."""

    code: str
    message_vi: str


Authentication = Principal | Unauthenticated

_current: ContextVar[Authentication | None] = ContextVar("dv_principal", default=None)


def current() -> Authentication | None:
    """Who sent the message being handled (``None``: the consumer does not authenticate)."""
    return _current.get()


def set_current(value: Authentication | None) -> object:
    return _current.set(value)


def reset_current(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


class SystemDirectory(Protocol):
    """What the verifier needs from the local copy of the org registry."""

    def key(self, kid: str) -> RegisteredKey | None: ...

    def kind_of(self, system_id: str) -> str | None: ...


class RecordAuthenticator:
    """Verifies a record's ``dv-signature`` against the registry's keys."""

    def __init__(
        self,
        directory: Callable[[], SystemDirectory],
        *,
        max_skew_seconds: int = DEFAULT_MAX_SKEW_SECONDS,
    ) -> None:
        self.directory = directory
        self.max_skew_seconds = max_skew_seconds

    def __call__(
        self, headers: Mapping[str, str], value: bytes, appended_at_ms: int | None
    ) -> Authentication:
        appended = (
            datetime.fromtimestamp(appended_at_ms / 1000, UTC)
            if appended_at_ms is not None and appended_at_ms >= 0
            else datetime.now(UTC)
        )
        directory = self.directory()
        try:
            signer = verify(
                headers, value, directory, appended_at=appended, max_skew_seconds=self.max_skew_seconds
            )
        except SignatureRefused as refused:
            return Unauthenticated(refused.code, refused.message_vi)
        kind = directory.kind_of(signer.system_id) or "agency"
        return Principal(system_id=signer.system_id, kid=signer.kid, kind=kind, signed_at=signer.issued_at)
