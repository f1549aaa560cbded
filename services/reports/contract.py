"""What the reports service consumes and publishes (read by ``scripts/asyncapi.py``)."""

from __future__ import annotations

from shared.contract.envelope import Event
from shared.contract.events.decisions import DECISION_FACTS, RequestRejected
from shared.contract.events.org import ORG_EVENT_TYPES

DESCRIPTION = (
    "Read models and the operators' console (bảng điều khiển vận hành). Builds, from the facts "
    "of the decision workflow, one view per decision (consultees and their opinions, refused "
    "issuance attempts, overrides as exceptions, timeline) and the compliance figures of the "
    "reporting regime per issuing unit and period (month, quarter, 6 months, year); keeps a "
    "local copy of the org registry for unit names. Also reads every dead-letter topic "
    "(`<topic>.dlq`: the original bytes, not envelopes, with `dv-dlq-*` headers) so operators "
    "see what could not be processed and why. Publishes nothing."
)

PUBLISHES: list[type[Event]] = []

CONSUMES: list[type[Event]] = [*DECISION_FACTS, RequestRejected, *ORG_EVENT_TYPES]
