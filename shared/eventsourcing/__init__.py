"""One aggregate core for every workflow: the aggregate base, its hash chain and one repository.

* :mod:`.aggregate` — :class:`Aggregate`: facts applied in one place, the fact header (``seq``,
  ``occurred_at``, ``command_id``, actor) filled in one place, one command guard (duplicates and
  allowed states), snapshots of the declared state.
* :mod:`.chain` — the tamper-evident hash chain over an aggregate's facts.
* :mod:`.repository` — :class:`EventSourcedRepository`: load (snapshot + tail, verified, cached),
  append only the new entries with the outbox in one atomic write, snapshot every K entries.
* :mod:`.handler` — one generic handle / reject / tick path; a service gives a dispatch table.

Pure parts (aggregate, chain, errors) import no I/O; the repository is the only adapter.
"""
