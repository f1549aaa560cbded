"""The sections of an org seed document: levels, nested địa bàn with their units, people, delegations.

Each function reads one located YAML mapping (:mod:`shared.orgmodel.seed_yaml`) into specs
(:mod:`shared.orgmodel.seed_specs`); the document around them is :func:`~shared.orgmodel.seed_format.parse_seed`.
The format is documented in ``services/org/seeds/README.md``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.orgmodel.positions import ContactChannels
from shared.orgmodel.seed_specs import (
    AssignmentSpec,
    DelegationSpec,
    LevelSpec,
    LocalitySpec,
    PersonSpec,
    Seed,
    UnitSpec,
)
from shared.orgmodel.seed_yaml import Path, YamlDoc, YamlMap, located
from shared.orgmodel.units import Level, UnitKind

UNIT_KEYS = ("id", "name", "kind", "parent", "function", "valid_from", "locality")
_LOCALITY_KEYS = ("id", "name", "level", "parent", "valid_from", "units", "localities")
_POSITION_KEYS = ("id", "unit", "role", "valid_from", "valid_to", "duties")
_DELEGATION_KEYS = ("id", "unit", "role", "delegate", "valid_from", "valid_to", "reason")


def parse_level(doc: YamlDoc, raw: Any, path: Path) -> LevelSpec:
    m = YamlMap(doc, raw, path, ("code", "rank", "name_vi"))
    code, rank, name = m.req("code", str), m.req("rank", int), m.req("name_vi", str)
    if rank < 1:
        raise doc.error(m.at("rank"), "phải là số nguyên dương.", "seed_invalid_value")
    return LevelSpec(Level(code, rank, name), m.where())


def parse_locality(doc: YamlDoc, raw: Any, path: Path, parent: LocalitySpec | None, seed: Seed) -> None:
    """Add a địa bàn, its units and (recursively) the địa bàn nested in it to ``seed``."""
    m = YamlMap(doc, raw, path, _LOCALITY_KEYS)
    explicit_parent = m.opt("parent", str)
    if parent is not None and explicit_parent is not None and explicit_parent != parent.id:
        raise doc.error(m.at("parent"), f"mâu thuẫn với địa bàn chứa nó “{parent.id}”.", "seed_invalid_value")
    valid_from = m.opt("valid_from", date) or (parent.valid_from if parent else None)
    if valid_from is None:
        raise doc.error(path, "thiếu khóa bắt buộc “valid_from”.", "seed_missing_key")
    spec = LocalitySpec(
        id=m.req("id", str),
        name=m.req("name", str),
        level_code=m.req("level", str),
        parent_id=explicit_parent or (parent.id if parent else None),
        valid_from=valid_from,
        where=m.where(),
    )
    seed.localities.append(spec)
    for upath, uraw in m.items("units"):
        seed.units.append(_parse_unit(doc, uraw, upath, spec))
    for cpath, craw in m.items("localities"):
        parse_locality(doc, craw, cpath, spec, seed)


def _parse_unit(doc: YamlDoc, raw: Any, path: Path, locality: LocalitySpec) -> UnitSpec:
    u = YamlMap(doc, raw, path, UNIT_KEYS)
    if u.opt("locality", str) not in (None, locality.id):
        raise doc.error(
            u.at("locality"), f"mâu thuẫn với địa bàn chứa nó “{locality.id}”.", "seed_invalid_value"
        )
    kind = u.code("kind", UnitKind.parse)
    return UnitSpec(
        id=u.req("id", str),
        name=u.req("name", str),
        kind=kind,
        locality_id=locality.id,
        parent_id=u.opt("parent", str),
        function=u.opt("function", str),
        valid_from=u.opt("valid_from", date) or locality.valid_from,
        where=u.where(),
    )


def parse_person(doc: YamlDoc, raw: Any, path: Path, seed: Seed) -> None:
    """Add a person and their positions (assignments) to ``seed``."""
    m = YamlMap(doc, raw, path, ("id", "full_name", "email", "phone", "webhook_url", "positions"))
    person_id = m.req("id", str)
    contacts = located(
        doc,
        path,
        ContactChannels,
        m.opt("email", str),
        m.opt("phone", str),
        m.opt("webhook_url", str),
    )
    seed.persons.append(PersonSpec(person_id, m.req("full_name", str), contacts, m.where()))
    for i, (ppath, praw) in enumerate(m.items("positions")):
        p = YamlMap(doc, praw, ppath, _POSITION_KEYS)
        unit_id, role = p.req("unit", str), p.req("role", str)
        seed.assignments.append(
            AssignmentSpec(
                id=p.opt("id", str) or f"{person_id}#{i + 1}",
                person_id=person_id,
                unit_id=unit_id,
                role=role,
                valid_from=p.req("valid_from", date),
                valid_to=p.opt("valid_to", date),
                duties=p.str_list("duties"),
                where=p.where(),
            )
        )


def parse_delegation(doc: YamlDoc, raw: Any, path: Path) -> DelegationSpec:
    m = YamlMap(doc, raw, path, _DELEGATION_KEYS)
    return DelegationSpec(
        id=m.req("id", str),
        unit_id=m.req("unit", str),
        role=m.req("role", str),
        delegate_id=m.req("delegate", str),
        valid_from=m.req("valid_from", date),
        valid_to=m.opt("valid_to", date),
        reason=m.opt("reason", str) or "",
        where=m.where(),
    )
