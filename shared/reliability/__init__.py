"""Reliability primitives: aggregate store with outbox and inbox, outbox relay,
reliable consumer with bounded retries and dead-lettering."""
