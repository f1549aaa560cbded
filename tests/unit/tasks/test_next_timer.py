"""``next_timer_at`` never lets the scheduler sleep through something ``tick`` would do."""

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tasks.domain.decision import Decision
from tests.unit.tasks.factories import DEADLINE, T0, UNITS, consulting, give, public_requirement, synthesised

offsets = st.integers(min_value=0, max_value=40 * 24 * 60)  # minutes after T0


def silent_until(d: Decision, start: datetime, end: datetime, steps: int = 60) -> bool:
    span = (end - start) / steps
    for i in range(steps):
        probe = Decision.replay(d.history)
        if probe.tick(start + span * i):
            return False
    return True


@settings(max_examples=60, deadline=None)
@given(
    answered=st.sets(st.sampled_from(UNITS)),
    first=offsets,
    public=st.booleans(),
)
def test_tick_is_silent_before_next_timer_and_acts_at_it(
    answered: set[str], first: int, public: bool
) -> None:
    d = consulting(public_requirement() if public else None)
    for unit in sorted(answered):
        give(d, unit)
    now = T0 + timedelta(minutes=first)
    d.tick(now)  # whatever was due at ``now`` has fired
    nxt = d.next_timer_at(now)
    if nxt is None:
        assert silent_until(d, now, now + timedelta(days=60))
        return
    if nxt > now:
        assert silent_until(d, now, nxt)
    # at (or just after) the instant, something is due
    assert Decision.replay(d.history).tick(max(nxt, now) + timedelta(seconds=1))


def test_nothing_to_wait_for_once_synthesised() -> None:
    d = synthesised()
    assert d.next_timer_at(DEADLINE + timedelta(days=1)) is None


def test_all_answered_means_no_timer() -> None:
    d = consulting()
    for unit in UNITS:
        give(d, unit)
    assert d.next_timer_at(T0) is None
