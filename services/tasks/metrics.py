"""tasks' own figures in ``/metrics``: decisions whose timer is due (see :mod:`shared.metrics`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from shared.metrics import Families, Probe, gauge


class Counting(Protocol):
    async def count_documents(self, filter: dict[str, Any], **kwargs: Any) -> int: ...


def timers_due(decisions: Counting, now: Callable[[], datetime], *, max_time_ms: int) -> Probe:
    """Decisions whose ``next_timer_at`` has come (by the service's clock, the demo clock included):
    a number that stays above zero means the timer pass is not running."""

    async def probe() -> Families:
        due = await decisions.count_documents({"next_timer_at": {"$lte": now()}}, maxTimeMS=max_time_ms)
        return [gauge("dv_tasks_timers_due", "Decisions whose next timer (reminder, escalation) is due", due)]

    return probe
