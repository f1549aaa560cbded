"""Redaction: link tokens, e-mail addresses and phone numbers never reach logs or traces.

Why: an action link *is* a credential (whoever holds it gives the consultee's opinion), and the
registry's contacts are personal data. Log files are read by operators and shipped around; spans
go to a collector and Jaeger. So everything written to a log handler or handed to a span exporter
passes through :func:`redact` first:

* link tokens ``dv1.<key id>.<base64url claims>.<base64url HMAC-SHA256>`` (the exact layout of
  :mod:`services.notify.domain.links`; the claims are canonical JSON, so they start with ``eyJ``,
  and the MAC is 32 bytes, i.e. 43 characters) → ``[token]``;
* whatever follows the link paths ``/a/`` and ``/kiem-duyet/`` (a truncated or altered token is
  still most of a credential) and the value of any ``token=`` query parameter → ``[token]``;
* the whole query of the OIDC callback ``/dang-nhap/oidc/callback?code=…&state=…`` (the provider's
  authorization code; services/org/signin/oidc.py) → ``[token]``;
* e-mail addresses → ``[email]``;
* Vietnamese phone numbers: ``+84`` / ``(+84)`` / ``0`` followed by 9–10 digits, possibly grouped
  (groups of two or more digits, one kind of separator: spaces, dots or hyphens — ``0912 345 678``,
  ``+84 912.345.678``, ``024 3512 3456``) → ``[phone]``.

Ordinary identifiers stay readable: uuids, unit ids (``kg.ubnd``), decision ids, ISO dates and
times, trace/span ids, Kafka offsets. The phone pattern only starts after a character that cannot
be part of an identifier or a number and must end where the digits end, so a digit run inside a
uuid, a date or a longer number never matches.

Applied as :class:`RedactingFilter` (every log handler: message, arguments, every extra field,
formatted exception and stack) and :class:`RedactingSpanExporter` (span name, attributes, events,
links and status, before any exporter sees them; a span name keeps the route template, e.g.
``GET /a/{token}``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AttributeValue

TOKEN = "[token]"
EMAIL = "[email]"
PHONE = "[phone]"

LINK_PATHS = ("/a/", "/kiem-duyet/")
"""URL paths whose next segment is a link token (services/notify/pages)."""

_B64 = r"[A-Za-z0-9_-]"
TOKEN_RE = re.compile(rf"dv1\.{_B64}{{1,32}}\.eyJ{_B64}*\.{_B64}{{43}}")
"""A complete link token: version, key id (1–32), base64url JSON claims, base64url 32-byte MAC.

No boundary checks on purpose: a token glued to other text is still removed (what is glued to it
stays, and is no credential)."""

_PATH_RE = re.compile(r"(?P<prefix>/(?:a|kiem-duyet)/)(?![\[{])[^/\s?#\"'<>\\()\[\]{},;]+")
_QUERY_RE = re.compile(r"(?P<prefix>(?<![A-Za-z0-9])token=)(?!\[token\])[^&\s#\"'<>;,]+", re.IGNORECASE)
_OIDC_QUERY_RE = re.compile(r"(?P<prefix>/dang-nhap/oidc/callback\?)(?!\[token\])[^\s#\"'<>]+")
"""The OIDC callback's query (``code``, ``state``, the provider's ``error``): all of it goes."""
EMAIL_RE = re.compile(r"[\w.!#$%&*+^~-]+@[\w-]+(?:\.[\w-]+)+")
_EMAIL_LEFTOVER_RE = re.compile(r"[^\s@]*@[\w-]+(?:\.[\w-]+)+")
"""Second pass: an address whose local part is only unusual characters (``/@a.vn``, ``'@a.vn``)."""
PHONE_RE = re.compile(
    r"(?<![\w.+\-/])(?<!\d:)"  # not inside an identifier, a number, a date, a time or a path
    r"(?P<prefix>\(\+84\)[ .\-]?|\+84[ .\-]?|(?<!:\d\d,)0)"  # +84, (+84) or the trunk prefix 0
    r"(?P<rest>\d(?:[ .\-]?\d){8,9})"  # 9–10 national digits, optionally grouped
    r"(?![\w]|[.\-]\d)"  # and it ends there (not a longer number, a date or a decimal)
)
"""A candidate; :func:`_phone` keeps it only if its grouping is one people write (see there)."""


def _phone(match: re.Match[str]) -> str:
    """``[phone]`` for a candidate grouped as people write numbers, else the text unchanged.

    One kind of separator inside the number (``0912 345 678``, ``0912.345.678``, ``091-234-5678``;
    the one after ``+84`` may differ) and groups of at least two digits. That is what tells a phone
    number from digits that happen to follow each other in a log line, e.g. the end of a timestamp
    and a date (``…+00:00 2000-01-01``).
    """
    national = ("0" if match.group("prefix") == "0" else "") + match.group("rest")
    separators = set(re.findall(r"[ .\-]", national))
    groups = re.split(r"[ .\-]", national)
    if len(separators) <= 1 and all(len(g) >= 2 for g in groups):
        return PHONE
    return match.group(0)


_ROUTE_TEMPLATE = "{token}"


def redact(text: str) -> str:
    """``text`` with link tokens, e-mail addresses and phone numbers replaced by markers."""
    if not text:
        return text
    out = TOKEN_RE.sub(TOKEN, text)
    out = _PATH_RE.sub(lambda m: m.group("prefix") + TOKEN, out)
    out = _QUERY_RE.sub(lambda m: m.group("prefix") + TOKEN, out)
    out = _OIDC_QUERY_RE.sub(lambda m: m.group("prefix") + TOKEN, out)
    out = _EMAIL_LEFTOVER_RE.sub(EMAIL, EMAIL_RE.sub(EMAIL, out))
    return PHONE_RE.sub(_phone, out)


def redact_route(name: str) -> str:
    """A span name with link paths as route templates (``GET /a/{token}``), then :func:`redact`."""
    return redact(_PATH_RE.sub(lambda m: m.group("prefix") + _ROUTE_TEMPLATE, name))


def redact_value(value: Any) -> Any:
    """Redact strings anywhere inside ``value`` (mappings, sequences); other objects by their ``str``.

    Numbers, booleans and ``None`` are returned as they are; an object whose ``str`` needs no
    redaction is returned unchanged (so formatting with ``%r`` still works for it).
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
        clean = redact(text)
        return value if clean == text else clean
    if isinstance(value, Mapping):
        return {(redact(k) if isinstance(k, str) else k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact_value(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    try:
        text = str(value)
    except Exception:
        return "[unprintable]"
    clean = redact(text)
    return value if clean == text else clean


# --------------------------------------------------------------------------- logging

_STANDARD_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_exception_formatter = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Scrubs a record in place: message, arguments, extra fields, exception and stack text.

    Installed on handlers (a handler filter sees records propagated from every logger); it never
    drops a record. Idempotent, so a record that passes two such filters is unchanged by the second.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._scrub(record)
        except Exception:  # a log line must never be lost because of redaction; keep it minimal
            record.msg, record.args = "[log record withheld: redaction failed]", None
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True

    def _scrub(self, record: logging.LogRecord) -> None:
        record.msg = record.msg if isinstance(record.msg, int | float) else redact_value(record.msg)
        if isinstance(record.args, Mapping):
            record.args = redact_value(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(redact_value(a) for a in record.args)
        message = record.getMessage()
        if redact(message) != message:  # something survived only once formatted: flatten it
            record.msg, record.args = redact(message), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_RECORD_FIELDS:
                setattr(record, key, redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = _exception_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)


def install_log_redaction(loggers: Sequence[str] = ()) -> RedactingFilter:
    """Put one :class:`RedactingFilter` on every handler that exists now.

    Root's handlers, every handler of every known logger (uvicorn's and FastStream's own handlers
    do not propagate to root), and the named ``loggers`` themselves (records logged directly on
    them, whatever handler is attached to them later).
    """
    flt = RedactingFilter()
    manager = logging.Logger.manager
    targets: list[logging.Logger] = [logging.getLogger()]
    targets += [lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for name in loggers:
        lg = logging.getLogger(name)
        targets.append(lg)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(flt)
    for lg in targets:
        for handler in lg.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(flt)
    return flt


# --------------------------------------------------------------------------- traces


def _attributes(attrs: Mapping[str, AttributeValue] | None) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key, value in (attrs or {}).items():
        if isinstance(value, str):
            out[key] = redact(value)
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            out[key] = [redact(v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = value
    return out


class _RedactedSpan(ReadableSpan):
    """A copy of a finished span with redacted name and attributes (dropped counts preserved)."""

    def __init__(self, span: ReadableSpan) -> None:
        attrs = dict(span.attributes or {})
        name = span.name
        route = attrs.get("http.route")
        method = attrs.get("http.request.method") or attrs.get("http.method")
        if isinstance(route, str) and isinstance(method, str) and name.startswith(f"{method} /"):
            name = f"{method} {route}"  # the route template, never the concrete path
        status = span.status
        if status.description:
            status = Status(status.status_code, redact(status.description))
        super().__init__(
            name=redact_route(name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=_attributes(attrs),
            events=[
                Event(redact(e.name), _attributes(e.attributes), timestamp=e.timestamp) for e in span.events
            ],
            links=[Link(link.context, _attributes(link.attributes)) for link in span.links],
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        self._dropped = (span.dropped_attributes, span.dropped_events, span.dropped_links)

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped[2]


def redact_span(span: ReadableSpan) -> ReadableSpan:
    return _RedactedSpan(span)


class RedactingSpanExporter(SpanExporter):
    """Wraps an exporter (OTLP, JSON lines): it only ever receives redacted copies of spans."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([redact_span(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
