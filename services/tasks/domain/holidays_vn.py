"""Shipped Vietnamese public-holiday data, 2025–2027, as plain data.

Why data and not code: Tết Nguyên đán and Giỗ Tổ Hùng Vương follow the lunar calendar, and
every year the Government (Bộ Nội vụ / Bộ Lao động – Thương binh và Xã hội) announces which
adjacent day goes with Quốc khánh and which days are swapped (nghỉ bù / làm bù). None of that
is computable from a formula, so it lives here and can be replaced by a YAML document in the
same shape (see :meth:`services.tasks.domain.calendar.HolidayCalendar.from_yaml`).

Basis: Bộ luật Lao động 2019, Điều 112 (Tết Dương lịch 1 ngày; Tết Âm lịch 5 ngày; Giỗ Tổ
10/3 âm lịch; 30/4; 1/5; Quốc khánh 2/9 và 1 ngày liền kề trước hoặc sau) and, for civil
servants, the yearly announcements. Lunar dates were checked against the Vietnamese lunar
calendar (UTC+7 new moons; see ``tests/unit/tasks/lunar.py``):

* Tết Ất Tỵ 29/01/2025, Giỗ Tổ 07/04/2025 (thứ Hai);
* Tết Bính Ngọ 17/02/2026, Giỗ Tổ 26/04/2026 (Chủ nhật → nghỉ bù thứ Hai 27/04/2026);
* Tết Đinh Mùi 06/02/2027, Giỗ Tổ 16/04/2027 (thứ Sáu).

Years marked ``provisional: true`` follow the Labour Code but the official yearly swap
announcement was not available when this file was written; replace them when it is.
"""

from __future__ import annotations

from typing import Any, Final

VN_HOLIDAYS_2025_2027: Final[dict[str, Any]] = {
    "timezone": "Asia/Ho_Chi_Minh",
    "years": {
        2025: {
            "provisional": False,
            "days_off": [
                {"date": "2025-01-01", "name": "Tết Dương lịch"},
                {"from": "2025-01-25", "to": "2025-02-02", "name": "Tết Nguyên đán Ất Tỵ"},
                {"date": "2025-04-07", "name": "Giỗ Tổ Hùng Vương (10/3 âm lịch)"},
                {"date": "2025-04-30", "name": "Ngày Giải phóng miền Nam, thống nhất đất nước"},
                {"date": "2025-05-01", "name": "Ngày Quốc tế Lao động"},
                {"date": "2025-05-02", "name": "Nghỉ hoán đổi (làm bù thứ Bảy 26/4/2025)"},
                {"date": "2025-09-01", "name": "Quốc khánh (ngày liền kề)"},
                {"date": "2025-09-02", "name": "Quốc khánh"},
            ],
            "makeup_working_days": [
                {"date": "2025-04-26", "name": "Làm bù cho ngày nghỉ 2/5/2025"},
            ],
        },
        2026: {
            "provisional": True,
            "days_off": [
                {"date": "2026-01-01", "name": "Tết Dương lịch"},
                {"from": "2026-02-14", "to": "2026-02-22", "name": "Tết Nguyên đán Bính Ngọ"},
                {"date": "2026-04-26", "name": "Giỗ Tổ Hùng Vương (10/3 âm lịch)"},
                {"date": "2026-04-27", "name": "Nghỉ bù Giỗ Tổ Hùng Vương (trùng Chủ nhật)"},
                {"date": "2026-04-30", "name": "Ngày Giải phóng miền Nam, thống nhất đất nước"},
                {"date": "2026-05-01", "name": "Ngày Quốc tế Lao động"},
                {"date": "2026-09-01", "name": "Quốc khánh (ngày liền kề)"},
                {"date": "2026-09-02", "name": "Quốc khánh"},
            ],
            "makeup_working_days": [],
        },
        2027: {
            "provisional": True,
            "days_off": [
                {"date": "2027-01-01", "name": "Tết Dương lịch"},
                {"from": "2027-02-05", "to": "2027-02-09", "name": "Tết Nguyên đán Đinh Mùi"},
                {"from": "2027-02-10", "to": "2027-02-11", "name": "Nghỉ bù Tết (trùng thứ Bảy, Chủ nhật)"},
                {"date": "2027-04-16", "name": "Giỗ Tổ Hùng Vương (10/3 âm lịch)"},
                {"date": "2027-04-30", "name": "Ngày Giải phóng miền Nam, thống nhất đất nước"},
                {"date": "2027-05-01", "name": "Ngày Quốc tế Lao động"},
                {"date": "2027-05-03", "name": "Nghỉ bù Ngày Quốc tế Lao động (trùng thứ Bảy)"},
                {"date": "2027-09-02", "name": "Quốc khánh"},
                {"date": "2027-09-03", "name": "Quốc khánh (ngày liền kề)"},
            ],
            "makeup_working_days": [],
        },
    },
}
