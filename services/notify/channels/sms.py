"""SMS through an HTTP gateway (httpx).

The gateway contract is deliberately minimal so any provider adapter fits: ``POST <url>`` with
JSON ``{"to": ..., "text": ...}`` and the API key in a configurable header. 2xx → sent; 4xx →
permanent (the gateway refused this message: bad number, bad content) except 408/429, which say
"try later" and are retryable; 5xx, timeouts and connection errors → retryable.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.notify.channels.base import SmsOut
from services.notify.domain.delivery import AttemptOutcome, DeliveryResult

RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class SmsConfig:
    url: str
    api_key: str
    api_key_header: str = "X-API-Key"
    timeout: float = 10.0


def classify_status(code: int) -> AttemptOutcome:
    if 200 <= code < 300:
        return AttemptOutcome.SENT
    if 400 <= code < 500 and code not in RETRYABLE_4XX:
        return AttemptOutcome.PERMANENT_FAILURE
    return AttemptOutcome.RETRYABLE_FAILURE


class SmsChannel:
    """Sends :class:`SmsOut`. Pass ``client`` to share a connection pool (or a mock transport in tests)."""

    name = "sms"

    def __init__(self, config: SmsConfig, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._client = client

    async def send(self, message: SmsOut) -> DeliveryResult:
        if not message.to.strip():
            return DeliveryResult(AttemptOutcome.PERMANENT_FAILURE, "no phone number")
        cfg = self._config
        headers = {cfg.api_key_header: cfg.api_key, "Idempotency-Key": message.message_id}
        body = {"to": message.to, "text": message.text}
        try:
            if self._client is not None:
                resp = await self._client.post(cfg.url, json=body, headers=headers, timeout=cfg.timeout)
            else:
                async with httpx.AsyncClient() as client:
                    resp = await client.post(cfg.url, json=body, headers=headers, timeout=cfg.timeout)
        except httpx.HTTPError as exc:  # timeouts, connection errors, protocol errors
            return DeliveryResult(AttemptOutcome.RETRYABLE_FAILURE, f"{type(exc).__name__}: {exc}")
        return DeliveryResult(
            classify_status(resp.status_code), f"HTTP {resp.status_code}: {resp.text[:200]}"
        )
