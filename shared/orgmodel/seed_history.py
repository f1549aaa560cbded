"""The ``history`` section of an org seed: dated changes (rename, re-parent, merge, split, end…).

Each entry is checked here for its op's arguments (:data:`HISTORY_ARGS`) and turned into a
:class:`~shared.orgmodel.seed_specs.HistoryOp`; it is applied after everything else in the
document, in document order (:func:`shared.orgmodel.seed_loading.apply_history`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.orgmodel.hierarchy import NewLocality
from shared.orgmodel.seed_org import UNIT_KEYS
from shared.orgmodel.seed_specs import HistoryOp
from shared.orgmodel.seed_yaml import Path, YamlDoc, YamlMap, located
from shared.orgmodel.units import NewUnit, UnitKind

HISTORY_ARGS: Mapping[str, tuple[tuple[str, type], ...]] = {
    "rename_unit": (("unit", str), ("name", str)),
    "reparent_unit": (("unit", str),),  # + optional parent (None = root)
    "relocate_unit": (("unit", str), ("locality", str)),
    "merge_units": (("sources", list), ("into", str)),  # + optional new
    "split_unit": (("source", str), ("into", list)),  # + optional children_to
    "dissolve_unit": (("unit", str),),
    "rename_locality": (("locality", str), ("name", str)),
    "reparent_locality": (("locality", str),),  # + optional parent
    "merge_localities": (("sources", list), ("into", str)),  # + optional new, relocate_units
    "dissolve_locality": (("locality", str),),
    "end_assignment": (("assignment", str),),
}
"""The required arguments of each op (key, type)."""
_HISTORY_OPTIONAL = ("parent", "new", "children_to", "relocate_units", "note")
_NEW_UNIT_KEYS = ("name", "kind", "locality", "parent", "function")


def parse_history(doc: YamlDoc, raw: Any, path: Path) -> HistoryOp:
    allowed = ("op", "on", *{k for spec in HISTORY_ARGS.values() for k, _ in spec}, *_HISTORY_OPTIONAL)
    m = YamlMap(doc, raw, path, allowed)
    op = m.req("op", str)
    if op not in HISTORY_ARGS:
        raise doc.error(
            m.at("op"),
            f"thao tác “{op}” không tồn tại; hợp lệ: {', '.join(HISTORY_ARGS)}.",
            "seed_invalid_value",
        )
    args: dict[str, Any] = {}
    for key, typ in HISTORY_ARGS[op]:
        args[key] = m.req(key, typ)
    if op in ("merge_units", "merge_localities"):
        args["sources"] = m.str_list("sources")
        new = m.opt("new", dict)
        if new is not None:
            if op == "merge_units":
                args["new"] = _new_unit(YamlMap(doc, new, m.at("new"), _NEW_UNIT_KEYS), args["into"])
            else:
                n = YamlMap(doc, new, m.at("new"), ("name", "level", "parent"))
                args["new"] = NewLocality(
                    args["into"], n.req("name", str), n.req("level", str), n.opt("parent", str)
                )
        args["relocate_units"] = bool(m.opt("relocate_units", bool))
    if op == "split_unit":
        args["into"] = tuple(_new_unit(YamlMap(doc, s, spath, UNIT_KEYS)) for spath, s in m.items("into"))
        children = m.opt("children_to", dict) or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in children.items()):
            raise doc.error(
                m.at("children_to"), "phải là ánh xạ mã đơn vị con → mã đơn vị mới.", "seed_wrong_type"
            )
        args["children_to"] = dict(children)
    if op in ("reparent_unit", "reparent_locality"):
        args["parent"] = m.opt("parent", str)
    return HistoryOp(op=op, on=m.req("on", date), args=args, where=m.where())


def _new_unit(m: YamlMap, unit_id: str | None = None) -> NewUnit:
    """A successor unit of a merge (``unit_id`` = the merge's ``into``) or of a split (its own ``id``)."""
    kind_raw = m.req("kind", str)
    return NewUnit(
        id=m.req("id", str) if unit_id is None else unit_id,
        name=m.req("name", str),
        kind=located(m.doc, m.at("kind"), UnitKind.parse, kind_raw),
        locality_id=m.opt("locality", str),
        parent_id=m.opt("parent", str),
        function=m.opt("function", str),
    )
