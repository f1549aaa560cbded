"""The projection agrees with the workflow aggregate that emits the facts (services.tasks).

Why: the reports service only sees facts; if it mis-read them, the console would say
"issued with full consultation" where the workflow issued by exception. Driving the real
aggregate and comparing statuses keeps both sides honest.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reports.domain.decision_view import build
from services.reports.domain.view_status import ConsulteeStatus, DecisionStatus
from services.tasks.domain.decision import Decision
from tests.unit.tasks.factories import AUTHORISED_ROLE, BOARD, DEADLINE, T0, UNITS, consulting, give


def _run(answer: list[bool], late: list[bool], ticks: bool) -> Decision:
    d = consulting()
    for unit, a, lt in zip(UNITS, answer, late, strict=True):
        if a:
            give(d, unit, at=(DEADLINE + timedelta(hours=2)) if lt else T0 + timedelta(hours=1))
    if ticks:
        d.tick(DEADLINE + timedelta(hours=1))
        d.tick(DEADLINE + timedelta(days=10))
    d.request_issuance("c-iss-1", requested_by="p-drafter", at=DEADLINE + timedelta(days=11))  # refused
    d.close_consultation("c-close", at=DEADLINE + timedelta(days=11, hours=1))
    if d.missing_consultees():
        d.override(
            "c-ov",
            by_person_id="p-sec",
            role=AUTHORISED_ROLE,
            reason="Khẩn cấp",
            at=DEADLINE + timedelta(days=12),
        )
    d.synthesise("c-syn", by_unit_id=BOARD, summary="Tổng hợp.", at=DEADLINE + timedelta(days=12, hours=1))
    d.request_issuance("c-iss-2", requested_by="p-drafter", at=DEADLINE + timedelta(days=13))
    return d


@settings(max_examples=40, deadline=None)
@given(
    answer=st.lists(st.booleans(), min_size=4, max_size=4),
    late=st.lists(st.booleans(), min_size=4, max_size=4),
    ticks=st.booleans(),
)
def test_projection_matches_the_aggregate(answer: list[bool], late: list[bool], ticks: bool) -> None:
    d = _run(answer, late, ticks)
    facts = list(d.history)
    v = build("qd-1", facts)
    assert d.status is not None and v.status.value == d.status.value
    assert v.status is DecisionStatus.ISSUED
    overridden = not all(answer)
    assert v.with_exception == overridden
    for unit, a in zip(UNITS, answer, strict=True):
        c = v.consultee(unit)
        assert c is not None
        assert (c.status in (ConsulteeStatus.ON_TIME, ConsulteeStatus.LATE)) == a
        if not a:
            assert c.status is ConsulteeStatus.OVERRIDDEN
    assert len(v.refusals) == 1  # the first request, before closing and synthesis
    assert {m.code for m in v.refusals[0].missing} >= {"consultation_not_closed", "synthesis_missing"}
    assert len(v.escalations) == sum(1 for f in facts if f.event_type == "decision.escalated")
