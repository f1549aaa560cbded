"""The event contract: envelope, event payload models and topics.

Everything that crosses a service boundary is an :class:`Envelope` carrying one
versioned :class:`Event` payload. Published event schemas are never changed in a
breaking way: a breaking change is a new ``event_version`` beside the old one.
"""

from shared.contract.envelope import (
    Envelope,
    Event,
    MalformedEvent,
    decode,
    event_class,
    registered_events,
)

__all__ = ["Envelope", "Event", "MalformedEvent", "decode", "event_class", "registered_events"]
