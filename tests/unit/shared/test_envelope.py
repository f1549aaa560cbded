import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contract.envelope import Envelope, MalformedEvent
from tests.unit.shared.sample_events import SampleHappened


@given(sample_id=st.text(min_size=1, max_size=40), amount=st.integers())
def test_wrap_round_trips_through_bytes(sample_id: str, amount: int) -> None:
    event = SampleHappened(sample_id=sample_id, amount=amount)
    env = Envelope.wrap(event, source="tests", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    back = Envelope.from_bytes(env.to_bytes())
    assert back == env
    assert back.event() == event
    assert back.subject == sample_id
    assert back.topic == "test.samples"
    assert back.correlation_id == env.id  # a new conversation starts with its own id


def test_causation_and_correlation_follow_the_cause() -> None:
    cause = Envelope.wrap(SampleHappened(sample_id="a", amount=1), source="x")
    effect = Envelope.wrap(
        SampleHappened(sample_id="a", amount=2),
        source="y",
        correlation_id=cause.correlation_id,
        causation_id=cause.id,
    )
    assert effect.correlation_id == cause.id
    assert effect.causation_id == cause.id


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "envelope is not valid"),
        (b"{}", "envelope is not valid"),
        (
            json.dumps(
                {
                    "type": "nope",
                    "version": 1,
                    "source": "s",
                    "subject": "a",
                    "correlation_id": "c",
                    "payload": {},
                }
            ).encode(),
            "unknown event type 'nope'",
        ),
        (
            json.dumps(
                {
                    "type": "test.sample_happened",
                    "version": 1,
                    "source": "s",
                    "subject": "a",
                    "correlation_id": "c",
                    "payload": {"sample_id": "a", "amount": "many"},
                }
            ).encode(),
            "amount",
        ),
        (
            json.dumps(
                {
                    "type": "test.sample_happened",
                    "version": 1,
                    "source": "s",
                    "subject": "other",
                    "correlation_id": "c",
                    "payload": {"sample_id": "a", "amount": 1},
                }
            ).encode(),
            "does not match",
        ),
    ],
)
def test_malformed_input_is_refused_precisely(raw: bytes, fragment: str) -> None:
    with pytest.raises(MalformedEvent, match=fragment):
        Envelope.from_bytes(raw).event()


def test_naive_timestamps_are_refused() -> None:
    env = Envelope.wrap(SampleHappened(sample_id="a", amount=1), source="s")
    data = json.loads(env.to_bytes())
    data["occurred_at"] = "2026-01-01T00:00:00"
    with pytest.raises(MalformedEvent):
        Envelope.from_bytes(json.dumps(data).encode())
