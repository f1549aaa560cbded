"""Email over SMTP (aiosmtplib).

Failure classification follows SMTP: 5xx replies are permanent (address refused, message
rejected) except authentication failures, which are a configuration problem an operator fixes —
dead-lettering every notification meanwhile would lose them, so those are retryable. 4xx
replies, connection errors and timeouts are retryable.
"""

from __future__ import annotations

import email.policy
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from services.notify.channels.base import EmailOut
from services.notify.domain.delivery import AttemptOutcome, DeliveryResult


@dataclass(frozen=True, slots=True)
class EmailConfig:
    host: str
    port: int
    sender: str
    """From address, e.g. ``"Hệ thống dân vận <no-reply@danvan.example.vn>"``."""
    starttls: bool = True
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


def build_email(message: EmailOut, sender: str) -> EmailMessage:
    """A multipart/alternative UTF-8 message (plain text first, HTML preferred by clients)."""
    if not message.to:
        raise ValueError("email needs at least one recipient")
    # Not folded: CPython's header folder drops the space between RFC 2047 encoded words
    # when it folds a long Vietnamese subject ("ban hành" arrives as "banhành"). 998 is
    # RFC 5322's hard line limit; a test round-trips a long subject.
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    msg["From"] = sender
    msg["To"] = ", ".join(message.to)
    msg["Subject"] = message.subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<{message.message_id}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = "vi"
    if message.reply_to:
        msg["Reply-To"] = message.reply_to
    msg.set_content(message.text, charset="utf-8")
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html", charset="utf-8")
    return msg


def classify_smtp_error(exc: BaseException) -> DeliveryResult:
    """Map an aiosmtplib exception to retryable / permanent."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryResult(AttemptOutcome.RETRYABLE_FAILURE, f"SMTP authentication failed: {exc}")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        status = AttemptOutcome.PERMANENT_FAILURE if permanent else AttemptOutcome.RETRYABLE_FAILURE
        return DeliveryResult(status, f"recipients refused: {codes}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        status = (
            AttemptOutcome.PERMANENT_FAILURE if 500 <= exc.code < 600 else AttemptOutcome.RETRYABLE_FAILURE
        )
        return DeliveryResult(status, f"SMTP {exc.code}: {exc.message}")
    return DeliveryResult(AttemptOutcome.RETRYABLE_FAILURE, f"{type(exc).__name__}: {exc}")


class EmailChannel:
    """Sends :class:`EmailOut` through one SMTP relay (a new connection per message: simple and
    robust for the volumes here — tens to hundreds per day)."""

    name = "email"

    def __init__(self, config: EmailConfig) -> None:
        self._config = config

    async def send(self, message: EmailOut) -> DeliveryResult:
        cfg = self._config
        msg = build_email(message, cfg.sender)
        try:
            errors, response = await aiosmtplib.send(
                msg.as_bytes(),  # serialised here: aiosmtplib would re-fold the headers (see build_email)
                sender=cfg.sender,
                recipients=list(message.to),
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.username,
                password=cfg.password,
                use_tls=cfg.use_tls,
                start_tls=cfg.starttls if not cfg.use_tls else False,
                timeout=cfg.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return classify_smtp_error(exc)
        if errors:
            # Some recipients refused, others accepted: the message went out; report who failed.
            return DeliveryResult(AttemptOutcome.SENT, f"{response}; refused: {sorted(errors)}")
        return DeliveryResult(AttemptOutcome.SENT, response)
