"""Seed / bulk-import format: located errors, nested địa bàn, history, CSV import."""

from __future__ import annotations

from datetime import date

import pytest

from shared.orgmodel.errors import SeedFormatError
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_format import parse_policy, parse_seed, parse_units_csv
from shared.orgmodel.seed_loading import build_registry, load_into
from shared.orgmodel.seed_specs import Seed
from shared.orgmodel.units import UnitKind

HEAD = """format: danvan-org/1
levels:
  - {code: province, rank: 1, name_vi: Cấp tỉnh}
  - {code: commune, rank: 2, name_vi: Cấp xã}
localities:
  - id: p
    name: Tỉnh P
    level: province
    valid_from: 2020-01-01
    units:
      - {id: p.tu, name: Tỉnh ủy P, kind: party_committee}
"""


def err(text: str) -> SeedFormatError:
    with pytest.raises(SeedFormatError) as exc:
        build_registry([parse_seed(text, "t.yaml")])
    return exc.value


def test_shipped_seeds_shape(kg_seed: Seed, to_seed: Seed) -> None:
    reg = build_registry([kg_seed, to_seed])
    on = date(2024, 1, 1)
    communes = [loc for loc in reg.hierarchy.localities.values() if loc.level_code == "commune"]
    assert len(communes) == 5
    assert (
        reg.hierarchy.counterpart("kien_giang", UnitKind.DAN_VAN_BOARD, on).name
        == "Ban Dân vận Tỉnh ủy Kiên Giang"
    )
    orgs = reg.hierarchy.counterparts("kien_giang.rach_gia", UnitKind.SOCIO_POLITICAL_ORG, on)
    assert len(orgs) == 5
    assert reg.hierarchy.locality_at("ha_noi.thanh_oai", on).parent_id == "ha_noi"
    assert all(
        p.contacts.email and p.contacts.email.endswith(".example.vn") for p in reg.people.persons.values()
    )


def test_unknown_kind_located() -> None:
    e = err(HEAD + "      - {id: p.x, name: X, kind: ban_chi_dao}\n")
    assert e.code == "unknown_unit_kind"
    assert e.path == "localities[0].units[1].kind" and e.line == 12
    assert "dòng 12" in e.message_vi


def test_unknown_key_and_missing_key() -> None:
    e = err(HEAD + "      - {id: p.x, name: X, kind: department, parrent: p.tu}\n")
    assert e.code == "seed_unknown_key" and "parrent" in e.message_vi
    e2 = err(HEAD + "      - {id: p.x, kind: department}\n")
    assert e2.code == "seed_missing_key" and "name" in e2.message_vi


def test_domain_error_located() -> None:
    e = err(HEAD + "      - {id: p.x, name: X, kind: department, parent: p.nope}\n")
    assert e.code == "unknown_parent" and e.line == 12


def test_duplicate_ids_and_cycle() -> None:
    e = err(HEAD + "      - {id: p.tu, name: X, kind: department}\n")
    assert e.code == "duplicate_id"
    e2 = err(
        HEAD
        + "      - {id: a, name: A, kind: department, parent: b}\n      - {id: b, name: B, kind: department, parent: a}\n"
    )
    assert e2.code == "hierarchy_cycle"


def test_bad_date_and_yaml_syntax() -> None:
    e = err(HEAD.replace("valid_from: 2020-01-01", "valid_from: 2020-13-01"))
    assert e.code in {"seed_invalid_value", "seed_wrong_type"}
    e2 = err("format: [unclosed\n")
    assert e2.code == "seed_yaml_syntax" and e2.line is not None


def test_history_ops() -> None:
    text = (
        HEAD
        + """      - {id: p.a, name: Sở A, kind: department}
      - {id: p.b, name: Sở B, kind: department}
history:
  - {op: rename_unit, unit: p.a, name: Sở A mới, on: 2021-01-01}
  - op: merge_units
    sources: [p.a, p.b]
    into: p.ab
    on: 2022-01-01
    new: {name: Sở AB, kind: department}
  - {op: dissolve_unit, unit: p.ab, on: 2023-01-01}
"""
    )
    reg = build_registry([parse_seed(text)])
    assert reg.hierarchy.unit_at("p.a", date(2021, 6, 1)).name == "Sở A mới"
    assert reg.hierarchy.resolve("p.b", date(2022, 6, 1)) == ("p.ab",)
    assert reg.hierarchy.resolve("p.b", date(2023, 6, 1)) == ()
    bad = text.replace("on: 2022-01-01", "on: 2019-01-01")
    e = err(bad)
    assert e.code == "before_existence" and e.path == "history[1]"


def test_policy_unknown_kind_located(policies: list[object]) -> None:
    text = """format: danvan-policy/1
versions:
  - version: 1
    effective_from: 2021-11-11
    no_consultation_citation: x
    rules:
      - id: r
        citation: c
        issuer_kinds: [peoples_committee]
        document_types: [quyet_dinh]
        triggers: [touches_peoples_rights]
        consultees:
          - {kinds: [ban_dan_van]}
"""
    with pytest.raises(SeedFormatError) as exc:
        parse_policy(text)
    assert exc.value.code == "unknown_unit_kind"
    assert exc.value.path == "versions[0].rules[0].consultees[0].kinds[0]" and exc.value.line == 13
    with pytest.raises(SeedFormatError) as exc2:
        parse_policy(text.replace("quyet_dinh", "cong_van").replace("ban_dan_van", "dan_van_board"))
    assert exc2.value.code == "unknown_document_type"
    assert [p.version for p in policies] == [1, 2]  # type: ignore[attr-defined]


def test_csv_import(registry: OrgRegistry) -> None:
    csv_text = (
        "id,name,kind,level,parent_id,valid_from\n"
        "kg.so_gddt,Sở Giáo dục và Đào tạo tỉnh Kiên Giang,department,province,kg.ubnd,2021-01-01\n"
        "kg.so_gddt.vp,Văn phòng Sở Giáo dục và Đào tạo,department,province,kg.so_gddt,2021-01-01\n"
    )
    seed = parse_units_csv(csv_text, "units.csv", registry.hierarchy)
    load_into(registry, seed)
    assert registry.hierarchy.locality_of("kg.so_gddt.vp", date(2022, 1, 1)).id == "kien_giang"


def test_csv_errors(registry: OrgRegistry) -> None:
    with pytest.raises(SeedFormatError) as e1:
        parse_units_csv("id,name,kind\nx,y,z\n", "u.csv")
    assert e1.value.code == "seed_missing_key" and e1.value.line == 1
    with pytest.raises(SeedFormatError) as e2:
        parse_units_csv("id,name,kind,level,parent_id,valid_from\nx,X,phong,province,,2021-01-01\n", "u.csv")
    assert e2.value.code == "unknown_unit_kind" and e2.value.line == 2 and e2.value.path == "u.csv:kind"
    with pytest.raises(SeedFormatError) as e3:
        parse_units_csv(
            "id,name,kind,level,parent_id,valid_from\nx,X,department,district,kg.ubnd,2021-01-01\n",
            "u.csv",
            registry.hierarchy,
        )
    assert e3.value.path == "u.csv:locality_id"
    with pytest.raises(SeedFormatError) as e4:
        parse_units_csv(
            "id,name,kind,level,parent_id,valid_from,locality_id\nx,X,department,commune,,2021-01-01,kien_giang\n",
            "u.csv",
            registry.hierarchy,
        )
    assert e4.value.path == "u.csv:level"
