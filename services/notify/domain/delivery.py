"""Delivery state machine of one outbound message (email, SMS or webhook).

Why a pure state machine: a notification about a consultation deadline must not be lost when
the SMTP relay or the SMS gateway is down, and must not be retried forever either. The service
stores a :class:`DeliveryState` per message, asks :func:`is_due` which ones to try, and records
each attempt with :func:`record_attempt`. Restarting the service loses nothing because the
state, including the next attempt time, is data.

States::

    pending ──sent──────────────────────────────► sent (terminal)
       │  └──retryable failure──► failed_retryable ──(retry at next_attempt_at)──┐
       │                               ▲                                          │
       │                               └──────────────────────────────────────────┘
       └──permanent failure, or retryable failure at attempt N──► dead_lettered (terminal)

A dead-lettered message is kept (with every attempt) for an operator to inspect and re-queue
with :func:`requeue`; it is never silently deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class AttemptOutcome(StrEnum):
    """The result of one send attempt, as a channel reports it."""

    SENT = "sent"
    RETRYABLE_FAILURE = "retryable_failure"
    PERMANENT_FAILURE = "permanent_failure"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What a channel returns from ``send``. ``attempts`` counts in-call tries (webhook retries inline)."""

    status: AttemptOutcome
    detail: str = ""
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status is AttemptOutcome.SENT


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED_RETRYABLE = "failed_retryable"
    DEAD_LETTERED = "dead_lettered"


TERMINAL: frozenset[DeliveryStatus] = frozenset({DeliveryStatus.SENT, DeliveryStatus.DEAD_LETTERED})


class InvalidTransition(ValueError):
    """An attempt was recorded on a message that is already sent or dead-lettered."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``max_attempts`` attempts; delays follow ``schedule`` (the last value repeats).

    The default (1 min, 5 min, 15 min, 1 h, 3 h) spans about 4.5 hours: long enough to ride out a
    relay outage, short enough that a deadline notice is not days late before an operator sees
    it dead-lettered.
    """

    max_attempts: int = 6
    schedule: tuple[timedelta, ...] = (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=3),
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be ≥ 1")
        if not self.schedule or any(d <= timedelta(0) for d in self.schedule):
            raise ValueError("schedule must be non-empty positive delays")

    def delay_after(self, attempts_made: int) -> timedelta:
        """Delay before the next attempt after ``attempts_made`` (≥ 1) failed attempts."""
        return self.schedule[min(attempts_made, len(self.schedule)) - 1]

    @classmethod
    def exponential(
        cls, *, max_attempts: int, base: timedelta, factor: float = 2.0, cap: timedelta | None = None
    ) -> RetryPolicy:
        delays = []
        for i in range(max(max_attempts - 1, 1)):
            d = base * (factor**i)
            delays.append(min(d, cap) if cap is not None else d)
        return cls(max_attempts=max_attempts, schedule=tuple(delays))


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    outcome: AttemptOutcome
    detail: str


@dataclass(frozen=True, slots=True)
class DeliveryState:
    message_id: str
    channel: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    history: tuple[Attempt, ...] = field(default_factory=tuple)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def new_delivery(message_id: str, channel: str, *, not_before: datetime) -> DeliveryState:
    """A pending delivery, due from ``not_before``."""
    return DeliveryState(message_id=message_id, channel=channel, next_attempt_at=not_before)


def is_due(state: DeliveryState, now: datetime) -> bool:
    """Whether an attempt should be made now (pending or failed-retryable, and its time has come)."""
    if state.terminal:
        return False
    return state.next_attempt_at is None or state.next_attempt_at <= now


def record_attempt(
    state: DeliveryState, result: DeliveryResult, now: datetime, policy: RetryPolicy = RetryPolicy()
) -> DeliveryState:
    """The state after one attempt. Permanent failures dead-letter at once (retrying a refused
    address only delays the operator); retryable failures back off until ``max_attempts``."""
    if state.terminal:
        raise InvalidTransition(f"message {state.message_id} is already {state.status}")
    attempts = state.attempts + 1
    history = (*state.history, Attempt(now, result.status, result.detail))
    if result.status is AttemptOutcome.SENT:
        return replace(
            state, status=DeliveryStatus.SENT, attempts=attempts, next_attempt_at=None, history=history
        )
    if result.status is AttemptOutcome.PERMANENT_FAILURE or attempts >= policy.max_attempts:
        return replace(
            state,
            status=DeliveryStatus.DEAD_LETTERED,
            attempts=attempts,
            next_attempt_at=None,
            last_error=result.detail,
            history=history,
        )
    return replace(
        state,
        status=DeliveryStatus.FAILED_RETRYABLE,
        attempts=attempts,
        next_attempt_at=now + policy.delay_after(attempts),
        last_error=result.detail,
        history=history,
    )


def requeue(state: DeliveryState, now: datetime) -> DeliveryState:
    """Operator action: give a dead-lettered message a fresh attempt budget (history is kept)."""
    if state.status is not DeliveryStatus.DEAD_LETTERED:
        raise InvalidTransition(f"only dead-lettered messages can be re-queued, not {state.status}")
    return replace(state, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
