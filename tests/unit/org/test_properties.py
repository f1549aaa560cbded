"""Property-based tests: hierarchy acyclicity, merge dating, acting_for uniqueness, policy versions."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.hierarchy import Hierarchy
from shared.orgmodel.people import PeopleRegistry
from shared.orgmodel.policy import ConsultationPolicy, PolicySet
from shared.orgmodel.positions import ContactChannels
from shared.orgmodel.units import NewUnit, UnitKind
from tests.unit.org.conftest import D0, small_hierarchy

IDS = [f"U{i}" for i in range(6)]


def _flat() -> Hierarchy:
    h = small_hierarchy()
    for uid in IDS:
        h.register_unit(NewUnit(uid, uid, UnitKind.DEPARTMENT, "P"), D0)
    return h


def _acyclic_everywhere(h: Hierarchy) -> bool:
    dates = sorted({d for u in h.units.values() for d in u.parents.change_dates()})
    for t in dates:
        for uid in h.units:
            seen: set[str] = set()
            cur: str | None = uid
            while cur is not None:
                if cur in seen:
                    return False
                seen.add(cur)
                cur = h.units[cur].parent_at(t)
    return True


ops = st.lists(
    st.tuples(st.sampled_from(IDS), st.one_of(st.none(), st.sampled_from(IDS)), st.integers(1, 400)),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_random_reparents_never_leave_a_cycle(sequence: list[tuple[str, str | None, int]]) -> None:
    h = _flat()
    for child, parent, offset in sequence:
        before = {uid: list(u.parents.entries) for uid, u in h.units.items()}
        try:
            h.reparent_unit(child, parent, D0 + timedelta(days=offset))
        except OrgDomainError as exc:
            assert exc.code and exc.message_vi
            assert {
                uid: list(u.parents.entries) for uid, u in h.units.items()
            } == before  # refused = unchanged
        assert _acyclic_everywhere(h)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 2000), st.integers(-1500, 1500))
def test_merge_changes_answers_after_date_not_before(merge_offset: int, probe_offset: int) -> None:
    h = _flat()
    h.register_unit(NewUnit("KID", "kid", UnitKind.DEPARTMENT, "P", "U0"), D0)
    on = D0 + timedelta(days=merge_offset)
    h.merge_units(["U0", "U1"], NewUnit("M", "merged", UnitKind.DEPARTMENT), on)
    probe = on + timedelta(days=probe_offset)
    if probe < D0:
        return
    parent = h.unit_at("KID", probe).parent_id
    if probe < on:
        assert parent == "U0" and h.resolve("U0", probe) == ("U0",)
    else:
        assert parent == "M" and h.resolve("U0", probe) == ("M",)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(1, 120), st.sampled_from(["a", "b", "c"])), max_size=12
    ),
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(1, 60), st.sampled_from(["a", "b", "c"])), max_size=6
    ),
    st.integers(0, 420),
)
def test_acting_for_returns_at_most_one_person(
    assigns: list[tuple[int, int, str]], delegations: list[tuple[int, int, str]], probe: int
) -> None:
    h = small_hierarchy()
    h.register_unit(NewUnit("UB", "UBND", UnitKind.PEOPLES_COMMITTEE, "P"), D0)
    people = PeopleRegistry(h)
    for pid in "abc":
        people.register_person(pid, f"Người {pid}", ContactChannels())
    accepted: list[tuple[date, date, str]] = []
    for i, (start, length, pid) in enumerate(assigns):
        s, e = D0 + timedelta(days=start), D0 + timedelta(days=start + length)
        try:
            people.assign(f"a{i}", pid, "UB", "chu_tich", s, e)
            accepted.append((s, e, pid))
        except OrgDomainError as exc:
            assert exc.code == "assignment_overlap"
    for i, (start, length, pid) in enumerate(delegations):
        s, e = D0 + timedelta(days=start), D0 + timedelta(days=start + length)
        try:
            people.grant_delegation(f"d{i}", "UB", "chu_tich", pid, s, e)
        except OrgDomainError as exc:
            assert exc.code in {"delegation_overlap", "delegate_is_holder"}
    day = D0 + timedelta(days=probe)
    holders = [p for s, e, p in accepted if s <= day < e]
    assert len(holders) <= 1
    acting = people.acting_for("UB", "chu_tich", day)
    if acting is not None and not acting.is_delegate:
        assert holders == [acting.person_id]
    if acting is None:
        assert not holders


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=8, unique=True), st.integers(-10, 3100))
def test_policy_version_in_force_is_latest_effective(offsets: list[int], probe: int) -> None:
    ps = PolicySet()
    for v, off in enumerate(offsets, start=1):
        ps.publish(ConsultationPolicy(v, D0 + timedelta(days=off), ()))
    day = D0 + timedelta(days=probe)
    eligible = [(off, v) for v, off in enumerate(offsets, start=1) if off <= probe]
    if not eligible:
        try:
            ps.in_force(day)
        except OrgDomainError as exc:
            assert exc.code == "no_policy_in_force"
        else:  # pragma: no cover
            raise AssertionError("expected no policy")
        return
    assert ps.in_force(day).version == max(eligible)[1]
