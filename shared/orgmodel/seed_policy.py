"""The versions of a consultation-policy document (``danvan-policy/1``) and their rules.

Refuses unknown unit kinds, document types and flags with the key path; the document around the
versions is :func:`~shared.orgmodel.seed_format.parse_policy`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.orgmodel.policy import (
    DEFAULT_WINDOW_WORKING_DAYS,
    ConsultationPolicy,
    ConsulteeGroup,
    DocumentType,
    Flag,
    OverrideAuthority,
    PolicyRule,
)
from shared.orgmodel.seed_yaml import TYPE_VI, Path, YamlDoc, YamlMap, located
from shared.orgmodel.units import UnitKind

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


def parse_version(doc: YamlDoc, raw: Any, path: Path) -> ConsultationPolicy:
    v = YamlMap(
        doc,
        raw,
        path,
        ("version", "effective_from", "title_vi", "no_consultation_citation", "rules", "note"),
    )
    rules = [_parse_rule(doc, rraw, rpath) for rpath, rraw in v.items("rules")]
    version, effective_from = v.req("version", int), v.req("effective_from", date)
    title = v.opt("title_vi", str) or ""
    citation = v.req("no_consultation_citation", str)
    return located(doc, path, ConsultationPolicy, version, effective_from, tuple(rules), citation, title)


def _kinds(doc: YamlDoc, m: YamlMap, key: str) -> tuple[UnitKind, ...]:
    out: list[UnitKind] = []
    for path, raw in m.items(key):
        if not isinstance(raw, str):
            raise doc.error(path, f"phải là {TYPE_VI[str]}.", "seed_wrong_type")
        out.append(located(doc, path, UnitKind.parse, raw))
    return tuple(out)


def _flags(doc: YamlDoc, m: YamlMap, key: str) -> frozenset[Flag]:
    out: set[Flag] = set()
    for path, raw in m.items(key):
        try:
            out.add(Flag(raw))
        except ValueError:
            known = ", ".join(f.value for f in Flag)
            raise doc.error(path, f"cờ “{raw}” không tồn tại; hợp lệ: {known}.", "unknown_flag") from None
    return frozenset(out)


def _parse_rule(doc: YamlDoc, raw: Any, path: Path) -> PolicyRule:
    m = YamlMap(doc, raw, path, _RULE_KEYS)
    groups: list[ConsulteeGroup] = []
    for gpath, graw in m.items("consultees"):
        g = YamlMap(doc, graw, gpath, ("kinds", "required", "label_vi"))
        kinds = _kinds(doc, g, "kinds")
        required = g.opt("required", bool)
        label = g.opt("label_vi", str) or ""
        groups.append(located(doc, gpath, ConsulteeGroup, kinds, required is not False, label))
    overrides: list[OverrideAuthority] = []
    for opath, oraw in m.items("override"):
        o = YamlMap(doc, oraw, opath, ("unit_kind", "roles", "body_vi"))
        kind = o.code("unit_kind", UnitKind.parse)
        overrides.append(OverrideAuthority(kind, o.str_list("roles"), o.opt("body_vi", str) or ""))
    doc_types: list[DocumentType] = []
    for dpath, draw in m.items("document_types"):
        doc_types.append(located(doc, dpath, DocumentType.parse, str(draw)))
    rule_id, citation = m.req("id", str), m.req("citation", str)
    description = m.opt("description_vi", str) or ""
    window = m.opt("window_working_days", int) or DEFAULT_WINDOW_WORKING_DAYS
    issuer_kinds = frozenset(_kinds(doc, m, "issuer_kinds"))
    triggers = _flags(doc, m, "triggers")
    if not issuer_kinds or not doc_types or not triggers:
        raise doc.error(
            path, "quy tắc phải có issuer_kinds, document_types và triggers không rỗng.", "seed_missing_key"
        )
    return located(
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
