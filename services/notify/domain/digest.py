"""Grouping pending notifications into digests, so a recipient is not flooded.

Why: when a People's Committee sends several drafts out for consultation the same week, the
standing member of the Front receives one message per draft, per channel, plus reminders.
People stop reading floods. The rule is simple and must never lose a message:

* per recipient, if there are **two or more** pending notifications in the digest window, send
  **one grouped message** containing all of them;
* a **single** pending notification is sent **immediately** (no waiting for company);
* **never drop** one: every input appears in exactly one dispatch. Items older than the window
  (e.g. left over after an outage) are still included, never held back further;
* some kinds are never grouped (:data:`NEVER_DIGESTED`): a receipt confirms the person's own
  action, and a contact change notice is a security warning; both must arrive alone and at once.

Generic over the content type so this module stays pure and knows nothing of templates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")

NEVER_DIGESTED: frozenset[str] = frozenset({"opinion_received", "opinion_not_recorded", "contact_changed"})


@dataclass(frozen=True, slots=True)
class Pending(Generic[T]):
    """A notification waiting to be sent. ``kind`` is a :class:`NotificationKind` value."""

    notification_id: str
    recipient_id: Hashable
    kind: str
    created_at: datetime
    content: T


@dataclass(frozen=True, slots=True)
class Immediate(Generic[T]):
    item: Pending[T]


@dataclass(frozen=True, slots=True)
class Grouped(Generic[T]):
    recipient_id: Hashable
    items: tuple[Pending[T], ...]


Dispatch = Immediate[T] | Grouped[T]


@dataclass(frozen=True, slots=True)
class DigestPlan(Generic[T]):
    dispatches: tuple[Immediate[T] | Grouped[T], ...]
    in_window: int
    """How many items were created within the window (the rest were older leftovers)."""

    def notification_ids(self) -> list[str]:
        out: list[str] = []
        for d in self.dispatches:
            if isinstance(d, Immediate):
                out.append(d.item.notification_id)
            else:
                out.extend(i.notification_id for i in d.items)
        return out


def plan_digest(
    pending: Iterable[Pending[T]],
    *,
    now: datetime,
    window: timedelta,
    never_digested: frozenset[str] = NEVER_DIGESTED,
) -> DigestPlan[T]:
    """Plan the dispatch of everything pending: one :class:`Grouped` per recipient with ≥ 2
    groupable items, :class:`Immediate` otherwise. Order is deterministic (recipient of the oldest
    item first; items by creation time then id), so a retried plan sends the same messages.

    Duplicate ``notification_id`` values are a caller bug (the same message would be sent
    twice) and raise ``ValueError`` rather than being silently dropped.
    """
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    items = sorted(pending, key=lambda p: (p.created_at, p.notification_id))
    seen: set[str] = set()
    for p in items:
        if p.notification_id in seen:
            raise ValueError(f"duplicate notification id {p.notification_id!r}")
        seen.add(p.notification_id)
    start = now - window
    in_window = sum(1 for p in items if p.created_at >= start)

    by_recipient: dict[Hashable, list[Pending[T]]] = defaultdict(list)
    order: list[tuple[datetime, str, Hashable]] = []
    dispatches: list[tuple[tuple[datetime, str], Immediate[T] | Grouped[T]]] = []
    for p in items:
        if p.kind in never_digested:
            dispatches.append(((p.created_at, p.notification_id), Immediate(p)))
            continue
        if p.recipient_id not in by_recipient:
            order.append((p.created_at, p.notification_id, p.recipient_id))
        by_recipient[p.recipient_id].append(p)
    for created, nid, rid in order:
        group = by_recipient[rid]
        d: Immediate[T] | Grouped[T] = Immediate(group[0]) if len(group) == 1 else Grouped(rid, tuple(group))
        dispatches.append(((created, nid), d))
    dispatches.sort(key=lambda kd: kd[0])
    return DigestPlan(dispatches=tuple(d for _, d in dispatches), in_window=in_window)
