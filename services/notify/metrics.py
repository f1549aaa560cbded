"""notify's own figures in ``/metrics``: deliveries by state (see :mod:`shared.metrics`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from services.notify.domain.delivery import DeliveryStatus
from shared.metrics import Families, Probe, counts_family


class Counting(Protocol):
    async def count_documents(self, filter: dict[str, Any], **kwargs: Any) -> int: ...


def deliveries_by_status(deliveries: Counting, *, max_time_ms: int) -> Probe:
    """One bounded count per state on the ``status`` index of the ``deliveries`` collection."""

    async def count(status: str) -> int:
        return await deliveries.count_documents({"status": status}, maxTimeMS=max_time_ms)

    return deliveries_probe(count)


def deliveries_probe(count: Callable[[str], Awaitable[int]]) -> Probe:
    """The ``dv_notify_deliveries`` family from ``count(status)`` (bounded by the caller)."""

    async def probe() -> Families:
        counts = {s.value: await count(s.value) for s in DeliveryStatus}
        return [
            counts_family(
                "dv_notify_deliveries",
                "Outbound messages (e-mail, SMS, webhook) by state: pending, sent, failed_retryable, "
                "dead_lettered",
                "status",
                counts,
            )
        ]

    return probe
