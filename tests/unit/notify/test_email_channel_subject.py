"""A long Vietnamese subject must arrive with its spaces (CPython folding bug)."""

import email
import email.policy

from services.notify.channels.email import EmailOut, build_email


def test_long_vietnamese_subject_round_trips_with_spaces() -> None:
    subject = (
        "[Đề nghị góp ý] Quyết định ban hành quy định bồi thường, hỗ trợ, tái định cư khi Nhà nước "
        "thu hồi đất dự án mở rộng cảng Rạch Giá – hạn 17:00 07/12/2026"
    )
    msg = build_email(
        EmailOut(message_id="m1", to=("a@example.vn",), subject=subject, text="x"), "dv@example.vn"
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == subject


async def test_subject_arrives_intact_through_a_real_smtp_server(tmp_path: object) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    from services.notify.channels.email import EmailChannel, EmailConfig
    from tests.integration.services import free_port

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(envelope.content)  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        subject = "[Đề nghị góp ý] Quyết định ban hành quy định bồi thường, hỗ trợ, tái định cư khi Nhà nước thu hồi đất dự án mở rộng cảng Rạch Giá"
        channel = EmailChannel(
            EmailConfig(host="127.0.0.1", port=port, sender="dv@example.vn", starttls=False)
        )
        result = await channel.send(
            EmailOut(message_id="m2", to=("a@example.vn",), subject=subject, text="x")
        )
        await asyncio.sleep(0.1)
    finally:
        controller.stop()
    assert result.status.value == "sent", result
    parsed = email.message_from_bytes(received[0], policy=email.policy.default)
    assert parsed["Subject"] == subject
