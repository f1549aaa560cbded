"""Dead-letter records as operators see them.

Why: a message no consumer could handle is parked on ``<topic>.dlq`` with the reason in
``dv-dlq-*`` headers (see :mod:`shared.reliability.consumer`). Operators need to see those
without a Kafka client: which topic, which offset, why, which service, when. The value is
raw bytes that may not be an envelope at all (that is often *why* it is there), so it is
kept as a bounded text preview. Parsing is total: odd or missing headers never raise, so a
dead letter is never lost by the component meant to show it.

The record is keyed by the *original* coordinates and the service (``topic:partition:offset:service``),
so the same dead letter delivered twice — or published twice by a retrying consumer, or by two
instances of one service — shows once, and two services' dead letters of one record show both.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

PREVIEW_BYTES = 2048
DLQ_SUFFIX = ".dlq"


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    topic: str
    partition: int | None
    offset: int | None
    reason: str
    service: str
    attempts: int | None
    at: datetime | None
    event_type: str | None
    message_key: str | None
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    value_preview: str
    value_size: int
    truncated: bool
    stored_as: str = ""
    """Where the original is kept when it was too big to travel with its reasons (or never published)."""


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _when(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def from_record(
    *,
    dlq_topic: str,
    dlq_partition: int,
    dlq_offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Mapping[str, bytes | str],
    timestamp_ms: int | None = None,
) -> DeadLetter:
    """Build the record from one raw Kafka record of a dead-letter topic."""
    h = {k: _text(v) for k, v in headers.items()}
    orig_topic = h.get("dv-dlq-original-topic") or (
        dlq_topic[: -len(DLQ_SUFFIX)] if dlq_topic.endswith(DLQ_SUFFIX) else dlq_topic
    )
    partition = _int(h.get("dv-dlq-original-partition"))
    offset = _int(h.get("dv-dlq-original-offset"))
    if partition is None or offset is None:
        # original coordinates unknown: the dead-letter coordinates are unique instead
        record_key = f"{dlq_topic}:{dlq_partition}:{dlq_offset}"
    else:
        # per service: two services dead-lettering the same record are two dead letters
        record_key = f"{orig_topic}:{partition}:{offset}:{h.get('dv-dlq-service') or ''}"
    at = _when(h.get("dv-dlq-at"))
    if at is None and timestamp_ms is not None:
        at = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    body = value or b""
    return DeadLetter(
        key=record_key,
        topic=orig_topic,
        partition=partition,
        offset=offset,
        reason=h.get("dv-dlq-reason-vi") or h.get("dv-dlq-reason") or "(không ghi lý do)",
        service=h.get("dv-dlq-service") or "",
        attempts=_int(h.get("dv-dlq-attempts")),
        at=at,
        event_type=h.get("dv-event-type"),
        message_key=key.decode("utf-8", "replace") if key is not None else None,
        dlq_topic=dlq_topic,
        dlq_partition=dlq_partition,
        dlq_offset=dlq_offset,
        value_preview=body[:PREVIEW_BYTES].decode("utf-8", "replace"),
        value_size=len(body),
        truncated=len(body) > PREVIEW_BYTES,
        stored_as=h.get("dv-dlq-stored-as") or "",
    )
