"""SMTP channel against a real local aiosmtpd server on a random port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP

from services.notify.channels.base import EmailOut
from services.notify.channels.email import EmailChannel, EmailConfig, classify_smtp_error
from services.notify.domain.delivery import AttemptOutcome


class Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[Handler, int]]:
    handler = Handler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, enable_SMTPUTF8=True), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield handler, port
    finally:
        server.close()
        await server.wait_closed()


def _channel(port: int) -> EmailChannel:
    return EmailChannel(
        EmailConfig(
            host="127.0.0.1",
            port=port,
            sender="Hệ thống dân vận <no-reply@danvan.example.vn>",
            starttls=False,
            timeout=5,
        )
    )


MSG = EmailOut(
    message_id="msg-1",
    to=("mttq@kiengiang.example.vn",),
    subject="[Đề nghị góp ý] Quyết định về hỗ trợ hộ nghèo – hạn 17:00 05/12/2026",
    text="Kính gửi đồng chí Nguyễn Thị Hoa,\nHạn gửi ý kiến: 17:00 ngày 05/12/2026 (thứ Bảy).\n",
    html="<p>Kính gửi đồng chí <strong>Nguyễn Thị Hoa</strong></p>",
)


async def test_sends_multipart_utf8(smtp_server: tuple[Handler, int]) -> None:
    handler, port = smtp_server
    result = await _channel(port).send(MSG)
    assert result.status is AttemptOutcome.SENT, result.detail
    mail_from, rcpts, raw = handler.messages[0]
    assert mail_from == "no-reply@danvan.example.vn" and rcpts == ["mttq@kiengiang.example.vn"]
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == MSG.subject
    assert parsed["Message-ID"] == "<msg-1@danvan.example.vn>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert "(thứ Bảy)" in text.get_content()
    assert "<strong>Nguyễn Thị Hoa</strong>" in html.get_content()


async def test_refused_recipient_is_permanent(smtp_server: tuple[Handler, int]) -> None:
    _, port = smtp_server
    result = await _channel(port).send(EmailOut("m2", ("nobody@x.vn",), "Tiêu đề", "Nội dung"))
    assert result.status is AttemptOutcome.PERMANENT_FAILURE
    assert "550" in result.detail


async def test_temporary_refusal_is_retryable(smtp_server: tuple[Handler, int]) -> None:
    _, port = smtp_server
    result = await _channel(port).send(EmailOut("m3", ("busy@x.vn",), "Tiêu đề", "Nội dung"))
    assert result.status is AttemptOutcome.RETRYABLE_FAILURE


async def test_partial_refusal_still_sent(smtp_server: tuple[Handler, int]) -> None:
    handler, port = smtp_server
    result = await _channel(port).send(EmailOut("m4", ("ok@x.vn", "nobody@x.vn"), "Tiêu đề", "Nội dung"))
    assert result.status is AttemptOutcome.SENT and "nobody@x.vn" in result.detail
    assert handler.messages[-1][1] == ["ok@x.vn"]


async def test_connection_refused_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await _channel(port).send(MSG)
    assert result.status is AttemptOutcome.RETRYABLE_FAILURE


def test_classification() -> None:
    assert (
        classify_smtp_error(aiosmtplib.SMTPAuthenticationError(535, "bad")).status
        is AttemptOutcome.RETRYABLE_FAILURE
    )
    assert (
        classify_smtp_error(aiosmtplib.SMTPDataError(554, "rejected")).status
        is AttemptOutcome.PERMANENT_FAILURE
    )
    assert (
        classify_smtp_error(aiosmtplib.SMTPDataError(452, "full")).status is AttemptOutcome.RETRYABLE_FAILURE
    )
    assert classify_smtp_error(TimeoutError()).status is AttemptOutcome.RETRYABLE_FAILURE


def test_needs_a_recipient() -> None:
    from services.notify.channels.email import build_email

    with pytest.raises(ValueError):
        build_email(EmailOut("m", (), "s", "t"), "a@b.vn")
