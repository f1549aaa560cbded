"""Every notification kind renders subject, text, HTML and SMS in Vietnamese, with the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.contact_change import Contacts, contact_changes
from services.notify.domain.opinion import Stance
from services.notify.domain.templates import (
    ConsultationRequested,
    ContactChanged,
    DecisionRef,
    Digest,
    Issued,
    NotificationKind,
    OpinionNotRecorded,
    OpinionReceived,
    OverdueEscalated,
    PublicCommentModeration,
    Recipient,
    Reminder,
    Renderable,
    Renderer,
    ReportDue,
    build_digest,
)

DEADLINE = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # 17:00 thứ Bảy in Vietnam
LONG = "https://dv.example.vn/a/dv1.k1." + "x" * 40
DEC = DecisionRef(
    "dec-42", "Quyết định về hỗ trợ hộ nghèo bị ảnh hưởng bởi thiên tai", "UBND tỉnh Kiên Giang", 2
)
REC = Recipient("Nguyễn Thị Hoa", "Ủy ban MTTQ Việt Nam tỉnh Kiên Giang")
URL = "https://dv.example.vn/a/TOKEN"

SAMPLES: dict[NotificationKind, Renderable] = {
    NotificationKind.CONSULTATION_REQUESTED: ConsultationRequested(
        REC, DEC, DEADLINE, URL, note="Gửi ý kiến bằng văn bản"
    ),
    NotificationKind.REMINDER: Reminder(REC, DEC, DEADLINE, URL),
    NotificationKind.OVERDUE_ESCALATED: OverdueEscalated(
        REC, DEC, DEADLINE, ("Hội Nông dân tỉnh", "Tỉnh Đoàn"), URL, escalated_to="Thường trực Tỉnh ủy"
    ),
    NotificationKind.OPINION_RECEIVED: OpinionReceived(REC, DEC, Stance.AGREE_WITH_AMENDMENTS, DEADLINE, URL),
    NotificationKind.ISSUED: Issued(
        REC,
        DecisionRef("dec-42", DEC.title, DEC.issuer_name, 3, "357-QĐ/UBND"),
        DEADLINE,
        "Hỗ trợ 2 triệu đồng/hộ.\nÁp dụng toàn tỉnh.",
        URL,
        effective_from=DEADLINE + timedelta(days=10),
    ),
    NotificationKind.REPORT_DUE: ReportDue(
        REC, "Báo cáo công tác dân vận", "Quý IV/2026", DEADLINE, "Ban Dân vận Tỉnh ủy", URL
    ),
    NotificationKind.PUBLIC_COMMENT_MODERATION: PublicCommentModeration(
        REC, DEC, DEADLINE, "https://dv.example.vn/kiem-duyet/TOKEN", "https://dv.example.vn/gop-y/dec-42"
    ),
}
SAMPLES[NotificationKind.OPINION_NOT_RECORDED] = OpinionNotRecorded(
    REC, DEC, "Ban Dân vận đã tổng hợp ý kiến; không nhận thêm ý kiến sau thời điểm tổng hợp.", DEADLINE
)
CHANGES = contact_changes(
    Contacts("hoa@mttq.kiengiang.example.vn", "0912 345 678", None),
    Contacts("attacker@example.test", None, "https://hooks.evil.example/x?token=1"),
)
SAMPLES[NotificationKind.CONTACT_CHANGED] = ContactChanged(REC, DEADLINE, CHANGES)
SAMPLES[NotificationKind.DIGEST] = build_digest(
    REC,
    [
        SAMPLES[NotificationKind.ISSUED],  # type: ignore[list-item]
        Reminder(
            REC,
            DecisionRef("dec-7", "Kế hoạch giải phóng mặt bằng", "Sở Xây dựng"),
            DEADLINE + timedelta(days=3),
            URL,
        ),
        SAMPLES[NotificationKind.CONSULTATION_REQUESTED],  # type: ignore[list-item]
    ],
)

renderer = Renderer()


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_each_kind_renders(kind: NotificationKind) -> None:
    msg = renderer.render(SAMPLES[kind])
    assert msg.kind is kind
    assert msg.subject and "\n" not in msg.subject
    assert "Kính gửi đồng chí Nguyễn Thị Hoa" in msg.text
    assert msg.html.startswith("<!DOCTYPE html>") and 'lang="vi"' in msg.html
    assert 0 < len(msg.sms) <= 320
    assert "Trân trọng" in msg.text


@pytest.mark.parametrize(
    "kind",
    [
        NotificationKind.CONSULTATION_REQUESTED,
        NotificationKind.REMINDER,
        NotificationKind.OVERDUE_ESCALATED,
        NotificationKind.REPORT_DUE,
        NotificationKind.PUBLIC_COMMENT_MODERATION,
        NotificationKind.DIGEST,
    ],
)
def test_deadline_shown_in_vietnamese_format(kind: NotificationKind) -> None:
    msg = renderer.render(SAMPLES[kind])
    assert "17:00 ngày 05/12/2026 (thứ Bảy)" in msg.text
    assert "17:00 ngày 05/12/2026 (thứ Bảy)" in msg.html
    assert "17:00 05/12/2026" in msg.sms


def test_consultation_request_content() -> None:
    msg = renderer.render(SAMPLES[NotificationKind.CONSULTATION_REQUESTED])
    assert msg.subject.startswith("[Đề nghị góp ý] Quyết định về hỗ trợ hộ nghèo")
    assert "UBND tỉnh Kiên Giang đề nghị Ủy ban MTTQ Việt Nam tỉnh Kiên Giang tham gia góp ý" in msg.text
    assert "phiên bản 2" in msg.text
    assert URL in msg.text and f'href="{URL}"' in msg.html
    assert URL in msg.sms


def test_overdue_lists_missing_units_and_escalation() -> None:
    msg = renderer.render(SAMPLES[NotificationKind.OVERDUE_ESCALATED])
    assert "- Hội Nông dân tỉnh" in msg.text and "<li>Tỉnh Đoàn</li>" in msg.html
    assert "đã được báo cáo Thường trực Tỉnh ủy" in msg.text
    assert "Còn 2 đơn vị" in msg.sms


def test_receipt_shows_stance_label() -> None:
    msg = renderer.render(SAMPLES[NotificationKind.OPINION_RECEIVED])
    assert "Ý kiến chung: Đồng ý có sửa đổi, bổ sung." in msg.text
    assert "Đồng ý có sửa đổi, bổ sung" in msg.sms


def test_issued_with_number_and_override_warning() -> None:
    n = SAMPLES[NotificationKind.ISSUED]
    assert isinstance(n, Issued)
    msg = renderer.render(n)
    assert msg.subject.startswith("[Đã ban hành] 357-QĐ/UBND")
    assert "có hiệu lực từ ngày 15/12/2026 (thứ Ba)" in msg.text
    assert "Lưu ý" not in msg.text
    over = Issued(n.recipient, n.decision, n.issued_at, n.summary, override_reason="Khẩn cấp phòng chống bão")
    msg2 = renderer.render(over)
    assert "Lý do: Khẩn cấp phòng chống bão" in msg2.text and "Lý do: Khẩn cấp phòng chống bão" in msg2.html


def test_digest_groups_sorted_by_deadline() -> None:
    d = SAMPLES[NotificationKind.DIGEST]
    assert isinstance(d, Digest)
    assert [e.kind for e in d.entries] == [
        NotificationKind.CONSULTATION_REQUESTED,
        NotificationKind.REMINDER,
        NotificationKind.ISSUED,
    ]
    msg = renderer.render(d)
    assert msg.subject == "[Tổng hợp] 3 việc cần xử lý – hạn gần nhất 17:00 05/12/2026"
    assert "1. [Đề nghị góp ý]" in msg.text and "3. [Thông tin văn bản đã ban hành]" in msg.text
    assert "17:00 ngày 08/12/2026 (thứ Ba)" in msg.text
    assert msg.html.count("<li") == 3
    assert "(mã hồ sơ dec-7)" in msg.text and "(mã hồ sơ dec-7)" in msg.html  # each line names its case


def test_html_is_autoescaped_but_text_is_not() -> None:
    evil = DecisionRef("d", '<script>alert(1)</script> & "Điều"', "Sở <b>X</b>")
    msg = renderer.render(ConsultationRequested(REC, evil, DEADLINE, URL + "?a=1&b=2"))
    assert "<script>" not in msg.html and "&lt;script&gt;" in msg.html
    assert "Sở &lt;b&gt;X&lt;/b&gt;" in msg.html
    assert "a=1&amp;b=2" in msg.html
    assert "<script>alert(1)</script>" in msg.text  # plain text is not HTML


def test_subject_cannot_inject_headers() -> None:
    evil = DecisionRef("d", "Tiêu đề\r\nBcc: attacker@example.com", "Sở")
    msg = renderer.render(Reminder(REC, evil, DEADLINE, URL))
    assert "\n" not in msg.subject and "\r" not in msg.subject


def test_sms_stays_within_320_by_shortening_title_then_dropping_link() -> None:
    long_title = DecisionRef("d", "Nghị quyết " + "rất dài " * 60, "Hội đồng nhân dân tỉnh " * 5)
    msg = renderer.render(ConsultationRequested(REC, long_title, DEADLINE, URL))
    assert len(msg.sms) <= 320 and URL in msg.sms and "…" in msg.sms and "17:00 05/12/2026" in msg.sms
    huge_url = "https://dv.example.vn/a/" + "x" * 400
    msg2 = renderer.render(ConsultationRequested(REC, long_title, DEADLINE, huge_url))
    assert len(msg2.sms) <= 320 and "x" * 50 not in msg2.sms
    assert "thư điện tử" in msg2.sms and "17:00 05/12/2026" in msg2.sms
    short = renderer.render(
        ConsultationRequested(REC, DEC, DEADLINE, huge_url, sms_url="https://dv.vn/s/abc")
    )
    assert "https://dv.vn/s/abc" in short.sms


def test_substitute_is_told_why() -> None:
    sub = Recipient("Trần Văn An", "Hội LHPN tỉnh", acting_as_substitute=True)
    msg = renderer.render(Reminder(sub, DEC, DEADLINE, URL))
    assert "phân công thay thế" in msg.text and "phân công thay thế" in msg.html


def test_digest_needs_entries() -> None:
    with pytest.raises(ValueError):
        Digest(REC, ())


def test_public_comment_moderation_content() -> None:
    msg = renderer.render(SAMPLES[NotificationKind.PUBLIC_COMMENT_MODERATION])
    assert msg.subject.startswith("[Góp ý của nhân dân cần kiểm duyệt] Quyết định về hỗ trợ hộ nghèo")
    assert "https://dv.example.vn/kiem-duyet/TOKEN" in msg.text
    assert 'href="https://dv.example.vn/kiem-duyet/TOKEN"' in msg.html
    assert "https://dv.example.vn/gop-y/dec-42" in msg.text
    assert "kiểm duyệt" in msg.sms


def test_contact_change_notice_masks_the_new_addresses_and_says_whom_to_call() -> None:
    msg = renderer.render(SAMPLES[NotificationKind.CONTACT_CHANGED])
    assert msg.subject.startswith("[Thay đổi thông tin liên lạc]")
    for body in (msg.text, msg.html):
        assert "17:00 ngày 05/12/2026 (thứ Bảy)" in body
        assert "Thư điện tử: được đổi thành a***@e***.test" in body
        assert "Số điện thoại: đã bị xóa" in body
        assert "Địa chỉ webhook (hệ thống của đơn vị): được bổ sung mới là https://h***.example/…" in body
        assert "quản trị viên sổ đăng ký" in body
        assert "attacker" not in body and "evil" not in body and "token=1" not in body
    assert "không đề nghị thay đổi này" in msg.sms and "a***@e***.test" in msg.sms and len(msg.sms) <= 320
    assert "attacker" not in msg.sms
