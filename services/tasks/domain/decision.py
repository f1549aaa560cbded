"""The Decision aggregate: pre-issuance consultation of a document (lấy ý kiến trước khi ban hành).

The rule it enforces (Kiên Giang 357-QĐ/TU §5; Thanh Oai 05-QC/HU Điều 16–21): a document on
dân vận work, or touching the people's rights, must obtain the opinions of the Dân vận board,
the Fatherland Front and the socio-political organisations at the same level *before* it is
issued; when it touches many citizens it is also published for public comment; the Dân vận
board synthesises the opinions and reports them.

Style (cosmicpython / eventsourcing): every command method validates against the current
state, builds new facts (the pydantic models of :mod:`shared.contract.events.decisions`),
applies them to itself and returns them. State is *only* ever changed by :meth:`Decision._apply`,
so :meth:`Decision.replay` of the returned facts rebuilds exactly the same aggregate. A command
that would break a rule raises :class:`DomainError` and changes nothing. No I/O: the caller
passes the time (``at`` / ``now``), the consultation requirement and the calendar.

State machine (``status``)::

    DRAFTED ──request_consultation──▶ CONSULTATION_REQUESTED ──give_opinion──▶ COLLECTING
       │                                      │                                    │
       │ revise (stays DRAFTED)               └──────────close_consultation────────┤
       ▼                                                                           ▼
    REVISED ◀──revise── (CONSULTATION_REQUESTED | COLLECTING | CONSULTATION_CLOSED | SYNTHESISED)
    REVISED ──give_opinion──▶ COLLECTING;  REVISED ──close_consultation──▶ CONSULTATION_CLOSED
    CONSULTATION_CLOSED ──synthesise──▶ SYNTHESISED ──request_issuance (rule met)──▶ ISSUED
    any non-terminal ──withdraw──▶ WITHDRAWN
    request_issuance (rule unmet) ──▶ IssuanceRefused, status unchanged

Decisions documented here because users will ask:

* **Late opinions** are accepted and flagged ``late`` (a consultee's opinion is what the rule
  wants; refusing it would only push the drafter towards an override). They are accepted until
  synthesis, including after the consultation was closed; after synthesis the opinion would
  not be in the board's report, so it is refused.
* **Opinions are bound to a draft version.** On revision, a consultee whose commented articles
  changed (text differs, or the article was removed) must give the opinion again, with a new
  deadline and a new reminder/escalation round; the others' opinions carry over. A synthesis
  and any override are bound to the version too and lapse on revision.
* **Closing early is refused** while a consultee without an opinion is still within its
  deadline: closing would silently take away the time the rule grants it.
* **Override** waives *missing consultee opinions only* (not synthesis, not the public comment
  window), only for a role listed in the requirement's ``override_roles``, always with a
  reason, and is recorded as an exception fact.
* **Idempotency.** Every command carries a ``command_id`` (the inbound ``request_id``). Facts
  record it; a command whose id was already processed returns ``[]`` and changes nothing.
  Reminders and escalations are time-driven: each fires at most once per consultee, round and
  kind, and the aggregate records which fired.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.tasks.domain.calendar import DEFAULT_CALENDAR, HolidayCalendar
from shared.eventsourcing.errors import DomainError
from shared.eventsourcing.chain import HashChain
from shared.contract.events.decisions import (
    ActingAs,
    Actor,
    Article,
    ArticleComment,
    AttachmentRef,
    ConsultationClosed,
    ConsultationRequested,
    ConsultationRequirement,
    CoordinationTask,
    CoordinationTaskKind,
    CoordinationTasksCreated,
    DecisionDrafted,
    DecisionFact,
    DecisionFlag,
    DecisionIssued,
    DecisionRevised,
    DecisionSynthesised,
    DecisionWithdrawn,
    Disposition,
    DispositionRecorded,
    DocType,
    Escalated,
    IssuanceRefused,
    MissingItem,
    ModerationOutcome,
    OpinionRecorded,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentOpened,
    PublicCommentRecorded,
    ReminderDue,
    Stance,
)


class DecisionStatus(StrEnum):
    """Where a decision is in its life (trạng thái)."""

    DRAFTED = "drafted"  # đã soạn thảo
    CONSULTATION_REQUESTED = "consultation_requested"  # đã gửi lấy ý kiến
    COLLECTING = "collecting"  # đang thu thập ý kiến
    REVISED = "revised"  # đã sửa dự thảo trong khi lấy ý kiến
    CONSULTATION_CLOSED = "consultation_closed"  # đã kết thúc lấy ý kiến
    SYNTHESISED = "synthesised"  # Ban Dân vận đã tổng hợp
    ISSUED = "issued"  # đã ban hành
    WITHDRAWN = "withdrawn"  # đã rút


S = DecisionStatus
TERMINAL: frozenset[DecisionStatus] = frozenset({S.ISSUED, S.WITHDRAWN})
NON_TERMINAL: frozenset[DecisionStatus] = frozenset(set(S) - TERMINAL)
OPEN_CONSULTATION: frozenset[DecisionStatus] = frozenset({S.CONSULTATION_REQUESTED, S.COLLECTING, S.REVISED})

ALLOWED_STATUSES: Mapping[str, frozenset[DecisionStatus]] = {
    "revise": frozenset(NON_TERMINAL),
    "request_consultation": frozenset({S.DRAFTED}),
    "give_opinion": OPEN_CONSULTATION | {S.CONSULTATION_CLOSED},
    "record_public_comment": OPEN_CONSULTATION,
    "moderate_public_comment": OPEN_CONSULTATION | {S.CONSULTATION_CLOSED},
    "close_consultation": OPEN_CONSULTATION,
    "synthesise": frozenset({S.CONSULTATION_CLOSED}),
    "record_disposition": frozenset(NON_TERMINAL - {S.DRAFTED}),
    "request_issuance": frozenset(NON_TERMINAL),
    "override": OPEN_CONSULTATION | {S.CONSULTATION_CLOSED},
    "withdraw": frozenset(NON_TERMINAL),
}
"""Explicit table: which commands each status accepts (``draft`` needs a fresh aggregate)."""

STATUS_VI: Mapping[DecisionStatus, str] = {
    S.DRAFTED: "đã soạn thảo",
    S.CONSULTATION_REQUESTED: "đã gửi lấy ý kiến",
    S.COLLECTING: "đang thu thập ý kiến",
    S.REVISED: "đã sửa dự thảo",
    S.CONSULTATION_CLOSED: "đã kết thúc lấy ý kiến",
    S.SYNTHESISED: "đã tổng hợp ý kiến",
    S.ISSUED: "đã ban hành",
    S.WITHDRAWN: "đã rút",
}

COMMAND_VI: Mapping[str, str] = {
    "revise": "sửa dự thảo",
    "request_consultation": "gửi lấy ý kiến",
    "give_opinion": "cho ý kiến",
    "record_public_comment": "ghi nhận góp ý của nhân dân",
    "moderate_public_comment": "kiểm duyệt góp ý của nhân dân",
    "close_consultation": "kết thúc lấy ý kiến",
    "synthesise": "tổng hợp ý kiến",
    "record_disposition": "ghi nhận việc tiếp thu, giải trình",
    "request_issuance": "đề nghị ban hành",
    "override": "cho phép ban hành ngoại lệ",
    "withdraw": "rút dự thảo",
}

BOARD_KINDS: frozenset[str] = frozenset({"dan_van_board", "dan_van_bloc"})
"""Kinds that play the Dân vận board's role (Ban Dân vận; Khối dân vận at commune level)."""
FRONT_KIND = "fatherland_front"


@dataclass
class ConsulteeState:
    """Progress of one required consultee."""

    unit_id: str
    kind: str
    name_vi: str
    deadline: datetime
    round: int = 1
    opinion_id: str | None = None
    valid_for_version: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name_vi} ({self.unit_id})" if self.name_vi else self.unit_id


@dataclass
class PublicCommentState:
    comment_id: str
    outcome: ModerationOutcome | None = None


@dataclass
class Decision:
    """The aggregate. Create with ``Decision()`` (or a custom calendar) then call :meth:`draft`."""

    calendar: HolidayCalendar = DEFAULT_CALENDAR
    decision_id: str | None = None
    status: DecisionStatus | None = None
    issuer_unit_id: str | None = None
    doc_type: DocType | None = None
    title: str = ""
    flags: tuple[DecisionFlag, ...] = ()
    version: int = 0
    articles: dict[str, str] = field(default_factory=dict)
    requirement: ConsultationRequirement | None = None
    consultees: dict[str, ConsulteeState] = field(default_factory=dict)
    opinions: dict[str, OpinionRecorded] = field(default_factory=dict)
    overrides: dict[str, OverrideRecorded] = field(default_factory=dict)
    dispositions: dict[str, DispositionRecorded] = field(default_factory=dict)
    public_comment_open: bool = False
    public_comment_closes_at: datetime | None = None
    public_comments: dict[str, PublicCommentState] = field(default_factory=dict)
    synthesis: DecisionSynthesised | None = None
    fired: set[tuple[str, int, str]] = field(default_factory=set)
    processed_commands: set[str] = field(default_factory=set)
    history: list[DecisionFact] = field(default_factory=list)
    chain: HashChain = field(default_factory=HashChain)
    acting: Actor | None = None
    """Who is issuing the next commands (set by the application layer); stamped on every new fact."""

    # ================================================================= replay

    @classmethod
    def replay(cls, events: Iterable[DecisionFact], calendar: HolidayCalendar = DEFAULT_CALENDAR) -> Decision:
        """Rebuild an aggregate from its facts (event sourcing)."""
        decision = cls(calendar=calendar)
        for event in events:
            decision._apply(event)
        return decision

    def snapshot(self) -> dict[str, Any]:
        """Comparable view of the whole state (used to prove replay == live)."""
        return {
            "decision_id": self.decision_id,
            "status": self.status,
            "issuer_unit_id": self.issuer_unit_id,
            "doc_type": self.doc_type,
            "title": self.title,
            "flags": self.flags,
            "version": self.version,
            "articles": dict(self.articles),
            "requirement": self.requirement,
            "consultees": {k: vars(v).copy() for k, v in self.consultees.items()},
            "opinions": dict(self.opinions),
            "overrides": dict(self.overrides),
            "dispositions": dict(self.dispositions),
            "public_comment_open": self.public_comment_open,
            "public_comment_closes_at": self.public_comment_closes_at,
            "public_comments": {k: vars(v).copy() for k, v in self.public_comments.items()},
            "synthesis": self.synthesis,
            "fired": set(self.fired),
            "processed_commands": set(self.processed_commands),
            "history": list(self.history),
            "chain_head": self.chain.head,
        }

    # ================================================================= queries

    @property
    def next_seq(self) -> int:
        return len(self.history) + 1

    def _valid_override_units(self) -> set[str]:
        units: set[str] = set()
        for ov in self.overrides.values():
            if ov.draft_version == self.version:
                units.update(ov.consultee_unit_ids)
        return units

    def has_valid_opinion(self, unit_id: str) -> bool:
        c = self.consultees.get(unit_id)
        return c is not None and c.opinion_id is not None and c.valid_for_version == self.version

    def missing_consultees(self, *, include_overridden: bool = False) -> list[ConsulteeState]:
        """Required consultees without a valid opinion on the current version (in policy order)."""
        overridden = set() if include_overridden else self._valid_override_units()
        return [
            c
            for c in self.consultees.values()
            if not self.has_valid_opinion(c.unit_id) and c.unit_id not in overridden
        ]

    def _consultee_missing_item(self, c: ConsulteeState) -> MissingItem:
        if c.opinion_id is None:
            msg = f"Chưa có ý kiến tham gia của {c.label}."
            code = "opinion_missing"
        else:
            old = self.opinions[c.opinion_id].draft_version
            msg = (
                f"Ý kiến của {c.label} được cho trên dự thảo phiên bản {old}; các điều đã góp ý "
                f"đã được sửa nên cần cho ý kiến lại trên phiên bản {self.version}."
            )
            code = "opinion_outdated"
        return MissingItem(code=code, message_vi=msg, unit_id=c.unit_id)

    def issuance_blockers(self) -> list[MissingItem]:
        """Everything that stands between the decision and issuance, in a stable order.

        This is the rule itself; :meth:`request_issuance` refuses while it is non-empty, and
        the only path to ``ISSUED`` goes through :meth:`request_issuance`.
        """
        items: list[MissingItem] = []
        if self.requirement is None:
            items.append(
                MissingItem(
                    code="consultation_not_requested",
                    message_vi=(
                        "Chưa gửi lấy ý kiến Ban Dân vận, Mặt trận Tổ quốc và các tổ chức "
                        "chính trị – xã hội cùng cấp."
                    ),
                )
            )
        else:
            items.extend(self._consultee_missing_item(c) for c in self.missing_consultees())
            if self.requirement.public_comment_required and self.public_comment_open:
                closes = self.public_comment_closes_at
                when = f" (đến {_fmt(closes, self.calendar)})" if closes else ""
                items.append(
                    MissingItem(
                        code="public_comment_window_open",
                        message_vi=f"Thời hạn lấy ý kiến nhân dân chưa kết thúc{when}.",
                    )
                )
            pending = [p.comment_id for p in self.public_comments.values() if p.outcome is None]
            if pending:
                items.append(
                    MissingItem(
                        code="public_comments_pending_moderation",
                        message_vi=f"Còn {len(pending)} góp ý của nhân dân chưa được kiểm duyệt.",
                    )
                )
            if self.status in OPEN_CONSULTATION:
                items.append(
                    MissingItem(code="consultation_not_closed", message_vi="Chưa kết thúc việc lấy ý kiến.")
                )
        if self.synthesis is None or self.synthesis.draft_version != self.version:
            items.append(
                MissingItem(
                    code="synthesis_missing",
                    message_vi="Ban Dân vận chưa tổng hợp ý kiến trên dự thảo hiện hành.",
                )
            )
        if self.requirement is not None and self.requirement.dispositions_required:
            for c in self.consultees.values():
                if not self.has_valid_opinion(c.unit_id) or c.opinion_id is None:
                    continue
                op = self.opinions[c.opinion_id]
                if op.stance != Stance.AGREE and op.opinion_id not in self.dispositions:
                    items.append(
                        MissingItem(
                            code="disposition_missing",
                            message_vi=f"Cơ quan soạn thảo chưa tiếp thu, giải trình ý kiến của {c.label}.",
                            unit_id=c.unit_id,
                        )
                    )
        return items

    # ================================================================= commands

    def draft(
        self,
        command_id: str,
        *,
        decision_id: str,
        issuer_unit_id: str,
        doc_type: DocType,
        title: str,
        flags: Sequence[DecisionFlag],
        articles: Sequence[tuple[str, str]],
        at: datetime,
    ) -> list[DecisionFact]:
        """Start a decision: version 1 of the draft."""
        if self._duplicate(command_id):
            return []
        if self.status is not None:
            raise DomainError(
                "already_drafted",
                "Dự thảo này đã được tạo; dùng chức năng sửa dự thảo để tạo phiên bản mới.",
                {"decision_id": self.decision_id},
            )
        _require_text(title, "title_required", "Tiêu đề dự thảo không được để trống.")
        art = _articles(articles)
        return self._emit(
            DecisionDrafted(
                decision_id=decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                issuer_unit_id=issuer_unit_id,
                doc_type=doc_type,
                title=title,
                flags=tuple(flags),
                articles=art,
            )
        )

    def revise(
        self,
        command_id: str,
        *,
        articles: Sequence[tuple[str, str]],
        at: datetime,
        reconsultation_deadline: datetime | None = None,
    ) -> list[DecisionFact]:
        """New draft version; re-opens consultation for consultees whose commented articles changed."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("revise")
        new = _articles(articles)
        new_map = {a.article_id: a.text for a in new}
        changed = sorted(
            {
                aid
                for aid in self.articles.keys() | new_map.keys()
                if self.articles.get(aid) != new_map.get(aid)
            }
        )
        if not changed:
            raise DomainError(
                "revision_without_changes",
                "Dự thảo sửa đổi không có thay đổi nào so với phiên bản hiện hành.",
            )
        reopened: list[str] = []
        carried: list[str] = []
        for c in self.consultees.values():
            if not self.has_valid_opinion(c.unit_id) or c.opinion_id is None:
                continue
            commented = {cm.article_id for cm in self.opinions[c.opinion_id].comments}
            (reopened if commented & set(changed) else carried).append(c.unit_id)
        if reopened:
            if reconsultation_deadline is None:
                raise DomainError(
                    "reconsultation_deadline_required",
                    "Cần thời hạn lấy ý kiến lại cho các đơn vị có điều đã góp ý bị sửa đổi.",
                    {"reopened_consultee_unit_ids": reopened},
                )
            if reconsultation_deadline <= at:
                raise DomainError(
                    "deadline_in_past", "Thời hạn lấy ý kiến lại phải sau thời điểm sửa dự thảo."
                )
        invalidated = tuple(o.override_id for o in self.overrides.values() if o.draft_version == self.version)
        assert self.decision_id is not None
        return self._emit(
            DecisionRevised(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                version=self.version + 1,
                articles=new,
                changed_article_ids=tuple(changed),
                reopened_consultee_unit_ids=tuple(reopened),
                carried_over_consultee_unit_ids=tuple(carried),
                reconsultation_deadline=reconsultation_deadline if reopened else None,
                synthesis_invalidated=self.synthesis is not None
                and self.synthesis.draft_version == self.version,
                invalidated_override_ids=invalidated,
            )
        )

    def request_consultation(
        self, command_id: str, *, requirement: ConsultationRequirement, at: datetime
    ) -> list[DecisionFact]:
        """Send the draft out for opinions, as the consultation policy requires."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("request_consultation")
        kinds = {c.kind for c in requirement.consultees}
        if not kinds & BOARD_KINDS or FRONT_KIND not in kinds:
            raise DomainError(
                "requirement_below_rule",
                "Danh sách lấy ý kiến phải có ít nhất Ban Dân vận (hoặc Khối dân vận) và Mặt trận Tổ quốc cùng cấp.",
                {"kinds": sorted(kinds)},
            )
        if requirement.deadline <= at:
            raise DomainError("deadline_in_past", "Thời hạn cho ý kiến phải sau thời điểm gửi lấy ý kiến.")
        closes = requirement.public_comment_closes_at
        if requirement.public_comment_required and closes is not None and closes <= at:
            raise DomainError(
                "deadline_in_past", "Thời hạn lấy ý kiến nhân dân phải sau thời điểm gửi lấy ý kiến."
            )
        assert self.decision_id is not None
        events: list[DecisionFact] = [
            ConsultationRequested(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                draft_version=self.version,
                requirement=requirement,
            )
        ]
        if requirement.public_comment_required and closes is not None:
            events.append(
                PublicCommentOpened(
                    decision_id=self.decision_id,
                    seq=self.next_seq + 1,
                    occurred_at=at,
                    command_id=command_id,
                    draft_version=self.version,
                    closes_at=closes,
                )
            )
        return self._emit(*events)

    def give_opinion(
        self,
        command_id: str,
        *,
        consultee_unit_id: str,
        given_by: str,
        acting_as: ActingAs,
        stance: Stance,
        comments: Mapping[str, str],
        draft_version: int,
        at: datetime,
        general_comment: str = "",
        attachments: Sequence[AttachmentRef] = (),
        link_token_id: str | None = None,
    ) -> list[DecisionFact]:
        """Record a consultee's opinion on a given draft version (late ones flagged, not refused)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("give_opinion")
        c = self.consultees.get(consultee_unit_id)
        if c is None:
            raise DomainError(
                "not_a_consultee",
                f"Đơn vị {consultee_unit_id} không thuộc danh sách được lấy ý kiến về dự thảo này.",
                {"consultee_unit_id": consultee_unit_id},
            )
        if draft_version != self.version:
            raise DomainError(
                "stale_draft_version",
                f"Ý kiến được cho trên dự thảo phiên bản {draft_version}, nhưng phiên bản hiện hành là "
                f"{self.version}. Vui lòng xem dự thảo mới và cho ý kiến lại.",
                {"given": draft_version, "current": self.version},
            )
        unknown = sorted(set(comments) - set(self.articles))
        if unknown:
            raise DomainError(
                "unknown_article",
                f"Góp ý cho điều không có trong dự thảo: {', '.join(unknown)}.",
                {"article_ids": unknown},
            )
        cleaned = tuple(
            ArticleComment(article_id=k, text=v.strip()) for k, v in comments.items() if v.strip()
        )
        if stance == Stance.AGREE_WITH_AMENDMENTS and not cleaned:
            raise DomainError(
                "amendments_required",
                "Ý kiến “nhất trí, có sửa đổi” phải nêu nội dung sửa đổi cho ít nhất một điều.",
            )
        if stance == Stance.DISAGREE and not cleaned and not general_comment.strip():
            raise DomainError("reason_required", "Ý kiến không nhất trí phải nêu rõ lý do.")
        assert self.decision_id is not None
        return self._emit(
            OpinionRecorded(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                opinion_id=f"{self.decision_id}:op:{len(self.opinions) + 1}",
                consultee_unit_id=consultee_unit_id,
                given_by=given_by,
                acting_as=acting_as,
                stance=stance,
                general_comment=general_comment.strip(),
                comments=cleaned,
                attachments=tuple(attachments),
                draft_version=draft_version,
                late=at > c.deadline,
                deadline=c.deadline,
                supersedes_opinion_id=c.opinion_id if c.valid_for_version == self.version else None,
                link_token_id=link_token_id,
            )
        )

    def record_public_comment(
        self,
        command_id: str,
        *,
        text: str,
        at: datetime,
        article_id: str | None = None,
        author_ref: str | None = None,
        channel: str = "web",
    ) -> list[DecisionFact]:
        """A citizen's comment during the public comment window (awaits moderation)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("record_public_comment")
        self._require_public_comment_open(at)
        _require_text(text, "comment_required", "Nội dung góp ý không được để trống.")
        if article_id is not None and article_id not in self.articles:
            raise DomainError("unknown_article", f"Góp ý cho điều không có trong dự thảo: {article_id}.")
        assert self.decision_id is not None
        return self._emit(
            PublicCommentRecorded(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                comment_id=f"{self.decision_id}:pc:{len(self.public_comments) + 1}",
                text=text.strip(),
                article_id=article_id,
                author_ref=author_ref,
                channel=channel,
                draft_version=self.version,
            )
        )

    def moderate_public_comment(
        self,
        command_id: str,
        *,
        comment_id: str,
        outcome: ModerationOutcome,
        moderator_id: str,
        at: datetime,
        reason: str = "",
    ) -> list[DecisionFact]:
        """Approve or reject a public comment (rejections need a reason)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("moderate_public_comment")
        pc = self.public_comments.get(comment_id)
        if pc is None:
            raise DomainError("unknown_public_comment", f"Không tìm thấy góp ý {comment_id}.")
        if pc.outcome is not None:
            raise DomainError("already_moderated", f"Góp ý {comment_id} đã được kiểm duyệt.")
        if outcome == ModerationOutcome.REJECTED:
            _require_text(reason, "reason_required", "Từ chối góp ý phải nêu lý do.")
        assert self.decision_id is not None
        return self._emit(
            PublicCommentModerated(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                comment_id=comment_id,
                outcome=outcome,
                moderator_id=moderator_id,
                reason=reason.strip(),
            )
        )

    def close_consultation(
        self, command_id: str, *, at: datetime, closed_by: str | None = None
    ) -> list[DecisionFact]:
        """End the collection of opinions (closes the public window too if its time is up)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("close_consultation")
        events: list[DecisionFact] = []
        if self.public_comment_open:
            closes = self.public_comment_closes_at
            if closes is not None and at < closes:
                raise DomainError(
                    "public_comment_window_open",
                    f"Chưa thể kết thúc lấy ý kiến: thời hạn lấy ý kiến nhân dân đến {_fmt(closes, self.calendar)}.",
                )
            events.append(self._public_comment_closed(at, command_id, self.next_seq))
        still_in_time = [c for c in self.missing_consultees() if at <= c.deadline]
        if still_in_time:
            raise DomainError(
                "consultees_within_deadline",
                "Chưa thể kết thúc lấy ý kiến: còn đơn vị chưa cho ý kiến và vẫn trong thời hạn: "
                + "; ".join(f"{c.label} (hạn {_fmt(c.deadline, self.calendar)})" for c in still_in_time)
                + ".",
                {"unit_ids": [c.unit_id for c in still_in_time]},
            )
        assert self.decision_id is not None
        events.append(
            ConsultationClosed(
                decision_id=self.decision_id,
                seq=self.next_seq + len(events),
                occurred_at=at,
                command_id=command_id,
                closed_by=closed_by,
                draft_version=self.version,
                missing_consultee_unit_ids=tuple(c.unit_id for c in self.missing_consultees()),
            )
        )
        return self._emit(*events)

    def synthesise(
        self, command_id: str, *, by_unit_id: str, summary: str, at: datetime, by_person_id: str | None = None
    ) -> list[DecisionFact]:
        """The Dân vận board synthesises the opinions (chủ trì tổng hợp ý kiến)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("synthesise")
        req = self._req()
        if by_unit_id != req.synthesiser_unit_id:
            raise DomainError(
                "not_synthesiser",
                "Chỉ Ban Dân vận cùng cấp (đơn vị chủ trì tổng hợp theo quy định) được tổng hợp ý kiến.",
                {"expected": req.synthesiser_unit_id, "given": by_unit_id},
            )
        missing = self.missing_consultees()
        if missing:
            raise DomainError(
                "opinions_missing",
                "Chưa đủ ý kiến để tổng hợp: "
                + " ".join(self._consultee_missing_item(c).message_vi for c in missing),
                {"unit_ids": [c.unit_id for c in missing]},
            )
        if any(p.outcome is None for p in self.public_comments.values()):
            raise DomainError(
                "public_comments_pending_moderation", "Còn góp ý của nhân dân chưa được kiểm duyệt."
            )
        _require_text(summary, "summary_required", "Nội dung tổng hợp không được để trống.")
        valid_ops = tuple(
            c.opinion_id
            for c in self.consultees.values()
            if c.opinion_id and self.has_valid_opinion(c.unit_id)
        )
        assert self.decision_id is not None
        return self._emit(
            DecisionSynthesised(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                by_unit_id=by_unit_id,
                by_person_id=by_person_id,
                summary=summary.strip(),
                draft_version=self.version,
                opinion_ids=valid_ops,
                public_comment_ids=tuple(
                    p.comment_id
                    for p in self.public_comments.values()
                    if p.outcome == ModerationOutcome.APPROVED
                ),
                override_ids=self._valid_override_ids(),
                report_to_unit_ids=req.report_to_unit_ids,
            )
        )

    def record_disposition(
        self,
        command_id: str,
        *,
        opinion_id: str,
        disposition: Disposition,
        by_unit_id: str,
        at: datetime,
        reason: str = "",
    ) -> list[DecisionFact]:
        """The drafting body says how it dealt with an opinion (tiếp thu / giải trình)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("record_disposition")
        if by_unit_id != self.issuer_unit_id:
            raise DomainError(
                "not_drafting_body", "Chỉ cơ quan soạn thảo được ghi nhận việc tiếp thu, giải trình ý kiến."
            )
        if opinion_id not in self.opinions:
            raise DomainError("unknown_opinion", f"Không tìm thấy ý kiến {opinion_id}.")
        if disposition != Disposition.ACCEPTED:
            _require_text(reason, "reason_required", "Giải trình hoặc không tiếp thu ý kiến phải nêu lý do.")
        assert self.decision_id is not None
        return self._emit(
            DispositionRecorded(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                opinion_id=opinion_id,
                disposition=disposition,
                reason=reason.strip(),
                by_unit_id=by_unit_id,
            )
        )

    def request_issuance(
        self,
        command_id: str,
        *,
        requested_by: str,
        at: datetime,
        implementing_unit_ids: Sequence[str] = (),
    ) -> list[DecisionFact]:
        """Issue if — and only if — the rule is met; otherwise an :class:`IssuanceRefused` fact
        naming exactly what is missing (the status does not change)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("request_issuance")
        assert self.decision_id is not None
        blockers = self.issuance_blockers()
        if blockers:
            return self._emit(
                IssuanceRefused(
                    decision_id=self.decision_id,
                    seq=self.next_seq,
                    occurred_at=at,
                    command_id=command_id,
                    requested_by=requested_by,
                    missing=tuple(blockers),
                    missing_consultee_unit_ids=tuple(b.unit_id for b in blockers if b.unit_id is not None),
                )
            )
        req = self._req()
        override_ids = self._valid_override_ids()
        issued = DecisionIssued(
            decision_id=self.decision_id,
            seq=self.next_seq,
            occurred_at=at,
            command_id=command_id,
            requested_by=requested_by,
            draft_version=self.version,
            opinion_ids=tuple(
                c.opinion_id
                for c in self.consultees.values()
                if c.opinion_id and self.has_valid_opinion(c.unit_id)
            ),
            override_ids=override_ids,
            with_exception=bool(override_ids),
        )
        tasks = self._coordination_tasks(req, implementing_unit_ids)
        created = CoordinationTasksCreated(
            decision_id=self.decision_id,
            seq=self.next_seq + 1,
            occurred_at=at,
            command_id=command_id,
            tasks=tasks,
        )
        return self._emit(issued, created)

    def override(
        self,
        command_id: str,
        *,
        by_person_id: str,
        role: str,
        reason: str,
        at: datetime,
        consultee_unit_ids: Sequence[str] = (),
    ) -> list[DecisionFact]:
        """Waive missing consultee opinions — authorised roles only, with a reason, as an exception."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("override")
        req = self._req()
        if role not in req.override_roles:
            raise DomainError(
                "override_role_not_authorised",
                f"Vai trò “{role}” không có thẩm quyền cho phép ban hành khi chưa đủ ý kiến theo quy định.",
                {"role": role, "allowed": list(req.override_roles)},
            )
        _require_text(reason, "reason_required", "Quyết định cho phép ngoại lệ phải nêu rõ lý do.")
        missing = [c.unit_id for c in self.missing_consultees()]
        if not missing:
            raise DomainError(
                "nothing_to_override", "Không có đơn vị nào còn thiếu ý kiến để cho phép ngoại lệ."
            )
        targets = list(dict.fromkeys(consultee_unit_ids)) or missing
        not_missing = [u for u in targets if u not in missing]
        if not_missing:
            raise DomainError(
                "override_target_not_missing",
                "Chỉ được cho phép ngoại lệ với đơn vị còn thiếu ý kiến; không áp dụng cho: "
                + ", ".join(not_missing)
                + ".",
                {"unit_ids": not_missing},
            )
        assert self.decision_id is not None
        return self._emit(
            OverrideRecorded(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                override_id=f"{self.decision_id}:ov:{len(self.overrides) + 1}",
                by_person_id=by_person_id,
                role=role,
                reason=reason.strip(),
                consultee_unit_ids=tuple(targets),
                draft_version=self.version,
            )
        )

    def withdraw(
        self, command_id: str, *, by_person_id: str, reason: str, at: datetime
    ) -> list[DecisionFact]:
        """Abandon the draft (terminal)."""
        if self._duplicate(command_id):
            return []
        self._check_allowed("withdraw")
        _require_text(reason, "reason_required", "Việc rút dự thảo phải nêu lý do.")
        assert self.decision_id is not None
        return self._emit(
            DecisionWithdrawn(
                decision_id=self.decision_id,
                seq=self.next_seq,
                occurred_at=at,
                command_id=command_id,
                by_person_id=by_person_id,
                reason=reason.strip(),
            )
        )

    def next_timer_at(self, now: datetime) -> datetime | None:
        """The earliest instant after which :meth:`tick` may have something to do.

        Why: the scheduler stores it beside the decision and only loads decisions
        that are due, instead of replaying every open decision on every pass. It
        mirrors :meth:`tick` (a property test checks that ``tick`` is silent at every
        instant before it); ticks are strict (``now > deadline``), so an instant
        returned here is "due at or after".
        """
        if self.status is None or self.requirement is None:
            return None
        candidates: list[datetime] = []
        if (
            self.status in OPEN_CONSULTATION | {S.CONSULTATION_CLOSED}
            and self.public_comment_open
            and self.public_comment_closes_at is not None
        ):
            candidates.append(self.public_comment_closes_at)
        if self.status in OPEN_CONSULTATION | {S.CONSULTATION_CLOSED}:
            req = self.requirement
            for c in self.missing_consultees():
                if (c.unit_id, c.round, "reminder") not in self.fired and now <= c.deadline:
                    candidates.append(
                        self.calendar.add_working_days(c.deadline, -req.reminder_lead_working_days)
                    )
                if (c.unit_id, c.round, "escalation_1") not in self.fired:
                    candidates.append(c.deadline)
                if (c.unit_id, c.round, "escalation_2") not in self.fired:
                    candidates.append(
                        self.calendar.add_working_days(c.deadline, req.escalation_level2_after_working_days)
                    )
        return min(candidates) if candidates else None

    def tick(self, now: datetime) -> list[DecisionFact]:
        """Time passes: close an expired public window, remind, escalate. Each fires once.

        * reminder when ``now`` reaches the end of the working day that leaves
          ``reminder_lead_working_days`` working days before the consultee's deadline, and
          the deadline has not passed yet (a missed reminder is not sent late: escalation
          takes over);
        * level 1 escalation once the deadline has passed: the head of the consultee unit;
        * level 2 escalation ``escalation_level2_after_working_days`` working days after the
          deadline: the standing committee of the party committee at the same level.
        """
        if self.status is None or self.requirement is None:
            return []
        events: list[DecisionFact] = []
        assert self.decision_id is not None
        seq = self.next_seq
        if (
            self.status in OPEN_CONSULTATION | {S.CONSULTATION_CLOSED}
            and self.public_comment_open
            and self.public_comment_closes_at is not None
            and now >= self.public_comment_closes_at
        ):
            events.append(self._public_comment_closed(now, None, seq))
            seq += 1
        if self.status not in OPEN_CONSULTATION | {S.CONSULTATION_CLOSED}:
            return self._emit(*events)
        req = self.requirement
        for c in self.missing_consultees():
            remind_at = self.calendar.add_working_days(c.deadline, -req.reminder_lead_working_days)
            level2_at = self.calendar.add_working_days(c.deadline, req.escalation_level2_after_working_days)
            deadline_vi = _fmt(c.deadline, self.calendar)
            if remind_at <= now <= c.deadline and (c.unit_id, c.round, "reminder") not in self.fired:
                events.append(
                    ReminderDue(
                        decision_id=self.decision_id,
                        seq=seq,
                        occurred_at=now,
                        consultee_unit_id=c.unit_id,
                        round=c.round,
                        deadline=c.deadline,
                        message_vi=(
                            f"Nhắc việc: {c.label} chưa cho ý kiến về dự thảo “{self.title}”. "
                            f"Hạn cho ý kiến: {deadline_vi}."
                        ),
                    )
                )
                seq += 1
            if now > c.deadline and (c.unit_id, c.round, "escalation_1") not in self.fired:
                events.append(
                    Escalated(
                        decision_id=self.decision_id,
                        seq=seq,
                        occurred_at=now,
                        consultee_unit_id=c.unit_id,
                        round=c.round,
                        level=1,
                        deadline=c.deadline,
                        escalate_to_unit_id=c.unit_id,
                        escalate_to_kind=c.kind,
                        escalate_to_role="head",
                        message_vi=(
                            f"Quá hạn cho ý kiến ({deadline_vi}): đề nghị người đứng đầu {c.label} "
                            f"chỉ đạo cho ý kiến về dự thảo “{self.title}”."
                        ),
                    )
                )
                seq += 1
            if now > level2_at and (c.unit_id, c.round, "escalation_2") not in self.fired:
                events.append(
                    Escalated(
                        decision_id=self.decision_id,
                        seq=seq,
                        occurred_at=now,
                        consultee_unit_id=c.unit_id,
                        round=c.round,
                        level=2,
                        deadline=c.deadline,
                        escalate_to_unit_id=req.escalation_unit_id,
                        escalate_to_kind="party_committee",
                        escalate_to_role="standing_committee",
                        message_vi=(
                            f"Báo cáo Ban Thường vụ cấp ủy: {c.label} quá hạn cho ý kiến về dự thảo "
                            f"“{self.title}” hơn {req.escalation_level2_after_working_days} ngày làm việc "
                            f"(hạn {deadline_vi})."
                        ),
                    )
                )
                seq += 1
        return self._emit(*events)

    # ================================================================= event application

    def _apply(self, event: DecisionFact) -> None:
        """The only place state changes. Also used by :meth:`replay`."""
        if event.seq != self.next_seq:
            raise ValueError(f"event seq {event.seq} out of order; expected {self.next_seq}")
        if self.decision_id is not None and event.decision_id != self.decision_id:
            raise ValueError(f"event of decision {event.decision_id} applied to {self.decision_id}")
        if isinstance(event, DecisionDrafted):
            self.decision_id = event.decision_id
            self.status = S.DRAFTED
            self.issuer_unit_id = event.issuer_unit_id
            self.doc_type = event.doc_type
            self.title = event.title
            self.flags = event.flags
            self.version = 1
            self.articles = {a.article_id: a.text for a in event.articles}
        elif isinstance(event, DecisionRevised):
            self.version = event.version
            self.articles = {a.article_id: a.text for a in event.articles}
            for uid in event.carried_over_consultee_unit_ids:
                self.consultees[uid].valid_for_version = event.version
            for uid in event.reopened_consultee_unit_ids:
                c = self.consultees[uid]
                c.round += 1
                assert event.reconsultation_deadline is not None
                c.deadline = event.reconsultation_deadline
            if self.status != S.DRAFTED:
                self.status = S.REVISED
        elif isinstance(event, ConsultationRequested):
            req = event.requirement
            self.requirement = req
            self.consultees = {
                c.unit_id: ConsulteeState(
                    unit_id=c.unit_id, kind=c.kind, name_vi=c.name_vi, deadline=req.deadline
                )
                for c in req.consultees
            }
            self.status = S.CONSULTATION_REQUESTED
        elif isinstance(event, OpinionRecorded):
            self.opinions[event.opinion_id] = event
            c = self.consultees[event.consultee_unit_id]
            c.opinion_id = event.opinion_id
            c.valid_for_version = event.draft_version
            if self.status in (S.CONSULTATION_REQUESTED, S.REVISED):
                self.status = S.COLLECTING
        elif isinstance(event, PublicCommentOpened):
            self.public_comment_open = True
            self.public_comment_closes_at = event.closes_at
        elif isinstance(event, PublicCommentRecorded):
            self.public_comments[event.comment_id] = PublicCommentState(comment_id=event.comment_id)
        elif isinstance(event, PublicCommentModerated):
            self.public_comments[event.comment_id].outcome = event.outcome
        elif isinstance(event, PublicCommentClosed):
            self.public_comment_open = False
        elif isinstance(event, ConsultationClosed):
            self.status = S.CONSULTATION_CLOSED
        elif isinstance(event, ReminderDue):
            self.fired.add((event.consultee_unit_id, event.round, "reminder"))
        elif isinstance(event, Escalated):
            self.fired.add((event.consultee_unit_id, event.round, f"escalation_{event.level}"))
        elif isinstance(event, DecisionSynthesised):
            self.synthesis = event
            self.status = S.SYNTHESISED
        elif isinstance(event, DispositionRecorded):
            self.dispositions[event.opinion_id] = event
        elif isinstance(event, OverrideRecorded):
            self.overrides[event.override_id] = event
        elif isinstance(event, DecisionIssued):
            self.status = S.ISSUED
        elif isinstance(event, DecisionWithdrawn):
            self.status = S.WITHDRAWN
        elif isinstance(event, IssuanceRefused | CoordinationTasksCreated):
            pass  # recorded facts; no state beyond history
        else:  # pragma: no cover - a new fact type must be handled explicitly
            raise TypeError(f"unhandled decision event {type(event).__name__}")
        if event.command_id is not None:
            self.processed_commands.add(event.command_id)
        self.history.append(event)
        self.chain.append(event)

    # ================================================================= helpers

    def _emit(self, *events: DecisionFact) -> list[DecisionFact]:
        stamped = [
            e.model_copy(update={"actor": self.acting}) if self.acting is not None and e.actor is None else e
            for e in events
        ]
        for event in stamped:
            self._apply(event)
        return stamped

    def _duplicate(self, command_id: str) -> bool:
        if not command_id:
            raise DomainError("command_id_required", "Thiếu mã yêu cầu (command id).")
        return command_id in self.processed_commands

    def _check_allowed(self, command: str) -> None:
        if self.status is None:
            raise DomainError("not_drafted", "Dự thảo chưa được tạo.")
        if self.status not in ALLOWED_STATUSES[command]:
            raise DomainError(
                "invalid_state",
                f"Không thể {COMMAND_VI[command]} khi dự thảo ở trạng thái “{STATUS_VI[self.status]}”.",
                {"command": command, "status": self.status.value},
            )

    def _req(self) -> ConsultationRequirement:
        if self.requirement is None:
            raise DomainError("consultation_not_requested", "Chưa gửi lấy ý kiến về dự thảo này.")
        return self.requirement

    def _valid_override_ids(self) -> tuple[str, ...]:
        return tuple(o.override_id for o in self.overrides.values() if o.draft_version == self.version)

    def _require_public_comment_open(self, at: datetime) -> None:
        closes = self.public_comment_closes_at
        if not self.public_comment_open or (closes is not None and at >= closes):
            raise DomainError(
                "public_comment_window_closed", "Thời hạn lấy ý kiến nhân dân đã kết thúc hoặc chưa mở."
            )

    def _public_comment_closed(self, at: datetime, command_id: str | None, seq: int) -> PublicCommentClosed:
        assert self.decision_id is not None
        outcomes = [p.outcome for p in self.public_comments.values()]
        return PublicCommentClosed(
            decision_id=self.decision_id,
            seq=seq,
            occurred_at=at,
            command_id=command_id,
            approved_count=outcomes.count(ModerationOutcome.APPROVED),
            rejected_count=outcomes.count(ModerationOutcome.REJECTED),
            pending_count=outcomes.count(None),
        )

    def _coordination_tasks(
        self, req: ConsultationRequirement, implementing_unit_ids: Sequence[str]
    ) -> tuple[CoordinationTask, ...]:
        """357-QĐ/TU §5: implementing bodies inform the board, the Front and the organisations
        and coordinate with them to mobilise the people."""
        assert self.issuer_unit_id is not None and self.decision_id is not None
        implementers = list(dict.fromkeys(implementing_unit_ids)) or [self.issuer_unit_id]
        counterparts = list(dict.fromkeys([req.synthesiser_unit_id, *(c.unit_id for c in req.consultees)]))
        tasks: list[CoordinationTask] = []
        for impl in implementers:
            tasks.append(
                CoordinationTask(
                    task_id=f"{self.decision_id}:task:{len(tasks) + 1}",
                    kind=CoordinationTaskKind.IMPLEMENT,
                    assignee_unit_id=impl,
                    title_vi=(
                        f"Tổ chức thực hiện “{self.title}”, chủ động phối hợp với Ban Dân vận, "
                        "Mặt trận Tổ quốc và các tổ chức chính trị – xã hội cùng cấp."
                    ),
                )
            )
            for cp in counterparts:
                tasks.append(
                    CoordinationTask(
                        task_id=f"{self.decision_id}:task:{len(tasks) + 1}",
                        kind=CoordinationTaskKind.INFORM,
                        assignee_unit_id=impl,
                        counterpart_unit_id=cp,
                        title_vi=(
                            f"Cung cấp thông tin về việc tổ chức thực hiện “{self.title}” "
                            "để phối hợp vận động nhân dân thực hiện."
                        ),
                    )
                )
        return tuple(tasks)


# --------------------------------------------------------------------------- module helpers


def _articles(articles: Sequence[tuple[str, str]]) -> tuple[Article, ...]:
    if not articles:
        raise DomainError("articles_required", "Dự thảo phải có ít nhất một điều.")
    ids = [aid for aid, _ in articles]
    dupes = sorted({a for a in ids if ids.count(a) > 1})
    if dupes:
        raise DomainError(
            "duplicate_article", f"Mã điều bị trùng: {', '.join(dupes)}.", {"article_ids": dupes}
        )
    if any(not aid.strip() for aid in ids):
        raise DomainError("article_id_required", "Mỗi điều phải có mã điều.")
    return tuple(Article(article_id=aid, text=text) for aid, text in articles)


def _require_text(value: str, code: str, message_vi: str) -> None:
    if not value or not value.strip():
        raise DomainError(code, message_vi)


def _fmt(instant: datetime | None, calendar: HolidayCalendar) -> str:
    if instant is None:
        return ""
    local = instant.astimezone(calendar.tz)
    return local.strftime("%H:%M ngày %d/%m/%Y")
