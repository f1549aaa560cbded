"""Builders for Decision tests: a provincial setting with the four mandatory consultees."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.tasks.domain.calendar import VN_TZ
from services.tasks.domain.decision import Decision
from shared.contract.events.decisions import (
    ActingAs,
    ConsultationRequirement,
    ConsulteeSpec,
    DecisionFact,
    DocType,
    Stance,
)
from tests.unit.tasks.recording import RecordedDecision

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=VN_TZ)  # Monday
DEADLINE = datetime(2025, 3, 14, 17, 0, tzinfo=VN_TZ)  # 9 working days later
PC_CLOSES = datetime(2025, 3, 7, 17, 0, tzinfo=VN_TZ)

BOARD, FRONT, YOUTH, WOMEN = "bdv-tu", "mttq-tinh", "tinh-doan", "hlhpn-tinh"
CONSULTEES = (
    ConsulteeSpec(unit_id=BOARD, kind="dan_van_board", name_vi="Ban Dân vận Tỉnh ủy"),
    ConsulteeSpec(unit_id=FRONT, kind="fatherland_front", name_vi="Ủy ban MTTQ Việt Nam tỉnh"),
    ConsulteeSpec(unit_id=YOUTH, kind="socio_political_org", name_vi="Tỉnh Đoàn"),
    ConsulteeSpec(unit_id=WOMEN, kind="socio_political_org", name_vi="Hội Liên hiệp Phụ nữ tỉnh"),
)
UNITS = tuple(c.unit_id for c in CONSULTEES)
ISSUER = "ubnd-tinh"
PARTY = "tinh-uy"
AUTHORISED_ROLE = "party_secretary"
ARTICLES = (
    ("d1", "Điều 1. Phạm vi điều chỉnh"),
    ("d2", "Điều 2. Đối tượng áp dụng"),
    ("d3", "Điều 3. Hiệu lực"),
)


def requirement(**overrides: Any) -> ConsultationRequirement:
    data: dict[str, Any] = {
        "consultees": CONSULTEES,
        "deadline": DEADLINE,
        "public_comment_required": False,
        "override_roles": (AUTHORISED_ROLE,),
        "synthesiser_unit_id": BOARD,
        "escalation_unit_id": PARTY,
        "report_to_unit_ids": (PARTY, ISSUER),
        "citations": ("357-QĐ/TU mục 5",),
        "policy_id": "kg-consultation",
        "policy_version": "2021.1",
    }
    data.update(overrides)
    return ConsultationRequirement(**data)


def public_requirement(**overrides: Any) -> ConsultationRequirement:
    data: dict[str, Any] = {"public_comment_required": True, "public_comment_closes_at": PC_CLOSES}
    data.update(overrides)
    return requirement(**data)


def drafted(decision_id: str = "qd-1") -> RecordedDecision:
    d = RecordedDecision()
    d.draft(
        "c-draft",
        decision_id=decision_id,
        issuer_unit_id=ISSUER,
        doc_type=DocType.DECISION,
        title="Quyết định về hỗ trợ giải phóng mặt bằng",
        flags=(),
        articles=ARTICLES,
        at=T0,
    )
    return d


def consulting(req: ConsultationRequirement | None = None) -> RecordedDecision:
    d = drafted()
    d.request_consultation("c-req", requirement=req or requirement(), at=T0 + timedelta(minutes=5))
    return d


def give(
    d: Decision,
    unit: str,
    *,
    cmd: str | None = None,
    stance: Stance = Stance.AGREE,
    comments: Mapping[str, str] | None = None,
    at: datetime | None = None,
    version: int | None = None,
) -> list[DecisionFact]:
    return d.give_opinion(
        cmd if cmd is not None else f"c-op-{unit}-{d.seq}",
        consultee_unit_id=unit,
        given_by=f"p-{unit}",
        acting_as=ActingAs.HOLDER,
        stance=stance,
        comments=comments or {},
        draft_version=version if version is not None else d.version,
        at=at or T0 + timedelta(hours=1),
    )


def all_opinions(d: Decision) -> None:
    for unit in UNITS:
        give(d, unit)


def synthesised(req: ConsultationRequirement | None = None) -> RecordedDecision:
    d = consulting(req)
    all_opinions(d)
    d.close_consultation("c-close", at=DEADLINE + timedelta(hours=1))
    d.synthesise("c-syn", by_unit_id=BOARD, summary="Các đơn vị nhất trí.", at=DEADLINE + timedelta(hours=2))
    return d
