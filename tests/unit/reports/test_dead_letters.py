"""Dead-letter records: parsing is total, keys collapse duplicates, previews are bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.reports.domain.dead_letters import PREVIEW_BYTES, from_record

HEADERS = {
    "dv-dlq-reason": b"malformed: envelope is not valid: <root>: Invalid JSON",
    "dv-dlq-original-topic": b"tasks.decisions",
    "dv-dlq-original-partition": b"2",
    "dv-dlq-original-offset": b"41",
    "dv-dlq-service": b"notify",
    "dv-dlq-attempts": b"1",
    "dv-dlq-at": b"2026-11-02T03:04:05+00:00",
    "dv-event-type": b"decision.issued",
}


def test_full_headers() -> None:
    dl = from_record(
        dlq_topic="tasks.decisions.dlq",
        dlq_partition=0,
        dlq_offset=7,
        key=b"qd-1",
        value=b"{oops",
        headers=HEADERS,
    )
    assert dl.key == "tasks.decisions:2:41:notify"
    assert (dl.topic, dl.partition, dl.offset, dl.service, dl.attempts) == (
        "tasks.decisions",
        2,
        41,
        "notify",
        1,
    )
    assert dl.reason.startswith("malformed:")
    assert dl.at == datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
    assert dl.value_preview == "{oops" and dl.value_size == 5 and not dl.truncated
    assert dl.message_key == "qd-1" and dl.event_type == "decision.issued"


def test_same_original_coordinates_same_key_whatever_the_dlq_offset() -> None:
    a = from_record(
        dlq_topic="tasks.decisions.dlq", dlq_partition=0, dlq_offset=7, key=None, value=b"x", headers=HEADERS
    )
    b = from_record(
        dlq_topic="tasks.decisions.dlq", dlq_partition=1, dlq_offset=9, key=None, value=b"x", headers=HEADERS
    )
    assert a.key == b.key
    other = from_record(
        dlq_topic="tasks.decisions.dlq",
        dlq_partition=0,
        dlq_offset=8,
        key=None,
        value=b"x",
        headers={**HEADERS, "dv-dlq-service": "reports"},
    )
    assert other.key != a.key  # another service's dead letter of the same record is its own


def test_a_dead_letter_kept_in_the_store_says_where() -> None:
    dl = from_record(
        dlq_topic="tasks.decisions.dlq",
        dlq_partition=0,
        dlq_offset=7,
        key=None,
        value=b"",
        headers={**HEADERS, "dv-dlq-stored-as": "dv_tasks/dead_letters/x"},
    )
    assert dl.stored_as == "dv_tasks/dead_letters/x" and dl.value_size == 0


def test_missing_headers_fall_back() -> None:
    dl = from_record(
        dlq_topic="org.events.dlq",
        dlq_partition=1,
        dlq_offset=3,
        key=None,
        value=None,
        headers={"dv-dlq-original-offset": b"abc"},
        timestamp_ms=1_700_000_000_000,
    )
    assert dl.topic == "org.events" and dl.partition is None and dl.offset is None
    assert dl.key == "org.events.dlq:1:3"
    assert dl.reason == "(không ghi lý do)" and dl.value_size == 0
    assert dl.at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_preview_is_bounded_and_invalid_utf8_is_replaced() -> None:
    value = b"\xff" + "ý".encode() * 3000
    dl = from_record(dlq_topic="x.dlq", dlq_partition=0, dlq_offset=0, key=b"\xfe", value=value, headers={})
    assert dl.truncated and dl.value_size == len(value)
    assert len(dl.value_preview.encode()) <= 3 * PREVIEW_BYTES
    assert dl.value_preview.startswith("\ufffd")


@given(
    value=st.binary(max_size=5000),
    key=st.none() | st.binary(max_size=50),
    headers=st.dictionaries(
        st.sampled_from([*HEADERS, "other"]), st.binary(max_size=60) | st.text(max_size=60), max_size=9
    ),
    partition=st.integers(0, 1000),
    offset=st.integers(0, 10**12),
)
def test_parsing_is_total(
    value: bytes, key: bytes | None, headers: dict[str, bytes | str], partition: int, offset: int
) -> None:
    dl = from_record(
        dlq_topic="t.dlq", dlq_partition=partition, dlq_offset=offset, key=key, value=value, headers=headers
    )
    assert dl.value_size == len(value) and dl.truncated == (len(value) > PREVIEW_BYTES)
    assert dl.key
    assert dl.at is None or dl.at.tzinfo is not None
