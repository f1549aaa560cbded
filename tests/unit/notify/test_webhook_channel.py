"""Signed webhooks: signature round trip, replay window, retry on 500 then success."""

from __future__ import annotations

import httpx

from services.notify.channels.base import WebhookOut
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
MSG = WebhookOut(
    delivery_id="d-1",
    url="https://agency.example.vn/hooks/dv",
    event_type="decision.issued",
    payload={"decision_id": "dec-42", "title": "Quyết định hỗ trợ hộ nghèo"},
)


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
            WebhookConfig(SECRET, max_attempts=4, base_delay=0.5, max_delay=8),
            client,
            clock=lambda: next(clock),
            sleep=sleeps,
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
            WebhookConfig(SECRET, max_attempts=5, base_delay=1, max_delay=3), client, sleep=sleeps
        ).send(MSG)
    assert result.status is AttemptOutcome.RETRYABLE_FAILURE and result.attempts == 5
    assert sleeps.calls == [1, 2, 3, 3]
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(410))) as client:
        result = await WebhookChannel(WebhookConfig(SECRET), client, sleep=sleeps).send(MSG)
    assert result.status is AttemptOutcome.PERMANENT_FAILURE and result.attempts == 1


def test_backoff_delay() -> None:
    assert [backoff_delay(i, 0.5, 3) for i in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


async def test_real_local_receiver_500_then_200() -> None:
    async with fake_http_server((500, b"{}", 0.0), (200, b"{}", 0.0)) as srv:
        msg = WebhookOut("d-2", f"{srv.url}/hook", "consultation.requested", {"decision_id": "dec-1"})
        result = await WebhookChannel(WebhookConfig(SECRET, base_delay=0.01), sleep=Sleeps()).send(msg)
    assert result.status is AttemptOutcome.SENT and result.attempts == 2
    for req in srv.requests:
        assert verify_signature(
            SECRET,
            req.headers["x-dv-timestamp"],
            req.body,
            req.headers["x-dv-signature"],
            now=float(req.headers["x-dv-timestamp"]),
        )
