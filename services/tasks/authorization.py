"""Who may ask what of a decision: the sender's verified system, the unit it acts for, the person.

Why here and not in the aggregate: the aggregate enforces the consultation rule from facts alone;
*who* sent a request is known only to the application layer (the record's verified signature, see
:mod:`shared.security.principal`) and is checked against the org registry on the request's date.
Every refusal is a :class:`DomainError` with a precise Vietnamese message, answered as
``decision.request_rejected``; the decision never changes.

The rules (issue "Trusted requests"; 357-QĐ/TU §5, 05-QC/HU):

* draft, revision, closing, withdrawal, disposition and issuance — only a system acting for the
  issuing unit;
* synthesis — only a system acting for the Dân vận board (or bloc) the policy named, by a person who
  holds a position in that board;
* override — only a system acting for the party committee at the same level as the issuer, by a
  person who holds there a role the policy names;
* an opinion — through notify's link pages (the link gateway, which checks that the link is on
  record, unrevoked, for that consultee and draft version) or from the consultee unit's own system;
* public comments — notify's public page or a system of the issuing unit (its portal); moderation —
  notify's moderation link or a system of the board.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.tasks.domain.decision import Decision
from shared.contract.envelope import Event
from shared.contract.events.decisions import (
    Actor,
    ActorChannel,
    ConsultationCloseRequested,
    DecisionRequest,
    DispositionSubmitted,
    DraftSubmitted,
    IssuanceRequested,
    OpinionSubmitted,
    OverrideRequested,
    PublicCommentModerationSubmitted,
    PublicCommentSubmitted,
    RevisionSubmitted,
    SynthesisSubmitted,
    WithdrawalRequested,
)
from shared.eventsourcing.errors import DomainError
from shared.security.principal import Authentication, Principal, Unauthenticated

LINK_GATEWAY = "link_gateway"


class AuthorityPort(Protocol):
    """What authorisation asks the org registry (as of ``at``)."""

    def acts_for(self, system_id: str, unit_id: str, at: datetime) -> bool: ...

    def member_of(self, person_id: str, unit_id: str, at: datetime) -> bool: ...

    def override_authorities(self, decision: Decision, at: datetime) -> tuple[tuple[str, str], ...]:
        """(unit id, role) pairs that may override for this decision's issuer on ``at``."""
        ...

    def holds_role_in(self, person_id: str, role: str, unit_id: str, at: datetime) -> bool: ...

    def unit_name(self, unit_id: str, at: datetime) -> str: ...

    def knows_unit(self, unit_id: str, at: datetime) -> bool: ...


def require_principal(auth: Authentication | None) -> Principal:
    """The verified sender, or the refusal of an unsigned / badly signed request."""
    if auth is None:
        raise DomainError(
            "unsigned_request",
            "Yêu cầu không có chữ ký số của hệ thống gửi; mọi yêu cầu phải được ký bằng khóa đã đăng ký.",
        )
    if isinstance(auth, Unauthenticated):
        raise DomainError(auth.code, auth.message_vi)
    return auth


def unsupported(request: Event) -> DomainError:
    """The refusal of a request type this service does not handle."""
    return DomainError("unsupported_request", f"Loại yêu cầu «{request.event_type}» chưa được hỗ trợ.")


def _agency(p: Principal, unit_id: str | None, org: AuthorityPort, at: datetime, what_vi: str) -> Actor:
    if unit_id is not None and not org.knows_unit(unit_id, at):
        raise DomainError(
            "unknown_unit",
            f"Không tìm thấy đơn vị «{unit_id}» trong sổ đăng ký tổ chức vào thời điểm này.",
            {"unit_id": unit_id},
        )
    if unit_id is None or p.kind == LINK_GATEWAY or not org.acts_for(p.system_id, unit_id, at):
        who = org.unit_name(unit_id, at) if unit_id else "đơn vị liên quan"
        raise DomainError(
            "system_not_authorised_for_unit",
            f"Hệ thống «{p.system_id}» không được đăng ký để thay mặt {who} {what_vi}.",
            {"system_id": p.system_id, "unit_id": unit_id or ""},
        )
    return Actor(channel=ActorChannel.AGENCY_SYSTEM, system_id=p.system_id, key_id=p.kid, unit_id=unit_id)


def authorise(p: Principal, r: DecisionRequest, d: Decision, org: AuthorityPort, at: datetime) -> Actor:
    """The actor of ``r`` if its sender may make it, else :class:`DomainError` saying why not."""
    issuer = d.issuer_unit_id
    match r:
        case DraftSubmitted():
            return _with_person(_agency(p, r.issuer_unit_id, org, at, "tạo dự thảo"), r.submitted_by)
        case RevisionSubmitted():
            return _with_person(_agency(p, issuer, org, at, "sửa dự thảo"), r.submitted_by)
        case ConsultationCloseRequested():
            return _with_person(_agency(p, issuer, org, at, "kết thúc lấy ý kiến"), r.requested_by)
        case WithdrawalRequested():
            return _with_person(_agency(p, issuer, org, at, "rút dự thảo"), r.by_person_id)
        case IssuanceRequested():
            return _with_person(_agency(p, issuer, org, at, "đề nghị ban hành"), r.requested_by)
        case DispositionSubmitted():
            if r.by_unit_id != issuer:
                raise DomainError(
                    "not_the_drafting_body",
                    "Chỉ cơ quan chủ trì soạn thảo mới tiếp thu, giải trình ý kiến.",
                    {"by_unit_id": r.by_unit_id},
                )
            return _agency(p, issuer, org, at, "tiếp thu, giải trình ý kiến")
        case SynthesisSubmitted():
            board = d.requirement.synthesiser_unit_id if d.requirement else None
            if board is None or r.by_unit_id != board:
                raise DomainError(
                    "not_the_synthesiser",
                    "Chỉ Ban Dân vận (Khối dân vận) được chính sách giao chủ trì mới được tổng hợp ý kiến"
                    + (f" ({org.unit_name(board, at)})." if board else "."),
                    {"by_unit_id": r.by_unit_id},
                )
            actor = _agency(p, board, org, at, "tổng hợp ý kiến")
            if not org.member_of(r.by_person_id, board, at):
                raise DomainError(
                    "person_not_in_board",
                    f"Người ký tổng hợp («{r.by_person_id}») không giữ chức vụ nào tại "
                    f"{org.unit_name(board, at)} vào thời điểm này.",
                    {"person_id": r.by_person_id},
                )
            return _with_person(actor, r.by_person_id)
        case OverrideRequested():
            authorities = org.override_authorities(d, at)
            units = [u for u, role in authorities if role == r.role]
            if not units:
                raise DomainError(
                    "role_not_authorised",
                    f"Chức vụ «{r.role}» không được chính sách cho phép ban hành ngoại lệ.",
                    {"role": r.role},
                )
            unit = units[0]
            actor = _agency(p, unit, org, at, "cho phép ban hành ngoại lệ")
            if not org.holds_role_in(r.by_person_id, r.role, unit, at):
                raise DomainError(
                    "role_not_held",
                    f"Người đề nghị không giữ chức vụ «{r.role}» tại {org.unit_name(unit, at)} — cấp ủy cùng "
                    "cấp với cơ quan ban hành — vào thời điểm này.",
                    {"person_id": r.by_person_id, "unit_id": unit},
                )
            return actor.model_copy(update={"channel": ActorChannel.OVERRIDE, "person_id": r.by_person_id})
        case OpinionSubmitted():
            if p.kind == LINK_GATEWAY:
                if not r.link_token_id:
                    raise DomainError(
                        "link_required",
                        "Ý kiến gửi qua cổng liên kết phải kèm mã liên kết đã cấp cho đơn vị.",
                    )
                return Actor(
                    channel=ActorChannel.LINK,
                    system_id=p.system_id,
                    key_id=p.kid,
                    unit_id=r.consultee_unit_id,
                    person_id=r.person_id,
                )
            if r.link_token_id:
                raise DomainError(
                    "link_not_issued_here",
                    "Mã liên kết chỉ có giá trị khi ý kiến được gửi qua trang liên kết của hệ thống thông báo.",
                )
            actor = _agency(p, r.consultee_unit_id, org, at, "cho ý kiến")
            return _with_person(actor, r.person_id)
        case PublicCommentSubmitted():
            if p.kind == LINK_GATEWAY:
                return Actor(channel=ActorChannel.PUBLIC_PAGE, system_id=p.system_id, key_id=p.kid)
            return _agency(p, issuer, org, at, "chuyển góp ý của nhân dân")
        case PublicCommentModerationSubmitted():
            if p.kind == LINK_GATEWAY:
                return Actor(
                    channel=ActorChannel.LINK, system_id=p.system_id, key_id=p.kid, person_id=r.moderator_id
                )
            board = d.requirement.synthesiser_unit_id if d.requirement else None
            return _with_person(_agency(p, board, org, at, "kiểm duyệt góp ý"), r.moderator_id)
    raise unsupported(r)


WORKFLOW_ACTING_FIELDS: tuple[str, ...] = (
    "receiving_unit_id",
    "decided_by_unit_id",
    "by_unit_id",
    "reporting_unit_id",
    "formed_by_unit_id",
    "reporter_unit_id",
    "unit_id",
    "issuer_unit_ids",
)
"""The request field that names the unit on whose behalf a workflow request is made."""


def authorise_workflow(
    auth: Authentication | None,
    r: Event,
    acts_for: Callable[[str, str, datetime], bool],
    at: datetime,
    knows_unit: Callable[[str, datetime], bool] | None = None,
) -> Principal:
    """Complaints, situations, plans: a verified sender that acts for the unit the request names
    (one of them for a joint plan). Requests that name no unit need a verified sender only."""
    p = require_principal(auth)
    for name in WORKFLOW_ACTING_FIELDS:
        if name not in type(r).model_fields:
            continue
        value = getattr(r, name)
        units = tuple(value) if isinstance(value, tuple) else (value,)
        if knows_unit is not None and not any(knows_unit(u, at) for u in units):
            raise DomainError(
                "unknown_unit", f"Không tìm thấy đơn vị «{', '.join(units)}» trong sổ đăng ký tổ chức."
            )
        if not any(acts_for(p.system_id, u, at) for u in units):
            raise DomainError(
                "system_not_authorised_for_unit",
                f"Hệ thống «{p.system_id}» không được đăng ký để thay mặt đơn vị "
                f"«{', '.join(units)}» gửi yêu cầu này.",
                {"system_id": p.system_id},
            )
        break
    return p


def _with_person(actor: Actor, person_id: str) -> Actor:
    return actor.model_copy(update={"person_id": person_id})
