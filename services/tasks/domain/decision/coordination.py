"""After issuance (357-QĐ/TU §5): the implementing bodies inform the Dân vận board, the Front and
the organisations, and coordinate with them to mobilise the people."""

from __future__ import annotations

from collections.abc import Sequence

from services.tasks.domain.decision import messages as vi
from shared.contract.events.decisions import ConsultationRequirement, CoordinationTask, CoordinationTaskKind


def coordination_tasks(
    decision_id: str,
    title: str,
    issuer_unit_id: str,
    req: ConsultationRequirement,
    implementing_unit_ids: Sequence[str],
) -> tuple[CoordinationTask, ...]:
    """For each implementer (the issuer when none is named): one task to implement, and one to
    inform each counterpart (the synthesiser, then every consultee)."""
    implementers = list(dict.fromkeys(implementing_unit_ids)) or [issuer_unit_id]
    counterparts = list(dict.fromkeys([req.synthesiser_unit_id, *(c.unit_id for c in req.consultees)]))
    tasks: list[CoordinationTask] = []

    def task(
        kind: CoordinationTaskKind, assignee: str, title_vi: str, counterpart: str | None = None
    ) -> None:
        tasks.append(
            CoordinationTask(
                task_id=f"{decision_id}:task:{len(tasks) + 1}",
                kind=kind,
                assignee_unit_id=assignee,
                counterpart_unit_id=counterpart,
                title_vi=title_vi,
            )
        )

    for impl in implementers:
        task(CoordinationTaskKind.IMPLEMENT, impl, vi.implement_task(title))
        for cp in counterparts:
            task(CoordinationTaskKind.INFORM, impl, vi.inform_task(title), cp)
    return tuple(tasks)
