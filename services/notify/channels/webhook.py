"""Signed webhooks to agency systems.

Why signed: the receiving system (e.g. a department's document-management system) must be
able to tell our events from forged ones without sharing credentials in URLs. Each request has

* ``X-DV-Timestamp`` — Unix seconds when signed (receivers reject stale ones: replay window);
* ``X-DV-Signature`` — hex HMAC-SHA256 with the shared secret over ``f"{timestamp}.{body}"``;
* ``X-DV-Event`` and ``X-DV-Delivery`` — event type and a delivery id to deduplicate retries.

Retries happen inline with bounded exponential backoff (short outages), re-signing each attempt
with a fresh timestamp; what is still failing is returned as ``retryable_failure`` for the
durable state machine to retry later. 2xx → sent; 4xx (except 408/425/429) → permanent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from services.notify.channels.base import WebhookOut
from services.notify.channels.sms import classify_status
from services.notify.domain.delivery import AttemptOutcome, DeliveryResult

TIMESTAMP_HEADER = "X-DV-Timestamp"
SIGNATURE_HEADER = "X-DV-Signature"
EVENT_HEADER = "X-DV-Event"
DELIVERY_HEADER = "X-DV-Delivery"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    secret: bytes
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("webhook secret must be at least 16 bytes")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be ≥ 1")


def canonical_body(payload: Mapping[str, object]) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``f"{timestamp}.{body}"`` (body as raw bytes)."""
    return hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes,
    timestamp_header: str,
    body: bytes,
    signature_header: str,
    *,
    now: float,
    tolerance_seconds: int = 300,
) -> bool:
    """Receiver side (for agency systems and tests): constant-time check plus a replay window."""
    try:
        ts = int(timestamp_header)
    except ValueError:
        return False
    if abs(now - ts) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature_header.strip().lower())


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Delay after failed attempt number ``attempt`` (1-based): base·2^(attempt-1), capped."""
    return float(min(cap, base * (2 ** (attempt - 1))))


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        config: WebhookConfig,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self._client = client
        self._clock = clock
        self._sleep = sleep

    async def send(self, message: WebhookOut) -> DeliveryResult:
        if self._client is not None:
            return await self._send(self._client, message)
        async with httpx.AsyncClient() as client:
            return await self._send(client, message)

    async def _send(self, client: httpx.AsyncClient, message: WebhookOut) -> DeliveryResult:
        cfg = self._config
        body = canonical_body(message.payload)
        detail = ""
        for attempt in range(1, cfg.max_attempts + 1):
            ts = int(self._clock())
            headers = {
                **message.extra_headers,
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: str(ts),
                SIGNATURE_HEADER: sign(cfg.secret, ts, body),
                EVENT_HEADER: message.event_type,
                DELIVERY_HEADER: message.delivery_id,
            }
            try:
                resp = await client.post(message.url, content=body, headers=headers, timeout=cfg.timeout)
                outcome = classify_status(resp.status_code)
                detail = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                outcome = AttemptOutcome.RETRYABLE_FAILURE
                detail = f"{type(exc).__name__}: {exc}"
            if outcome is not AttemptOutcome.RETRYABLE_FAILURE:
                return DeliveryResult(outcome, detail, attempts=attempt)
            if attempt < cfg.max_attempts:
                await self._sleep(backoff_delay(attempt, cfg.base_delay, cfg.max_delay))
        return DeliveryResult(AttemptOutcome.RETRYABLE_FAILURE, detail, attempts=cfg.max_attempts)
