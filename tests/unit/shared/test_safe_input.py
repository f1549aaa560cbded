"""Limits for untrusted YAML and CSV (shared/safe_input.py): bombs are refused before any object is built."""

from __future__ import annotations

import csv
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from shared import safe_input
from shared.orgmodel.errors import SeedFormatError, UnsafeDocument
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_format import parse_policy, parse_seed, parse_units_csv
from shared.orgmodel.seed_loading import build_registry
from shared.orgmodel.systems_file import system_events
from shared.safe_input import CsvLimits, InputRefused, YamlLimits, check_yaml, csv_rows, load_yaml

SEEDS = Path(__file__).resolve().parents[3] / "services" / "org" / "seeds"

# The classic "billion laughs": ~300 bytes that expand to 9**9 (387 million) strings.
BILLION_LAUGHS = """format: danvan-org/1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def refused(text: str, limits: YamlLimits = YamlLimits()) -> InputRefused:
    with pytest.raises(InputRefused) as exc:
        check_yaml(text, limits)
    return exc.value


def quickly_and_small(fn: Callable[[], object]) -> tuple[float, int]:
    """Run ``fn`` (expected to raise), return (seconds, peak traced bytes)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        fn()
    except (InputRefused, SeedFormatError):
        pass
    else:
        raise AssertionError("not refused")
    finally:
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return seconds, peak


# ------------------------------------------------------------------ YAML


def test_billion_laughs_is_refused_at_once_without_memory_growth() -> None:
    assert len(BILLION_LAUGHS.encode()) < 400
    e = refused(BILLION_LAUGHS)
    assert e.code == "yaml_too_many_nodes" and e.status == 422 and e.line is not None
    assert "bí danh" in e.message_vi and "an toàn" in e.message_vi
    for attempt in (
        lambda: check_yaml(BILLION_LAUGHS),
        lambda: parse_seed(BILLION_LAUGHS, "import.yaml"),
        lambda: parse_policy(BILLION_LAUGHS.replace("danvan-org/1", "danvan-policy/1"), "policy.yaml"),
        lambda: system_events(BILLION_LAUGHS, OrgRegistry()),
    ):
        seconds, peak = quickly_and_small(attempt)
        assert seconds < 0.5, seconds
        assert peak < 5 * 1024 * 1024, peak


def test_org_parsers_refuse_the_bomb_as_a_located_unsafe_document() -> None:
    with pytest.raises(UnsafeDocument) as exc:
        parse_seed(BILLION_LAUGHS, "import.yaml")
    assert exc.value.code == "yaml_too_many_nodes" and exc.value.status == 422
    assert exc.value.message_vi.startswith("import.yaml (dòng ")
    assert isinstance(exc.value, SeedFormatError)  # the existing 422 mapping still applies
    with pytest.raises(UnsafeDocument):
        system_events(BILLION_LAUGHS, OrgRegistry(), "systems.yaml")


def test_aliases_over_the_alias_limit_are_refused() -> None:
    e = refused(BILLION_LAUGHS, YamlLimits(max_aliases=0))
    assert e.code == "yaml_alias_refused" and e.line == 3
    assert e.message_vi == "Tệp YAML dùng bí danh (alias) — không được chấp nhận vì lý do an toàn."
    assert refused(BILLION_LAUGHS, YamlLimits(max_aliases=10)).code == "yaml_alias_refused"


def test_few_aliases_cannot_make_a_bomb_either() -> None:
    # 20 levels of two aliases: 39 aliases, 2**20 leaves once expanded.
    lines = ["l0: &l0 [x, x]"] + [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, 21)]
    e = refused("\n".join(lines))
    assert e.code == "yaml_too_many_nodes"


def test_a_self_referencing_alias_is_refused() -> None:
    assert refused("a: &a [1, *a]").code == "yaml_alias_refused"
    assert refused("a: &a {b: *a}").code == "yaml_alias_refused"


def test_deep_nesting_is_refused() -> None:
    assert refused("[" * 33 + "]" * 33).code == "yaml_too_deep"
    check_yaml("[" * 32 + "]" * 32)
    # far deeper than Python's recursion limit: refused, not a RecursionError
    assert refused("[" * 50_000 + "]" * 50_000).code == "yaml_too_deep"
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "v"
    assert refused(block).code == "yaml_too_deep"


def test_nesting_through_an_alias_counts_what_it_expands_to() -> None:
    anchored = "a: &a [[[[1]]]]\n"  # four levels
    check_yaml(anchored + "b: " + "[" * 27 + "*a" + "]" * 27)  # 1 + 27 + 4 = 32
    e = refused(anchored + "b: " + "[" * 28 + "*a" + "]" * 28)
    assert e.code == "yaml_too_deep" and e.line == 2


def test_too_many_nodes_is_refused() -> None:
    flat = "[" + "0," * 200_001 + "]"
    assert len(flat) < 1024 * 1024
    assert refused(flat).code == "yaml_too_many_nodes"
    check_yaml("[" + "0," * 1000 + "]", YamlLimits(max_nodes=1001))
    assert refused("[" + "0," * 1000 + "]", YamlLimits(max_nodes=1000)).code == "yaml_too_many_nodes"


def test_too_large_is_413() -> None:
    e = refused("#" * (1024 * 1024 + 1))
    assert e.code == "input_too_large" and e.status == 413
    assert "1 048 576 byte" in e.message_vi
    check_yaml("#" * 1024 * 1024)
    # counted in UTF-8 bytes, not characters
    assert refused("# " + "ệ" * 400_000).code == "input_too_large"
    with pytest.raises(UnsafeDocument) as exc:
        parse_seed("#" * (1024 * 1024 + 1), "import.yaml")
    assert exc.value.status == 413


def test_the_bundled_seeds_still_load() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.yaml")}
    assert {"kien_giang.yaml", "thanh_oai.yaml", "policy_v1.yaml"} <= set(texts)
    assert "*" in texts["policy_v1.yaml"]  # the documented anchors for repeating rules
    for text in texts.values():
        check_yaml(text)
    registry = build_registry(
        [parse_seed(texts["kien_giang.yaml"]), parse_seed(texts["thanh_oai.yaml"])],
        parse_policy(texts["policy_v1.yaml"]),
    )
    assert registry.hierarchy.units


def test_load_yaml_loads_safely_and_leaves_syntax_errors_to_the_loader() -> None:
    assert load_yaml("a: &x [1, 2]\nb: *x") == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: [1, 2")
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: !!python/object/apply:os.system [echo]")


def test_a_document_libyaml_cannot_read_is_checked_with_the_python_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Refusing(yaml.SafeLoader):
        def check_event(self, *choices: object) -> bool:
            raise yaml.YAMLError("libyaml disagrees")

    monkeypatch.setattr(safe_input, "_FastSafeLoader", Refusing)
    assert refused(BILLION_LAUGHS).code == "yaml_too_many_nodes"
    check_yaml("a: 1")


def test_huge_integers_are_a_format_error_not_a_crash() -> None:
    with pytest.raises(SeedFormatError) as exc:
        parse_seed("format: danvan-org/1\nregistry_id: " + "1" * 5000, "import.yaml")
    assert exc.value.code == "seed_yaml_syntax"


# ------------------------------------------------------------------ CSV


def test_csv_rows_skip_bom_and_blank_lines_and_give_line_numbers() -> None:
    rows = list(csv_rows('\ufeffid,name\n\nu1,"a\nb"\nu2,c\n'))
    assert rows == [(1, ["id", "name"]), (4, ["u1", "a\nb"]), (5, ["u2", "c"])]


def test_csv_too_many_rows_is_refused() -> None:
    text = "id\n" + "x\n" * 20_000
    with pytest.raises(InputRefused) as exc:
        list(csv_rows(text))
    assert exc.value.code == "csv_too_many_rows" and exc.value.status == 422
    assert len(list(csv_rows("id\n" + "x\n" * 19_999))) == 20_000
    with pytest.raises(UnsafeDocument) as exc2:
        parse_units_csv(
            "id,name,kind,level,parent_id,valid_from\n" + "a\n" * 3, "units.csv", limits=CsvLimits(max_rows=3)
        )
    assert exc2.value.code == "csv_too_many_rows"


@pytest.mark.parametrize("length", [10_001, 131_073, 500_000])
def test_csv_field_too_long_is_refused_without_touching_the_global_limit(length: int) -> None:
    before = csv.field_size_limit()
    with pytest.raises(InputRefused) as exc:
        list(csv_rows("id,name\nu1," + "x" * length + "\n"))
    assert exc.value.code == "csv_field_too_long" and exc.value.line == 2
    assert csv.field_size_limit() == before
    assert list(csv_rows("id,name\nu1," + "x" * 10_000 + "\n"))[1][1][1] == "x" * 10_000


def test_csv_too_large_is_413() -> None:
    with pytest.raises(InputRefused) as exc:
        list(csv_rows("id\n" + "x" * 1024 * 1024))
    assert exc.value.code == "input_too_large" and exc.value.status == 413


def test_units_csv_import_still_parses() -> None:
    seed = parse_units_csv(
        "\ufeffid,name,kind,level,parent_id,valid_from,locality_id\n"
        "p.tu,Tỉnh ủy,party_committee,province,,2020-01-01,p\n"
        "p.dv,Ban Dân vận,dan_van_board,province,p.tu,2020-01-01\n",
        "units.csv",
    )
    assert [(u.id, u.locality_id, u.where.line) for u in seed.units] == [("p.tu", "p", 2), ("p.dv", "p", 3)]
