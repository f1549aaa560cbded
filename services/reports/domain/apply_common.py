"""The small steps every family of facts uses when it is folded into a decision view.

Pure: they change the view in hand and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.reports.domain.labels import CHANNEL_VI
from services.reports.domain.view_model import ConsulteeView, DecisionView, TimelineEntry
from shared.contract.events.decisions import DecisionFact


def consultee(v: DecisionView, unit_id: str) -> ConsulteeView:
    """The consultee of ``unit_id``, added as not required when no consultation named it."""
    c = v.consultee(unit_id)
    if c is None:
        c = ConsulteeView(unit_id=unit_id, required=False, deadline=v.deadline)
        v.consultees.append(c)
    return c


def names(v: DecisionView, unit_ids: Iterable[str]) -> str:
    """The consultees' names (their ids when unknown), for the timeline."""
    labels = []
    for uid in unit_ids:
        c = v.consultee(uid)
        labels.append(c.label if c else uid)
    return ", ".join(labels)


def via(f: DecisionFact) -> str:
    """How a fact's request arrived, and who sent it (from its actor), for the timeline."""
    if f.actor is None or f.actor.channel.value not in CHANNEL_VI:
        return ""
    who = f", người gửi {f.actor.person_id}" if f.actor.person_id else ""
    system = (
        f" «{f.actor.system_id}»" if f.actor.channel.value == "agency_system" and f.actor.system_id else ""
    )
    return f" — {CHANNEL_VI[f.actor.channel.value]}{system}{who}"


def note(v: DecisionView, f: DecisionFact, text: str, *, exception: bool = False) -> None:
    """Add the fact's line to the timeline."""
    v.timeline.append(
        TimelineEntry(at=f.occurred_at, seq=f.seq, kind=f.event_type, text_vi=text, exception=exception)
    )
