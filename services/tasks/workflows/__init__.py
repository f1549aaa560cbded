"""Complaints, complex situations and coordination plans (357-QĐ/TU §6–7, 05-QC/HU Điều 22–23,
415-KH/BDVTU-BCSDUBND).

``complaint``, ``situation`` and ``plan`` are pure aggregates (no I/O: the caller passes the
time and the units resolved from the org registry); ``service`` is the thin application layer
(Kafka requests → aggregate → atomic save of facts + outbox) and its HTTP read API.
"""
