"""The decision read model (hồ sơ lấy ý kiến của một dự thảo), built from decision facts.

Why this shape: Kafka may deliver a fact twice (a redelivery after a crash, the outbox
relay re-publishing) and an operator may replay a topic. So the stored *source* of a
decision's view is its facts keyed by ``seq`` (plus refused requests keyed by
``request_id``), and the view is always recomputed by folding the facts in ``seq`` order.
Recording a fact whose ``seq`` is already there changes nothing, and the result does not
depend on arrival order — the same view however the facts arrive, duplicated or not
(property-tested). Gaps in ``seq`` are shown, not hidden (``missing_seqs``).

This module is the stored log and the fold; the view's types are in
:mod:`~services.reports.domain.view_model` (statuses in :mod:`~services.reports.domain.view_status`),
each family of facts is folded by its ``apply_*`` module, the words come from
:mod:`~services.reports.domain.labels`.

Everything here is pure: no I/O, no clock. Text meant for people is Vietnamese.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from services.reports.domain import apply_consultation, apply_issuance, apply_public
from services.reports.domain.apply_common import note
from services.reports.domain.labels import request_vi
from services.reports.domain.view_model import DecisionView, RejectionView, TimelineEntry
from shared.contract.envelope import event_class
from shared.contract.events.decisions import DecisionFact, RequestRejected

State = dict[str, Any]

# --------------------------------------------------------------------------- the stored log


def record(state: Mapping[str, Any] | None, event: DecisionFact | RequestRejected) -> State | None:
    """Add one fact (by ``seq``) or refused request (by ``request_id``) to the stored log.

    Returns the new state, or ``None`` when it is already there (a duplicate: nothing to save).
    """
    facts: dict[str, Any] = dict((state or {}).get("facts", {}))
    rejections: dict[str, Any] = dict((state or {}).get("rejections", {}))
    if isinstance(event, RequestRejected):
        if event.request_id in rejections:
            return None
        rejections[event.request_id] = event.model_dump(mode="json")
    else:
        key = str(event.seq)
        if key in facts:
            return None
        facts[key] = {
            "type": event.event_type,
            "version": event.event_version,
            "payload": event.model_dump(mode="json"),
        }
    return {"facts": facts, "rejections": rejections}


def facts_of(state: Mapping[str, Any]) -> list[DecisionFact]:
    out: list[DecisionFact] = []
    for raw in state.get("facts", {}).values():
        fact = event_class(raw["type"], raw["version"]).model_validate(raw["payload"])
        assert isinstance(fact, DecisionFact)
        out.append(fact)
    return sorted(out, key=lambda f: f.seq)


def rejections_of(state: Mapping[str, Any]) -> list[RequestRejected]:
    out = [RequestRejected.model_validate(raw) for raw in state.get("rejections", {}).values()]
    return sorted(out, key=lambda r: (r.occurred_at, r.request_id))


def view_of(decision_id: str, state: Mapping[str, Any]) -> DecisionView:
    return project(decision_id, facts_of(state), rejections_of(state))


def recorded(
    state: Mapping[str, Any] | None, event: DecisionFact | RequestRejected
) -> tuple[State, DecisionView] | None:
    """:func:`record` then :func:`view_of`: the new state and its view, ``None`` for a duplicate."""
    new = record(state, event)
    return None if new is None else (new, view_of(event.decision_id, new))


def build(decision_id: str, events: Iterable[DecisionFact | RequestRejected]) -> DecisionView:
    """Record the events in the given order (duplicates allowed) and project: for tests and replays."""
    state: State = {}
    for event in events:
        state = record(state, event) or state
    return view_of(decision_id, state)


# --------------------------------------------------------------------------- the fold

_FAMILIES: tuple[Callable[[DecisionView, DecisionFact], bool], ...] = (
    apply_consultation.apply,
    apply_issuance.apply,
    apply_public.apply,
)


def project(
    decision_id: str, facts: Iterable[DecisionFact], rejections: Iterable[RequestRejected] = ()
) -> DecisionView:
    """Fold the facts in ``seq`` order (one per seq) into the view."""
    by_seq: dict[int, DecisionFact] = {}
    for f in facts:
        by_seq.setdefault(f.seq, f)
    v = DecisionView(decision_id=decision_id)
    for seq in sorted(by_seq):
        _apply(v, by_seq[seq])
    if by_seq:
        v.last_seq = max(by_seq)
        v.missing_seqs = [s for s in range(1, v.last_seq) if s not in by_seq]
    for r in rejections:
        v.rejections.append(
            RejectionView(
                request_id=r.request_id,
                request_type=r.request_type,
                code=r.code,
                message_vi=r.message_vi,
                at=r.occurred_at,
            )
        )
        v.timeline.append(
            TimelineEntry(
                at=r.occurred_at,
                seq=None,
                kind=r.event_type,
                text_vi=f"Yêu cầu bị từ chối ({request_vi(r.request_type)}): {r.message_vi}",
            )
        )
    v.timeline.sort(key=lambda t: (t.at, t.seq if t.seq is not None else 1 << 62))
    times = [t.at for t in v.timeline]
    v.last_event_at = max(times) if times else None
    return v


def _apply(v: DecisionView, f: DecisionFact) -> None:
    """One fact, by its family; a fact of no family is noted by its type."""
    if not any(family(v, f) for family in _FAMILIES):
        note(v, f, f"Sự kiện {f.event_type}.")
