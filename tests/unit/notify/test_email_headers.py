"""The headers of every notice: Reply-To, List-Id, List-Unsubscribe (mailto, no one-click), a +0700
Date, the Message-ID derived from the delivery, and one X-Danvan-Case per action link."""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote

from services.notify.channels.base import EmailOut, LinkCase
from services.notify.channels.email import MailHeaders, build_email, link_cases, link_token
from services.notify.settings import NotifySettings
from services.notify.worker import cases_of, wire_id

SENDER = "Hệ thống lấy ý kiến dân vận <no-reply@danvan.example.vn>"
AT = datetime(2026, 12, 3, 2, 30, 15, tzinfo=UTC)  # 09:30:15 in Vietnam


def parsed(out: EmailOut, headers: MailHeaders | None = None) -> EmailMessage:
    msg = build_email(out, SENDER, headers=headers, now=AT)
    got = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(got, EmailMessage)
    return got


def out(**kw: object) -> EmailOut:
    args: dict[str, object] = dict(message_id=wire_id("env-1:u:p:email"), to=("a@hnd.example.vn",))
    args.update(subject="Đề nghị góp ý", text="Nội dung")
    args.update(kw)
    return EmailOut(**args)  # type: ignore[arg-type]


def test_defaults_derive_from_the_sender_s_domain() -> None:
    msg = parsed(out())
    assert email.utils.parseaddr(str(msg["Reply-To"]))[1] == "ho-tro@danvan.example.vn"
    assert msg["List-Id"] == "<lay-y-kien.danvan.example.vn>"
    unsubscribe = str(msg["List-Unsubscribe"])
    assert unsubscribe.startswith("<mailto:ho-tro@danvan.example.vn?subject=") and unsubscribe.endswith(">")
    assert unquote(unsubscribe.split("subject=", 1)[1].rstrip(">")) == "Đề nghị thay đổi kênh nhận thông báo"
    assert msg["List-Unsubscribe-Post"] is None  # official notices: no one-click opt-out
    assert msg["Auto-Submitted"] == "auto-generated"


def test_date_is_vietnam_time_and_the_same_instant() -> None:
    msg = parsed(out())
    raw = str(msg["Date"])
    assert raw.endswith("+0700") and "09:30:15" in raw
    assert email.utils.parsedate_to_datetime(raw) == AT
    assert email.utils.parsedate_to_datetime(raw).utcoffset() == timedelta(hours=7)


def test_message_id_is_still_the_delivery_s_wire_id() -> None:
    msg = parsed(out())
    assert msg["Message-ID"] == f"<{wire_id('env-1:u:p:email')}@danvan.example.vn>"


def test_settings_set_reply_to_and_list_id_and_the_mailto_follows_reply_to() -> None:
    s = NotifySettings(
        SMTP_FROM=SENDER,
        SMTP_REPLY_TO="Văn phòng <van-phong@bdv.example.vn>",
        SMTP_LIST_ID="gop-y.bdv.example.vn",
    )
    msg = parsed(out(), s.mail_headers())
    assert email.utils.parseaddr(str(msg["Reply-To"]))[1] == "van-phong@bdv.example.vn"
    assert msg["List-Id"] == "<gop-y.bdv.example.vn>"
    assert str(msg["List-Unsubscribe"]).startswith("<mailto:van-phong@bdv.example.vn?")


def test_one_case_header_per_link_round_trips_even_with_odd_ids() -> None:
    cases = (
        LinkCase("A" * 32, "dec-42", "kg.mttq", "opinion"),
        LinkCase("B" * 32, "dec;43\r\nBcc: x@evil.example", "kg.hoi_nong_dan", "opinion"),
    )
    msg = parsed(out(cases=cases))
    assert len(msg.get_all("X-Danvan-Case", [])) == 2
    assert msg["Bcc"] is None  # the odd id is encoded, not a header of its own
    found = link_cases(msg)
    assert found == {c.token: c for c in cases}
    assert found[link_token(f"https://dv.example.vn/a/{'B' * 32}")].unit_id == "kg.hoi_nong_dan"


def test_a_digest_carries_the_cases_of_all_its_deliveries_once() -> None:
    def doc(token: str, unit: str) -> dict[str, object]:
        case = {"token": token, "decision_id": "dec-42", "unit_id": unit, "action": "opinion"}
        return {"_id": token, "state": {"case": case}}

    docs = [doc("A" * 32, "u1"), doc("B" * 32, "u2"), doc("A" * 32, "u1"), {"_id": "x", "state": {}}]
    got = cases_of(docs)  # type: ignore[arg-type]
    assert [c.unit_id for c in got] == ["u1", "u2"]
