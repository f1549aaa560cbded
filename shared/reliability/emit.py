"""Wrapping domain events into envelopes with causality and trace context."""

from __future__ import annotations

from opentelemetry.propagate import inject

from shared.contract.envelope import Envelope, Event


class Emitter:
    """Builds outgoing envelopes for one service.

    Why here: every outgoing envelope must carry the correlation of the request
    that caused it and the current W3C trace context, so that one trace id runs
    through the services even though publishing happens later, in the relay.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def wrap(self, event: Event, cause: Envelope | None = None) -> Envelope:
        carrier: dict[str, str] = {}
        inject(carrier)
        traceparent = carrier.get("traceparent") or (cause.traceparent if cause else None)
        tracestate = carrier.get("tracestate") or (cause.tracestate if cause else None)
        return Envelope.wrap(
            event,
            source=self.source,
            correlation_id=cause.correlation_id if cause else None,
            causation_id=cause.id if cause else None,
            traceparent=traceparent,
            tracestate=tracestate,
        )
