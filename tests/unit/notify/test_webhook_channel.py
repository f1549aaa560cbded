"""Signed webhooks: signature round trip, replay window, retry on 500 then success; targets only from
the per-unit allow-list and never to private addresses unless allowed (the refusal is permanent)."""

from __future__ import annotations

import logging

import httpx
import pytest

from services.notify.channels.base import WebhookOut
from services.notify.channels.targets import HostPattern, TargetConfigError, WebhookTargets, is_public
from services.notify.channels.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    WebhookConfig,
    backoff_delay,
    canonical_body,
    sign,
    verify_signature,
)
from services.notify.domain.delivery import AttemptOutcome

from ._http_server import fake_http_server

SECRET = b"s" * 32
UNIT = "kg.cong_doan"
MSG = WebhookOut(
    delivery_id="d-1",
    url="https://agency.example.vn/hooks/dv",
    event_type="decision.issued",
    payload={
        "decision_id": "dec-42",
        "title": "Quyết định hỗ trợ hộ nghèo",
        "url": "https://dv/a/dv1.SECRET",
    },
    unit_ids=(UNIT,),
)
PUBLIC_IP = "93.184.215.14"
AGENCY = WebhookTargets.parse(f"{UNIT}=agency.example.vn")
"""The agency's host, allowed for its unit (tests against a mock transport)."""
LOCAL = WebhookTargets.parse("*=127.0.0.1", allow_private=True)
"""A local listener: allowed explicitly, private addresses allowed explicitly."""


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    calls: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


PUBLIC = resolver(PUBLIC_IP)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_sign_matches_spec() -> None:
    import hashlib
    import hmac

    body = canonical_body({"b": 1, "a": "ý"})
    assert body == '{"a":"ý","b":1}'.encode()
    expected = hmac.new(SECRET, f"1700000000.{body.decode()}".encode(), hashlib.sha256).hexdigest()
    assert sign(SECRET, 1700000000, body) == expected


def test_verify_rejects_tampering_wrong_secret_and_stale() -> None:
    body = canonical_body(MSG.payload)
    sig = sign(SECRET, 1000, body)
    assert verify_signature(SECRET, "1000", body, sig, now=1100)
    assert not verify_signature(SECRET, "1000", body + b" ", sig, now=1100)
    assert not verify_signature(b"t" * 32, "1000", body, sig, now=1100)
    assert not verify_signature(SECRET, "1001", body, sig, now=1100)
    assert not verify_signature(SECRET, "1000", body, sig, now=1000 + 301)
    assert not verify_signature(SECRET, "abc", body, sig, now=1000)


async def test_retry_on_500_then_success_and_receiver_verifies_each() -> None:
    statuses = iter([500, 502, 200])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(statuses))

    clock = iter([1000.0, 1001.0, 1003.0])
    sleeps = Sleeps()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        channel = WebhookChannel(
            WebhookConfig(SECRET, max_attempts=4, base_delay=0.5, max_delay=8, targets=AGENCY),
            client,
            clock=lambda: next(clock),
            sleep=sleeps,
            resolver=PUBLIC,
        )
        result = await channel.send(MSG)
    assert result.status is AttemptOutcome.SENT and result.attempts == 3
    assert sleeps.calls == [0.5, 1.0]
    for req, ts in zip(seen, ("1000", "1001", "1003"), strict=True):
        assert req.headers[TIMESTAMP_HEADER] == ts
        assert req.headers["X-DV-Delivery"] == "d-1" and req.headers["X-DV-Event"] == "decision.issued"
        assert verify_signature(
            SECRET, req.headers[TIMESTAMP_HEADER], req.content, req.headers[SIGNATURE_HEADER], now=float(ts)
        )


async def test_gives_up_bounded_as_retryable_and_4xx_is_permanent() -> None:
    sleeps = Sleeps()
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as client:
        result = await WebhookChannel(
            WebhookConfig(SECRET, max_attempts=5, base_delay=1, max_delay=3, targets=AGENCY),
            client,
            sleep=sleeps,
            resolver=PUBLIC,
        ).send(MSG)
    assert result.status is AttemptOutcome.RETRYABLE_FAILURE and result.attempts == 5
    assert sleeps.calls == [1, 2, 3, 3]
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(410))) as client:
        result = await WebhookChannel(
            WebhookConfig(SECRET, targets=AGENCY), client, sleep=sleeps, resolver=PUBLIC
        ).send(MSG)
    assert result.status is AttemptOutcome.PERMANENT_FAILURE and result.attempts == 1


def test_backoff_delay() -> None:
    assert [backoff_delay(i, 0.5, 3) for i in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


async def test_real_local_receiver_500_then_200() -> None:
    async with fake_http_server((500, b"{}", 0.0), (200, b"{}", 0.0)) as srv:
        msg = WebhookOut("d-2", f"{srv.url}/hook", "consultation.requested", {"decision_id": "dec-1"})
        result = await WebhookChannel(
            WebhookConfig(SECRET, base_delay=0.01, targets=LOCAL), sleep=Sleeps()
        ).send(msg)
    assert result.status is AttemptOutcome.SENT and result.attempts == 2
    for req in srv.requests:
        assert verify_signature(
            SECRET,
            req.headers["x-dv-timestamp"],
            req.body,
            req.headers["x-dv-signature"],
            now=float(req.headers["x-dv-timestamp"]),
        )


# ------------------------------------------------------------------------------ targets


async def test_a_local_listener_is_refused_by_default_permanently_and_gets_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with fake_http_server((200, b"{}", 0.0)) as srv:
        msg = WebhookOut(
            "d-3", f"{srv.url}/hook?token=dv1.abc", "notify.reminder", MSG.payload, unit_ids=(UNIT,)
        )
        allowed_but_private = WebhookTargets.parse(f"{UNIT}=127.0.0.1")
        results = []
        for targets in (WebhookTargets(), allowed_but_private):
            channel = WebhookChannel(WebhookConfig(SECRET, targets=targets), sleep=Sleeps())
            with caplog.at_level(logging.WARNING, "notify.webhook"):
                results.append(await channel.send(msg))
        assert srv.requests == []
    assert all(r.status is AttemptOutcome.PERMANENT_FAILURE and r.attempts == 1 for r in results)
    assert "not on the webhook allow-list" in results[0].detail and UNIT in results[0].detail
    assert "non-public address 127.0.0.1" in results[1].detail
    refused = [r for r in caplog.records if r.getMessage() == "webhook target refused"]
    assert [r.why for r in refused] == ["host_not_allowed", "private_address"]  # type: ignore[attr-defined]
    assert "token" not in caplog.text and "dv1" not in caplog.text and "SECRET" not in caplog.text
    assert all("token" not in r.detail and "/hook" not in r.detail for r in results)


async def test_host_must_be_on_the_list_of_the_recipients_unit() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))  # type: ignore[func-returns-value]
    targets = WebhookTargets.parse(f"{UNIT}=agency.example.vn;*=edoc.example.vn")
    async with httpx.AsyncClient(transport=transport) as client:
        channel = WebhookChannel(WebhookConfig(SECRET, targets=targets), client, resolver=PUBLIC)
        other_unit = WebhookOut("d-4", MSG.url, "x", {}, unit_ids=("kg.hoi_nong_dan",))
        result = await channel.send(other_unit)
        assert result.status is AttemptOutcome.PERMANENT_FAILURE
        assert "agency.example.vn" in result.detail and "kg.hoi_nong_dan" in result.detail
        shared = WebhookOut("d-5", "https://edoc.example.vn/in", "x", {}, unit_ids=("kg.hoi_nong_dan",))
        assert (await channel.send(shared)).status is AttemptOutcome.SENT  # '*' is for every unit
        mixed = WebhookOut("d-6", MSG.url, "x", {}, unit_ids=(UNIT, "kg.hoi_nong_dan"))
        assert (await channel.send(mixed)).status is AttemptOutcome.PERMANENT_FAILURE  # every unit must allow
        assert (await channel.send(MSG)).status is AttemptOutcome.SENT
    assert [r.headers["x-dv-delivery"] for r in sent] == ["d-5", "d-1"]


async def test_an_allowed_name_resolving_to_a_private_address_is_refused() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))  # type: ignore[func-returns-value]
    async with httpx.AsyncClient(transport=transport) as client:
        for bad in ("10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "100.64.0.1", "0.0.0.0"):
            channel = WebhookChannel(
                WebhookConfig(SECRET, targets=AGENCY), client, resolver=resolver(PUBLIC_IP, bad)
            )
            result = await channel.send(MSG)
            assert result.status is AttemptOutcome.PERMANENT_FAILURE, bad
            assert "non-public address" in result.detail
    assert sent == []


async def test_the_request_goes_to_the_vetted_address_with_the_name_in_host_and_sni() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204))  # type: ignore[func-returns-value]
    resolve = resolver(PUBLIC_IP)
    async with httpx.AsyncClient(transport=transport) as client:
        result = await WebhookChannel(WebhookConfig(SECRET, targets=AGENCY), client, resolver=resolve).send(
            MSG
        )
    assert result.status is AttemptOutcome.SENT
    assert resolve.calls == [("agency.example.vn", 443)]  # type: ignore[attr-defined]
    req = seen[0]
    assert req.url.host == PUBLIC_IP and req.url.path == "/hooks/dv"
    assert req.headers["host"] == "agency.example.vn"
    assert req.extensions["sni_hostname"] == "agency.example.vn"


async def test_dns_failure_is_retryable_and_a_bad_url_permanent() -> None:
    async def no_dns(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    channel = WebhookChannel(WebhookConfig(SECRET, targets=AGENCY), resolver=no_dns)
    assert (await channel.send(MSG)).status is AttemptOutcome.RETRYABLE_FAILURE
    ftp = WebhookOut("d-7", "ftp://agency.example.vn/x", "x", {}, unit_ids=(UNIT,))
    assert (await channel.send(ftp)).status is AttemptOutcome.PERMANENT_FAILURE


def test_allow_list_formats() -> None:
    text = WebhookTargets.parse("kg.a = h.example.vn, *.qlvb.example.vn:8443 ; *=edoc.example.vn")
    js = WebhookTargets.parse('{"kg.a": ["h.example.vn", "*.qlvb.example.vn:8443"], "*": "edoc.example.vn"}')
    assert text == js
    assert text.host_allowed(["kg.a"], "H.Example.VN", 443) is None
    assert text.host_allowed(["kg.a"], "x.qlvb.example.vn", 8443) is None
    assert text.host_allowed(["kg.a"], "x.qlvb.example.vn", 443) is not None  # port pinned
    assert text.host_allowed(["kg.a"], "qlvb.example.vn", 8443) is not None  # wildcard: below only
    assert text.host_allowed(["kg.a"], "h.example.vn.evil.example", 443) is not None
    assert text.host_allowed(["kg.b"], "edoc.example.vn", 80) is None
    assert text.host_allowed([], "edoc.example.vn", 80) is None
    assert text.host_allowed([], "h.example.vn", 80) is not None
    assert WebhookTargets.parse("").host_allowed(["kg.a"], "h.example.vn", 443) is not None
    assert HostPattern.parse("[::1]:8080") == HostPattern("::1", 8080)
    for bad in ("kg.a", "kg.a=http://h/x", "{", "[1]", '{"kg.a": [1]}', "=h", "kg.a=h:99999", "kg.a=*"):
        with pytest.raises(TargetConfigError):
            WebhookTargets.parse(bad)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:220:1::1", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:0a00:0001::1", False),  # 6to4 around 10.0.0.1
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public
