"""Rendering notifications (email subject/text/HTML, SMS) from Jinja2 templates in Vietnamese.

Why templates and typed contexts: wording changes often (and is reviewed by the board's
staff, not programmers) while the facts in it must not be forgotten — the decision, the exact
deadline in local time with the weekday, the link. Each notification kind is a frozen
dataclass, so the service cannot render a consultation request without a deadline.

HTML is autoescaped (titles come from drafters and must not inject markup); plain text and
SMS are not escaped (they are not HTML). Subjects are folded to one line (no header
injection). SMS bodies are kept ≤ 320 characters by shortening the title, then by dropping the
link (the email carries it) — never by cutting the deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import jinja2

from services.notify.domain.contact_change import ContactChange
from services.notify.domain.opinion import Stance
from services.notify.domain.vi_time import format_date_vi, format_deadline, format_deadline_short, to_vn
from shared.templating import strict_environment

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
SMS_MAX_CHARS = 320
_WS_RE = re.compile(r"\s+")


class NotificationKind(StrEnum):
    CONSULTATION_REQUESTED = "consultation_requested"
    REMINDER = "reminder"
    OVERDUE_ESCALATED = "overdue_escalated"
    OPINION_RECEIVED = "opinion_received"
    ISSUED = "issued"
    REPORT_DUE = "report_due"
    PUBLIC_COMMENT_MODERATION = "public_comment_moderation"
    OPINION_NOT_RECORDED = "opinion_not_recorded"
    CONTACT_CHANGED = "contact_changed"
    DIGEST = "digest"


KIND_LABELS_VI: dict[NotificationKind, str] = {
    NotificationKind.CONSULTATION_REQUESTED: "Đề nghị góp ý",
    NotificationKind.REMINDER: "Nhắc góp ý",
    NotificationKind.OVERDUE_ESCALATED: "Quá hạn góp ý",
    NotificationKind.OPINION_RECEIVED: "Đã nhận ý kiến",
    NotificationKind.ISSUED: "Thông tin văn bản đã ban hành",
    NotificationKind.REPORT_DUE: "Đến hạn báo cáo",
    NotificationKind.PUBLIC_COMMENT_MODERATION: "Kiểm duyệt góp ý của nhân dân",
    NotificationKind.OPINION_NOT_RECORDED: "Ý kiến chưa được ghi nhận",
    NotificationKind.CONTACT_CHANGED: "Thay đổi thông tin liên lạc",
    NotificationKind.DIGEST: "Tổng hợp việc cần xử lý",
}


@dataclass(frozen=True, slots=True)
class DecisionRef:
    """The draft or document a notification is about."""

    decision_id: str
    title: str
    issuer_name: str
    version: int | None = None
    number: str | None = None
    """Số, ký hiệu (e.g. "357-QĐ/TU"), once issued."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who reads the message: the person's name and the unit they act for."""

    name: str
    unit_name: str
    acting_as_substitute: bool = False


@dataclass(frozen=True, slots=True)
class _AboutDecision:
    """A message about one decision, to one person (the first two fields of every such message)."""

    recipient: Recipient
    decision: DecisionRef


@dataclass(frozen=True, slots=True)
class ConsultationRequested(_AboutDecision):
    """Đề nghị góp ý: a consultee is asked for its opinion on a draft before issuance."""

    deadline: datetime
    action_url: str
    sms_url: str | None = None
    note: str | None = None
    kind: NotificationKind = field(default=NotificationKind.CONSULTATION_REQUESTED, init=False)


@dataclass(frozen=True, slots=True)
class Reminder(_AboutDecision):
    """Nhắc góp ý: no opinion yet and the deadline approaches."""

    deadline: datetime
    action_url: str
    sms_url: str | None = None
    kind: NotificationKind = field(default=NotificationKind.REMINDER, init=False)


@dataclass(frozen=True, slots=True)
class OverdueEscalated(_AboutDecision):
    """Quá hạn góp ý: to the late consultee and, when escalated, to the leader who must act.

    ``missing_units`` lists the consultees whose opinion is still missing; ``escalated_to``
    names who was informed (e.g. Thường trực Tỉnh ủy).
    """

    deadline: datetime
    missing_units: tuple[str, ...]
    action_url: str | None = None
    escalated_to: str | None = None
    sms_url: str | None = None
    to_leader: bool = False
    """The recipient is the leader it is reported to (``escalated_to``): the mail asks him to
    direct the answer instead of telling him it "was reported to" himself. With ``action_url`` he
    is also the one who answers (the head is the unit's person in charge)."""
    kind: NotificationKind = field(default=NotificationKind.OVERDUE_ESCALATED, init=False)


@dataclass(frozen=True, slots=True)
class OpinionReceived(_AboutDecision):
    """Biên nhận: confirms what was recorded, so the sender can prove they answered in time."""

    stance: Stance
    submitted_at: datetime
    receipt_url: str | None = None
    sms_url: str | None = None
    amends_opinion_at: datetime | None = None
    """Set when this opinion amends (replaces) one recorded earlier on the same draft version."""
    channel_vi: str = ""
    """How it reached the workflow (e.g. "qua liên kết trong thông báo", "qua hệ thống của đơn vị")."""
    kind: NotificationKind = field(default=NotificationKind.OPINION_RECEIVED, init=False)


@dataclass(frozen=True, slots=True)
class Issued(_AboutDecision):
    """Văn bản đã ban hành: information the board, the Front and organisations need to mobilise people.

    ``override_reason`` is set when issuance happened under an authorised override (the
    consultation rule was not met): recipients are told, as DOMAIN requires it be reported.
    """

    issued_at: datetime
    summary: str
    view_url: str | None = None
    effective_from: datetime | None = None
    override_reason: str | None = None
    sms_url: str | None = None
    kind: NotificationKind = field(default=NotificationKind.ISSUED, init=False)


@dataclass(frozen=True, slots=True)
class ReportDue:
    """Đến hạn báo cáo: a periodic or ad-hoc report is due (reporting regime, Điều 23)."""

    recipient: Recipient
    report_title: str
    period_label: str
    deadline: datetime
    route_to: str
    action_url: str | None = None
    sms_url: str | None = None
    kind: NotificationKind = field(default=NotificationKind.REPORT_DUE, init=False)


@dataclass(frozen=True, slots=True)
class PublicCommentModeration(_AboutDecision):
    """Góp ý của nhân dân cần kiểm duyệt: the draft was published for public comment; the Dân vận
    board (synthesiser unit) moderates the citizens' comments through ``action_url`` (a signed,
    reusable link). ``deadline`` is when the public comment window closes; ``public_url`` is the
    citizens' page, to share through the board's own channels."""

    deadline: datetime
    action_url: str
    public_url: str | None = None
    sms_url: str | None = None
    kind: NotificationKind = field(default=NotificationKind.PUBLIC_COMMENT_MODERATION, init=False)


@dataclass(frozen=True, slots=True)
class OpinionNotRecorded(_AboutDecision):
    """The workflow refused an opinion sent through a link (e.g. after the board's synthesis):
    the sender must not believe it counts — the page only said it was *sent*."""

    reason_vi: str
    submitted_at: datetime
    sms_url: str | None = None
    kind: NotificationKind = field(default=NotificationKind.OPINION_NOT_RECORDED, init=False)


@dataclass(frozen=True, slots=True)
class ContactChanged:
    """Thông tin liên lạc đã thay đổi: sent to the person's addresses as they were *before* the
    change, so that a change they did not ask for does not go unnoticed. The new addresses appear
    masked only (:mod:`services.notify.domain.contact_change`)."""

    recipient: Recipient
    changed_at: datetime
    changes: tuple[ContactChange, ...]
    sms_url: str | None = None
    kind: NotificationKind = field(default=NotificationKind.CONTACT_CHANGED, init=False)

    def __post_init__(self) -> None:
        if not self.changes:
            raise ValueError("a contact change notice needs at least one change")


Notification = (
    ConsultationRequested
    | Reminder
    | OverdueEscalated
    | OpinionReceived
    | Issued
    | ReportDue
    | PublicCommentModeration
    | OpinionNotRecorded
    | ContactChanged
)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One line of a digest: enough to act on without opening each message."""

    kind: NotificationKind
    label: str
    title: str
    issuer_name: str
    deadline: datetime | None
    url: str | None
    reference: str = ""
    """The case's code (mã hồ sơ), so a line can be matched to the case without opening the link."""


@dataclass(frozen=True, slots=True)
class Digest:
    """Several pending items for one recipient, sent as one message instead of a flood."""

    recipient: Recipient
    entries: tuple[DigestEntry, ...]
    sms_url: str | None = None
    kind: NotificationKind = field(default=NotificationKind.DIGEST, init=False)

    def __post_init__(self) -> None:
        if not self.entries:
            raise ValueError("a digest needs at least one entry")


Renderable = Notification | Digest


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    kind: NotificationKind
    subject: str
    text: str
    html: str
    sms: str


def digest_entry(n: Notification) -> DigestEntry:
    """Summarise a notification as a digest line (deadline first: it is what people sort by)."""
    label = KIND_LABELS_VI[n.kind]
    if isinstance(n, ReportDue):
        return DigestEntry(
            n.kind, label, f"{n.report_title} ({n.period_label})", n.route_to, n.deadline, n.action_url
        )
    deadline: datetime | None
    url: str | None
    if isinstance(n, ContactChanged):
        return DigestEntry(n.kind, label, "Thông tin liên lạc của đồng chí đã được thay đổi", "", None, None)
    if isinstance(n, OpinionReceived):
        deadline, url = None, n.receipt_url
    elif isinstance(n, OpinionNotRecorded):
        deadline, url = None, None
    elif isinstance(n, Issued):
        deadline, url = None, n.view_url
    else:
        deadline, url = n.deadline, n.action_url
    return DigestEntry(
        n.kind, label, n.decision.title, n.decision.issuer_name, deadline, url, n.decision.decision_id
    )


def build_digest(recipient: Recipient, items: list[Notification] | tuple[Notification, ...]) -> Digest:
    """A digest of ``items`` sorted by deadline (soonest first, items without deadline last)."""
    entries = sorted(
        (digest_entry(n) for n in items),
        key=lambda e: (e.deadline is None, e.deadline.timestamp() if e.deadline else 0.0),
    )
    return Digest(recipient=recipient, entries=tuple(entries))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def _stance_label(value: Stance | str) -> str:
    return Stance(value).label_vi


def make_environment(template_dir: Path = TEMPLATE_DIR) -> jinja2.Environment:
    """The Jinja2 environment: HTML autoescaped, undefined variables are errors (a typo must fail tests)."""
    env = strict_environment(
        template_dir,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    )
    env.filters["deadline"] = format_deadline
    env.filters["deadline_short"] = format_deadline_short
    env.filters["date_vi"] = format_date_vi
    env.filters["time_vi"] = lambda d: f"{to_vn(d):%H:%M}"
    env.filters["stance_label"] = _stance_label
    env.filters["shorten"] = _shorten
    return env


class Renderer:
    """Renders any notification kind to subject, plain text, HTML and SMS."""

    def __init__(self, env: jinja2.Environment | None = None, *, sms_max_chars: int = SMS_MAX_CHARS) -> None:
        self._env = env or make_environment()
        self._sms_max = sms_max_chars

    def _render(self, name: str, ctx: dict[str, Any]) -> str:
        return self._env.get_template(name).render(**ctx)

    def render(self, n: Renderable) -> RenderedMessage:
        base = n.kind.value
        ctx: dict[str, Any] = {"n": n, "kind_labels": KIND_LABELS_VI}
        subject = _WS_RE.sub(" ", self._render(f"{base}.subject.txt", ctx)).strip()
        text = self._render(f"{base}.txt", ctx).strip() + "\n"
        html = self._render(f"{base}.html", ctx)
        sms = self._render_sms(base, n)
        return RenderedMessage(kind=n.kind, subject=subject, text=text, html=html, sms=sms)

    def _render_sms(self, base: str, n: Renderable) -> str:
        url = (
            n.sms_url
            if n.sms_url is not None
            else getattr(n, "action_url", None)
            or getattr(n, "view_url", None)
            or getattr(n, "receipt_url", None)
        )
        # Try the full title, then shorter titles, then without the link (the email has it).
        for link in (url, None):
            for title_max in (200, 120, 80, 50, 30):
                sms = _WS_RE.sub(
                    " ",
                    self._render(f"{base}.sms.txt", {"n": n, "url": link, "title_max": title_max}),
                ).strip()
                if len(sms) <= self._sms_max:
                    return sms
        return _shorten(sms, self._sms_max)
