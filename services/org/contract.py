"""What the org service publishes and consumes (feeds docs/asyncapi/org.json)."""

from shared.contract.envelope import Event
from shared.contract.events.org import ORG_EVENT_TYPES

DESCRIPTION = (
    "Org registry (sổ đăng ký tổ chức): units and levels with effective-dated history, people, positions, "
    "the person in charge of dân vận work, delegations, and the versioned consultation policy. Every change "
    "is published on org.events (key = registry id, one partition keeps the order) so other services keep "
    "a local copy."
)
PUBLISHES: list[type[Event]] = list(ORG_EVENT_TYPES)
CONSUMES: list[type[Event]] = []
