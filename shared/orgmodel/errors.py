"""Domain errors of the org registry.

Why a small hierarchy of exceptions with a stable English ``code`` and a Vietnamese
``message_vi``: the service layer turns them into HTTP problems / dead-letter reasons
without parsing text (``code``), while officials who read the product only ever see
Vietnamese (``message_vi``). ``details`` carries the ids involved so that a message
can be re-rendered or logged without string surgery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from datetime import date
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")
E = TypeVar("E", bound=StrEnum)


def day_vi(on: date) -> str:
    """A date as Vietnamese messages write it: ``01/07/2025``."""
    return on.strftime("%d/%m/%Y")


def put_once(table: MutableMapping[K, V], key: K, value: V, conflict: Callable[[], OrgDomainError]) -> None:
    """Register ``value`` under ``key``: the same value again is a no-op, another one raises ``conflict()``.

    How every table of the registry (levels, roles, policy versions, grants) takes a
    redelivered or re-sent declaration without accepting a contradicting one.
    """
    existing = table.get(key)
    if existing is None:
        table[key] = value
    elif existing != value:
        raise conflict()


def parse_code(cls: type[E], raw: str, refusal: Callable[[str], OrgDomainError]) -> E:
    """The member of ``cls`` whose value is ``raw``; else ``refusal(known)`` with the valid values listed."""
    try:
        return cls(raw)
    except ValueError:
        raise refusal(", ".join(k.value for k in cls)) from None


class OrgDomainError(Exception):
    """Base of every refusal raised by the org domain."""

    code: str = "org_error"

    def __init__(self, message_vi: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        if code is not None:
            self.code = code
        self.details: Mapping[str, str] = {k: str(v) for k, v in details.items()}

    def __str__(self) -> str:
        return f"[{self.code}] {self.message_vi}"


class DuplicateId(OrgDomainError):
    """An id (unit, địa bàn, person, assignment, delegation, rule, version) is already used."""

    code = "duplicate_id"


class UnknownReference(OrgDomainError):
    """A referenced id (unit, parent, locality, level, person, role) does not exist."""

    code = "unknown_reference"


class UnknownParent(UnknownReference):
    """The parent named for a unit or địa bàn does not exist."""

    code = "unknown_parent"


class UnknownUnitKind(OrgDomainError):
    """A unit kind code that is not one of :class:`~shared.orgmodel.units.UnitKind`."""

    code = "unknown_unit_kind"


class HierarchyCycle(OrgDomainError):
    """Applying the operation would make a unit (or địa bàn) its own ancestor on some date."""

    code = "hierarchy_cycle"


class OverlappingInterval(OrgDomainError):
    """Two effective-dated facts that must not overlap do overlap."""

    code = "overlapping_interval"


class InvalidInterval(OrgDomainError):
    """An interval whose end is not after its start."""

    code = "invalid_interval"


class BeforeExistence(OrgDomainError):
    """The operation is dated on or before the day the unit (or địa bàn) began to exist."""

    code = "before_existence"


class NotActive(OrgDomainError):
    """The unit, địa bàn or person is not in existence on the date concerned."""

    code = "not_active"


class HasActiveChildren(OrgDomainError):
    """Ending a unit or địa bàn would orphan units / địa bàn that still point to it."""

    code = "has_active_children"


class InvalidOperation(OrgDomainError):
    """An operation whose arguments are contradictory (e.g. merging a unit into itself)."""

    code = "invalid_operation"


class CounterpartNotFound(OrgDomainError):
    """No unit of the requested kind exists at the địa bàn on that date."""

    code = "counterpart_not_found"


class AmbiguousCounterpart(OrgDomainError):
    """More than one unit of the requested kind exists where exactly one was expected."""

    code = "ambiguous_counterpart"


class AssignmentOverlap(OverlappingInterval):
    """A single-holder role would have two holders on the same day."""

    code = "assignment_overlap"


class PolicyError(OrgDomainError):
    """The consultation policy is missing, malformed or does not cover the case."""

    code = "policy_error"


class SeedFormatError(OrgDomainError):
    """A seed / bulk-import document is malformed. ``path`` and ``line`` locate the problem."""

    code = "seed_format"

    def __init__(
        self,
        message_vi: str,
        *,
        path: str,
        line: int | None = None,
        code: str | None = None,
        **details: object,
    ) -> None:
        where = f"{path}" + (f" (dòng {line})" if line is not None else "")
        super().__init__(f"{where}: {message_vi}", code=code, path=path, line=line, **details)
        self.path = path
        self.line = line
        self.reason_vi = message_vi


class UnsafeDocument(SeedFormatError):
    """A document is outside a safety limit (size, YAML aliases / depth / nodes, CSV rows / fields).

    Raised before the document is loaded (``shared/safe_input.py``); ``status`` is the HTTP
    status that fits: 413 when it is too large, 422 otherwise.
    """

    code = "unsafe_document"

    def __init__(
        self, message_vi: str, *, path: str, line: int | None = None, code: str, status: int = 422
    ) -> None:
        super().__init__(message_vi, path=path, line=line, code=code)
        self.status = status
