"""Limits for untrusted YAML and CSV documents (uploads, imports), checked before parsing them.

Why: a 300-byte YAML "billion laughs" (anchors that refer to anchors that refer to anchors)
expands to millions of nodes; PyYAML builds that graph cheaply, but anything that walks it
(line indexes, validation, JSON) runs for minutes and takes gigabytes. So a YAML document is
first read as a stream of parser events — no Python objects are built — while counting what
it would expand to: aliases, nesting depth, and the number of nodes *after* alias expansion
(an alias counts as the whole sub-tree it names). Only a document inside every limit is then
given to PyYAML's safe loader. CSV gets a size, a row and a field-length limit
(``csv.field_size_limit`` is process-wide, so it is left alone and lengths are checked here).

Pure: text in, data (or :class:`InputRefused`) out; no web imports. Every refusal carries a
stable ``code``, a Vietnamese ``message_vi`` and the HTTP ``status`` that fits it (413 for
size, 422 otherwise).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

MIB = 1024 * 1024

_FastSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InputRefused(ValueError):
    """An untrusted document is outside a safety limit.

    ``code`` is one of ``input_too_large``, ``yaml_alias_refused``, ``yaml_too_deep``,
    ``yaml_too_many_nodes``, ``csv_too_many_rows``, ``csv_field_too_long``; ``line`` (1-based)
    says where it was noticed when known.
    """

    def __init__(self, code: str, message_vi: str, *, line: int | None = None, limit: int | None = None):
        super().__init__(message_vi)
        self.code = code
        self.message_vi = message_vi
        self.line = line
        self.limit = limit

    @property
    def status(self) -> int:
        return 413 if self.code == "input_too_large" else 422

    def __str__(self) -> str:
        return f"[{self.code}] {self.message_vi}"


@dataclass(frozen=True)
class YamlLimits:
    """Limits for one untrusted YAML document.

    ``max_aliases`` is not zero because the policy format documents anchors for repeating
    rules across versions (services/org/seeds/README.md; policy_v1.yaml uses five); the node
    limit counts what the aliases expand to, so a few aliases cannot make a bomb either.
    """

    max_bytes: int = MIB
    max_aliases: int = 50
    max_depth: int = 32
    max_nodes: int = 200_000


@dataclass(frozen=True)
class CsvLimits:
    max_bytes: int = MIB
    max_rows: int = 20_000  # records, the header included
    max_field_chars: int = 10_000


DEFAULT_YAML = YamlLimits()
DEFAULT_CSV = CsvLimits()


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def check_size(text: str | bytes, max_bytes: int = MIB, what: str = "Tệp") -> None:
    """Refuse ``text`` larger than ``max_bytes`` (UTF-8) without encoding a huge string."""
    if isinstance(text, bytes) or len(text) > max_bytes:
        size = len(text)
    elif len(text) * 4 <= max_bytes:  # at most four bytes each
        return
    else:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InputRefused(
            "input_too_large",
            f"{what} quá lớn (tối đa {_n(max_bytes)} byte).",
            limit=max_bytes,
        )


# ============================================================== YAML


@dataclass
class _Open:
    """A mapping or sequence being read: where its expansion started and how tall it is."""

    anchor: str | None
    nodes_at_start: int
    height: int = 0  # collections nested below it, aliases expanded


def check_yaml(text: str | bytes, limits: YamlLimits = DEFAULT_YAML) -> None:
    """Refuse a YAML document over a limit, reading only parser events (no objects built).

    The events come from libyaml when PyYAML has it (20 times faster). Syntax errors are left
    to the loader that reads the document afterwards, which locates them better; but since
    libyaml refuses a few documents the pure-Python parser accepts, a document libyaml cannot
    read is checked again with the pure-Python parser before it is handed over.
    """
    check_size(text, limits.max_bytes, "Tệp YAML")
    try:
        _scan(text, limits, _FastSafeLoader)
    except yaml.YAMLError:
        if _FastSafeLoader is yaml.SafeLoader:
            return
        try:
            _scan(text, limits, yaml.SafeLoader)
        except yaml.YAMLError:
            return


def _scan(text: str | bytes, limits: YamlLimits, loader: type[yaml.SafeLoader]) -> None:
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height) once complete
    open_anchors: set[str] = set()
    stack: list[_Open] = []
    nodes = 0
    aliases = 0

    def line_of(event: yaml.Event) -> int | None:
        mark = event.start_mark
        return mark.line + 1 if mark is not None else None

    def grow(count: int, height: int, event: yaml.Event) -> None:
        nonlocal nodes
        nodes += count
        if nodes > limits.max_nodes:
            raise InputRefused(
                "yaml_too_many_nodes",
                f"Tệp YAML có quá nhiều phần tử (tối đa {_n(limits.max_nodes)}, kể cả phần lặp lại qua "
                "bí danh) — không được chấp nhận vì lý do an toàn.",
                line=line_of(event),
                limit=limits.max_nodes,
            )
        if len(stack) + height > limits.max_depth:
            raise InputRefused(
                "yaml_too_deep",
                f"Tệp YAML lồng nhau quá sâu (tối đa {limits.max_depth} cấp) — không được chấp nhận "
                "vì lý do an toàn.",
                line=line_of(event),
                limit=limits.max_depth,
            )
        if stack:
            stack[-1].height = max(stack[-1].height, height)

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > limits.max_aliases:
                raise InputRefused(
                    "yaml_alias_refused",
                    f"Tệp YAML dùng bí danh (alias) quá {limits.max_aliases} lần — không được chấp "
                    "nhận vì lý do an toàn."
                    if limits.max_aliases
                    else "Tệp YAML dùng bí danh (alias) — không được chấp nhận vì lý do an toàn.",
                    line=line_of(event),
                    limit=limits.max_aliases,
                )
            anchor = str(event.anchor)
            if anchor in open_anchors:
                raise InputRefused(
                    "yaml_alias_refused",
                    f"Tệp YAML có bí danh (alias) “*{anchor}” tự tham chiếu — không được chấp nhận "
                    "vì lý do an toàn.",
                    line=line_of(event),
                )
            count, height = sizes.get(anchor, (1, 0))  # undefined: the loader refuses it
            grow(count, height, event)
        elif isinstance(event, yaml.ScalarEvent):
            grow(1, 0, event)
            if event.anchor is not None:
                sizes[event.anchor] = (1, 0)
        elif isinstance(event, yaml.CollectionStartEvent):
            grow(1, 1, event)
            stack.append(_Open(event.anchor, nodes - 1))
            if event.anchor is not None:
                open_anchors.add(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent) and stack:
            done = stack.pop()
            height = done.height + 1
            if stack:
                stack[-1].height = max(stack[-1].height, height)
            if done.anchor is not None:
                open_anchors.discard(done.anchor)
                sizes[done.anchor] = (nodes - done.nodes_at_start, height)


def load_yaml(
    text: str | bytes, limits: YamlLimits = DEFAULT_YAML, loader: type[yaml.SafeLoader] = yaml.SafeLoader
) -> Any:
    """:func:`check_yaml`, then load the single document with ``loader`` (a SafeLoader)."""
    check_yaml(text, limits)
    return yaml.load(text, Loader=loader)


# ============================================================== CSV


def csv_rows(text: str, limits: CsvLimits = DEFAULT_CSV) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, fields)`` for each record of ``text`` (``line``: where the record ends).

    A leading byte-order mark is dropped and empty records are skipped (as
    :class:`csv.DictReader` does). The size is checked at once, rows and fields as they are
    read; a field over ``csv.field_size_limit()`` (larger than ours) is reported the same way.
    """
    check_size(text, limits.max_bytes, "Tệp CSV")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    records = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" not in str(exc):
                raise
            raise _field_too_long(reader.line_num, limits) from None
        if not row:
            continue
        records += 1
        if records > limits.max_rows:
            raise InputRefused(
                "csv_too_many_rows",
                f"Tệp CSV có quá nhiều dòng (tối đa {_n(limits.max_rows)} dòng, kể cả dòng tiêu đề).",
                line=reader.line_num,
                limit=limits.max_rows,
            )
        if any(len(value) > limits.max_field_chars for value in row):
            raise _field_too_long(reader.line_num, limits)
        yield reader.line_num, row


def _field_too_long(line: int, limits: CsvLimits) -> InputRefused:
    return InputRefused(
        "csv_field_too_long",
        f"Tệp CSV có ô quá dài ở dòng {line} (tối đa {_n(limits.max_field_chars)} ký tự một ô).",
        line=line,
        limit=limits.max_field_chars,
    )
