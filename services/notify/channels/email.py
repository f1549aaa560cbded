"""Email over SMTP (aiosmtplib).

Failure classification follows SMTP: 5xx replies are permanent (address refused, message
rejected) except authentication failures, which are a configuration problem an operator fixes —
dead-lettering every notification meanwhile would lose them, so those are retryable. 4xx
replies, connection errors and timeouts are retryable.
"""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from urllib.parse import quote, unquote

import aiosmtplib

from services.notify.channels.base import EmailOut, LinkCase
from services.notify.domain.delivery import AttemptOutcome, DeliveryResult
from services.notify.domain.vi_time import VN_TZ

CASE_HEADER = "X-Danvan-Case"
"""One per action link in the message: ``token=…; decision=…; unit=…; action=…`` (values
percent-encoded). Lets a machine reader (the demo, the chaos driver) learn which decision and unit a
link is for now that links are opaque; a digest with several links carries several."""

UNSUBSCRIBE_SUBJECT = "Đề nghị thay đổi kênh nhận thông báo"


@dataclass(frozen=True, slots=True)
class MailHeaders:
    """The list headers every message carries (RFC 2369 / RFC 2919).

    These are official notices a consultee may not opt out of, so ``List-Unsubscribe`` is a
    ``mailto:`` to the operator (the Reply-To mailbox), never a one-click https URL (no
    ``List-Unsubscribe-Post``: nothing may switch a unit's notices off by a click); the operator
    answers that the channel is changed through the unit's person in charge in the registry.
    """

    reply_to: str
    list_id: str
    """``<lay-y-kien.danvan.example.vn>`` style (RFC 2919), angle brackets included."""
    list_unsubscribe: str
    """``<mailto:…>`` (RFC 2369), angle brackets included."""

    @classmethod
    def derive(cls, sender: str, reply_to: str | None = None, list_id: str | None = None) -> MailHeaders:
        """Defaults from the From address: Reply-To ``ho-tro@<domain>``, List-Id
        ``<lay-y-kien.<domain>>``, List-Unsubscribe a mailto to the Reply-To address."""
        domain = _domain(sender)
        reply = reply_to or f"Hỗ trợ hệ thống dân vận <ho-tro@{domain}>"
        lid = (list_id or f"lay-y-kien.{domain}").strip("<>")
        address = email.utils.parseaddr(reply)[1] or f"ho-tro@{domain}"
        unsubscribe = f"<mailto:{address}?subject={quote(UNSUBSCRIBE_SUBJECT)}>"
        return cls(reply_to=reply, list_id=f"<{lid}>", list_unsubscribe=unsubscribe)


def _domain(sender: str) -> str:
    return email.utils.parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def link_cases(msg: Message) -> dict[str, LinkCase]:
    """Token → case of every ``X-Danvan-Case`` header of a received message (the demo's and the
    chaos driver's way to learn which decision and unit a link is for)."""
    found: dict[str, LinkCase] = {}
    for raw in msg.get_all(CASE_HEADER, []):
        fields = dict(p.strip().partition("=")[::2] for p in str(raw).split(";") if "=" in p)
        values = {k.strip(): unquote(v.strip()) for k, v in fields.items()}
        if all(values.get(k) for k in ("token", "decision", "unit", "action")):
            found[values["token"]] = LinkCase(
                values["token"], values["decision"], values["unit"], values["action"]
            )
    return found


def link_token(url: str) -> str:
    """The token of an action link URL (its last path segment)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def case_header(case: LinkCase) -> str:
    fields = (("token", case.token), ("decision", case.decision_id), ("unit", case.unit_id))
    return "; ".join([*(f"{k}={quote(v, safe='')}" for k, v in fields), f"action={quote(case.action)}"])


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
    headers: MailHeaders | None = None
    """Reply-To and list headers; derived from ``sender`` when not given."""


def build_email(
    message: EmailOut, sender: str, *, headers: MailHeaders | None = None, now: datetime | None = None
) -> EmailMessage:
    """A multipart/alternative UTF-8 message (plain text first, HTML preferred by clients).

    ``Date`` is Vietnam time (``+0700``, Asia/Ho_Chi_Minh), the time the reader lives in; the
    Message-ID is the delivery's ``wire_id`` (stable across retries: a receiving MTA and the chaos
    checker rely on it)."""
    if not message.to:
        raise ValueError("email needs at least one recipient")
    # Not folded: CPython's header folder drops the space between RFC 2047 encoded words
    # when it folds a long Vietnamese subject ("ban hành" arrives as "banhành"). 998 is
    # RFC 5322's hard line limit; a test round-trips a long subject.
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    msg["From"] = sender
    msg["To"] = ", ".join(message.to)
    msg["Subject"] = message.subject
    msg["Date"] = email.utils.format_datetime((now or datetime.now(UTC)).astimezone(VN_TZ))
    msg["Message-ID"] = f"<{message.message_id}@{_domain(sender)}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = "vi"
    lists = headers or MailHeaders.derive(sender)
    msg["Reply-To"] = message.reply_to or lists.reply_to
    msg["List-Id"] = lists.list_id
    msg["List-Unsubscribe"] = lists.list_unsubscribe
    for case in message.cases:
        msg[CASE_HEADER] = case_header(case)
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

    def __init__(self, config: EmailConfig, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._config = config
        self._now = now

    async def send(self, message: EmailOut) -> DeliveryResult:
        cfg = self._config
        msg = build_email(message, cfg.sender, headers=cfg.headers, now=self._now())
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
