"""The position codes (chức vụ) the registry knows, and the duty tag of dân vận work.

Data, not logic: which roles have a single holder per unit (so can be delegated and have one
person *acting*), and which are a unit's head (tried in order when no one holds the dân vận
duty). Other roles are declared with :meth:`~shared.orgmodel.positions.Positions.define_role`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DAN_VAN_DUTY = "dan_van"
"""Duty tag on an assignment: "được phân công phụ trách công tác dân vận" (§8)."""


@dataclass(frozen=True)
class RoleSpec:
    """A position code. ``single_holder`` roles have at most one holder per unit per day."""

    code: str
    title_vi: str
    single_holder: bool


ROLE_CATALOG: Mapping[str, RoleSpec] = {
    r.code: r
    for r in (
        RoleSpec("bi_thu", "Bí thư", True),
        RoleSpec("pho_bi_thu_thuong_truc", "Phó Bí thư Thường trực", True),
        RoleSpec("pho_bi_thu", "Phó Bí thư", False),
        RoleSpec("uy_vien_ban_thuong_vu", "Ủy viên Ban Thường vụ", False),
        RoleSpec("cap_uy_vien", "Cấp ủy viên (Ủy viên Ban Chấp hành)", False),
        RoleSpec("truong_ban", "Trưởng ban", True),
        RoleSpec("pho_truong_ban", "Phó Trưởng ban", False),
        RoleSpec("truong_khoi", "Trưởng Khối dân vận", True),
        RoleSpec("pho_truong_khoi", "Phó Trưởng Khối dân vận", False),
        RoleSpec("thanh_vien_khoi", "Thành viên Khối dân vận", False),
        RoleSpec("chanh_van_phong", "Chánh Văn phòng", True),
        RoleSpec("pho_chanh_van_phong", "Phó Chánh Văn phòng", False),
        RoleSpec("chu_tich", "Chủ tịch", True),
        RoleSpec("pho_chu_tich", "Phó Chủ tịch", False),
        RoleSpec("chu_tich_mttq", "Chủ tịch Ủy ban Mặt trận Tổ quốc", True),
        RoleSpec("giam_doc", "Giám đốc", True),
        RoleSpec("pho_giam_doc", "Phó Giám đốc", False),
        RoleSpec("truong_phong", "Trưởng phòng", True),
        RoleSpec("chanh_an", "Chánh án", True),
        RoleSpec("vien_truong", "Viện trưởng", True),
        RoleSpec("chi_huy_truong", "Chỉ huy trưởng", True),
        RoleSpec("truong_cong_an", "Trưởng Công an", True),
        RoleSpec("tong_bien_tap", "Tổng Biên tập", True),
        RoleSpec("hieu_truong", "Hiệu trưởng", True),
        RoleSpec("chuyen_vien", "Chuyên viên", False),
    )
}
"""Known position codes. ``chu_tich_mttq`` is accepted as a synonym of ``chu_tich`` in a
fatherland_front unit (seeds may use either)."""

HEAD_ROLES: tuple[str, ...] = (
    "bi_thu",
    "truong_ban",
    "truong_khoi",
    "chu_tich",
    "chu_tich_mttq",
    "giam_doc",
    "chanh_van_phong",
    "truong_phong",
    "chanh_an",
    "vien_truong",
    "chi_huy_truong",
    "truong_cong_an",
    "tong_bien_tap",
    "hieu_truong",
)
"""Head (người đứng đầu / thủ trưởng) roles, in the order tried when a unit has no designated
dân vận duty holder (Quy chế 05-QC/HU, Điều 13 khoản 6: thủ trưởng phụ trách)."""
