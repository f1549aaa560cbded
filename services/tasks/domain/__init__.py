"""Pure domain of the tasks service: the Decision aggregate, its working-day calendar and
its tamper-evident history.

Nothing in this package performs I/O (no Kafka, Mongo, HTTP, clock or file access): the
application layer reads the clock, loads the consultation policy and persists events; the
domain only decides. That keeps every rule testable with plain values and replayable from
the event log.
"""
