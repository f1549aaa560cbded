"""notify's read model of a draft (one document per decision) and the pure rule that changes it.

Why typed: the pages, the messages and the handlers all read this model; as an untyped dict every
reader re-did its own ``.get(...) or default`` and a misspelt key was silently ``None``. The stored
document keeps exactly the shape it had (``state`` holds only the fields a fact has set so far):
:meth:`Draft.from_state` reads it, :meth:`Draft.to_state` writes it back.

:func:`apply` is pure: (read model, decision fact) → the new read model, or ``None`` when the fact
changes nothing here (a stale ``seq``, or a fact this model does not keep). No I/O: the two names a
fact needs (the issuer unit's, the opinion giver's) are looked up by the caller and passed in
:class:`Names`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.notify.domain.templates import DecisionRef
from services.notify.domain.vi_time import VN_TZ
from shared.contract.envelope import Event
from shared.contract.events import decisions as facts


def aware(value: Any) -> datetime | None:
    """Datetimes come back from the store aware (tz_aware client) or as ISO text (JSON dumps)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")


class OpinionEntry(_Part):
    """When an opinion was recorded and through which link (for the amended link's receipt page)."""

    at: datetime
    link_token_id: str | None = None
    unit_id: str


class RecordedComment(_Part):
    """A public comment the workflow recorded, with its moderation once the workflow recorded it."""

    comment_id: str
    text: str
    article_id: str | None = None
    author_ref: str | None = None
    channel: str = "web"
    recorded_at: datetime | None = None
    request_id: str | None = None
    outcome: str | None = None
    reason: str = ""
    moderator_id: str | None = None


class Draft(_Part):
    """What notify knows of one decision from its facts (fields absent until a fact sets them)."""

    decision_id: str
    seq: int = 0
    title: str | None = None
    issuer_unit_id: str | None = None
    issuer_name: str | None = None
    doc_type: str | None = None
    version: int | None = None
    articles: list[facts.Article] = []
    status: str | None = None
    deadline: datetime | None = None
    consultees: list[facts.ConsulteeSpec] = []
    synthesiser_unit_id: str | None = None
    escalation_unit_id: str | None = None
    report_to_unit_ids: list[str] = []
    public_comment_required: bool = False
    opinions: dict[str, OpinionEntry] = {}
    superseded_links: dict[str, str] = {}
    override_reasons: list[str] = []
    public_comment_open: bool = False
    public_comment_closes_at: datetime | None = None
    public_comment_counts: dict[str, int] = {}
    public_comments: list[RecordedComment] = []

    @classmethod
    def new(cls, decision_id: str) -> Draft:
        return cls(decision_id=decision_id, seq=0)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Draft:
        return cls.model_validate(state)

    def to_state(self) -> dict[str, Any]:
        """The stored ``state``: only the fields set so far, nested values in full."""
        return self.model_dump(include=set(self.model_fields_set))

    def ref(self) -> DecisionRef:
        return ref_of(self, self.decision_id)

    def with_(self, **changes: Any) -> Draft:
        return self.model_copy(update=changes)

    @property
    def current_version(self) -> int:
        return self.version or 1

    def superseded_note(self, token_id: str) -> str | None:
        return self.superseded_links.get(link_key(token_id))


def ref_of(draft: Draft | None, decision_id: str) -> DecisionRef:
    """How a message names the decision (its id when notify has not seen the draft)."""
    if draft is None:
        return DecisionRef(decision_id=decision_id, title=decision_id, issuer_name="")
    return DecisionRef(
        decision_id=decision_id,
        title=draft.title or decision_id,
        issuer_name=draft.issuer_name or draft.issuer_unit_id or "",
        version=draft.version or None,
    )


def link_key(token_id: str) -> str:
    """Token ids may hold dots (signed links); the store's field names may not."""
    return token_id.replace(".", "_")


@dataclass(frozen=True, slots=True)
class Names:
    """Names a fact needs and does not carry, looked up by the caller from the org copy."""

    issuer_name: str = ""
    given_by_name: str = ""


def apply(draft: Draft | None, decision_id: str, e: Event, names: Names = Names()) -> Draft | None:
    """The read model after ``e``; ``None`` when ``e`` changes nothing (stale or not kept here)."""
    current = draft or Draft.new(decision_id)
    seq = getattr(e, "seq", None)
    if not isinstance(seq, int) or seq <= current.seq:
        return None
    changed = _change(current, e, names)
    return None if changed is None else changed.with_(seq=seq)


def _change(d: Draft, e: Event, names: Names) -> Draft | None:
    if isinstance(e, facts.DecisionDrafted):
        return d.with_(
            title=e.title,
            issuer_unit_id=e.issuer_unit_id,
            issuer_name=names.issuer_name,
            doc_type=e.doc_type.value,
            version=e.version,
            articles=list(e.articles),
            status="drafted",
        )
    if isinstance(e, facts.DecisionRevised):
        revised = d.with_(version=e.version, articles=list(e.articles))
        return (
            revised
            if e.reconsultation_deadline is None
            else revised.with_(deadline=e.reconsultation_deadline)
        )
    if isinstance(e, facts.ConsultationRequested):
        req = e.requirement
        return d.with_(
            version=e.draft_version,
            deadline=req.deadline,
            consultees=list(req.consultees),
            synthesiser_unit_id=req.synthesiser_unit_id,
            escalation_unit_id=req.escalation_unit_id,
            report_to_unit_ids=list(req.report_to_unit_ids),
            public_comment_required=req.public_comment_required,
            status="consulting",
        )
    if isinstance(e, facts.OpinionRecorded):
        return _record_opinion(d, e, names.given_by_name)
    if isinstance(e, facts.OverrideRecorded):
        return d.with_(override_reasons=[*d.override_reasons, e.reason])
    if isinstance(e, facts.DecisionWithdrawn):
        return d.with_(status="withdrawn")
    if isinstance(e, facts.DecisionIssued):
        return d.with_(status="issued")
    return _public_comment(d, e)


def _public_comment(d: Draft, e: Event) -> Draft | None:
    if isinstance(e, facts.PublicCommentOpened):
        return d.with_(public_comment_open=True, public_comment_closes_at=e.closes_at)
    if isinstance(e, facts.PublicCommentRecorded):
        kept = e.model_dump(include={"comment_id", "text", "article_id", "author_ref", "channel"})
        entry = RecordedComment(**kept, recorded_at=e.occurred_at, request_id=e.command_id)
        others = [c for c in d.public_comments if c.comment_id != e.comment_id]
        return d.with_(public_comments=[*others, entry])
    if isinstance(e, facts.PublicCommentModerated):
        moderated = [
            c.model_copy(
                update={"outcome": e.outcome.value, "reason": e.reason, "moderator_id": e.moderator_id}
            )
            if c.comment_id == e.comment_id
            else c
            for c in d.public_comments
        ]
        return d.with_(public_comments=moderated)
    if isinstance(e, facts.PublicCommentClosed):
        counts = {"approved": e.approved_count, "rejected": e.rejected_count, "pending": e.pending_count}
        return d.with_(public_comment_open=False, public_comment_counts=counts)
    return None


def channel_vi(e: facts.OpinionRecorded) -> str:
    """How the opinion reached the workflow, in words for the receipt."""
    channel = e.actor.channel.value if e.actor else ("link" if e.link_token_id else "")
    return {
        "link": "qua liên kết trong thông báo",
        "agency_system": f"qua hệ thống của đơn vị ({e.actor.system_id})"
        if e.actor
        else "qua hệ thống của đơn vị",
    }.get(channel, "")


def _record_opinion(d: Draft, e: facts.OpinionRecorded, given_by_name: str) -> Draft:
    """Keep each opinion's time and link, and mark the link of an opinion that this one amends, so
    that link's receipt page says who replaced it, when and how."""
    previous = d.opinions.get(e.supersedes_opinion_id or "")
    entry = OpinionEntry(at=e.occurred_at, link_token_id=e.link_token_id, unit_id=e.consultee_unit_id)
    changed = d.with_(opinions={**d.opinions, e.opinion_id: entry})
    old_link = previous.link_token_id if previous else None
    if not (e.supersedes_opinion_id and old_link):
        return changed
    how = channel_vi(e)
    when = e.occurred_at.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
    note = (
        f"Đơn vị đã gửi ý kiến sửa đổi lúc {when}"
        + (f", do đồng chí {given_by_name} gửi" if given_by_name else "")
        + (f" {how}" if how else "")
        + ". Ý kiến sửa đổi là ý kiến được dùng để tổng hợp; nội dung dưới đây được lưu trong lịch sử."
    )
    return changed.with_(superseded_links={**d.superseded_links, link_key(old_link): note})
