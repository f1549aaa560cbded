"""Seed / bulk-import format of the org registry (YAML and CSV) — parsing and loading.

Why a strict, located parser: the same format is how real provinces will import
thousands of units and positions. A typo must be refused with the exact key path and
line ("localities[0].units[3].kind (dòng 42): loại đơn vị … không tồn tại"), never
silently ignored or half-loaded. Unknown keys are errors for the same reason.

Pure: functions take the document *text* and return domain objects; reading files is
the caller's job. The format is documented in ``services/org/seeds/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import yaml

from shared.orgmodel.errors import OrgDomainError, SeedFormatError, UnsafeDocument
from shared.orgmodel.hierarchy import Hierarchy, NewLocality
from shared.orgmodel.people import ContactChannels
from shared.orgmodel.policy import (
    DEFAULT_WINDOW_WORKING_DAYS,
    ConsultationPolicy,
    ConsulteeGroup,
    DocumentType,
    Flag,
    OverrideAuthority,
    PolicyRule,
)
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.units import Level, NewUnit, UnitKind
from shared.safe_input import (
    DEFAULT_CSV,
    DEFAULT_YAML,
    CsvLimits,
    InputRefused,
    YamlLimits,
    check_yaml,
    csv_rows,
)

ORG_FORMAT = "danvan-org/1"
POLICY_FORMAT = "danvan-policy/1"

Path = tuple[str | int, ...]
T = TypeVar("T")


@dataclass(frozen=True)
class Where:
    """Where a spec came from, for error messages."""

    path: str
    line: int | None


@dataclass(frozen=True)
class LevelSpec:
    level: Level
    where: Where


@dataclass(frozen=True)
class LocalitySpec:
    id: str
    name: str
    level_code: str
    parent_id: str | None
    valid_from: date
    where: Where


@dataclass(frozen=True)
class UnitSpec:
    id: str
    name: str
    kind: UnitKind
    locality_id: str
    parent_id: str | None
    function: str | None
    valid_from: date
    where: Where


@dataclass(frozen=True)
class PersonSpec:
    id: str
    full_name: str
    contacts: ContactChannels
    where: Where


@dataclass(frozen=True)
class AssignmentSpec:
    id: str
    person_id: str
    unit_id: str
    role: str
    valid_from: date
    valid_to: date | None
    duties: tuple[str, ...]
    where: Where


@dataclass(frozen=True)
class DelegationSpec:
    id: str
    unit_id: str
    role: str
    delegate_id: str
    valid_from: date
    valid_to: date | None
    reason: str
    where: Where


@dataclass(frozen=True)
class HistoryOp:
    """One dated change in ``history`` (applied in document order after everything else).

    ``op`` is one of: rename_unit, reparent_unit, relocate_unit, merge_units, split_unit,
    dissolve_unit, rename_locality, reparent_locality, merge_localities,
    dissolve_locality, end_assignment. ``args`` holds the op's validated arguments.
    """

    op: str
    on: date
    args: Mapping[str, Any]
    where: Where


@dataclass
class Seed:
    """A parsed org document (localities, units, people, history)."""

    source: str
    registry_id: str = "vn"
    levels: list[LevelSpec] = field(default_factory=list)
    localities: list[LocalitySpec] = field(default_factory=list)
    units: list[UnitSpec] = field(default_factory=list)
    persons: list[PersonSpec] = field(default_factory=list)
    assignments: list[AssignmentSpec] = field(default_factory=list)
    delegations: list[DelegationSpec] = field(default_factory=list)
    history: list[HistoryOp] = field(default_factory=list)

    def ordered_localities(self) -> list[LocalitySpec]:
        """Parents before children (stable); refuses a cycle among the document's địa bàn."""
        return _topological(self.localities, lambda s: s.id, lambda s: s.parent_id, "địa bàn")

    def ordered_units(self) -> list[UnitSpec]:
        """Parents before children (stable); refuses a cycle among the document's units."""
        return _topological(self.units, lambda s: s.id, lambda s: s.parent_id, "đơn vị")


# ============================================================== YAML plumbing


@contextmanager
def refusing_unsafe(source: str) -> Iterator[None]:
    """Turn a safety-limit refusal (:mod:`shared.safe_input`) into a located :class:`UnsafeDocument`."""
    try:
        yield
    except InputRefused as exc:
        raise UnsafeDocument(
            exc.message_vi, path=source, line=exc.line, code=exc.code, status=exc.status
        ) from None


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false.

    YAML 1.1 reads ``on``, ``off``, ``yes``, ``no`` as booleans; ``on`` is the date key
    of every history entry, so that would silently corrupt documents.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _lenient_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """Keep an impossible date (2020-13-01) as text so the field check reports it with its path."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _lenient_timestamp)


class _Doc:
    """Parsed YAML plus a path → line index built from the node tree."""

    def __init__(self, text: str, source: str, limits: YamlLimits = DEFAULT_YAML) -> None:
        self.source = source
        self.lines: dict[Path, int] = {}
        with refusing_unsafe(source):
            check_yaml(text, limits)  # before any node is built: alias bombs, nesting, size
        try:
            loader = _Loader(text)
            try:
                node = loader.get_single_node()
                self.data: Any = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
            raise SeedFormatError(
                f"tệp YAML không hợp lệ: {exc.problem or exc}",
                path=source,
                line=line,
                code="seed_yaml_syntax",
            ) from None
        except yaml.YAMLError as exc:
            raise SeedFormatError(
                f"tệp YAML không hợp lệ: {exc}", path=source, code="seed_yaml_syntax"
            ) from None
        except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
            raise SeedFormatError(
                "tệp YAML không hợp lệ: có giá trị số quá dài.", path=source, code="seed_yaml_syntax"
            ) from None
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, path: Path) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                self.lines.setdefault((*path, key), key_node.start_mark.line + 1)
                self._index(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*path, i))

    def where(self, path: Path) -> Where:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return Where(_fmt(path) or self.source, self.lines.get(probe))

    def error(self, path: Path, message_vi: str, code: str) -> SeedFormatError:
        w = self.where(path)
        return SeedFormatError(message_vi, path=w.path, line=w.line, code=code)


def _fmt(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


_TYPE_VI: dict[type, str] = {
    str: "chuỗi ký tự",
    int: "số nguyên",
    bool: "true/false",
    dict: "ánh xạ (khóa: giá trị)",
    list: "danh sách",
    date: "ngày (YYYY-MM-DD)",
}


class _Map:
    """A YAML mapping at a path, with typed, located accessors and unknown-key detection."""

    def __init__(self, doc: _Doc, value: Any, path: Path, allowed: Sequence[str]) -> None:
        if not isinstance(value, dict):
            raise doc.error(path, f"phải là {_TYPE_VI[dict]}.", "seed_wrong_type")
        self.doc, self.value, self.path = doc, value, path
        for key in value:
            if key not in allowed:
                raise doc.error(
                    (*path, str(key)),
                    f"khóa “{key}” không được hỗ trợ; các khóa hợp lệ: {', '.join(allowed)}.",
                    "seed_unknown_key",
                )

    def where(self) -> Where:
        return self.doc.where(self.path)

    def at(self, key: str) -> Path:
        return (*self.path, key)

    def req(self, key: str, typ: type[T]) -> T:
        if key not in self.value or self.value[key] is None:
            raise self.doc.error(self.path, f"thiếu khóa bắt buộc “{key}”.", "seed_missing_key")
        return self._typed(key, typ)

    def opt(self, key: str, typ: type[T]) -> T | None:
        if key not in self.value or self.value[key] is None:
            return None
        return self._typed(key, typ)

    def items(self, key: str) -> Iterator[tuple[Path, Any]]:
        raw = self.opt(key, list)
        for i, item in enumerate(raw or []):
            yield (*self.path, key, i), item

    def str_list(self, key: str) -> tuple[str, ...]:
        out: list[str] = []
        for path, item in self.items(key):
            if not isinstance(item, str) or not item.strip():
                raise self.doc.error(path, f"phải là {_TYPE_VI[str]} không rỗng.", "seed_wrong_type")
            out.append(item.strip())
        return tuple(out)

    def _typed(self, key: str, typ: type[T]) -> T:
        raw = self.value[key]
        path = self.at(key)
        if typ is date:
            if isinstance(raw, datetime):
                raw = raw.date()
            if isinstance(raw, str):
                try:
                    raw = date.fromisoformat(raw.strip())
                except ValueError:
                    raise self.doc.error(
                        path, f"“{raw}” không phải ngày hợp lệ (YYYY-MM-DD).", "seed_invalid_value"
                    ) from None
        elif typ is str and isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, typ) or (typ is int and isinstance(raw, bool)):
            raise self.doc.error(path, f"phải là {_TYPE_VI.get(typ, typ.__name__)}.", "seed_wrong_type")
        if isinstance(raw, str):
            raw = raw.strip()
            if not raw:
                raise self.doc.error(path, "không được để trống.", "seed_invalid_value")
        result: T = raw
        return result


def _located(doc: _Doc, path: Path, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a domain constructor, re-raising its refusal with the document location."""
    try:
        return fn(*args, **kwargs)
    except SeedFormatError:
        raise
    except OrgDomainError as exc:
        w = doc.where(path)
        raise SeedFormatError(exc.message_vi, path=w.path, line=w.line, code=exc.code) from exc


# ============================================================== org document

_UNIT_KEYS = ("id", "name", "kind", "parent", "function", "valid_from", "locality")
_LOCALITY_KEYS = ("id", "name", "level", "parent", "valid_from", "units", "localities")
_POSITION_KEYS = ("id", "unit", "role", "valid_from", "valid_to", "duties")


def parse_seed(text: str, source: str = "<seed>") -> Seed:
    """Parse an org document (format ``danvan-org/1``) into a :class:`Seed`."""
    doc = _Doc(text, source)
    top = _Map(
        doc,
        doc.data,
        (),
        (
            "format",
            "registry_id",
            "title",
            "note",
            "levels",
            "localities",
            "people",
            "delegations",
            "history",
        ),
    )
    fmt = top.req("format", str)
    if fmt != ORG_FORMAT:
        raise doc.error(
            ("format",), f"định dạng “{fmt}” không được hỗ trợ; cần “{ORG_FORMAT}”.", "seed_format_version"
        )
    seed = Seed(source=source, registry_id=top.opt("registry_id", str) or "vn")
    for path, raw in top.items("levels"):
        m = _Map(doc, raw, path, ("code", "rank", "name_vi"))
        code, rank, name = m.req("code", str), m.req("rank", int), m.req("name_vi", str)
        if rank < 1:
            raise doc.error(m.at("rank"), "phải là số nguyên dương.", "seed_invalid_value")
        seed.levels.append(LevelSpec(Level(code, rank, name), m.where()))
    for path, raw in top.items("localities"):
        _parse_locality(doc, raw, path, None, seed)
    for path, raw in top.items("people"):
        _parse_person(doc, raw, path, seed)
    for path, raw in top.items("delegations"):
        m = _Map(doc, raw, path, ("id", "unit", "role", "delegate", "valid_from", "valid_to", "reason"))
        seed.delegations.append(
            DelegationSpec(
                id=m.req("id", str),
                unit_id=m.req("unit", str),
                role=m.req("role", str),
                delegate_id=m.req("delegate", str),
                valid_from=m.req("valid_from", date),
                valid_to=m.opt("valid_to", date),
                reason=m.opt("reason", str) or "",
                where=m.where(),
            )
        )
    for path, raw in top.items("history"):
        seed.history.append(_parse_history(doc, raw, path))
    _check_unique_ids(seed)
    return seed


def _parse_locality(doc: _Doc, raw: Any, path: Path, parent: LocalitySpec | None, seed: Seed) -> None:
    m = _Map(doc, raw, path, _LOCALITY_KEYS)
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
        u = _Map(doc, uraw, upath, _UNIT_KEYS)
        if u.opt("locality", str) not in (None, spec.id):
            raise doc.error(
                u.at("locality"), f"mâu thuẫn với địa bàn chứa nó “{spec.id}”.", "seed_invalid_value"
            )
        kind_raw = u.req("kind", str)
        kind = _located(doc, u.at("kind"), UnitKind.parse, kind_raw)
        seed.units.append(
            UnitSpec(
                id=u.req("id", str),
                name=u.req("name", str),
                kind=kind,
                locality_id=spec.id,
                parent_id=u.opt("parent", str),
                function=u.opt("function", str),
                valid_from=u.opt("valid_from", date) or spec.valid_from,
                where=u.where(),
            )
        )
    for cpath, craw in m.items("localities"):
        _parse_locality(doc, craw, cpath, spec, seed)


def _parse_person(doc: _Doc, raw: Any, path: Path, seed: Seed) -> None:
    m = _Map(doc, raw, path, ("id", "full_name", "email", "phone", "webhook_url", "positions"))
    person_id = m.req("id", str)
    contacts = _located(
        doc,
        path,
        ContactChannels,
        m.opt("email", str),
        m.opt("phone", str),
        m.opt("webhook_url", str),
    )
    seed.persons.append(PersonSpec(person_id, m.req("full_name", str), contacts, m.where()))
    for i, (ppath, praw) in enumerate(m.items("positions")):
        p = _Map(doc, praw, ppath, _POSITION_KEYS)
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


_HISTORY_ARGS: Mapping[str, tuple[tuple[str, type], ...]] = {
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
_HISTORY_OPTIONAL = ("parent", "new", "children_to", "relocate_units", "note")


def _parse_history(doc: _Doc, raw: Any, path: Path) -> HistoryOp:
    allowed = ("op", "on", *{k for spec in _HISTORY_ARGS.values() for k, _ in spec}, *_HISTORY_OPTIONAL)
    m = _Map(doc, raw, path, allowed)
    op = m.req("op", str)
    if op not in _HISTORY_ARGS:
        raise doc.error(
            m.at("op"),
            f"thao tác “{op}” không tồn tại; hợp lệ: {', '.join(_HISTORY_ARGS)}.",
            "seed_invalid_value",
        )
    args: dict[str, Any] = {}
    for key, typ in _HISTORY_ARGS[op]:
        args[key] = m.req(key, typ)
    if op in ("merge_units", "merge_localities"):
        args["sources"] = m.str_list("sources")
        new = m.opt("new", dict)
        if new is not None:
            keys = (
                ("name", "kind", "locality", "parent", "function")
                if op == "merge_units"
                else ("name", "level", "parent")
            )
            n = _Map(doc, new, m.at("new"), keys)
            if op == "merge_units":
                kind_raw = n.req("kind", str)
                args["new"] = NewUnit(
                    id=args["into"],
                    name=n.req("name", str),
                    kind=_located(doc, n.at("kind"), UnitKind.parse, kind_raw),
                    locality_id=n.opt("locality", str),
                    parent_id=n.opt("parent", str),
                    function=n.opt("function", str),
                )
            else:
                args["new"] = NewLocality(
                    args["into"], n.req("name", str), n.req("level", str), n.opt("parent", str)
                )
        args["relocate_units"] = bool(m.opt("relocate_units", bool))
    if op == "split_unit":
        successors: list[NewUnit] = []
        for spath, sraw in m.items("into"):
            s = _Map(doc, sraw, spath, _UNIT_KEYS)
            kind_raw = s.req("kind", str)
            successors.append(
                NewUnit(
                    id=s.req("id", str),
                    name=s.req("name", str),
                    kind=_located(doc, s.at("kind"), UnitKind.parse, kind_raw),
                    locality_id=s.opt("locality", str),
                    parent_id=s.opt("parent", str),
                    function=s.opt("function", str),
                )
            )
        args["into"] = tuple(successors)
        children = m.opt("children_to", dict) or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in children.items()):
            raise doc.error(
                m.at("children_to"), "phải là ánh xạ mã đơn vị con → mã đơn vị mới.", "seed_wrong_type"
            )
        args["children_to"] = dict(children)
    if op in ("reparent_unit", "reparent_locality"):
        args["parent"] = m.opt("parent", str)
    return HistoryOp(op=op, on=m.req("on", date), args=args, where=m.where())


def _check_unique_ids(seed: Seed) -> None:
    seen: dict[str, str] = {}
    groups: list[tuple[str, Sequence[Any]]] = [
        ("địa bàn/đơn vị", [*seed.localities, *seed.units]),
        ("cán bộ", seed.persons),
        ("phân công", seed.assignments),
        ("ủy quyền", seed.delegations),
    ]
    for label, specs in groups:
        seen.clear()
        for spec in specs:
            if spec.id in seen:
                raise SeedFormatError(
                    f"mã {label} “{spec.id}” bị trùng (đã dùng tại {seen[spec.id]}).",
                    path=spec.where.path,
                    line=spec.where.line,
                    code="duplicate_id",
                )
            seen[spec.id] = spec.where.path + (f" dòng {spec.where.line}" if spec.where.line else "")


def _topological(
    items: Sequence[T], key: Callable[[T], str], parent: Callable[[T], str | None], what: str
) -> list[T]:
    by_id = {key(i): i for i in items}
    out: list[T] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(item: T, trail: list[str]) -> None:
        k = key(item)
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            cycle = " → ".join([*trail[trail.index(k) :], k])
            where: Where = getattr(item, "where")  # noqa: B009 - specs all carry ``where``
            raise SeedFormatError(
                f"vòng lặp cấp trên giữa các {what}: {cycle}.",
                path=where.path,
                line=where.line,
                code="hierarchy_cycle",
            )
        state[k] = 1
        p = parent(item)
        if p is not None and p in by_id:
            visit(by_id[p], [*trail, k])
        state[k] = 2
        out.append(item)

    for item in items:
        visit(item, [])
    return out


# ============================================================== CSV bulk import of units

CSV_COLUMNS = ("id", "name", "kind", "level", "parent_id", "valid_from")
CSV_OPTIONAL_COLUMNS = ("locality_id", "function")


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
    return _parse_units_csv(iter(records), source, registry)


def _parse_units_csv(
    records: Iterator[tuple[int, list[str]]], source: str, registry: Hierarchy | None
) -> Seed:
    first = next(records, None)
    fieldnames = first[1] if first is not None else []
    header = tuple(h.strip() for h in fieldnames)
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise SeedFormatError(
            f"thiếu cột bắt buộc: {', '.join(missing)}.", path=source, line=1, code="seed_missing_key"
        )
    unknown = [c for c in header if c not in CSV_COLUMNS + CSV_OPTIONAL_COLUMNS]
    if unknown:
        raise SeedFormatError(
            f"cột không được hỗ trợ: {', '.join(unknown)}.", path=source, line=1, code="seed_unknown_key"
        )
    seed = Seed(source=source)
    located: dict[str, tuple[str, str]] = {}  # unit id -> (locality id, level code)
    for line, record in records:

        def err(
            column: str, message: str, code: str = "seed_invalid_value", line: int = line
        ) -> SeedFormatError:
            return SeedFormatError(message, path=f"{source}:{column}", line=line, code=code)

        values = {k.strip(): v.strip() for k, v in zip(fieldnames, record, strict=False)}
        for col in ("id", "name", "kind", "level", "valid_from"):
            if not values.get(col):
                raise err(col, f"cột “{col}” không được để trống.", "seed_missing_key")
        try:
            kind = UnitKind.parse(values["kind"])
        except OrgDomainError as exc:
            raise err("kind", exc.message_vi, exc.code) from None
        try:
            valid_from = date.fromisoformat(values["valid_from"])
        except ValueError:
            raise err(
                "valid_from", f"“{values['valid_from']}” không phải ngày hợp lệ (YYYY-MM-DD)."
            ) from None
        parent_id = values.get("parent_id") or None
        level = values["level"]
        locality_id = values.get("locality_id") or None
        if locality_id is None:
            parent_loc = located.get(parent_id) if parent_id else None
            if parent_loc is None and parent_id and registry is not None:
                view = registry.find_unit(parent_id, valid_from)
                if view is not None:
                    parent_loc = (view.locality_id, view.level.code)
            if parent_loc is None or parent_loc[1] != level:
                raise err(
                    "locality_id",
                    "không xác định được địa bàn của đơn vị (đơn vị cấp trên không cùng cấp hoặc không có); "
                    "hãy điền cột locality_id.",
                )
            locality_id = parent_loc[0]
        elif registry is not None and registry.has_locality(locality_id):
            actual = registry.localities[locality_id].level_code
            if actual != level:
                raise err(
                    "level", f"cấp “{level}” không khớp với cấp “{actual}” của địa bàn “{locality_id}”."
                )
        located[values["id"]] = (locality_id, level)
        seed.units.append(
            UnitSpec(
                id=values["id"],
                name=values["name"],
                kind=kind,
                locality_id=locality_id,
                parent_id=parent_id,
                function=values.get("function") or None,
                valid_from=valid_from,
                where=Where(f"{source}:{values['id']}", line),
            )
        )
    _check_unique_ids(seed)
    return seed


# ============================================================== policy document

_RULE_KEYS = (
    "id",
    "citation",
    "description_vi",
    "applies_within",
    "issuer_kinds",
    "document_types",
    "triggers",
    "consultees",
    "window_working_days",
    "public_comment_if",
    "publication_kinds",
    "override",
    "synthesiser_kinds",
    "report_to_kinds",
    "note",
)


def parse_policy(text: str, source: str = "<policy>") -> list[ConsultationPolicy]:
    """Parse a policy document (format ``danvan-policy/1``) into its versions.

    Refuses unknown unit kinds, document types and flags with the key path.
    """
    doc = _Doc(text, source)
    top = _Map(doc, doc.data, (), ("format", "title", "note", "defaults", "versions"))
    fmt = top.req("format", str)
    if fmt != POLICY_FORMAT:
        raise doc.error(
            ("format",), f"định dạng “{fmt}” không được hỗ trợ; cần “{POLICY_FORMAT}”.", "seed_format_version"
        )
    out: list[ConsultationPolicy] = []
    for vpath, vraw in top.items("versions"):
        v = _Map(
            doc,
            vraw,
            vpath,
            ("version", "effective_from", "title_vi", "no_consultation_citation", "rules", "note"),
        )
        rules = [_parse_rule(doc, rraw, rpath) for rpath, rraw in v.items("rules")]
        version, effective_from = v.req("version", int), v.req("effective_from", date)
        title = v.opt("title_vi", str) or ""
        citation = v.req("no_consultation_citation", str)
        out.append(
            _located(doc, vpath, ConsultationPolicy, version, effective_from, tuple(rules), citation, title)
        )
    return out


def _kinds(doc: _Doc, m: _Map, key: str) -> tuple[UnitKind, ...]:
    out: list[UnitKind] = []
    for path, raw in m.items(key):
        if not isinstance(raw, str):
            raise doc.error(path, f"phải là {_TYPE_VI[str]}.", "seed_wrong_type")
        out.append(_located(doc, path, UnitKind.parse, raw))
    return tuple(out)


def _flags(doc: _Doc, m: _Map, key: str) -> frozenset[Flag]:
    out: set[Flag] = set()
    for path, raw in m.items(key):
        try:
            out.add(Flag(raw))
        except ValueError:
            known = ", ".join(f.value for f in Flag)
            raise doc.error(path, f"cờ “{raw}” không tồn tại; hợp lệ: {known}.", "unknown_flag") from None
    return frozenset(out)


def _parse_rule(doc: _Doc, raw: Any, path: Path) -> PolicyRule:
    m = _Map(doc, raw, path, _RULE_KEYS)
    groups: list[ConsulteeGroup] = []
    for gpath, graw in m.items("consultees"):
        g = _Map(doc, graw, gpath, ("kinds", "required", "label_vi"))
        kinds = _kinds(doc, g, "kinds")
        required = g.opt("required", bool)
        label = g.opt("label_vi", str) or ""
        groups.append(_located(doc, gpath, ConsulteeGroup, kinds, required is not False, label))
    overrides: list[OverrideAuthority] = []
    for opath, oraw in m.items("override"):
        o = _Map(doc, oraw, opath, ("unit_kind", "roles", "body_vi"))
        kind_raw = o.req("unit_kind", str)
        kind = _located(doc, o.at("unit_kind"), UnitKind.parse, kind_raw)
        overrides.append(OverrideAuthority(kind, o.str_list("roles"), o.opt("body_vi", str) or ""))
    doc_types: list[DocumentType] = []
    for dpath, draw in m.items("document_types"):
        doc_types.append(_located(doc, dpath, DocumentType.parse, str(draw)))
    rule_id, citation = m.req("id", str), m.req("citation", str)
    description = m.opt("description_vi", str) or ""
    window = m.opt("window_working_days", int) or DEFAULT_WINDOW_WORKING_DAYS
    issuer_kinds = frozenset(_kinds(doc, m, "issuer_kinds"))
    triggers = _flags(doc, m, "triggers")
    if not issuer_kinds or not doc_types or not triggers:
        raise doc.error(
            path, "quy tắc phải có issuer_kinds, document_types và triggers không rỗng.", "seed_missing_key"
        )
    return _located(
        doc,
        path,
        PolicyRule,
        id=rule_id,
        citation=citation,
        description_vi=description,
        issuer_kinds=issuer_kinds,
        document_types=frozenset(doc_types),
        triggers=triggers,
        consultees=tuple(groups),
        window_working_days=window,
        public_comment_if=_flags(doc, m, "public_comment_if"),
        publication_kinds=_kinds(doc, m, "publication_kinds"),
        override=tuple(overrides),
        synthesiser_kinds=_kinds(doc, m, "synthesiser_kinds"),
        report_to_kinds=_kinds(doc, m, "report_to_kinds"),
        applies_within=m.str_list("applies_within"),
    )


# ============================================================== loading into a registry


def load_into(registry: OrgRegistry, seed: Seed) -> None:
    """Apply a parsed seed to ``registry`` directly (levels, địa bàn, units, people, history).

    References to ids already in ``registry`` are allowed (bulk import into an existing
    registry). A domain refusal is re-raised as :class:`SeedFormatError` carrying the
    spec's path and line and the domain error's code.
    """
    h, p = registry.hierarchy, registry.people

    def run(where: Where, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except SeedFormatError:
            raise
        except OrgDomainError as exc:
            raise SeedFormatError(exc.message_vi, path=where.path, line=where.line, code=exc.code) from exc

    for lv in seed.levels:
        run(lv.where, h.define_level, lv.level)
    for loc in seed.ordered_localities():
        run(
            loc.where,
            h.register_locality,
            NewLocality(loc.id, loc.name, loc.level_code, loc.parent_id),
            loc.valid_from,
        )
    for u in seed.ordered_units():
        spec = NewUnit(u.id, u.name, u.kind, u.locality_id, u.parent_id, u.function)
        run(u.where, h.register_unit, spec, u.valid_from)
    for ps in seed.persons:
        run(ps.where, p.register_person, ps.id, ps.full_name, ps.contacts)
    for a in seed.assignments:
        run(a.where, p.assign, a.id, a.person_id, a.unit_id, a.role, a.valid_from, a.valid_to, a.duties)
    for d in seed.delegations:
        run(
            d.where,
            p.grant_delegation,
            d.id,
            d.unit_id,
            d.role,
            d.delegate_id,
            d.valid_from,
            d.valid_to,
            d.reason,
        )
    for op in seed.history:
        run(op.where, apply_history, registry, op)


def apply_history(registry: OrgRegistry, op: HistoryOp) -> None:
    """Apply one ``history`` entry to the registry."""
    h, a, on = registry.hierarchy, op.args, op.on
    match op.op:
        case "rename_unit":
            h.rename_unit(a["unit"], a["name"], on)
        case "reparent_unit":
            h.reparent_unit(a["unit"], a["parent"], on)
        case "relocate_unit":
            h.relocate_unit(a["unit"], a["locality"], on)
        case "merge_units":
            registry.merge_units(a["sources"], a.get("new") or a["into"], on)
        case "split_unit":
            registry.split_unit(a["source"], a["into"], on, a["children_to"])
        case "dissolve_unit":
            registry.dissolve_unit(a["unit"], on)
        case "rename_locality":
            h.rename_locality(a["locality"], a["name"], on)
        case "reparent_locality":
            h.reparent_locality(a["locality"], a["parent"], on)
        case "merge_localities":
            h.merge_localities(
                a["sources"], a.get("new") or a["into"], on, relocate_units=a["relocate_units"]
            )
        case "dissolve_locality":
            h.dissolve_locality(a["locality"], on)
        case "end_assignment":
            registry.people.end_assignment(a["assignment"], on)
        case _:  # pragma: no cover - parse_seed only produces known ops
            raise AssertionError(op.op)


def build_registry(seeds: Sequence[Seed] = (), policies: Sequence[ConsultationPolicy] = ()) -> OrgRegistry:
    """A new registry loaded from seeds (in order) and policy versions."""
    registry = OrgRegistry.empty()
    for seed in seeds:
        load_into(registry, seed)
    for policy in policies:
        registry.policies.publish(policy)
    return registry
