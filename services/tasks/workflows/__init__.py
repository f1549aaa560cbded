"""The application layer of complaints, complex situations and coordination plans (357-QĐ/TU §6–7,
05-QC/HU Điều 22–23, 415-KH/BDVTU-BCSDUBND).

The aggregates are pure and live in :mod:`services.tasks.domain` (``complaint``, ``situation``,
``plan``). Here: ``org_resolver`` (who is at the same / the higher level, from the org copy),
``commands`` (the dispatch table: one small function per request type), ``views`` (the HTTP read
API) and ``service`` (the wiring onto :class:`shared.eventsourcing.handler.Handler`).
"""
