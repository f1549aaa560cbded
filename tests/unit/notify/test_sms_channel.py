"""SMS channel: status classification via MockTransport, and one real local HTTP server test."""

from __future__ import annotations

import json

import httpx
import pytest

from services.notify.channels.base import SmsOut
from services.notify.channels.sms import SmsChannel, SmsConfig
from services.notify.domain.delivery import AttemptOutcome

from ._http_server import fake_http_server

MSG = SmsOut("sms-1", "+84912345678", "[Dân vận] Đề nghị góp ý dự thảo. Hạn: 17:00 05/12/2026.")


def _mock(status: int | None, seen: list[httpx.Request] | None = None) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if status is None:
            raise httpx.ConnectTimeout("timed out", request=request)
        return httpx.Response(status, json={"ok": status < 300})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


CFG = SmsConfig(url="https://sms.example.vn/send", api_key="secret-key", api_key_header="X-Api-Key")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, AttemptOutcome.SENT),
        (202, AttemptOutcome.SENT),
        (400, AttemptOutcome.PERMANENT_FAILURE),
        (401, AttemptOutcome.PERMANENT_FAILURE),
        (422, AttemptOutcome.PERMANENT_FAILURE),
        (429, AttemptOutcome.RETRYABLE_FAILURE),
        (500, AttemptOutcome.RETRYABLE_FAILURE),
        (503, AttemptOutcome.RETRYABLE_FAILURE),
        (None, AttemptOutcome.RETRYABLE_FAILURE),
    ],
)
async def test_classification(status: int | None, outcome: AttemptOutcome) -> None:
    async with _mock(status) as client:
        assert (await SmsChannel(CFG, client).send(MSG)).status is outcome


async def test_request_shape() -> None:
    seen: list[httpx.Request] = []
    async with _mock(200, seen) as client:
        await SmsChannel(CFG, client).send(MSG)
    req = seen[0]
    assert req.method == "POST" and str(req.url) == CFG.url
    assert req.headers["X-Api-Key"] == "secret-key"
    assert json.loads(req.content) == {"to": MSG.to, "text": MSG.text}


async def test_empty_number_is_permanent() -> None:
    assert (await SmsChannel(CFG).send(SmsOut("x", " ", "t"))).status is AttemptOutcome.PERMANENT_FAILURE


async def test_real_local_gateway() -> None:
    async with fake_http_server((200, b'{"id":"g1"}', 0.0)) as gw:
        cfg = SmsConfig(url=f"{gw.url}/api/sms", api_key="k-123", timeout=5)
        result = await SmsChannel(cfg).send(MSG)
    assert result.status is AttemptOutcome.SENT
    req = gw.requests[0]
    assert req.path == "/api/sms" and req.headers["x-api-key"] == "k-123"
    assert req.json() == {"to": "+84912345678", "text": MSG.text}


async def test_real_local_gateway_timeout_is_retryable() -> None:
    async with fake_http_server((200, b"{}", 2.0)) as gw:
        cfg = SmsConfig(url=gw.url, api_key="k", timeout=0.3)
        result = await SmsChannel(cfg).send(MSG)
    assert result.status is AttemptOutcome.RETRYABLE_FAILURE
    assert "Timeout" in result.detail
