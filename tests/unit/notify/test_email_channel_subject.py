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
