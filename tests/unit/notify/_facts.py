"""Decision facts of one consultation, and an org directory, for notify's application tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.recipients import Contact, NoRecipient, Recipients
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import (
    ActingAs,
    Actor,
    ActorChannel,
    Article,
    ConsultationRequested,
    ConsultationRequirement,
    ConsulteeSpec,
    DecisionDrafted,
    DecisionIssued,
    DocType,
    ModerationOutcome,
    OpinionRecorded,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentOpened,
    PublicCommentRecorded,
    RequestRejected,
    Stance,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(days=10)
DECISION = "dec-7"
BOARD, FRONT, FARMERS, ISSUER = "kg.bdv", "kg.mttq", "kg.hnd", "kg.ubnd"
NAMES = {
    BOARD: "Ban Dân vận Tỉnh ủy",
    FRONT: "Ủy ban MTTQ tỉnh",
    FARMERS: "Hội Nông dân tỉnh",
    ISSUER: "UBND tỉnh",
}


def contact(person_id: str, unit_id: str, *, email: bool = True) -> Contact:
    return Contact(
        person_id=person_id,
        name=f"Đồng chí {person_id}",
        unit_id=unit_id,
        unit_name=NAMES.get(unit_id, unit_id),
        role="pho_truong_ban",
        acting_as_substitute=False,
        email=f"{person_id}@kiengiang.example.vn" if email else None,
        phone=None,
        webhook_url=None,
    )


class Directory(Recipients):
    """Who is in charge of each unit (or nobody), without an org copy."""

    def __init__(self, in_charge: dict[str, Contact | NoRecipient] | None = None) -> None:
        self.by_unit: dict[str, Contact | NoRecipient] = in_charge or {
            BOARD: contact("p-board", BOARD),
            FRONT: contact("p-front", FRONT),
            FARMERS: contact("p-farmers", FARMERS),
        }

    def unit_name(self, unit_id: str, at: datetime) -> str:
        return NAMES.get(unit_id, unit_id)

    def in_charge(self, unit_id: str, at: datetime) -> Contact | NoRecipient:
        return self.by_unit[unit_id]

    def escalation(self, unit_id: str, role: str, at: datetime) -> list[Contact | NoRecipient]:
        return [self.in_charge(unit_id, at)]

    def person(self, person_id: str, unit_id: str, at: datetime) -> Contact | NoRecipient:
        return contact(person_id, unit_id)


def env(fact: Event) -> Envelope:
    return Envelope.wrap(fact, source="tasks")


def _fact(seq: int, minutes: int = 0) -> dict[str, Any]:
    return {"decision_id": DECISION, "seq": seq, "occurred_at": NOW + timedelta(minutes=minutes)}


def drafted(seq: int = 1) -> DecisionDrafted:
    articles = (
        Article(article_id="a1", text="Điều 1. Phạm vi\nHỗ trợ hộ nghèo."),
        Article(article_id="a2", text="Mức hỗ trợ."),
    )
    return DecisionDrafted(
        **_fact(seq),
        issuer_unit_id=ISSUER,
        doc_type=DocType.RESOLUTION,
        title="Nghị quyết hỗ trợ hộ nghèo",
        articles=articles,
    )


def consultation(seq: int = 2, *units: str) -> ConsultationRequested:
    requirement = ConsultationRequirement(
        consultees=tuple(
            ConsulteeSpec(unit_id=u, kind="socio_political_org") for u in (units or (FRONT, FARMERS))
        ),
        deadline=DEADLINE,
        synthesiser_unit_id=BOARD,
        escalation_unit_id="kg.tinh_uy",
        policy_id="kg-357",
        policy_version="1",
    )
    return ConsultationRequested(**_fact(seq, 1), draft_version=1, requirement=requirement)


def opinion(
    seq: int, opinion_id: str, token_id: str | None, *, supersedes: str | None = None
) -> OpinionRecorded:
    return OpinionRecorded(
        **_fact(seq, 10 * seq),
        opinion_id=opinion_id,
        consultee_unit_id=FRONT,
        given_by="p-front",
        acting_as=ActingAs.HOLDER,
        stance=Stance.AGREE,
        draft_version=1,
        deadline=DEADLINE,
        supersedes_opinion_id=supersedes,
        link_token_id=token_id,
        actor=Actor(channel=ActorChannel.LINK) if token_id else None,
    )


def override(seq: int) -> OverrideRecorded:
    return OverrideRecorded(
        **_fact(seq, 60),
        override_id="ov-1",
        by_person_id="p-chair",
        role="chu_tich",
        reason="Cấp bách do thiên tai",
        consultee_unit_ids=(FARMERS,),
        draft_version=1,
    )


def issued(seq: int, *, with_exception: bool = False) -> DecisionIssued:
    return DecisionIssued(
        **_fact(seq, 90),
        requested_by="p-chair",
        draft_version=1,
        opinion_ids=("op-1",),
        with_exception=with_exception,
    )


def public_opened(seq: int) -> PublicCommentOpened:
    return PublicCommentOpened(**_fact(seq, 5), draft_version=1, closes_at=DEADLINE)


def public_recorded(seq: int, comment_id: str) -> PublicCommentRecorded:
    return PublicCommentRecorded(
        **_fact(seq, 6), comment_id=comment_id, text="Nên tăng mức hỗ trợ.", draft_version=1
    )


def public_moderated(seq: int, comment_id: str) -> PublicCommentModerated:
    return PublicCommentModerated(
        **_fact(seq, 7), comment_id=comment_id, outcome=ModerationOutcome.APPROVED, moderator_id="p-board"
    )


def public_closed(seq: int) -> PublicCommentClosed:
    return PublicCommentClosed(**_fact(seq, 8), approved_count=1, rejected_count=0, pending_count=0)


def rejected(request_id: str) -> RequestRejected:
    return RequestRejected(
        decision_id=DECISION,
        request_id=request_id,
        request_type="decision.opinion_submitted",
        code="closed",
        message_vi="Đã hết thời gian lấy ý kiến.",
        occurred_at=NOW + timedelta(hours=1),
    )
