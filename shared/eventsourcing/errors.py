"""Domain errors.

A command that breaks a rule is *refused loudly*: the aggregate raises :class:`DomainError`
and its state is untouched. ``code`` is a stable English identifier for programs (API error
bodies, metrics, dead-letter reasons); ``message_vi`` is what a person reads (Vietnamese,
with diacritics), because the people using the platform work in Vietnamese.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class DomainError(Exception):
    """A command was refused because it would break a domain rule."""

    def __init__(self, code: str, message_vi: str, details: Mapping[str, object] | None = None) -> None:
        super().__init__(f"{code}: {message_vi}")
        self.code = code
        self.message_vi = message_vi
        self.details: Mapping[str, object] = MappingProxyType(dict(details or {}))
