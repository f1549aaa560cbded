"""Settings of the notify service, read from the environment.

Defaults suit a developer machine: the SMTP sink of ``python -m services.notify.mailsink``
on 127.0.0.1:1025, the pages on http://127.0.0.1:8004, no SMS gateway, and a development
link-signing secret that is *logged as a warning* — in production ``LINK_SECRET`` must be set,
because whoever knows it can forge opinion links; with ``APP_ENV=production`` the service refuses
to start with it (:mod:`shared.production`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.notify.channels.email import MailHeaders
from services.notify.channels.targets import TargetConfigError, WebhookTargets
from shared.production import DEV_LINK_SECRET as DEV_LINK_SECRET
from shared.production import UnsafeProductionConfig
from shared.settings import CommonSettings

log = logging.getLogger("notify.settings")


class NotifySettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", env_file=None)

    link_secret: str = Field(default=DEV_LINK_SECRET, alias="LINK_SECRET", min_length=32)
    link_key_id: str = Field(default="k1", alias="LINK_KEY_ID", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    link_previous_keys: str = Field(
        default="",
        alias="LINK_PREVIOUS_KEYS",
        description="retired-for-signing keys still accepted for verification: 'kid:secret,kid2:secret'",
    )
    link_grace_days: int = Field(
        default=14,
        ge=0,
        alias="LINK_GRACE_DAYS",
        description="an opinion link expires this many calendar days after the consultation deadline",
    )
    public_base_url: str = Field(default="http://127.0.0.1:8004", alias="PUBLIC_BASE_URL")

    smtp_host: str = Field(default="127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(default=1025, alias="SMTP_PORT")
    smtp_from: str = Field(
        default="Hệ thống lấy ý kiến dân vận <no-reply@danvan.example.vn>", alias="SMTP_FROM"
    )
    smtp_reply_to: str = Field(
        default="",
        alias="SMTP_REPLY_TO",
        description=(
            "Reply-To of every e-mail (the operator's mailbox), also the mailto of List-Unsubscribe; "
            "empty = 'ho-tro@' at SMTP_FROM's domain"
        ),
    )
    smtp_list_id: str = Field(
        default="",
        alias="SMTP_LIST_ID",
        description="List-Id of every e-mail; empty = 'lay-y-kien.' + SMTP_FROM's domain",
        pattern=r"^[A-Za-z0-9.<>-]*$",
    )
    smtp_starttls: bool = Field(default=False, alias="SMTP_STARTTLS")
    smtp_user: str | None = Field(default=None, alias="SMTP_USER")
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD")
    smtp_timeout: float = Field(default=20.0, gt=0, alias="SMTP_TIMEOUT")

    sms_gateway_url: str | None = Field(default=None, alias="SMS_GATEWAY_URL")
    sms_api_key: str = Field(default="", alias="SMS_API_KEY")
    webhook_secret: str | None = Field(default=None, alias="WEBHOOK_SECRET")
    webhook_allow: str = Field(
        default="",
        alias="NOTIFY_WEBHOOK_ALLOW",
        description=(
            "hosts webhooks may be posted to, per recipient unit: 'unit=host1,*.domain;*=host3' or JSON "
            '{"unit": ["host"], "*": ["host"]} (* = any unit; host[:port]); empty = no webhook is sent'
        ),
    )
    webhook_allow_private: bool = Field(
        default=False,
        alias="NOTIFY_WEBHOOK_ALLOW_PRIVATE",
        description="accept webhook hosts resolving to loopback/private/link-local/reserved addresses (tests only)",
    )

    digest_window_seconds: float = Field(default=300.0, gt=0, alias="DIGEST_WINDOW_SECONDS")
    delivery_poll_seconds: float = Field(default=1.0, gt=0, alias="DELIVERY_POLL_SECONDS")
    delivery_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        alias="DELIVERY_CONCURRENCY",
        description="messages of one delivery pass on the wire at once (SMTP, SMS, webhook)",
    )
    delivery_max_attempts: int = Field(default=6, ge=1, alias="DELIVERY_MAX_ATTEMPTS")
    delivery_retry_base_seconds: float = Field(default=60.0, gt=0, alias="DELIVERY_RETRY_BASE_SECONDS")
    delivery_retry_max_seconds: float = Field(default=3 * 3600.0, gt=0, alias="DELIVERY_RETRY_MAX_SECONDS")

    public_comment_rate_limit: int = Field(
        default=5,
        ge=1,
        alias="PUBLIC_COMMENT_RATE_LIMIT",
        description="citizen comments accepted per client address per window (counted in the document store)",
    )
    public_comment_rate_window_seconds: float = Field(
        default=600.0, gt=0, alias="PUBLIC_COMMENT_RATE_WINDOW_SECONDS"
    )
    trusted_proxies: str = Field(
        default="",
        alias="TRUSTED_PROXIES",
        description=(
            "comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed; "
            "empty = the socket peer is the client"
        ),
    )
    pages_extra_origins: str = Field(
        default="",
        alias="PAGES_EXTRA_ORIGINS",
        description=(
            "comma-separated origins, besides PUBLIC_BASE_URL's, whose form posts the link pages accept "
            "(the service reached under a second name)"
        ),
    )
    contact_change_notice_max_age_hours: float = Field(
        default=72.0,
        gt=0,
        alias="CONTACT_CHANGE_NOTICE_MAX_AGE_HOURS",
        description=(
            "a contact change older than this (e.g. replayed into a fresh replica) is applied without "
            "writing to the old addresses"
        ),
    )

    consumer_group: str = Field(default="notify", alias="NOTIFY_CONSUMER_GROUP")
    decisions_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest",
        alias="NOTIFY_DECISIONS_FROM",
        description=(
            "where a NEW consumer group starts on tasks.decisions: earliest (default: miss nothing) or latest "
            "(a fresh notify instance that must not re-send notifications for past decisions)"
        ),
    )
    demo_mode: bool = Field(default=False, alias="DEMO_MODE")

    @field_validator("webhook_allow")
    @classmethod
    def _webhook_allow_parses(cls, value: str) -> str:
        try:
            WebhookTargets.parse(value)
        except TargetConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        _networks(value)
        return value

    def mail_headers(self) -> MailHeaders:
        return MailHeaders.derive(self.smtp_from, self.smtp_reply_to or None, self.smtp_list_id or None)

    def webhook_targets(self) -> WebhookTargets:
        return WebhookTargets.parse(self.webhook_allow, allow_private=self.webhook_allow_private)

    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    def page_origins(self) -> frozenset[str]:
        """Origins (``scheme://host[:port]``) whose form posts the link and comment pages accept."""
        found = {origin_of(self.public_base_url)}
        found.update(origin_of(o) for o in self.pages_extra_origins.split(",") if o.strip())
        return frozenset(o for o in found if o)

    def comment_limit_key(self) -> bytes:
        """The key of the HMAC that stands for a client address in the comment limit's counters
        (derived from the link secret: no new secret to manage, and not the link key itself)."""
        return hmac.new(self.link_secret.encode("utf-8"), b"notify.comment-limit.v1", hashlib.sha256).digest()

    def signing_keys(self) -> dict[str, bytes]:
        """Key id → secret: the current key first, then retired ones kept for verification."""
        keys = {self.link_key_id: self.link_secret.encode("utf-8")}
        for item in filter(None, (p.strip() for p in self.link_previous_keys.split(","))):
            kid, _, secret = item.partition(":")
            if kid and secret and kid not in keys:
                keys[kid] = secret.encode("utf-8")
        return keys

    def warn_if_insecure(self) -> None:
        """Development: log the development link secret as unsafe. Production: refuse it (again —
        ``python -m services.notify`` already refused at start; this covers any other start).
        Webhooks to private addresses: a warning in development, refused in production."""
        if self.webhook_allow_private:
            if self.production:
                raise UnsafeProductionConfig(
                    "notify", ["NOTIFY_WEBHOOK_ALLOW_PRIVATE is on (webhooks to internal addresses)"]
                )
            log.warning(
                "NOTIFY_WEBHOOK_ALLOW_PRIVATE is on: webhooks may be posted to loopback and private "
                "addresses. Only for a development machine or tests."
            )
        if self.link_secret == DEV_LINK_SECRET:
            if self.production:
                raise UnsafeProductionConfig("notify", ["LINK_SECRET is the development default"])
            log.warning(
                "LINK_SECRET is the development default: anyone can forge opinion links. "
                "Set LINK_SECRET (≥ 32 characters) outside development."
            )


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an address or CIDR") from exc
    return tuple(out)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-case, default port dropped; ``""`` if it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
