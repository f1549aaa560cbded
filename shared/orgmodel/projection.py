"""Projection: rebuild the org registry and policy from ``org.events``, and seeds → events.

Why: services that need consultation answers (tasks) keep a local copy and compute
them offline; the org service itself is the writer. Both sides use the same domain
operations, so ``replay(seed_events(seed))`` equals ``build_registry([seed])`` (a test
checks it). Pure: no I/O; :func:`apply` mutates only the registry it is given.

Delivery is at-least-once: :func:`apply` skips an event whose exact payload was
already applied (tracked in :class:`Projection`), so a redelivered event is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.access.roles import ALL_UNITS
from shared.contract.events.org import (
    AccessGranted,
    AccessRevoked,
    AgencyKeyRegistered,
    AgencyKeyRevoked,
    AgencySystemRegistered,
    AgencySystemUnitsChanged,
    ConsulteeGroupSpec,
    DelegationGranted,
    LevelDefined,
    LocalitiesMerged,
    LocalityChanged,
    LocalityDissolved,
    LocalityRegistered,
    NewUnitSpec,
    OrgEvent,
    OverrideAuthoritySpec,
    PersonAssigned,
    PersonRegistered,
    PersonUnassigned,
    PersonUpdated,
    PolicyPublished,
    PolicyRuleSpec,
    UnitChanged,
    UnitDissolved,
    UnitRegistered,
    UnitsMerged,
    UnitSplit,
)
from shared.orgmodel.errors import OrgDomainError, PolicyError
from shared.orgmodel.hierarchy import NewLocality
from shared.orgmodel.policy import (
    ConsultationPolicy,
    ConsulteeGroup,
    DocumentType,
    Flag,
    OverrideAuthority,
    PolicyRule,
)
from shared.orgmodel.positions import ContactChannels
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_specs import HistoryOp, Seed
from shared.orgmodel.units import Level, NewUnit, UnitKind


@dataclass
class Projection:
    """A local copy of the registry plus the fingerprints of events already applied."""

    registry: OrgRegistry = field(default_factory=OrgRegistry.empty)
    applied: set[str] = field(default_factory=set)

    def apply(self, event: OrgEvent) -> bool:
        """Apply ``event``; returns False if the identical event was already applied."""
        key = f"{event.event_type}:{event.model_dump_json()}"
        if key in self.applied:
            return False
        apply(self.registry, event)
        self.applied.add(key)
        return True


def replay(events: Iterable[OrgEvent], registry: OrgRegistry | None = None) -> OrgRegistry:
    """Apply ``events`` in order onto ``registry`` (or a new one) and return it."""
    projection = Projection(registry or OrgRegistry.empty())
    for event in events:
        projection.apply(event)
    return projection.registry


def apply(registry: OrgRegistry, event: OrgEvent) -> None:
    """Apply one org event (raises the domain error if the event contradicts the state)."""
    h, p = registry.hierarchy, registry.people
    match event:
        case LevelDefined():
            h.define_level(Level(event.code, event.rank, event.name_vi))
        case LocalityRegistered():
            h.register_locality(
                NewLocality(event.locality_id, event.name, event.level_code, event.parent_id),
                event.valid_from,
            )
        case LocalityChanged(change="renamed"):
            h.rename_locality(event.locality_id, _need(event.name, "name"), event.on)
        case LocalityChanged():
            h.reparent_locality(event.locality_id, event.parent_id, event.on)
        case LocalitiesMerged():
            target: str | NewLocality = event.successor_id
            if event.new_name is not None:
                target = NewLocality(
                    event.successor_id,
                    event.new_name,
                    _need(event.new_level_code, "new_level_code"),
                    event.new_parent_id,
                )
            h.merge_localities(list(event.source_ids), target, event.on, relocate_units=event.relocate_units)
        case LocalityDissolved():
            h.dissolve_locality(event.locality_id, event.on)
        case UnitRegistered():
            h.register_unit(
                NewUnit(
                    event.unit_id,
                    event.name,
                    UnitKind.parse(event.kind),
                    event.locality_id,
                    event.parent_id,
                    event.function,
                ),
                event.valid_from,
            )
        case UnitChanged(change="renamed"):
            h.rename_unit(event.unit_id, _need(event.name, "name"), event.on)
        case UnitChanged(change="reparented"):
            h.reparent_unit(event.unit_id, event.parent_id, event.on)
        case UnitChanged():
            h.relocate_unit(event.unit_id, _need(event.locality_id, "locality_id"), event.on)
        case UnitsMerged():
            successor: str | NewUnit = (
                _new_unit(event.successor) if event.successor is not None else event.successor_id
            )
            registry.merge_units(list(event.source_ids), successor, event.on)
        case UnitSplit():
            registry.split_unit(
                event.source_id, [_new_unit(s) for s in event.successors], event.on, dict(event.children_to)
            )
        case UnitDissolved():
            registry.dissolve_unit(event.unit_id, event.on)
        case PersonRegistered():
            p.register_person(event.person_id, event.full_name, _contacts(event))
        case PersonUpdated():
            p.update_person(event.person_id, event.full_name, _contacts(event))
        case PersonAssigned():
            p.assign(
                event.assignment_id,
                event.person_id,
                event.unit_id,
                event.role,
                event.valid_from,
                event.valid_to,
                event.duties,
            )
        case PersonUnassigned():
            p.end_assignment(event.assignment_id, event.on)
        case DelegationGranted():
            p.grant_delegation(
                event.delegation_id,
                event.unit_id,
                event.role,
                event.delegate_id,
                event.valid_from,
                event.valid_to,
                event.reason,
            )
        case PolicyPublished():
            registry.policies.publish(policy_from_event(event))
        case AgencySystemRegistered():
            _known_units(registry, event.unit_ids)
            registry.systems.register(
                event.system_id, event.name_vi, event.kind, event.unit_ids, event.valid_from
            )
        case AgencySystemUnitsChanged():
            _known_units(registry, event.unit_ids)
            registry.systems.change_units(event.system_id, event.unit_ids, event.on)
        case AgencyKeyRegistered():
            registry.systems.add_key(event.system_id, event.key.model_dump(), event.valid_from)
        case AgencyKeyRevoked():
            registry.systems.revoke_key(event.system_id, event.kid, event.revoked_at)
        case AccessGranted():
            registry.people.person(event.person_id)  # unknown_person if not registered
            if event.unit_id != ALL_UNITS:
                _known_units(registry, (event.unit_id,))
            registry.access.grant(
                event.grant_id,
                event.person_id,
                event.role,
                event.unit_id,
                event.valid_from,
                event.valid_to,
                event.reason,
            )
        case AccessRevoked():
            registry.access.revoke(event.grant_id, event.on)
        case _:
            raise OrgDomainError(
                f"Sự kiện “{event.event_type}” không được hỗ trợ bởi bản sao sổ đăng ký tổ chức.",
                code="unsupported_event",
            )


def _known_units(registry: OrgRegistry, unit_ids: Sequence[str]) -> None:
    for unit_id in unit_ids:
        if not registry.hierarchy.has_unit(unit_id):
            raise OrgDomainError(
                f"Hệ thống được đăng ký đại diện cho đơn vị «{unit_id}» không có trong sổ đăng ký.",
                code="unknown_reference",
                unit_id=unit_id,
            )


def _contacts(event: PersonRegistered | PersonUpdated) -> ContactChannels:
    return ContactChannels(event.email, event.phone, event.webhook_url)


def _need(value: str | None, name: str) -> str:
    if value is None:
        raise OrgDomainError(f"Sự kiện thiếu trường bắt buộc “{name}”.", code="malformed_event", field=name)
    return value


def _new_unit(spec: NewUnitSpec) -> NewUnit:
    return NewUnit(
        spec.unit_id, spec.name, UnitKind.parse(spec.kind), spec.locality_id, spec.parent_id, spec.function
    )


def _new_unit_spec(unit: NewUnit) -> NewUnitSpec:
    return NewUnitSpec(
        unit_id=unit.id,
        name=unit.name,
        kind=unit.kind.value,
        locality_id=unit.locality_id,
        parent_id=unit.parent_id,
        function=unit.function,
    )


# ------------------------------------------------------------------ policy ⇄ event


def policy_to_event(policy: ConsultationPolicy, registry_id: str = "vn") -> PolicyPublished:
    """The event that publishes ``policy``."""
    return PolicyPublished(
        registry_id=registry_id,
        version=policy.version,
        effective_from=policy.effective_from,
        title_vi=policy.title_vi,
        no_consultation_citation=policy.no_consultation_citation,
        rules=tuple(
            PolicyRuleSpec(
                rule_id=r.id,
                citation=r.citation,
                description_vi=r.description_vi,
                issuer_kinds=tuple(sorted(k.value for k in r.issuer_kinds)),
                document_types=tuple(sorted(d.value for d in r.document_types)),
                triggers=tuple(sorted(f.value for f in r.triggers)),
                consultees=tuple(
                    ConsulteeGroupSpec(
                        kinds=tuple(k.value for k in g.kinds), required=g.required, label_vi=g.label_vi
                    )
                    for g in r.consultees
                ),
                window_working_days=r.window_working_days,
                public_comment_if=tuple(sorted(f.value for f in r.public_comment_if)),
                publication_kinds=tuple(k.value for k in r.publication_kinds),
                override=tuple(
                    OverrideAuthoritySpec(unit_kind=o.unit_kind.value, roles=o.roles, body_vi=o.body_vi)
                    for o in r.override
                ),
                synthesiser_kinds=tuple(k.value for k in r.synthesiser_kinds),
                report_to_kinds=tuple(k.value for k in r.report_to_kinds),
                applies_within=r.applies_within,
            )
            for r in policy.rules
        ),
    )


def policy_from_event(event: PolicyPublished) -> ConsultationPolicy:
    """Rebuild the domain policy; refuses unknown unit kinds, document types and flags."""

    def flags(raw: Sequence[str]) -> frozenset[Flag]:
        try:
            return frozenset(Flag(f) for f in raw)
        except ValueError as exc:
            raise PolicyError(f"Cờ không hợp lệ trong chính sách: {exc}.", code="unknown_flag") from None

    def kinds(raw: Sequence[str]) -> tuple[UnitKind, ...]:
        return tuple(UnitKind.parse(k) for k in raw)

    return ConsultationPolicy(
        version=event.version,
        effective_from=event.effective_from,
        title_vi=event.title_vi,
        no_consultation_citation=event.no_consultation_citation,
        rules=tuple(
            PolicyRule(
                id=r.rule_id,
                citation=r.citation,
                description_vi=r.description_vi,
                issuer_kinds=frozenset(kinds(r.issuer_kinds)),
                document_types=frozenset(DocumentType.parse(d) for d in r.document_types),
                triggers=flags(r.triggers),
                consultees=tuple(
                    ConsulteeGroup(kinds(g.kinds), g.required, g.label_vi) for g in r.consultees
                ),
                window_working_days=r.window_working_days,
                public_comment_if=flags(r.public_comment_if),
                publication_kinds=kinds(r.publication_kinds),
                override=tuple(
                    OverrideAuthority(UnitKind.parse(o.unit_kind), tuple(o.roles), o.body_vi)
                    for o in r.override
                ),
                synthesiser_kinds=kinds(r.synthesiser_kinds),
                report_to_kinds=kinds(r.report_to_kinds),
                applies_within=tuple(r.applies_within),
            )
            for r in event.rules
        ),
    )


# ------------------------------------------------------------------ seed → events


def seed_events(seed: Seed) -> list[OrgEvent]:
    """The ordered events that reproduce ``seed`` (same order as ``load_into``)."""
    rid = seed.registry_id
    out: list[OrgEvent] = [
        LevelDefined(registry_id=rid, code=lv.level.code, rank=lv.level.rank, name_vi=lv.level.name_vi)
        for lv in seed.levels
    ]
    out += [
        LocalityRegistered(
            registry_id=rid,
            locality_id=loc.id,
            name=loc.name,
            level_code=loc.level_code,
            parent_id=loc.parent_id,
            valid_from=loc.valid_from,
        )
        for loc in seed.ordered_localities()
    ]
    out += [
        UnitRegistered(
            registry_id=rid,
            unit_id=u.id,
            name=u.name,
            kind=u.kind.value,
            locality_id=u.locality_id,
            parent_id=u.parent_id,
            function=u.function,
            valid_from=u.valid_from,
        )
        for u in seed.ordered_units()
    ]
    out += [
        PersonRegistered(
            registry_id=rid,
            person_id=ps.id,
            full_name=ps.full_name,
            email=ps.contacts.email,
            phone=ps.contacts.phone,
            webhook_url=ps.contacts.webhook_url,
        )
        for ps in seed.persons
    ]
    out += [
        PersonAssigned(
            registry_id=rid,
            assignment_id=a.id,
            person_id=a.person_id,
            unit_id=a.unit_id,
            role=a.role,
            valid_from=a.valid_from,
            valid_to=a.valid_to,
            duties=a.duties,
        )
        for a in seed.assignments
    ]
    out += [
        DelegationGranted(
            registry_id=rid,
            delegation_id=d.id,
            unit_id=d.unit_id,
            role=d.role,
            delegate_id=d.delegate_id,
            valid_from=d.valid_from,
            valid_to=d.valid_to,
            reason=d.reason,
        )
        for d in seed.delegations
    ]
    assignments = {a.id: a for a in seed.assignments}
    out += [history_event(op, rid, assignments) for op in seed.history]
    return out


_CHANGES: Mapping[str, tuple[type[UnitChanged] | type[LocalityChanged], str, str, str]] = {
    # op: (event, its ``change``, the event field that changes, the history entry's key for it)
    "rename_unit": (UnitChanged, "renamed", "name", "name"),
    "reparent_unit": (UnitChanged, "reparented", "parent_id", "parent"),
    "relocate_unit": (UnitChanged, "relocated", "locality_id", "locality"),
    "rename_locality": (LocalityChanged, "renamed", "name", "name"),
    "reparent_locality": (LocalityChanged, "reparented", "parent_id", "parent"),
}
"""The history ops that are one ``*_changed`` event (the subject is ``unit`` or ``locality``)."""


def history_event(
    op: HistoryOp, registry_id: str, assignments: Mapping[str, object] | None = None
) -> OrgEvent:
    """The event for one seed ``history`` entry."""
    a, on, rid = op.args, op.on, registry_id
    if op.op in _CHANGES:
        event, change, field, key = _CHANGES[op.op]
        subject = {"unit_id": a["unit"]} if event is UnitChanged else {"locality_id": a["locality"]}
        return event(registry_id=rid, **subject, on=on, change=change, **{field: a[key]})
    match op.op:
        case "merge_units":
            new = a.get("new")
            return UnitsMerged(
                registry_id=rid,
                source_ids=tuple(a["sources"]),
                successor_id=a["into"],
                on=on,
                successor=_new_unit_spec(new) if isinstance(new, NewUnit) else None,
            )
        case "split_unit":
            return UnitSplit(
                registry_id=rid,
                source_id=a["source"],
                on=on,
                successors=tuple(_new_unit_spec(s) for s in a["into"]),
                children_to=dict(a["children_to"]),
            )
        case "dissolve_unit":
            return UnitDissolved(registry_id=rid, unit_id=a["unit"], on=on)
        case "merge_localities":
            new_loc = a.get("new")
            return LocalitiesMerged(
                registry_id=rid,
                source_ids=tuple(a["sources"]),
                successor_id=a["into"],
                on=on,
                new_name=new_loc.name if isinstance(new_loc, NewLocality) else None,
                new_level_code=new_loc.level_code if isinstance(new_loc, NewLocality) else None,
                new_parent_id=new_loc.parent_id if isinstance(new_loc, NewLocality) else None,
                relocate_units=a["relocate_units"],
            )
        case "dissolve_locality":
            return LocalityDissolved(registry_id=rid, locality_id=a["locality"], on=on)
        case "end_assignment":
            spec = (assignments or {}).get(a["assignment"])
            person_id = getattr(spec, "person_id", None)
            unit_id = getattr(spec, "unit_id", None)
            role = getattr(spec, "role", None)
            return PersonUnassigned(
                registry_id=rid,
                assignment_id=a["assignment"],
                person_id=person_id,
                unit_id=unit_id,
                role=role,
                on=on,
            )
        case _:  # pragma: no cover
            raise AssertionError(op.op)


def policy_events(policies: Iterable[ConsultationPolicy], registry_id: str = "vn") -> list[OrgEvent]:
    return [policy_to_event(p, registry_id) for p in policies]
