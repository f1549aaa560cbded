"""Org registry events (topic ``org.events``).

Why these events exist: other services (tasks, notify, reports) keep a local copy of
the registry and of the consultation policy and must compute, e.g., the required
consultees of a draft *themselves* and *as of a date*. Replaying these events in order
with ``shared.orgmodel.projection.apply`` rebuilds exactly the registry the org
service holds.

Why the subject is the registry id and not the unit id: the registry is one aggregate
whose invariants cross units (a child needs its parent, a merge touches many units);
replay is only correct in the original order, and Kafka only orders within a
partition. One key (``registry_id``, default ``"vn"``) keeps every org fact on one
partition. The volume (a few thousand facts per province per year) makes this cheap.

Payloads use plain strings for codes (unit kinds, roles, document types) so the
contract does not import the domain; the projection validates them on apply.
Dates are effective dates (``valid_from`` / ``on``), not the time the event was sent.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contract import topics
from shared.contract.envelope import Event

_Id = Field(min_length=1, max_length=200)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrgEvent(Event):
    """Abstract base: every org event is keyed by the registry id (see module docstring)."""

    topic: ClassVar[str] = topics.ORG_EVENTS
    subject_field: ClassVar[str] = "registry_id"

    registry_id: str = Field(default="vn", min_length=1, max_length=100)


# ---------------------------------------------------------------- levels and địa bàn


class LevelDefined(OrgEvent):
    """An administrative level exists (cấp hành chính; ``rank`` 1 = highest). Data, not code."""

    event_type: ClassVar[str] = "org.level_defined"

    code: str = _Id
    rank: int = Field(ge=1)
    name_vi: str = Field(min_length=1)


class LocalityRegistered(OrgEvent):
    """A địa bàn (province / district / commune area) exists from ``valid_from``."""

    event_type: ClassVar[str] = "org.locality_registered"

    locality_id: str = _Id
    name: str = Field(min_length=1)
    level_code: str = _Id
    parent_id: str | None = None
    valid_from: date


class LocalityChanged(OrgEvent):
    """A địa bàn was renamed or moved under another địa bàn from ``on``."""

    event_type: ClassVar[str] = "org.locality_changed"

    locality_id: str = _Id
    on: date
    change: Literal["renamed", "reparented"]
    name: str | None = None
    parent_id: str | None = None


class LocalitiesMerged(OrgEvent):
    """Địa bàn ``source_ids`` ended on ``on`` and were merged into ``successor_id``.

    If ``new_name`` is set the successor was created by the merge (with
    ``new_level_code`` / ``new_parent_id``); otherwise it already existed.
    """

    event_type: ClassVar[str] = "org.localities_merged"

    source_ids: tuple[str, ...] = Field(min_length=1)
    successor_id: str = _Id
    on: date
    new_name: str | None = None
    new_level_code: str | None = None
    new_parent_id: str | None = None
    relocate_units: bool = False


class LocalityDissolved(OrgEvent):
    """A địa bàn ended on ``on`` without successor (e.g. a district abolished in 2025)."""

    event_type: ClassVar[str] = "org.locality_dissolved"

    locality_id: str = _Id
    on: date


# -------------------------------------------------------------------------- units


class NewUnitSpec(_Frozen):
    """A unit created by a merge or split (omitted locality/parent: taken from the source)."""

    unit_id: str = _Id
    name: str = Field(min_length=1)
    kind: str = _Id
    locality_id: str | None = None
    parent_id: str | None = None
    function: str | None = None


class UnitRegistered(OrgEvent):
    """A unit (đơn vị) of the political system exists from ``valid_from`` at a địa bàn."""

    event_type: ClassVar[str] = "org.unit_registered"

    unit_id: str = _Id
    name: str = Field(min_length=1)
    kind: str = _Id
    locality_id: str = _Id
    parent_id: str | None = None
    function: str | None = None
    valid_from: date


class UnitChanged(OrgEvent):
    """A unit was renamed, put under another parent, or moved to another địa bàn from ``on``."""

    event_type: ClassVar[str] = "org.unit_changed"

    unit_id: str = _Id
    on: date
    change: Literal["renamed", "reparented", "relocated"]
    name: str | None = None
    parent_id: str | None = None
    locality_id: str | None = None


class UnitsMerged(OrgEvent):
    """Units ``source_ids`` ended on ``on``; their role and children passed to ``successor_id``.

    ``successor`` is set when the merge created the successor (A+B → C); it is None
    when a unit was absorbed into an existing one (A → B). Positions held in the
    sources end on ``on``.
    """

    event_type: ClassVar[str] = "org.units_merged"

    source_ids: tuple[str, ...] = Field(min_length=1)
    successor_id: str = _Id
    on: date
    successor: NewUnitSpec | None = None


class UnitSplit(OrgEvent):
    """Unit ``source_id`` ended on ``on``, split into ``successors``; children moved per ``children_to``."""

    event_type: ClassVar[str] = "org.unit_split"

    source_id: str = _Id
    on: date
    successors: tuple[NewUnitSpec, ...] = Field(min_length=1)
    children_to: dict[str, str] = Field(default_factory=dict)


class UnitDissolved(OrgEvent):
    """A unit ended on ``on`` without successor; positions held in it end too."""

    event_type: ClassVar[str] = "org.unit_dissolved"

    unit_id: str = _Id
    on: date


# -------------------------------------------------------------------------- people


class PersonRegistered(OrgEvent):
    """A person (cán bộ) is known to the registry, with contact channels for notifications."""

    event_type: ClassVar[str] = "org.person_registered"

    person_id: str = _Id
    full_name: str = Field(min_length=1)
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None


class PersonUpdated(OrgEvent):
    """A person's name or contact channels changed (replaces all contact fields)."""

    event_type: ClassVar[str] = "org.person_updated"

    person_id: str = _Id
    full_name: str = Field(min_length=1)
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None


class PersonAssigned(OrgEvent):
    """A person holds ``role`` in ``unit_id`` during ``[valid_from, valid_to)``.

    ``duties`` tags special assignments, e.g. ``["dan_van"]`` for the leader designated
    to be in charge of dân vận work (§8, Quyết định 357-QĐ/TU).
    """

    event_type: ClassVar[str] = "org.person_assigned"

    assignment_id: str = _Id
    person_id: str = _Id
    unit_id: str = _Id
    role: str = _Id
    valid_from: date
    valid_to: date | None = None
    duties: tuple[str, ...] = ()


class PersonUnassigned(OrgEvent):
    """An assignment ended on ``on`` (miễn nhiệm, điều động, nghỉ hưu...)."""

    event_type: ClassVar[str] = "org.person_unassigned"

    assignment_id: str = _Id
    on: date
    person_id: str | None = None
    unit_id: str | None = None
    role: str | None = None


class DelegationGranted(OrgEvent):
    """``delegate_id`` acts in ``role`` of ``unit_id`` during ``[valid_from, valid_to)`` (holder away)."""

    event_type: ClassVar[str] = "org.delegation_granted"

    delegation_id: str = _Id
    unit_id: str = _Id
    role: str = _Id
    delegate_id: str = _Id
    valid_from: date
    valid_to: date | None = None
    reason: str = ""


# -------------------------------------------------------------------------- policy


class ConsulteeGroupSpec(_Frozen):
    """All units of the first kind in ``kinds`` present at the issuer's địa bàn."""

    kinds: tuple[str, ...] = Field(min_length=1)
    required: bool = True
    label_vi: str = ""


class OverrideAuthoritySpec(_Frozen):
    """Roles of a same-level unit (of ``unit_kind``) that may authorise an override."""

    unit_kind: str = _Id
    roles: tuple[str, ...] = Field(min_length=1)
    body_vi: str = ""


class PolicyRuleSpec(_Frozen):
    """One consultation rule with its citation (see ``shared.orgmodel.policy.PolicyRule``)."""

    rule_id: str = _Id
    citation: str = Field(min_length=1)
    description_vi: str = ""
    issuer_kinds: tuple[str, ...] = Field(min_length=1)
    document_types: tuple[str, ...] = Field(min_length=1)
    triggers: tuple[str, ...] = Field(min_length=1)
    consultees: tuple[ConsulteeGroupSpec, ...] = ()
    window_working_days: int = Field(ge=1)
    public_comment_if: tuple[str, ...] = ()
    publication_kinds: tuple[str, ...] = ()
    override: tuple[OverrideAuthoritySpec, ...] = ()
    synthesiser_kinds: tuple[str, ...] = ()
    report_to_kinds: tuple[str, ...] = ()
    applies_within: tuple[str, ...] = ()


class PolicyPublished(OrgEvent):
    """A consultation policy version was published; it is in force from ``effective_from``.

    The payload is the whole version (rules and citations), so a consumer can compute
    required consultees without asking the org service.
    """

    event_type: ClassVar[str] = "org.policy_published"

    version: int = Field(ge=1)
    effective_from: date
    title_vi: str = ""
    no_consultation_citation: str = Field(min_length=1)
    rules: tuple[PolicyRuleSpec, ...]


# ------------------------------------------------------------ agency systems and keys


class AgencySystemRegistered(OrgEvent):
    """An agency system (or platform service) may publish requests from ``valid_from``, acting for
    ``unit_ids`` (the units whose requests it may send). ``kind``: ``agency`` (a unit's own system),
    ``link_gateway`` (notify: opinions and public comments given through its pages) or ``platform``."""

    event_type: ClassVar[str] = "org.agency_system_registered"

    system_id: str = _Id
    name_vi: str = Field(min_length=1, max_length=300)
    kind: Literal["agency", "link_gateway", "platform"]
    unit_ids: tuple[str, ...] = ()
    valid_from: date


class AgencySystemUnitsChanged(OrgEvent):
    """From ``on``, the system acts for exactly ``unit_ids`` (empty: for none)."""

    event_type: ClassVar[str] = "org.agency_system_units_changed"

    system_id: str = _Id
    unit_ids: tuple[str, ...] = ()
    on: date


class PublicJwk(_Frozen):
    """An Ed25519 public key as a JWK (RFC 8037); ``kid`` is its RFC 7638 thumbprint."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(min_length=43, max_length=43)
    kid: str = Field(min_length=43, max_length=43)


class AgencyKeyRegistered(OrgEvent):
    """A public key that verifies the system's signatures, from ``valid_from`` until revoked.
    Several keys may be valid at once (rotation: register the new one, then revoke the old)."""

    event_type: ClassVar[str] = "org.agency_key_registered"

    system_id: str = _Id
    key: PublicJwk
    valid_from: AwareDatetime


class AgencyKeyRevoked(OrgEvent):
    """The key no longer verifies anything signed at or after ``revoked_at``."""

    event_type: ClassVar[str] = "org.agency_key_revoked"

    system_id: str = _Id
    kid: str = Field(min_length=43, max_length=43)
    revoked_at: AwareDatetime
    reason: str = Field(default="", max_length=1000)


# ------------------------------------------------------------------- access (roles per unit)


class AccessGranted(OrgEvent):
    """``person_id`` holds the platform role ``role`` at ``unit_id`` (and the units below it) during
    ``[valid_from, valid_to)``. ``unit_id`` ``"*"``: platform-wide (operators, auditors, the registry
    administrator of the whole registry). Roles: registry_admin, drafter, approver, synthesiser,
    standing_committee, operator, auditor (``shared.access.roles.Role``)."""

    event_type: ClassVar[str] = "org.access_granted"

    grant_id: str = _Id
    person_id: str = _Id
    role: Literal[
        "registry_admin", "drafter", "approver", "synthesiser", "standing_committee", "operator", "auditor"
    ]
    unit_id: str = _Id
    valid_from: date
    valid_to: date | None = None
    reason: str = Field(default="", max_length=1000)


class AccessRevoked(OrgEvent):
    """The grant ends on ``on`` (exclusive: the role no longer holds from that day)."""

    event_type: ClassVar[str] = "org.access_revoked"

    grant_id: str = _Id
    on: date
    reason: str = Field(default="", max_length=1000)


ORG_EVENT_TYPES: tuple[type[OrgEvent], ...] = (
    LevelDefined,
    LocalityRegistered,
    LocalityChanged,
    LocalitiesMerged,
    LocalityDissolved,
    UnitRegistered,
    UnitChanged,
    UnitsMerged,
    UnitSplit,
    UnitDissolved,
    PersonRegistered,
    PersonUpdated,
    PersonAssigned,
    PersonUnassigned,
    DelegationGranted,
    PolicyPublished,
    AgencySystemRegistered,
    AgencySystemUnitsChanged,
    AgencyKeyRegistered,
    AgencyKeyRevoked,
    AccessGranted,
    AccessRevoked,
)
"""Every org event class, for registration checks and consumers' dispatch tables."""
