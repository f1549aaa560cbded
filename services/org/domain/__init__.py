"""Pure domain of the org registry (no I/O): hierarchy, people, consultation policy, projection.

Imported directly by other services (e.g. tasks) as a shared library to compute required
consultees from their local copy of ``org.events``. Keep it free of Kafka/Mongo/HTTP.
"""

from services.org.domain.errors import OrgDomainError, SeedFormatError
from services.org.domain.hierarchy import Hierarchy, NewLocality
from services.org.domain.people import KIEN_GIANG_357, THANH_OAI_05, ContactChannels, PeopleRegistry
from services.org.domain.policy import (
    ConsultationPolicy,
    ConsultationRequirement,
    DocumentFlags,
    DocumentType,
    PolicySet,
    add_working_days,
    required_consultation,
)
from services.org.domain.projection import Projection, apply, replay, seed_events
from services.org.domain.registry import OrgRegistry
from services.org.domain.units import Level, NewUnit, UnitAt, UnitKind

__all__ = [
    "KIEN_GIANG_357",
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
