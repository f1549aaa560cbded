"""The decision read model: content, and idempotence / order independence."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reports.domain.decision_view import build, record, view_of
from services.reports.domain.view_model import DecisionView
from services.reports.domain.view_status import ConsulteeStatus, DecisionStatus
from shared.contract.events.decisions import DecisionFact, RequestRejected
from tests.unit.reports.factories import (
    BOARD,
    FRONT,
    ISSUER,
    UNITS,
    WOMEN,
    YOUTH,
    Stream,
    exception_scenario,
    full_scenario,
)


def test_exception_scenario_view() -> None:
    s = exception_scenario()
    v = build("qd-1", s.facts)
    assert v.title == "Quyết định về hỗ trợ giải phóng mặt bằng"
    assert v.issuer_unit_id == ISSUER
    assert v.status is DecisionStatus.ISSUED and v.with_exception and v.has_exception
    status = {c.unit_id: c.status for c in v.consultees}
    assert status == {
        BOARD: ConsulteeStatus.ON_TIME,
        FRONT: ConsulteeStatus.ON_TIME,
        YOUTH: ConsulteeStatus.LATE,
        WOMEN: ConsulteeStatus.OVERRIDDEN,
    }
    women = v.consultee(WOMEN)
    assert women is not None and women.reminders == 1 and women.escalation_level == 1
    assert [m.unit_id for r in v.refusals for m in r.missing] == [WOMEN]
    (ov,) = v.overrides
    assert (
        ov.by_person_id == "p-secretary"
        and ov.role == "party_secretary"
        and ov.reason == "Cấp bách do thiên tai"
    )
    assert [t.seq for t in v.timeline] == list(range(1, len(s.facts) + 1))
    exc = [t for t in v.timeline if t.exception]
    assert len(exc) == 2 and exc[0].text_vi.startswith("NGOẠI LỆ")
    assert "Hội Liên hiệp Phụ nữ tỉnh" in exc[0].text_vi
    assert v.last_seq == len(s.facts) and v.missing_seqs == []


def test_full_consultation_view() -> None:
    v = build("qd-2", full_scenario().facts)
    assert v.status is DecisionStatus.ISSUED and not v.with_exception and not v.has_exception
    assert all(c.status is ConsulteeStatus.ON_TIME for c in v.consultees)
    assert v.synthesis_summary == "Các đơn vị nhất trí."


def test_statuses_along_the_way() -> None:
    s = Stream("qd-3").drafted()
    assert build("qd-3", s.facts).status is DecisionStatus.DRAFTED
    s.consult()
    v = build("qd-3", s.facts)
    assert v.status is DecisionStatus.CONSULTATION_REQUESTED
    assert {c.status for c in v.consultees} == {ConsulteeStatus.PENDING}
    s.opinion(BOARD)
    assert build("qd-3", s.facts).status is DecisionStatus.COLLECTING
    s.escalate(FRONT)
    assert build("qd-3", s.facts).consultee(FRONT).status is ConsulteeStatus.OVERDUE  # type: ignore[union-attr]
    s.close(missing=[FRONT, YOUTH, WOMEN])
    v = build("qd-3", s.facts)
    assert v.status is DecisionStatus.CONSULTATION_CLOSED
    assert v.consultee(YOUTH).status is ConsulteeStatus.MISSING  # type: ignore[union-attr]
    s.withdraw()
    v = build("qd-3", s.facts)
    assert v.status is DecisionStatus.WITHDRAWN and v.withdrawal_reason == "Không còn phù hợp"


def test_issued_without_opinion_marks_missing() -> None:
    s = Stream("qd-4").drafted().consult().opinion(BOARD).issue()
    v = build("qd-4", s.facts)
    assert v.consultee(FRONT).status is ConsulteeStatus.MISSING  # type: ignore[union-attr]


def test_revision_reopens_consultees_and_invalidates_overrides() -> None:
    s = Stream("qd-5").drafted().consult().opinion(BOARD).opinion(FRONT).override([YOUTH, WOMEN])
    s.revise(reopened=[BOARD], invalidated=["qd-5:ov:1"])
    v = build("qd-5", s.facts)
    assert v.status is DecisionStatus.REVISED and v.draft_version == 2
    assert v.consultee(BOARD).status is ConsulteeStatus.PENDING  # type: ignore[union-attr]
    assert v.consultee(FRONT).status is ConsulteeStatus.ON_TIME  # type: ignore[union-attr]
    assert v.consultee(YOUTH).status is ConsulteeStatus.PENDING  # type: ignore[union-attr]
    assert v.overrides[0].invalidated and not v.has_exception
    assert "lấy lại ý kiến của Ban Dân vận Tỉnh ủy" in v.timeline[-1].text_vi


def test_record_skips_a_seq_already_there_and_a_request_already_there() -> None:
    s = exception_scenario()
    state = record(None, s.facts[0])
    assert state is not None
    assert record(state, s.facts[0]) is None
    rej = s.rejected("r-1")
    state2 = record(state, rej)
    assert state2 is not None and record(state2, rej) is None
    v = view_of("qd-1", state2)
    assert len(v.rejections) == 1 and "Yêu cầu bị từ chối (đề nghị ngoại lệ)" in v.timeline[-1].text_vi


def test_rejection_alone_does_not_make_a_draft() -> None:
    v = build("qd-x", [Stream("qd-x").rejected("r-1", code="unknown_decision")])
    assert v.status is DecisionStatus.UNKNOWN and v.drafted_at is None and len(v.rejections) == 1


def test_gaps_in_seq_are_reported() -> None:
    s = exception_scenario()
    v = build("qd-1", [f for f in s.facts if f.seq not in (3, 5)])
    assert v.missing_seqs == [3, 5]


def test_view_survives_json_round_trip() -> None:
    s = exception_scenario()
    events: list[DecisionFact | RequestRejected] = [*s.facts, s.rejected("r-9")]
    v = build("qd-1", events)
    assert DecisionView.model_validate(v.model_dump(mode="json")) == v


def _scenarios() -> st.SearchStrategy[list[DecisionFact | RequestRejected]]:
    """Random but valid fact streams: some opinions (maybe late), escalations, refusals, override, end."""

    @st.composite
    def build_stream(draw: st.DrawFn) -> list[DecisionFact | RequestRejected]:
        s = Stream("qd-h").drafted().consult()
        answered: list[str] = []
        for unit in UNITS:
            choice = draw(st.sampled_from(["on_time", "late", "escalated_then_late", "none"]))
            if choice == "on_time":
                s.opinion(unit)
                answered.append(unit)
            elif choice == "late":
                s.opinion(unit, late=True, hours=draw(st.integers(1, 2000)))
                answered.append(unit)
            elif choice == "escalated_then_late":
                s.remind(unit).escalate(unit, level=draw(st.sampled_from([1, 2])))
                s.opinion(unit, late=True)
                answered.append(unit)
        missing = [u for u in UNITS if u not in answered]
        extra: list[RequestRejected] = []
        if draw(st.booleans()):
            extra.append(s.rejected("r-a"))
        end = draw(st.sampled_from(["open", "issue", "withdraw"]))
        if missing:
            for _ in range(draw(st.integers(0, 2))):
                s.refuse(missing)
            if end == "issue":
                s.override(missing).issue(with_exception=True)
        elif end == "issue":
            s.close().synthesise().issue()
        if end == "withdraw":
            s.withdraw()
        return [*s.facts, *extra]

    return build_stream()


@settings(max_examples=150, deadline=None)
@given(data=st.data(), events=_scenarios())
def test_any_order_with_duplicates_gives_the_same_view(
    data: st.DataObject, events: list[DecisionFact | RequestRejected]
) -> None:
    once = build("qd-h", events)
    dupes = data.draw(st.lists(st.sampled_from(events), max_size=2 * len(events)))
    shuffled = data.draw(st.permutations([*events, *dupes]))
    assert build("qd-h", shuffled) == once
    # and recording one more time, in any state, never changes anything
    state: dict[str, object] = {}
    for e in shuffled:
        state = record(state, e) or state
    assert all(record(state, e) is None for e in events)


@settings(max_examples=60, deadline=None)
@given(events=_scenarios())
def test_views_are_consistent(events: list[DecisionFact | RequestRejected]) -> None:
    v = build("qd-h", events)
    answered = {o.consultee_unit_id for o in v.opinions}
    for c in v.consultees:
        assert (c.status in (ConsulteeStatus.ON_TIME, ConsulteeStatus.LATE)) == (c.unit_id in answered)
        if v.status is DecisionStatus.ISSUED:
            assert c.status not in (ConsulteeStatus.PENDING, ConsulteeStatus.OVERDUE)
    assert v.with_exception == any(c.status is ConsulteeStatus.OVERRIDDEN for c in v.consultees)
    times = [t.at for t in v.timeline]
    assert times == sorted(times)
    assert v.last_event_at == (max(times) if times else None)
    assert all(t.at - times[0] >= timedelta(0) for t in v.timeline)


def test_an_amended_opinion_says_so_and_who_sent_it() -> None:
    from shared.contract.events.decisions import Actor, ActorChannel

    s = Stream("qd-am").drafted().consult().opinion(FRONT)
    first = s.facts[-1]
    s.facts[-1] = first.model_copy(
        update={"actor": Actor(channel=ActorChannel.LINK, system_id="notify", person_id="p-front")}
    )
    s.opinion(FRONT)
    s.facts[-1] = s.facts[-1].model_copy(
        update={
            "supersedes_opinion_id": first.opinion_id,  # type: ignore[attr-defined]
            "actor": Actor(channel=ActorChannel.AGENCY_SYSTEM, system_id="mttq.qlvb", person_id="p-front"),
        }
    )
    v = build("qd-am", s.facts)
    texts = [t.text_vi for t in v.timeline if t.kind == "decision.opinion_recorded"]
    assert "qua liên kết trong thông báo" in texts[0] and "sửa đổi" not in texts[0]
    assert "sửa đổi" in texts[1] and "«mttq.qlvb»" in texts[1]
    assert v.opinions[1].amends_opinion_id == first.opinion_id  # type: ignore[attr-defined]
    assert next(c for c in v.consultees if c.unit_id == FRONT).opinion_id == v.opinions[1].opinion_id
