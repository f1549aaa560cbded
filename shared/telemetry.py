"""OpenTelemetry set up once per process, and logs that carry the trace id.

Export: OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (docker-compose
sends to the collector → Jaeger); otherwise finished spans are appended as
JSON lines to ``TRACE_FILE`` (the demo reads it to show one trace id across
services), or dropped. PyMongo and httpx are instrumented; Kafka headers carry
the context through FastStream's telemetry middleware.

Both paths are redacted (:mod:`shared.redaction`): every exporter only sees spans whose name and
attributes carry no link token, e-mail address or phone number, and every log handler (ours,
uvicorn's, FastStream's) scrubs records the same way.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

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


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file (shared by services)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for s in spans:
            ctx = s.get_span_context()
            if ctx is None:
                continue
            lines.append(
                json.dumps(
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
            )
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


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
    root.setLevel(settings.log_level.upper())
    for noisy in ("aiokafka", "pymongo", "httpx", "faststream"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # uvicorn's access log carries the request path (/a/<token>); FastStream's logger has its own
    # handler and does not propagate to root: every handler gets the redacting filter
    install_log_redaction((*REDACTED_LOGGERS, f"faststream.{service}"))


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
                RedactingSpanExporter(JsonLinesSpanExporter(settings.trace_file)), schedule_delay_millis=200
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
