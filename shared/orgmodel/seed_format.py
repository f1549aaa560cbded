"""Seed / bulk-import documents of the org registry (YAML and CSV): the three entry points.

Each entry point opens a document, checks its format (``format:`` line or CSV header) and
hands the sections to the module of that concept: :mod:`~shared.orgmodel.seed_org` (levels,
địa bàn, units, people, delegations), :mod:`~shared.orgmodel.seed_history`,
:mod:`~shared.orgmodel.seed_policy`, :mod:`~shared.orgmodel.seed_csv`. Every refusal names the
key path and line (:mod:`~shared.orgmodel.seed_yaml`).

Pure: functions take the document *text* and return specs or domain objects; reading files is
the caller's job. The format is documented in ``services/org/seeds/README.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.orgmodel.hierarchy import Hierarchy
from shared.orgmodel.policy import ConsultationPolicy
from shared.orgmodel.seed_csv import units_from_csv
from shared.orgmodel.seed_history import parse_history
from shared.orgmodel.seed_org import parse_delegation, parse_level, parse_locality, parse_person
from shared.orgmodel.seed_policy import parse_version
from shared.orgmodel.seed_specs import Seed
from shared.orgmodel.seed_yaml import YamlDoc, YamlMap, refusing_unsafe
from shared.safe_input import DEFAULT_CSV, CsvLimits, csv_rows

ORG_FORMAT = "danvan-org/1"
POLICY_FORMAT = "danvan-policy/1"

_ORG_KEYS = (
    "format",
    "registry_id",
    "title",
    "note",
    "levels",
    "localities",
    "people",
    "delegations",
    "history",
)
_POLICY_KEYS = ("format", "title", "note", "defaults", "versions")


def parse_seed(text: str, source: str = "<seed>") -> Seed:
    """Parse an org document (format ``danvan-org/1``) into a :class:`Seed`."""
    doc, top = _open(text, source, ORG_FORMAT, _ORG_KEYS)
    seed = Seed(source=source, registry_id=top.opt("registry_id", str) or "vn")
    seed.levels.extend(parse_level(doc, raw, path) for path, raw in top.items("levels"))
    for path, raw in top.items("localities"):
        parse_locality(doc, raw, path, None, seed)
    for path, raw in top.items("people"):
        parse_person(doc, raw, path, seed)
    seed.delegations.extend(parse_delegation(doc, raw, path) for path, raw in top.items("delegations"))
    seed.history.extend(parse_history(doc, raw, path) for path, raw in top.items("history"))
    seed.check_unique_ids()
    return seed


def parse_policy(text: str, source: str = "<policy>") -> list[ConsultationPolicy]:
    """Parse a policy document (format ``danvan-policy/1``) into its versions.

    Refuses unknown unit kinds, document types and flags with the key path.
    """
    doc, top = _open(text, source, POLICY_FORMAT, _POLICY_KEYS)
    return [parse_version(doc, raw, path) for path, raw in top.items("versions")]


def parse_units_csv(
    text: str, source: str = "<csv>", registry: Hierarchy | None = None, limits: CsvLimits = DEFAULT_CSV
) -> Seed:
    """Parse a CSV of units (``id,name,kind,level,parent_id,valid_from[,locality_id,function]``).

    ``locality_id`` may be left empty: the unit then takes the địa bàn of its parent
    (earlier row or ``registry``) when the parent is at the same ``level``; otherwise the
    row is refused and the column must be filled. Errors name the line and column. The
    document must be inside ``limits`` (size, rows, field length: :mod:`shared.safe_input`).
    """
    with refusing_unsafe(source):
        records = list(csv_rows(text, limits))  # every limit checked before any row is read
    return units_from_csv(iter(records), source, registry)


def _open(text: str, source: str, fmt: str, keys: Sequence[str]) -> tuple[YamlDoc, YamlMap]:
    """The document and its top mapping, once its ``format`` is ``fmt``."""
    doc = YamlDoc(text, source)
    top = YamlMap(doc, doc.data, (), keys)
    found = top.req("format", str)
    if found != fmt:
        raise doc.error(
            ("format",), f"định dạng “{found}” không được hỗ trợ; cần “{fmt}”.", "seed_format_version"
        )
    return doc, top
