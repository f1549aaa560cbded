"""Pure domain of the tasks service: the four aggregates, on the one base
(:class:`shared.eventsourcing.aggregate.Aggregate`), and what they share.

* :mod:`.decision` — pre-issuance consultation of a document (a package: status, messages,
  state, timers, consultation, commands, coordination).
* :mod:`.complaint` (commands) over :mod:`.complaint_state` (statuses, state, timers);
  :mod:`.situation`; :mod:`.plan` — the workflow aggregates.
* :mod:`.calendar` / :mod:`.holidays_vn` — Vietnamese working days; :mod:`.schedule` — the
  aggregates' base (:class:`~.schedule.CalendarAggregate`, the calendar their working days are
  counted on) and the reminder-then-overdue timers of a deadline; :mod:`.parties` — the
  board-and-Front rule and mobilisation tasks; :mod:`.text` — required text and instants as a
  person reads them.

Nothing in this package performs I/O (no Kafka, Mongo, HTTP, clock or file access): the
application layer reads the clock, loads the consultation policy and persists the facts (and
their hash chain, :mod:`shared.eventsourcing.chain`); the domain only decides. That keeps every
rule testable with plain values and replayable from the event log or a snapshot.
"""
