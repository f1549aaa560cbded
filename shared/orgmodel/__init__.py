"""The org model every service shares (no I/O): hierarchy, people, consultation policy, projection.

Why shared and not ``services.org``'s private package: tasks, notify and reports each keep a
copy of the registry (:mod:`shared.orgmodel.replica`) projected from ``org.events`` with this
same pure code, so all four services agree by construction without importing one another.

Versioned: :data:`MODEL_VERSION` changes when the projection of the *same* events would give a
different registry (a new rule, a changed default). Additive changes (a new event type, a new
query) keep it. Every instance reports it in ``/health`` beside ``org_position`` so an operator
sees a mixed fleet. Keep it free of Kafka/Mongo/HTTP except the replica adapter.
"""

from shared.orgmodel.errors import OrgDomainError, SeedFormatError
from shared.orgmodel.hierarchy import Hierarchy, NewLocality
from shared.orgmodel.people import KIEN_GIANG_357, THANH_OAI_05, PeopleRegistry
from shared.orgmodel.policy import (
    ConsultationPolicy,
    ConsultationRequirement,
    DocumentFlags,
    DocumentType,
    PolicySet,
    add_working_days,
    required_consultation,
)
from shared.orgmodel.positions import ContactChannels
from shared.orgmodel.projection import Projection, apply, replay, seed_events
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.units import Level, NewUnit, UnitAt, UnitKind

MODEL_VERSION = 1
"""Bumped when the same ``org.events`` would project to a different registry."""

__all__ = [
    "KIEN_GIANG_357",
    "MODEL_VERSION",
    "THANH_OAI_05",
    "ConsultationPolicy",
    "ConsultationRequirement",
    "ContactChannels",
    "DocumentFlags",
    "DocumentType",
    "Hierarchy",
    "Level",
    "NewLocality",
    "NewUnit",
    "OrgDomainError",
    "OrgRegistry",
    "PeopleRegistry",
    "PolicySet",
    "Projection",
    "SeedFormatError",
    "UnitAt",
    "UnitKind",
    "add_working_days",
    "apply",
    "replay",
    "required_consultation",
    "seed_events",
]
