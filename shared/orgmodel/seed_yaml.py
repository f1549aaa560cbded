"""Reading a YAML document with every value located: key path and line for each refusal.

Why a strict, located reader: the same formats are how real provinces will import thousands of
units and positions. A typo must be refused with the exact key path and line
("localities[0].units[3].kind (dòng 42): loại đơn vị … không tồn tại"), never silently ignored
or half-loaded. Unknown keys are errors for the same reason. The safety limits of
:mod:`shared.safe_input` are checked before any node is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import yaml

from shared.orgmodel.errors import SeedFormatError, UnsafeDocument
from shared.orgmodel.seed_specs import Where, run_at
from shared.safe_input import DEFAULT_YAML, InputRefused, YamlLimits, check_yaml

Path = tuple[str | int, ...]
T = TypeVar("T")


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


class YamlDoc:
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


TYPE_VI: dict[type, str] = {
    str: "chuỗi ký tự",
    int: "số nguyên",
    bool: "true/false",
    dict: "ánh xạ (khóa: giá trị)",
    list: "danh sách",
    date: "ngày (YYYY-MM-DD)",
}


class YamlMap:
    """A YAML mapping at a path, with typed, located accessors and unknown-key detection."""

    def __init__(self, doc: YamlDoc, value: Any, path: Path, allowed: Sequence[str]) -> None:
        if not isinstance(value, dict):
            raise doc.error(path, f"phải là {TYPE_VI[dict]}.", "seed_wrong_type")
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
                raise self.doc.error(path, f"phải là {TYPE_VI[str]} không rỗng.", "seed_wrong_type")
            out.append(item.strip())
        return tuple(out)

    def code(self, key: str, parse: Callable[[str], T]) -> T:
        """The required text at ``key`` read by ``parse`` (e.g. :meth:`UnitKind.parse`), refusal located."""
        raw = self.req(key, str)
        return located(self.doc, self.at(key), parse, raw)

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
            raise self.doc.error(path, f"phải là {TYPE_VI.get(typ, typ.__name__)}.", "seed_wrong_type")
        if isinstance(raw, str):
            raw = raw.strip()
            if not raw:
                raise self.doc.error(path, "không được để trống.", "seed_invalid_value")
        result: T = raw
        return result


def located(doc: YamlDoc, path: Path, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a domain constructor, re-raising its refusal with the document location."""
    return run_at(doc.where(path), fn, *args, **kwargs)
