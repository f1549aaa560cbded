"""Hierarchy aggregate: effective-dated operations, refusals and same-level queries."""

from __future__ import annotations

from datetime import date

import pytest

from shared.orgmodel.errors import (
    AmbiguousCounterpart,
    BeforeExistence,
    CounterpartNotFound,
    DuplicateId,
    HasActiveChildren,
    HierarchyCycle,
    InvalidInterval,
    InvalidOperation,
    NotActive,
    OverlappingInterval,
    UnknownParent,
    UnknownReference,
    UnknownUnitKind,
)
from shared.orgmodel.hierarchy import Hierarchy, NewLocality
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.units import Dated, Interval, Level, NewUnit, Timeline, UnitKind
from tests.unit.org.conftest import D0, small_hierarchy

K = UnitKind
D1, D2, D3 = date(2022, 1, 1), date(2023, 1, 1), date(2024, 1, 1)


def with_units() -> Hierarchy:
    h = small_hierarchy()
    h.register_unit(NewUnit("TU", "Tỉnh ủy P", K.PARTY_COMMITTEE, "P"), D0)
    h.register_unit(NewUnit("BDV", "Ban Dân vận Tỉnh ủy P", K.DAN_VAN_BOARD, "P", "TU"), D0)
    h.register_unit(NewUnit("HU", "Huyện ủy D", K.PARTY_COMMITTEE, "D", "TU"), D0)
    h.register_unit(NewUnit("HBDV", "Ban Dân vận Huyện ủy D", K.DAN_VAN_BOARD, "D", "HU"), D0)
    h.register_unit(NewUnit("DU", "Đảng ủy xã C", K.PARTY_COMMITTEE, "C", "HU"), D0)
    h.register_unit(NewUnit("KDV", "Khối dân vận xã C", K.DAN_VAN_BLOC, "C", "DU"), D0)
    return h


class TestIntervals:
    def test_half_open(self) -> None:
        i = Interval(D1, D2)
        assert i.contains(D1) and not i.contains(D2)
        assert not i.overlaps(Interval(D2))
        assert i.overlaps(Interval(date(2022, 6, 1), D3))

    def test_end_before_start_refused(self) -> None:
        with pytest.raises(InvalidInterval) as exc:
            Interval(D2, D1)
        assert exc.value.code == "invalid_interval"
        assert "ngày kết thúc" in exc.value.message_vi

    def test_explicit_overlapping_entries_refused(self) -> None:
        with pytest.raises(OverlappingInterval):
            Timeline.of([Dated(Interval(D0, D2), "a"), Dated(Interval(D1), "b")], what="tên")


class TestRegister:
    def test_duplicate_id_across_units_and_localities(self) -> None:
        h = with_units()
        with pytest.raises(DuplicateId):
            h.register_unit(NewUnit("TU", "x", K.DEPARTMENT, "P"), D1)
        with pytest.raises(DuplicateId):
            h.register_unit(NewUnit("P", "x", K.DEPARTMENT, "P"), D1)

    def test_unknown_parent(self) -> None:
        with pytest.raises(UnknownParent) as exc:
            with_units().register_unit(NewUnit("X", "x", K.DEPARTMENT, "P", "NOPE"), D1)
        assert exc.value.code == "unknown_parent"
        assert "NOPE" in exc.value.message_vi

    def test_parent_must_exist_on_start_date(self) -> None:
        h = with_units()
        h.register_unit(NewUnit("LATE", "Đơn vị mới", K.DEPARTMENT, "P"), D2)
        with pytest.raises(NotActive) as exc:
            h.register_unit(NewUnit("X", "x", K.DEPARTMENT, "P", "LATE"), D1)
        assert exc.value.code == "parent_not_active"
        assert "X" not in h.units

    def test_unknown_locality_and_level(self) -> None:
        h = with_units()
        with pytest.raises(UnknownReference):
            h.register_unit(NewUnit("X", "x", K.DEPARTMENT, "NOWHERE"), D1)
        with pytest.raises(UnknownReference) as exc:
            h.register_locality(NewLocality("Z", "Z", "ward"), D1)
        assert exc.value.code == "unknown_level"

    def test_locality_rank_enforced(self) -> None:
        h = with_units()
        with pytest.raises(InvalidOperation) as exc:
            h.register_locality(NewLocality("Z", "Tỉnh Z", "province", "C"), D1)
        assert exc.value.code == "level_rank_violation"

    def test_unknown_kind(self) -> None:
        with pytest.raises(UnknownUnitKind) as exc:
            UnitKind.parse("ban_chi_dao")
        assert "ban_chi_dao" in exc.value.message_vi

    def test_levels_are_data(self) -> None:
        h = Hierarchy()
        h.define_level(Level("tinh", 1, "Cấp tỉnh"))
        h.define_level(Level("xa", 2, "Cấp xã"))  # two-level local government (2025)
        h.register_locality(NewLocality("T", "Tỉnh T", "tinh"), D0)
        h.register_locality(NewLocality("X", "Xã X", "xa", "T"), D0)
        assert h.locality_at("X", D1).level.rank == 2
        with pytest.raises(DuplicateId):
            h.define_level(Level("tinh", 3, "khác"))


class TestReparentAndRename:
    def test_reparent_changes_answers_from_date_only(self) -> None:
        h = with_units()
        h.register_unit(NewUnit("SO", "Sở X", K.DEPARTMENT, "P"), D0)
        h.reparent_unit("SO", "TU", D2)
        assert h.unit_at("SO", D1).parent_id is None
        parent = h.parent_of("SO", D2)
        assert parent is not None and parent.id == "TU"

    def test_cycle_refused_and_state_unchanged(self) -> None:
        h = with_units()
        before = h.unit("TU").parents.entries[:]
        with pytest.raises(HierarchyCycle) as exc:
            h.reparent_unit("TU", "KDV", D2)
        assert exc.value.code == "hierarchy_cycle"
        assert "vòng lặp" in exc.value.message_vi
        assert h.unit("TU").parents.entries == before

    def test_cycle_via_future_change_refused(self) -> None:
        h = with_units()
        h.register_unit(NewUnit("A", "A", K.DEPARTMENT, "P"), D0)
        h.register_unit(NewUnit("B", "B", K.DEPARTMENT, "P"), D0)
        h.reparent_unit("A", "B", D3)  # from D3, A under B
        with pytest.raises(HierarchyCycle):
            h.reparent_unit("B", "A", D2)  # from D2 B under A → cycle from D3

    def test_self_parent_refused(self) -> None:
        with pytest.raises(HierarchyCycle):
            with_units().reparent_unit("HU", "HU", D1)

    def test_before_existence(self) -> None:
        h = with_units()
        with pytest.raises(BeforeExistence) as exc:
            h.rename_unit("TU", "Tên mới", D0)
        assert exc.value.code == "before_existence"
        with pytest.raises(BeforeExistence):
            h.reparent_unit("HU", None, date(2019, 1, 1))

    def test_out_of_order_change_is_overlap(self) -> None:
        h = with_units()
        h.rename_unit("TU", "Tên 2", D2)
        with pytest.raises(OverlappingInterval):
            h.rename_unit("TU", "Tên 1", D1)
        assert h.unit_at("TU", D1).name == "Tỉnh ủy P"
        assert h.unit_at("TU", D3).name == "Tên 2"

    def test_change_after_end_refused(self) -> None:
        h = with_units()
        h.register_unit(NewUnit("X", "X", K.DEPARTMENT, "P"), D0)
        h.dissolve_unit("X", D1)
        with pytest.raises(NotActive):
            h.rename_unit("X", "Y", D2)


class TestMergeSplitDissolve:
    def test_merge_into_new_unit(self) -> None:
        h = with_units()
        h.register_unit(NewUnit("A", "Sở A", K.DEPARTMENT, "P", "TU"), D0)
        h.register_unit(NewUnit("B", "Sở B", K.DEPARTMENT, "P", "TU"), D0)
        h.register_unit(NewUnit("A1", "Phòng thuộc A", K.DEPARTMENT, "P", "A"), D0)
        h.merge_units(["A", "B"], NewUnit("AB", "Sở AB", K.DEPARTMENT), D2)
        assert h.find_unit("A", D1) is not None and h.find_unit("A", D2) is None
        assert h.unit_at("AB", D2).parent_id == "TU"
        assert h.unit_at("A1", D1).parent_id == "A"
        assert h.unit_at("A1", D2).parent_id == "AB"
        assert h.resolve("A", D1) == ("A",)
        assert h.resolve("A", D3) == ("AB",)
        assert h.unit("A").end_reason == "merged"

    def test_absorb_into_existing(self) -> None:
        h = with_units()
        h.register_unit(NewUnit("A", "A", K.DEPARTMENT, "P"), D0)
        h.register_unit(NewUnit("B", "B", K.DEPARTMENT, "P", "A"), D0)  # B is A's child
        h.merge_units(["A"], "B", D2)
        assert h.unit_at("B", D2).parent_id is None  # took A's former parent
        assert h.resolve("A", D2) == ("B",)

    def test_merge_into_itself_refused(self) -> None:
        h = with_units()
        with pytest.raises(InvalidOperation):
            h.merge_units(["HU"], "HU", D2)
        with pytest.raises(InvalidOperation):
            h.merge_units(["HU", "HU"], "TU", D2)

    def test_merge_dated_before_existence(self) -> None:
        h = with_units()
        with pytest.raises(BeforeExistence):
            h.merge_units(["HU"], "TU", D0)

    def test_split_requires_child_mapping(self) -> None:
        h = with_units()
        specs = [
            NewUnit("HU1", "Huyện ủy 1", K.PARTY_COMMITTEE),
            NewUnit("HU2", "Huyện ủy 2", K.PARTY_COMMITTEE),
        ]
        with pytest.raises(InvalidOperation) as exc:
            h.split_unit("HU", specs, D2)
        assert exc.value.code == "unmapped_children"
        assert "HU1" not in h.units  # atomic
        new = h.split_unit("HU", specs, D2, {"HBDV": "HU1", "DU": "HU2"})
        assert new == ("HU1", "HU2")
        assert h.unit_at("DU", D2).parent_id == "HU2"
        assert h.resolve("HU", D3) == ("HU1", "HU2")

    def test_dissolve_refused_with_children(self) -> None:
        h = with_units()
        with pytest.raises(HasActiveChildren) as exc:
            h.dissolve_unit("DU", D2)
        assert "KDV" in exc.value.message_vi
        h.dissolve_unit("KDV", D2)
        h.dissolve_unit("DU", D2)
        assert h.resolve("DU", D3) == ()


class TestQueries:
    def test_counterpart_same_locality(self) -> None:
        h = with_units()
        assert h.counterpart("HU", K.DAN_VAN_BOARD, D1).id == "HBDV"
        assert h.counterpart("D", K.DAN_VAN_BOARD, D1).id == "HBDV"
        assert h.counterpart("DU", (K.DAN_VAN_BOARD, K.DAN_VAN_BLOC), D1).id == "KDV"
        with pytest.raises(CounterpartNotFound):
            h.counterpart("DU", K.FATHERLAND_FRONT, D1)
        h.register_unit(NewUnit("KDV2", "Khối 2", K.DAN_VAN_BLOC, "C", "DU"), D1)
        with pytest.raises(AmbiguousCounterpart):
            h.counterpart("DU", K.DAN_VAN_BLOC, D2)

    def test_children_ancestors(self) -> None:
        h = with_units()
        assert [u.id for u in h.children_of("TU", D1)] == ["HU", "BDV"]
        assert [u.id for u in h.ancestors_of("KDV", D1)] == ["DU", "HU", "TU"]
        assert h.unit_at("KDV", D1).level.code == "commune"

    def test_unknown_subject(self) -> None:
        with pytest.raises(UnknownReference):
            with_units().counterparts("NOPE", K.DAN_VAN_BOARD, D1)


class TestLocalities:
    def test_commune_merge_changes_answers_after_date_only(self) -> None:
        h = with_units()
        h.register_locality(NewLocality("C2", "Xã C2", "commune", "D"), D0)
        h.register_unit(NewUnit("DU2", "Đảng ủy xã C2", K.PARTY_COMMITTEE, "C2", "HU"), D0)
        h.register_unit(NewUnit("KDV2", "Khối dân vận xã C2", K.DAN_VAN_BLOC, "C2", "DU2"), D0)
        with pytest.raises(HasActiveChildren) as exc:
            h.merge_localities(["C", "C2"], NewLocality("CM", "Xã CM", "commune"), D2)
        assert exc.value.code == "locality_not_empty"
        h.merge_localities(["C", "C2"], NewLocality("CM", "Xã CM", "commune"), D2, relocate_units=True)
        assert h.counterpart("DU", K.DAN_VAN_BLOC, D1).id == "KDV"
        assert {u.id for u in h.units_at("CM", D2)} == {"DU", "KDV", "DU2", "KDV2"}
        assert h.locality_at("CM", D2).parent_id == "D"

    def test_two_level_reform(self) -> None:
        """2025: communes move directly under the province and the district ends."""
        h = with_units()
        reform = date(2025, 7, 1)
        h.reparent_locality("C", "P", reform)
        with pytest.raises(HasActiveChildren):
            h.dissolve_locality("D", reform)  # units still located in D
        h.reparent_unit("DU", "TU", reform)
        h.dissolve_unit("HBDV", reform)
        h.dissolve_unit("HU", reform)
        h.dissolve_locality("D", reform)
        assert h.locality_at("C", reform).parent_id == "P"
        assert h.locality_at("C", D3).parent_id == "D"
        assert h.unit_at("DU", reform).parent_id == "TU"
        assert h.find_unit("HU", D3) is not None

    def test_locality_cycle_refused(self) -> None:
        h = Hierarchy()
        h.define_level(Level("a", 1, "A"))
        h.define_level(Level("b", 2, "B"))
        h.register_locality(NewLocality("X", "X", "a"), D0)
        h.register_locality(NewLocality("Y", "Y", "b", "X"), D0)
        with pytest.raises(InvalidOperation):
            h.reparent_locality("X", "Y", D1)  # rank check catches it first


def test_registry_merge_ends_positions() -> None:
    reg = OrgRegistry(hierarchy=with_units())
    from shared.orgmodel.positions import ContactChannels

    reg.people.register_person("p1", "Người Một", ContactChannels(email="p1@example.vn"))
    reg.people.assign("a1", "p1", "HU", "bi_thu", D0)
    reg.merge_units(["HU"], NewUnit("HU_NEW", "Huyện ủy mới", K.PARTY_COMMITTEE), D2)
    assert reg.people.assignments["a1"].interval.end == D2
    assert reg.people.acting_for("HU", "bi_thu", D1) is not None
    assert reg.people.acting_for("HU", "bi_thu", D3) is None  # passes to HU_NEW, vacant there
