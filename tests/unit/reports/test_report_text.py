"""The periodic report document (Markdown, Vietnamese)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.reports.domain.compliance import compliance
from services.reports.domain.decision_view import build
from services.reports.domain.periods import parse_period
from services.reports.domain.report_text import percent_vi, render_markdown
from tests.unit.reports.factories import exception_scenario, full_scenario


def test_percent_uses_decimal_comma() -> None:
    assert percent_vi(2 / 3) == "66,7%"
    assert percent_vi(None) == "—"


def test_report_contents() -> None:
    views = [build(s.decision_id, s.facts) for s in (exception_scenario("qd-a"), full_scenario("qd-b"))]
    report = compliance(
        views, parse_period("2026-Q4"), unit_name=lambda u: {"ubnd-tinh": "UBND tỉnh"}.get(u, u)
    )
    text = render_markdown(
        report,
        generated_at=datetime(2026, 12, 31, 2, 0, tzinfo=UTC),
        unit_name=lambda u: {"ubnd-tinh": "UBND tỉnh", "hlhpn-tinh": "Hội LHPN tỉnh"}.get(u, u),
        person_name=lambda p: {"p-secretary": "Nguyễn Văn A"}.get(p, p),
    )
    assert "Tình hình lấy ý kiến trước khi ban hành văn bản" in text
    assert "Quý IV năm 2026 (từ ngày 01/10/2026 đến ngày 31/12/2026)" in text
    assert (
        "Số văn bản đã ban hành: 2, trong đó ban hành khi đã có đủ ý kiến: 1 (50,0%); ban hành theo ngoại lệ: 1"
        in text
    )
    assert "| UBND tỉnh | 2 | 1 | 1 | 1 |" in text
    assert (
        "Nguyễn Văn A (party_secretary) cho phép không chờ ý kiến của Hội LHPN tỉnh. Lý do: Cấp bách do thiên tai"
        in text
    )
    assert "Còn thiếu: Chưa có ý kiến của hlhpn-tinh." in text
    assert "09:00 31/12/2026" in text  # Vietnam local time


def test_empty_report() -> None:
    text = render_markdown(
        compliance([], parse_period("2026-01")), generated_at=datetime(2026, 2, 1, tzinfo=UTC)
    )
    assert "Không có hoạt động trong kỳ." in text and "Không có trường hợp ngoại lệ." in text
