"""Signed webhooks to agency systems.

Why signed: the receiving system (e.g. a department's document-management system) must be
able to tell our events from forged ones without sharing credentials in URLs. Each request has

* ``X-DV-Timestamp`` — Unix seconds when signed (receivers reject stale ones: replay window);
* ``X-DV-Signature`` — hex HMAC-SHA256 with the shared secret over ``f"{timestamp}.{body}"``;
* ``X-DV-Event`` and ``X-DV-Delivery`` — event type and a delivery id to deduplicate retries.

Retries happen inline with bounded exponential backoff (short outages), re-signing each attempt
with a fresh timestamp; what is still failing is returned as ``retryable_failure`` for the
durable state machine to retry later. 2xx → sent; 4xx (except 408/425/429) → permanent.

Before anything is sent the target is vetted (:mod:`services.notify.channels.targets`): its host
must be on the allow-list of the recipient's unit and resolve only to public addresses (unless
private ones are allowed); the request then goes to the vetted address (``Host`` and TLS SNI keep
the name). A refused target is a permanent failure whose detail names the host and why — never the
path, the query or the body (the body carries action links). Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx

from services.notify.channels.base import WebhookOut
from services.notify.channels.sms import classify_status
from services.notify.channels.targets import Refusal, Resolver, WebhookTargets, resolve
from services.notify.domain.delivery import AttemptOutcome, DeliveryResult

log = logging.getLogger("notify.webhook")

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
    targets: WebhookTargets = field(default_factory=WebhookTargets)
    """Where webhooks may go; the default allows nothing."""

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
        resolver: Resolver = resolve,
    ) -> None:
        self._config = config
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._resolve = resolver

    async def send(self, message: WebhookOut) -> DeliveryResult:
        if self._client is not None:
            return await self._send(self._client, message)
        async with httpx.AsyncClient(follow_redirects=False) as client:
            return await self._send(client, message)

    async def vet(
        self, message: WebhookOut
    ) -> tuple[httpx.URL, dict[str, str], dict[str, str]] | DeliveryResult:
        """The pinned URL, the ``Host`` header and the request extensions for a permitted target;
        a :class:`DeliveryResult` (permanent refusal, or retryable when DNS does not answer) if not."""
        targets = self._config.targets
        try:
            url = httpx.URL(message.url)
        except httpx.InvalidURL:
            return self._refused(message, Refusal("bad_url", "webhook target refused: not a valid URL"), "?")
        host = url.host
        if url.scheme not in ("http", "https") or not host:
            return self._refused(
                message,
                Refusal("bad_url", "webhook target refused: only http(s) URLs with a host"),
                host or "?",
            )
        port = url.port or (443 if url.scheme == "https" else 80)
        refusal = targets.host_allowed(message.unit_ids, host, port)
        if refusal is not None:
            return self._refused(message, refusal, host)
        try:
            addresses = await self._resolve(host, port)
        except OSError as exc:  # socket.gaierror: DNS may answer later
            return DeliveryResult(
                AttemptOutcome.RETRYABLE_FAILURE, f"webhook host {host} did not resolve: {type(exc).__name__}"
            )
        refusal = targets.address_allowed(host, addresses)
        if refusal is not None:
            return self._refused(message, refusal, host)
        pinned = url.copy_with(host=addresses[0].split("%", 1)[0])
        host_header = url.netloc.decode("ascii")
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        return pinned, {"Host": host_header}, extensions

    def _refused(self, message: WebhookOut, refusal: Refusal, host: str) -> DeliveryResult:
        log.warning(
            "webhook target refused",
            extra={
                "who": ",".join(message.unit_ids) or "-",
                "what": f"webhook delivery {message.delivery_id} to host {host}",
                "why": refusal.code,
            },
        )
        return DeliveryResult(AttemptOutcome.PERMANENT_FAILURE, refusal.reason, attempts=1)

    async def _send(self, client: httpx.AsyncClient, message: WebhookOut) -> DeliveryResult:
        cfg = self._config
        vetted = await self.vet(message)
        if isinstance(vetted, DeliveryResult):
            return vetted
        target, host_header, extensions = vetted
        body = canonical_body(message.payload)
        detail = ""
        for attempt in range(1, cfg.max_attempts + 1):
            ts = int(self._clock())
            headers = {
                **message.extra_headers,
                **host_header,
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: str(ts),
                SIGNATURE_HEADER: sign(cfg.secret, ts, body),
                EVENT_HEADER: message.event_type,
                DELIVERY_HEADER: message.delivery_id,
            }
            try:
                resp = await client.post(
                    target,
                    content=body,
                    headers=headers,
                    timeout=cfg.timeout,
                    extensions=extensions,
                    follow_redirects=False,
                )
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
