"""The small shared helpers of the org model: registration once, code parsing, dates, intervals, ends."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import pytest

from shared.orgmodel.errors import DuplicateId, OrgDomainError, day_vi, parse_code, put_once
from shared.orgmodel.units import Dated, Interval, Locality, Timeline, Unit, UnitKind

D0, D1, D2, D3 = date(2020, 1, 1), date(2021, 1, 1), date(2022, 1, 1), date(2023, 1, 1)


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


def _conflict() -> OrgDomainError:
    return DuplicateId("khác", id="k")


def test_put_once_stores_a_new_value() -> None:
    table: dict[str, int] = {}
    put_once(table, "k", 1, _conflict)
    assert table == {"k": 1}


def test_put_once_takes_the_same_value_again_and_keeps_the_first_object() -> None:
    first, again = Interval(D0), Interval(D0)
    table = {"k": first}
    put_once(table, "k", again, _conflict)
    assert table["k"] is first


def test_put_once_refuses_another_value_and_leaves_the_table() -> None:
    table = {"k": 1}
    with pytest.raises(DuplicateId):
        put_once(table, "k", 2, _conflict)
    assert table == {"k": 1}


def test_parse_code_returns_the_member() -> None:
    assert parse_code(Colour, "blue", lambda known: OrgDomainError(known)) is Colour.BLUE


def test_parse_code_refuses_with_the_valid_values_listed() -> None:
    with pytest.raises(OrgDomainError) as caught:
        parse_code(Colour, "green", lambda known: OrgDomainError(f"hợp lệ: {known}", code="bad"))
    assert caught.value.code == "bad"
    assert caught.value.message_vi == "hợp lệ: red, blue"


def test_day_vi() -> None:
    assert day_vi(date(2025, 7, 1)) == "01/07/2025"


@pytest.mark.parametrize(
    ("outer", "inner", "covered"),
    [
        (Interval(D0), Interval(D1), True),
        (Interval(D0), Interval(D0, D1), True),
        (Interval(D1), Interval(D0, D2), False),
        (Interval(D0, D2), Interval(D1, D2), True),
        (Interval(D0, D2), Interval(D1, D3), False),
        (Interval(D0, D2), Interval(D1), False),
    ],
)
def test_interval_covers(outer: Interval, inner: Interval, covered: bool) -> None:
    assert outer.covers(inner) is covered


def test_timeline_starting_holds_the_value_until_further_notice() -> None:
    line = Timeline.starting(D1, "A")
    assert line.entries == [Dated(Interval(D1), "A")]
    assert line.entry_at(D0) is None
    assert line.entry_at(D3) == Dated(Interval(D1), "A")


def test_a_locality_ends_with_its_names_and_parents() -> None:
    loc = Locality("c", "commune", Interval(D0), Timeline.starting(D0, "Xã"), Timeline.starting(D0, "d"))
    loc.end(D2, ("c2",))
    assert loc.existence == Interval(D0, D2)
    assert not loc.exists_at(D2) and loc.exists_at(D1)
    assert loc.name_at(D2) is None and loc.parent_at(D1) == "d"
    assert loc.successor_ids == ("c2",)


def test_a_unit_ends_with_its_locality_and_the_reason() -> None:
    unit = Unit(
        "u",
        UnitKind.DEPARTMENT,
        Interval(D0),
        Timeline.starting(D0, "Sở"),
        Timeline.starting(D0, None),
        Timeline.starting(D0, "p"),
    )
    unit.end_for(D2, (), "dissolved")
    assert unit.existence == Interval(D0, D2)
    assert unit.locality_at(D1) == "p" and unit.locality_at(D2) is None
    assert unit.successor_ids == () and unit.end_reason == "dissolved"
