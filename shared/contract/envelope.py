"""Envelope and event base class.

Why an envelope: consumers must be able to deduplicate (``id``), route and
partition (``subject`` = aggregate id = Kafka key), follow a conversation
(``correlation_id`` / ``causation_id``) and continue a trace (W3C
``traceparent``), without knowing the payload. The payload is one registered
:class:`Event` subclass identified by ``(type, version)``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

_REGISTRY: dict[tuple[str, int], type[Event]] = {}


class MalformedEvent(ValueError):
    """Raised when bytes or a dict cannot be decoded into a known, valid event.

    The message is meant for the dead-letter topic: it says precisely what is wrong.
    """


class Event(BaseModel):
    """Base of every event payload.

    Subclasses set ``event_type`` (dotted, past tense for facts, e.g.
    ``decision.issued``; imperative-ish ``*.requested`` / ``*.submitted`` for
    inbound requests), ``event_version`` and ``topic``, and say which field is
    the aggregate id via :meth:`subject`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    topic: ClassVar[str]
    subject_field: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__dict__.get("event_type") is None:
            return  # an abstract intermediate base
        key = (cls.event_type, cls.event_version)
        existing = _REGISTRY.get(key)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise TypeError(f"event {key} registered twice: {existing} and {cls}")
        _REGISTRY[key] = cls

    def subject(self) -> str:
        """The aggregate id: the Kafka partition key and the envelope's subject."""
        return str(getattr(self, self.subject_field))


class Envelope(BaseModel):
    """What travels on Kafka (JSON, UTF-8)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    version: int = Field(ge=1)
    source: str = Field(min_length=1, description="service that produced the event")
    subject: str = Field(min_length=1, description="aggregate id; Kafka partition key")
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = Field(min_length=1)
    causation_id: str | None = None
    traceparent: str | None = Field(default=None, description="W3C trace context")
    tracestate: str | None = None
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        source: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
        tracestate: str | None = None,
        occurred_at: datetime | None = None,
        event_id: str | None = None,
    ) -> Self:
        eid = event_id or str(uuid.uuid4())
        return cls(
            id=eid,
            type=event.event_type,
            version=event.event_version,
            source=source,
            subject=event.subject(),
            occurred_at=occurred_at or datetime.now(UTC),
            correlation_id=correlation_id or eid,
            causation_id=causation_id,
            traceparent=traceparent,
            tracestate=tracestate,
            payload=event.model_dump(mode="json"),
        )

    @property
    def topic(self) -> str:
        return event_class(self.type, self.version).topic

    def event(self) -> Event:
        return decode(self)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise MalformedEvent(f"envelope is not valid: {_short(exc)}") from exc


def event_class(type_: str, version: int) -> type[Event]:
    try:
        return _REGISTRY[(type_, version)]
    except KeyError:
        raise MalformedEvent(f"unknown event type {type_!r} version {version}") from None


def decode(envelope: Envelope) -> Event:
    """Validate the payload against its registered schema."""
    cls = event_class(envelope.type, envelope.version)
    try:
        event = cls.model_validate(envelope.payload)
    except ValidationError as exc:
        raise MalformedEvent(
            f"payload of {envelope.type} v{envelope.version} is not valid: {_short(exc)}"
        ) from exc
    if event.subject() != envelope.subject:
        raise MalformedEvent(
            f"envelope subject {envelope.subject!r} does not match payload {cls.subject_field}={event.subject()!r}"
        )
    return event


def registered_events() -> dict[tuple[str, int], type[Event]]:
    return dict(_REGISTRY)


def _short(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:5]]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
