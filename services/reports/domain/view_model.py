"""The decision read model's types (hồ sơ lấy ý kiến của một dự thảo): what is stored and shown.

Why pydantic models with ``extra="forbid"``: the view is stored as JSON beside its facts and
served as is by the JSON API; a stored view that no longer fits these types fails loudly
instead of showing half a decision.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.reports.domain.labels import STATUS_VI
from services.reports.domain.view_status import ConsulteeStatus, DecisionStatus
from shared.contract.events.decisions import ActingAs, Stance


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsulteeView(_Model):
    unit_id: str
    kind: str = ""
    name_vi: str = ""
    required: bool = True
    status: ConsulteeStatus = ConsulteeStatus.PENDING
    deadline: datetime | None = None
    opinion_id: str | None = None
    stance: Stance | None = None
    given_by: str | None = None
    acting_as: ActingAs | None = None
    given_at: datetime | None = None
    draft_version: int | None = None
    reminders: int = 0
    escalation_level: int = 0
    override_id: str | None = None

    @property
    def label(self) -> str:
        return self.name_vi or self.unit_id


class OpinionView(_Model):
    seq: int
    opinion_id: str
    consultee_unit_id: str
    given_by: str
    acting_as: ActingAs
    stance: Stance
    at: datetime
    late: bool
    deadline: datetime
    draft_version: int
    general_comment: str = ""
    amends_opinion_id: str | None = None
    channel: str | None = None
    system_id: str | None = None


class MissingItemView(_Model):
    code: str
    message_vi: str
    unit_id: str | None = None


class RefusalView(_Model):
    seq: int
    at: datetime
    requested_by: str
    missing: list[MissingItemView]
    missing_consultee_unit_ids: list[str] = Field(default_factory=list)


class OverrideView(_Model):
    seq: int
    override_id: str
    at: datetime
    by_person_id: str
    role: str
    reason: str
    consultee_unit_ids: list[str]
    draft_version: int
    invalidated: bool = False


class EscalationView(_Model):
    seq: int
    at: datetime
    consultee_unit_id: str
    round: int
    level: int
    escalate_to_unit_id: str
    escalate_to_role: str


class RejectionView(_Model):
    request_id: str
    request_type: str
    code: str
    message_vi: str
    at: datetime


class TimelineEntry(_Model):
    at: datetime
    seq: int | None
    kind: str
    text_vi: str
    exception: bool = False  # an override or an issuance by exception: highlighted


class DecisionView(_Model):
    decision_id: str
    title: str = ""
    issuer_unit_id: str | None = None
    doc_type: str | None = None
    flags: list[str] = Field(default_factory=list)
    status: DecisionStatus = DecisionStatus.UNKNOWN
    draft_version: int = 0
    drafted_at: datetime | None = None
    consultation_requested_at: datetime | None = None
    deadline: datetime | None = None
    policy: str | None = None
    citations: list[str] = Field(default_factory=list)
    public_comment_required: bool = False
    public_comments: int = 0
    synthesiser_unit_id: str | None = None
    synthesised_at: datetime | None = None
    synthesis_summary: str | None = None
    issued_at: datetime | None = None
    with_exception: bool = False
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    consultees: list[ConsulteeView] = Field(default_factory=list)
    opinions: list[OpinionView] = Field(default_factory=list)
    refusals: list[RefusalView] = Field(default_factory=list)
    overrides: list[OverrideView] = Field(default_factory=list)
    escalations: list[EscalationView] = Field(default_factory=list)
    reminders: int = 0
    rejections: list[RejectionView] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    last_seq: int = 0
    missing_seqs: list[int] = Field(default_factory=list)
    last_event_at: datetime | None = None

    @property
    def status_vi(self) -> str:
        return STATUS_VI[self.status]

    @property
    def has_exception(self) -> bool:
        return self.with_exception or any(not o.invalidated for o in self.overrides)

    def consultee(self, unit_id: str) -> ConsulteeView | None:
        return next((c for c in self.consultees if c.unit_id == unit_id), None)
