from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.notify.domain.vi_time import format_deadline, format_deadline_short, vn_date, weekday_vi


def test_example_from_the_brief() -> None:
    # 10:00 UTC = 17:00 in Hà Nội; 05/12/2026 is a Saturday.
    assert format_deadline(datetime(2026, 12, 5, 10, 0, tzinfo=UTC)) == "17:00 ngày 05/12/2026 (thứ Bảy)"
    assert format_deadline_short(datetime(2026, 12, 5, 10, 0, tzinfo=UTC)) == "17:00 05/12/2026"


def test_all_weekdays() -> None:
    week = [weekday_vi((datetime(2026, 11, 30, tzinfo=UTC) + timedelta(days=i)).date()) for i in range(7)]
    assert week == ["thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật"]
    assert weekday_vi(datetime(2026, 11, 30).date(), in_sentence=False) == "Thứ Hai"


def test_date_boundary_in_vietnam() -> None:
    late_utc = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)  # 01:30 on the 6th in Vietnam
    assert vn_date(late_utc).day == 6
    assert format_deadline(late_utc) == "01:30 ngày 06/12/2026 (Chủ nhật)"
    other = datetime(2026, 12, 5, 17, 0, tzinfo=timezone(timedelta(hours=7)))
    assert format_deadline(other) == "17:00 ngày 05/12/2026 (thứ Bảy)"


def test_naive_refused() -> None:
    with pytest.raises(ValueError):
        format_deadline(datetime(2026, 12, 5, 17, 0))
