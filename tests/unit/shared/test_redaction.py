"""Redaction: link tokens, e-mail addresses and phone numbers never reach a log line or a span.

Property-based: hypothesis issues real link tokens (any key id, secret, claims, expiry), builds
e-mail addresses and Vietnamese phone numbers in every common notation, and hides them in log
lines, URLs, JSON and span attributes; nothing of them survives. Ordinary identifiers (uuids, unit
ids, decision ids, ISO dates, trace ids, offsets) come out unchanged.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from services.notify.domain.links import Action, SigningKey, issue_link
from shared.redaction import (
    EMAIL,
    PHONE,
    TOKEN,
    RedactingFilter,
    RedactingSpanExporter,
    install_log_redaction,
    redact,
    redact_route,
    redact_value,
)
from shared.settings import CommonSettings
from shared.telemetry import JsonFormatter, JsonLinesSpanExporter, configure_logging

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "services" / "org" / "seeds"

# --------------------------------------------------------------------------- strategies

_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=40)


@st.composite
def tokens(draw: st.DrawFn) -> str:
    """A real link token, as notify issues it."""
    key = SigningKey(
        draw(st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)),
        draw(st.binary(min_size=32, max_size=64)),
    )
    link = issue_link(
        key=key,
        recipient_unit_id=draw(_ids),
        recipient_role=draw(st.sampled_from(["dan_van_board", "fatherland_front", "socio_political_org"])),
        person_id=draw(st.text(min_size=1, max_size=30)),  # any unicode: the claims are base64url'd
        decision_id=draw(_ids),
        action=draw(st.sampled_from(list(Action))),
        expires_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 10**9))),
        token_id=draw(st.none() | st.from_regex(r"[A-Za-z0-9_-]{22,43}", fullmatch=True)),
    )
    return link.token


_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
realistic_emails = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    st.from_regex(r"[a-z0-9](?:[a-z0-9._+-]{0,20}[a-z0-9])?", fullmatch=True),
    st.lists(_label, min_size=1, max_size=3),
    st.sampled_from(["vn", "gov.vn", "com", "org.vn", "example.vn", "edu.vn"]),
)


@st.composite
def phones(draw: st.DrawFn) -> str:
    """+84 / (+84) / 0, then 9–10 digits, as people group them: one separator kind, groups of 2–4."""
    prefix = draw(st.sampled_from(["0", "+84", "+84 ", "+84.", "+84-", "(+84) ", "(+84)"]))
    n = draw(st.integers(9, 10))
    digits = str(draw(st.integers(1, 9))) + "".join(
        str(d) for d in draw(st.lists(st.integers(0, 9), min_size=n - 1, max_size=n - 1))
    )
    national = ("0" if prefix == "0" else "") + digits
    sep = draw(st.sampled_from(["", " ", ".", "-"]))
    groups, i = [], 0
    while i < len(national):
        remaining = len(national) - i
        size = remaining if remaining <= 3 else draw(st.integers(2, min(4, remaining - 2)))
        groups.append(national[i : i + size])
        i += size
    return ("" if prefix == "0" else prefix) + sep.join(groups)


contexts = st.sampled_from(
    [
        "{}",
        "gửi tới {} lúc 08:00",
        'to="{}"',
        "to={}",
        "(liên hệ: {}).",
        "[{}]",
        "{},{}",
        '{{"to": "{}", "n": 1}}',
        "\n{}\n",
        "Điện thoại: {}; thư: x",
    ]
)


def embed(ctx: str, value: str) -> str:
    return ctx.replace("{}", value).replace("{{", "{").replace("}}", "}")


# --------------------------------------------------------------------------- text


@given(token=tokens(), ctx=contexts)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_a_token_never_survives_anywhere(token: str, ctx: str) -> None:
    body, mac = token.split(".")[2], token.split(".")[3]
    for text in (
        embed(ctx, token),
        f'127.0.0.1:51234 - "GET /a/{token} HTTP/1.1" 200',
        f"https://danvan.example.vn/a/{token}",
        f"http://127.0.0.1:8004/kiem-duyet/{token}?x=1",
        f"/gop-y/kg-1?token={token}&next=/",
        f"prefix{token}suffix",
        json.dumps({"url": f"http://h/a/{token}", "token": token}),
    ):
        out = redact(text)
        assert token not in out and body not in out and mac not in out, out
        assert TOKEN in out


@given(email=realistic_emails, ctx=contexts)
@settings(max_examples=300)
def test_an_email_address_never_survives(email: str, ctx: str) -> None:
    out = redact(embed(ctx, email))
    domain = email.partition("@")[2]
    assert email not in out and "@" + domain not in out and domain not in out
    assert EMAIL in out


@given(email=st.emails())
@settings(max_examples=300)
def test_even_unusual_addresses_do_not_survive(email: str) -> None:
    out = redact(f"gửi tới {email} lúc 08:00")
    assert email not in out and email.partition("@")[2] not in out


@given(phone=phones(), ctx=contexts)
@settings(max_examples=500)
def test_a_vietnamese_phone_number_never_survives(phone: str, ctx: str) -> None:
    out = redact(embed(ctx, phone))
    digits = "".join(c for c in phone if c.isdigit())
    assert phone not in out and digits[-9:] not in "".join(c for c in out if c.isdigit()), out
    assert PHONE in out


def test_the_notations_people_actually_write() -> None:
    for phone in ("0912345678", "0912 345 678", "0912.345.678", "091-234-5678", "+84912345678",
                  "+84 912 345 678", "(+84) 912.345.678", "024 3512 3456", "02435123456"):  # fmt: skip
        assert redact(f"SĐT {phone}.") == f"SĐT {PHONE}.", phone


def _seed_unit_ids() -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str):
                found.append(node["id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for path in SEEDS.glob("*.yaml"):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


UNIT_IDS = _seed_unit_ids()

ordinary = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: u.hex),
    st.sampled_from(UNIT_IDS),
    st.from_regex(r"(kg|to)-(sub|it|demo|flow)-[0-9a-f]{8}-[0-9a-f]{6}", fullmatch=True),  # decision ids
    st.from_regex(r"(draft|op|iss|syn|deleg)-[0-9a-f]{8}(-[0-9a-z]{1,12}){0,2}", fullmatch=True),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S,%f")),
    st.integers(0, 2**63).map(str),  # offsets, epoch nanoseconds
    st.integers(0, 2**128 - 1).map(lambda n: format(n, "032x")),  # trace ids
    st.integers(0, 2**64 - 1).map(lambda n: format(n, "016x")),  # span ids
    st.floats(0, 10**6, allow_nan=False).map(str),
    st.sampled_from(["tasks.decision-requests.dlq", "org.events", "decision.opinion_recorded", "p.kg.003"]),
)


@given(parts=st.lists(ordinary, min_size=1, max_size=8), sep=st.sampled_from([" ", ", ", "/", " id=", "\n"]))
@settings(max_examples=500)
def test_ordinary_identifiers_are_left_alone(parts: list[str], sep: str) -> None:
    text = sep.join(parts)
    assert redact(text) == text


def test_seed_unit_ids_and_paths_are_left_alone() -> None:
    assert UNIT_IDS and "kg.ubnd" in UNIT_IDS
    text = " ".join(UNIT_IDS) + " GET /api/decisions/kg-1/history GET /gop-y/kg-1 GET /a/{token}"
    assert redact(text) == text
    assert redact("x " + str(uuid.uuid4())).startswith("x ")


def test_redaction_is_idempotent_and_route_templates_stay() -> None:
    token = issue_link(
        key=SigningKey("k1", b"s" * 32),
        recipient_unit_id="kg.bdv",
        recipient_role="dan_van_board",
        person_id="p.kg.003",
        decision_id="kg-1",
        action=Action.GIVE_OPINION,
        expires_at=datetime(2027, 1, 1, tzinfo=UTC),
    ).token
    once = redact(f"GET /a/{token} pvtam@kiengiang.example.vn 0912345678")
    assert once == f"GET /a/{TOKEN} {EMAIL} {PHONE}" and redact(once) == once
    assert redact_route(f"POST /kiem-duyet/{token}") == "POST /kiem-duyet/{token}"
    assert redact_route("GET /a/{token}") == "GET /a/{token}"


def test_values_are_redacted_deep_inside_structures() -> None:
    value = {"to": ["a@b.vn", ("0912345678", 3)], "a@b.vn": None, "n": 1.5, "ok": True}
    assert redact_value(value) == {"to": [EMAIL, (PHONE, 3)], EMAIL: None, "n": 1.5, "ok": True}

    class Contact:
        def __str__(self) -> str:
            return "Contact(a@b.vn)"

    assert redact_value(Contact()) == f"Contact({EMAIL})"
    plain = object()
    assert redact_value(plain) is plain


# --------------------------------------------------------------------------- logging

TOKEN_SAMPLE = issue_link(
    key=SigningKey("k1", b"t" * 32),
    recipient_unit_id="kg.mttq",
    recipient_role="fatherland_front",
    person_id="p.kg.007",
    decision_id="kg-42",
    action=Action.GIVE_OPINION,
    expires_at=datetime(2027, 1, 1, tzinfo=UTC),
).token
SECRETS = (TOKEN_SAMPLE, "ntttrang@kiengiang.example.vn", "0912 345 678", "912 345 678")


def _no_secrets(text: str) -> None:
    for s in SECRETS:
        assert s not in text, f"{s!r} survived in {text!r}"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    plain, as_json = io.StringIO(), io.StringIO()
    logger = logging.getLogger("test.redaction")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    h1, h2 = logging.StreamHandler(plain), logging.StreamHandler(as_json)
    h1.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    h2.setFormatter(JsonFormatter())
    for h in (h1, h2):
        h.addFilter(RedactingFilter())
        logger.addHandler(h)
    yield logger, plain, as_json
    logger.handlers.clear()


def test_log_message_args_extras_and_tracebacks_are_scrubbed(
    captured: tuple[logging.Logger, io.StringIO, io.StringIO],
) -> None:
    logger, plain, as_json = captured
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/a/{TOKEN_SAMPLE}", "1.1", 200)
    logger.info("mail to %(to)s", {"to": "ntttrang@kiengiang.example.vn"})
    logger.warning(
        "delivery attempt failed",
        extra={"detail": "550 <ntttrang@kiengiang.example.vn> unknown", "sms": {"to": ["0912 345 678"]}},
    )
    logger.info(f"already formatted http://h/a/{TOKEN_SAMPLE}")
    logger.info("%s%s", TOKEN_SAMPLE[:20], TOKEN_SAMPLE[20:])  # only dangerous once formatted
    try:
        raise RuntimeError(f"link http://h/kiem-duyet/{TOKEN_SAMPLE} refused for +84 912 345 678")
    except RuntimeError:
        logger.exception("page failed")
    logger.info("stack", stack_info=True, extra={"url": f"http://h/a/{TOKEN_SAMPLE}"})
    _no_secrets(plain.getvalue())
    _no_secrets(as_json.getvalue())
    assert "/a/[token]" in plain.getvalue() and "RuntimeError" in plain.getvalue()
    records = [json.loads(line) for line in as_json.getvalue().splitlines() if line.startswith("{")]
    failed = next(r for r in records if r["msg"] == "delivery attempt failed")
    assert failed["detail"] == f"550 <{EMAIL}> unknown" and failed["sms"] == {"to": [PHONE]}
    assert any("exc" in r and "[token]" in r["exc"] for r in records)


def test_ordinary_log_lines_are_unchanged(captured: tuple[logging.Logger, io.StringIO, io.StringIO]) -> None:
    logger, plain, _ = captured
    logger.info("decision %s issued by %s on %s (%d)", "kg-2026-001", "kg.ubnd", "2026-11-23", 3)
    assert plain.getvalue() == "INFO decision kg-2026-001 issued by kg.ubnd on 2026-11-23 (3)\n"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_configure_logging_covers_uvicorn_and_faststream(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    import faststream  # noqa: F401  (its logger has its own non-propagating handler)

    fs = logging.getLogger("faststream")
    fs_stream = io.StringIO()
    fs_handler = logging.StreamHandler(fs_stream)
    fs.addHandler(fs_handler)
    try:
        configure_logging("notify", CommonSettings())
        access = logging.getLogger("uvicorn.access")
        access.setLevel(logging.INFO)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/a/{TOKEN_SAMPLE}", "1.1", 200)
        logging.getLogger("uvicorn.error").error("bad request from ntttrang@kiengiang.example.vn")
        logging.getLogger("faststream.notify").error("handler failed for %s", f"/a/{TOKEN_SAMPLE}")
        assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in fs.handlers)
        err = capsys.readouterr().err
        _no_secrets(err)
        _no_secrets(fs_stream.getvalue())
        assert "GET /a/[token] HTTP/1.1" in err and "[email]" in err
        assert "/a/[token]" in fs_stream.getvalue()
    finally:
        fs.removeHandler(fs_handler)


def test_install_is_idempotent() -> None:
    logger = logging.getLogger("test.redaction.install")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        install_log_redaction(["test.redaction.install"])
        install_log_redaction(["test.redaction.install"])
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
        assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    finally:
        logger.removeHandler(handler)


# --------------------------------------------------------------------------- spans


class Collect(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _record_spans(exporter: SpanExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(exporter)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        f"GET /a/{TOKEN_SAMPLE}",
        attributes={
            "http.request.method": "GET",
            "url.full": f"http://127.0.0.1:8004/a/{TOKEN_SAMPLE}",
            "url.path": f"/a/{TOKEN_SAMPLE}",
            "http.target": f"/kiem-duyet/{TOKEN_SAMPLE}?token={TOKEN_SAMPLE}",
            "messaging.kafka.message.key": "ntttrang@kiengiang.example.vn",
            "dv.recipients": ("ntttrang@kiengiang.example.vn", "0912 345 678"),
            "messaging.kafka.offset": 12,
            "dv.unit": "kg.ubnd",
        },
    ) as span:
        span.add_event("sent", {"to": "+84 912 345 678"})
        try:
            raise ValueError(f"cannot open http://h/a/{TOKEN_SAMPLE}")
        except ValueError as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"failed for {TOKEN_SAMPLE}"))
    with tracer.start_as_current_span(
        f"POST /a/{TOKEN_SAMPLE}", attributes={"http.request.method": "POST", "http.route": "/a/{token}"}
    ):
        pass
    provider.shutdown()


def test_spans_reach_exporters_redacted_with_route_templates() -> None:
    collect = Collect()
    _record_spans(collect)
    first, second = collect.spans
    assert first.name == "GET /a/{token}" and second.name == "POST /a/{token}"
    attrs = dict(first.attributes or {})
    assert attrs["url.full"] == "http://127.0.0.1:8004/a/[token]"
    assert attrs["http.target"] == "/kiem-duyet/[token]?token=[token]"
    assert attrs["messaging.kafka.message.key"] == EMAIL
    assert tuple(attrs["dv.recipients"]) == (EMAIL, PHONE)  # type: ignore[arg-type]
    assert attrs["messaging.kafka.offset"] == 12 and attrs["dv.unit"] == "kg.ubnd"
    assert first.status.description == f"failed for {TOKEN}"
    dump = repr([(s.name, dict(s.attributes or {}), [(e.name, dict(e.attributes or {})) for e in s.events],
                  s.status.description) for s in collect.spans])  # fmt: skip
    _no_secrets(dump)
    assert "ValueError" in dump
    # the OTLP exporter encodes the redacted copies as they are
    _no_secrets(encode_spans(collect.spans).SerializeToString().decode("utf-8", "replace"))


def test_json_lines_trace_file_is_redacted(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    _record_spans(JsonLinesSpanExporter(str(path)))
    text = path.read_text(encoding="utf-8")
    _no_secrets(text)
    names = [json.loads(line)["name"] for line in text.splitlines()]
    assert names == ["GET /a/{token}", "POST /a/{token}"]


def test_configure_telemetry_wraps_every_exporter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import shared.telemetry as telemetry

    made: list[TracerProvider] = []
    monkeypatch.setattr(telemetry, "_configured", False)
    monkeypatch.setattr("opentelemetry.trace.set_tracer_provider", made.append)
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.httpx", None)  # skip instrumenting
    settings = CommonSettings(
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", TRACE_FILE=str(tmp_path / "t.jsonl")
    )
    provider = telemetry.configure_telemetry("notify", settings)
    monkeypatch.setattr(telemetry, "_configured", False)
    processors = provider._active_span_processor._span_processors
    exporters = [p.span_exporter for p in processors]  # type: ignore[attr-defined]
    assert len(exporters) == 2 and all(isinstance(e, RedactingSpanExporter) for e in exporters)
    provider.shutdown()


def test_the_oidc_callback_query_never_survives() -> None:
    line = (
        '127.0.0.1:4711 - "GET /dang-nhap/oidc/callback?code=udirwihiy3nmniifg2z6itv5a'
        '&state=p1C9MBGwPfGTn8RZm2Ko2nXUFWzUJA HTTP/1.1" 400'
    )
    out = redact(line)
    assert "udirwihiy3nmniifg2z6itv5a" not in out and "p1C9MBGwPfGTn8RZm2Ko2nXUFWzUJA" not in out
    assert out == '127.0.0.1:4711 - "GET /dang-nhap/oidc/callback?[token] HTTP/1.1" 400'
    assert redact(out) == out
    assert redact("GET /dang-nhap/oidc?next=/trang-chu") == "GET /dang-nhap/oidc?next=/trang-chu"
