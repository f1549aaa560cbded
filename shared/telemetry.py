"""OpenTelemetry set up once per process, and logs that carry the trace id.

Export: OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (docker-compose
sends to the collector → Jaeger; ``./dev traces`` starts a local Jaeger); finished
spans are also appended as JSON lines to ``TRACE_FILE`` when it is set (the demo
reads it to show one trace id across services). PyMongo and httpx are
instrumented; Kafka headers carry the context through FastStream's telemetry
middleware.

Spans only for real work: a background loop (outbox relay, timer pass, delivery
worker) runs each pass as a :class:`BackgroundPass`, whose span is exported only
when the pass found work.

Files are bounded: ``TRACE_FILE`` and ``LOG_FILE`` rotate by size (``*_MAX_BYTES``,
``*_BACKUPS`` kept) through ``concurrent-log-handler``, whose lock file makes the
rotation safe when several processes append to one file (every service of ``./dev``
writes the same ``TRACE_FILE``).

Both paths are redacted (:mod:`shared.redaction`): every exporter only sees spans whose name and
attributes carry no link token, e-mail address or phone number, and every log handler (ours,
uvicorn's, FastStream's) scrubs records the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import Token
from pathlib import Path
from typing import Any

from concurrent_log_handler import ConcurrentRotatingFileHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.util.types import AttributeValue

from shared.redaction import RedactingFilter, RedactingSpanExporter, install_log_redaction
from shared.settings import CommonSettings

_configured = False

REDACTED_LOGGERS: tuple[str, ...] = (
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "faststream",
    "faststream.access",
    "faststream.access.kafka",
)


def rotating_file(path: str | Path, *, max_bytes: int, backups: int) -> ConcurrentRotatingFileHandler:
    """A handler that appends to ``path`` and rotates it at ``max_bytes`` (0: never), keeping
    ``backups`` older files (``path.1`` newest … ``path.N``); safe for several writing processes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return ConcurrentRotatingFileHandler(
        str(target), maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file (shared by services), rotated by size."""

    def __init__(self, path: str, *, max_bytes: int = 0, backups: int = 3) -> None:
        self.path = Path(path)
        self._out = rotating_file(self.path, max_bytes=max_bytes, backups=backups)
        self._out.setFormatter(logging.Formatter("%(message)s"))

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for s in spans:
            ctx = s.get_span_context()
            if ctx is None:
                continue
            line = json.dumps(
                {
                    "trace_id": format(ctx.trace_id, "032x"),
                    "span_id": format(ctx.span_id, "016x"),
                    "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
                    "name": s.name,
                    "service": s.resource.attributes.get("service.name"),
                    "start": s.start_time,
                    "end": s.end_time,
                    "attributes": {k: str(v) for k, v in (s.attributes or {}).items()},
                },
                ensure_ascii=False,
            )
            # one record per span: the handler rotates between lines, never inside one
            self._out.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


@contextmanager
def quiet() -> Iterator[None]:
    """The instrumented libraries (PyMongo, httpx) record no span inside: for a background poll."""
    with suppress_instrumentation():
        yield


class BackgroundPass:
    """One pass of a background loop, with a span that is exported only if the pass found work.

    Why: the loops that poll every half second for nothing made 95 % of all spans (measured on the
    demo's TRACE_FILE) and buried the traces of real work. Inside the pass the libraries'
    instrumentation is off (:func:`quiet`) until :meth:`found` is called; then the rest of the pass
    is recorded as children of the pass's span, which is ended (and so exported) when the pass
    ends. A pass that never calls :meth:`found` never ends its span: the SDK exports only ended
    spans, so it leaves nothing. Spans the pass creates itself, and the trace context of events
    it wraps, have the pass's span as parent either way.

    Call :meth:`found` at the pass's own level (not inside a context attached later in the pass).
    """

    def __init__(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
        *,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._span = (tracer or trace.get_tracer("shared.background")).start_span(name, attributes=attributes)
        self._tokens: list[Token[otel_context.Context]] = []
        self.work = False

    def __enter__(self) -> BackgroundPass:
        ctx = trace.set_span_in_context(self._span)
        for key in _SUPPRESS_KEYS:
            ctx = otel_context.set_value(key, True, ctx)
        self._tokens.append(otel_context.attach(ctx))
        return self

    def found(self, **attributes: AttributeValue) -> None:
        """The pass has work: its span will be exported, and what follows is recorded."""
        if attributes:
            self._span.set_attributes(attributes)
        if self.work:
            return
        self.work = True
        ctx = otel_context.get_current()
        for key in _SUPPRESS_KEYS:
            ctx = otel_context.set_value(key, False, ctx)
        self._tokens.append(otel_context.attach(ctx))

    def set(self, **attributes: AttributeValue) -> None:
        self._span.set_attributes(attributes)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        for token in reversed(self._tokens):
            otel_context.detach(token)
        self._tokens.clear()
        if not self.work:
            return
        if exc is not None and not isinstance(exc, asyncio.CancelledError):
            self._span.record_exception(exc)
            self._span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
        self._span.end()


_SUPPRESS_KEYS = (_SUPPRESS_INSTRUMENTATION_KEY, "suppress_instrumentation")
"""The API's key and the plain twin that the instrumentations also read."""


class TraceContextFilter(logging.Filter):
    """Adds trace_id/span_id of the current span to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else "-"
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else "-"
        return True


class JsonFormatter(logging.Formatter):
    _skip = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in self._skip})
        if record.exc_text:  # set (and redacted) by the handler's RedactingFilter
            data["exc"] = record.exc_text
        elif record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(service: str, settings: CommonSettings) -> None:
    """One handler on root: stderr, or ``LOG_FILE`` rotated by size (``./dev`` sets it per service).

    With ``LOG_FILE``, loggers that keep a console handler of their own and do not propagate
    (FastStream's) write to the same file, so nothing the service logs grows a file without bound."""
    handler: logging.Handler
    if settings.log_file:
        handler = rotating_file(
            settings.log_file, max_bytes=settings.log_file_max_bytes, backups=settings.log_file_backups
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TraceContextFilter())
    handler.addFilter(RedactingFilter())
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s %(levelname)s [{service}] %(name)s trace=%(trace_id)s %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    if settings.log_file:
        for lg in [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]:
            if not lg.propagate and any(_is_console(h) for h in lg.handlers):
                lg.handlers[:] = [h for h in lg.handlers if not _is_console(h)] + [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("aiokafka", "pymongo", "httpx", "faststream"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # uvicorn's access log carries the request path (/a/<token>); FastStream's logger has its own
    # handler and does not propagate to root: every handler gets the redacting filter
    install_log_redaction((*REDACTED_LOGGERS, f"faststream.{service}"))


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (
        sys.stderr,
        sys.stdout,
    )


def configure_telemetry(service: str, settings: CommonSettings) -> TracerProvider:
    """Idempotent per process; returns the provider (tests may flush it)."""
    global _configured
    provider = trace.get_tracer_provider()
    if _configured and isinstance(provider, TracerProvider):
        return provider
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(
                RedactingSpanExporter(OTLPSpanExporter(endpoint=f"{settings.otlp_endpoint}/v1/traces"))
            )
        )
    if settings.trace_file:
        provider.add_span_processor(
            BatchSpanProcessor(
                RedactingSpanExporter(
                    JsonLinesSpanExporter(
                        settings.trace_file,
                        max_bytes=settings.trace_file_max_bytes,
                        backups=settings.trace_file_backups,
                    )
                ),
                schedule_delay_millis=200,
            )
        )
    trace.set_tracer_provider(provider)
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

        PymongoInstrumentor().instrument()
        HTTPXClientInstrumentor().instrument()
    except Exception:  # instrumentation is best-effort; tracing of our own spans still works
        logging.getLogger(__name__).warning("library instrumentation unavailable", exc_info=True)
    _configured = True
    return provider
