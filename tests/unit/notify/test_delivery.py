from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain.delivery import (
    AttemptOutcome,
    DeliveryResult,
    DeliveryStatus,
    InvalidTransition,
    RetryPolicy,
    is_due,
    new_delivery,
    record_attempt,
    requeue,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OK = DeliveryResult(AttemptOutcome.SENT, "250 OK")
RETRY = DeliveryResult(AttemptOutcome.RETRYABLE_FAILURE, "503")
PERM = DeliveryResult(AttemptOutcome.PERMANENT_FAILURE, "550 no such user")


def test_pending_to_sent() -> None:
    s = new_delivery("m1", "email", not_before=NOW)
    assert is_due(s, NOW) and not is_due(s, NOW - timedelta(seconds=1))
    s = record_attempt(s, OK, NOW)
    assert s.status is DeliveryStatus.SENT and s.attempts == 1 and not is_due(s, NOW + timedelta(days=1))
    with pytest.raises(InvalidTransition):
        record_attempt(s, OK, NOW)


def test_backoff_schedule_then_dead_letter() -> None:
    policy = RetryPolicy()
    s = new_delivery("m1", "sms", not_before=NOW)
    t = NOW
    expected = [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=3),
    ]
    for delay in expected:
        s = record_attempt(s, RETRY, t, policy)
        assert s.status is DeliveryStatus.FAILED_RETRYABLE
        assert s.next_attempt_at == t + delay
        assert not is_due(s, t)
        t = s.next_attempt_at
        assert is_due(s, t)
    s = record_attempt(s, RETRY, t, policy)
    assert s.status is DeliveryStatus.DEAD_LETTERED and s.attempts == 6 and s.last_error == "503"
    assert len(s.history) == 6 and not is_due(s, t + timedelta(days=9))


def test_permanent_failure_dead_letters_at_once_and_requeue() -> None:
    s = record_attempt(new_delivery("m", "email", not_before=NOW), PERM, NOW)
    assert s.status is DeliveryStatus.DEAD_LETTERED and s.last_error == "550 no such user"
    r = requeue(s, NOW + timedelta(hours=1))
    assert r.status is DeliveryStatus.PENDING and r.attempts == 0 and len(r.history) == 1
    with pytest.raises(InvalidTransition):
        requeue(r, NOW)


def test_exponential_policy_is_capped() -> None:
    p = RetryPolicy.exponential(max_attempts=5, base=timedelta(seconds=10), cap=timedelta(seconds=50))
    assert [p.delay_after(i) for i in range(1, 6)] == [timedelta(seconds=s) for s in (10, 20, 40, 50, 50)]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


@given(st.lists(st.sampled_from(list(AttemptOutcome)), min_size=1, max_size=20))
def test_always_terminates_within_max_attempts(outcomes: list[AttemptOutcome]) -> None:
    policy = RetryPolicy(max_attempts=4)
    s = new_delivery("m", "webhook", not_before=NOW)
    for o in outcomes:
        if s.terminal:
            break
        s = record_attempt(s, DeliveryResult(o), NOW, policy)
        assert s.attempts <= policy.max_attempts
    if len(outcomes) >= policy.max_attempts:
        assert s.terminal
