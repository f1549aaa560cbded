"""Kafka topic names. Partition key is always the envelope subject (aggregate id).

Each topic has a dead-letter twin ``<topic>.dlq`` carrying the original bytes and
the reason in headers.
"""

from typing import Final

ORG_EVENTS: Final = "org.events"
"""Org registry facts: units, people/assignments, consultation policy."""

DECISION_REQUESTS: Final = "tasks.decision-requests"
"""Inbound requests about decisions: from agency systems (draft, issuance request,
withdrawal, override) and from notify (opinions given through action links)."""

DECISION_EVENTS: Final = "tasks.decisions"
"""Facts of the decision/consultation workflow."""

WORKFLOW_REQUESTS: Final = "tasks.workflow-requests"
"""Inbound requests for complaints, complex situations and coordination plans."""

WORKFLOW_EVENTS: Final = "tasks.workflows"
"""Facts of complaints, complex situations and coordination plans."""

NOTIFY_EVENTS: Final = "notify.events"
"""Delivery facts: sent, failed, dead-lettered."""

REPORT_EVENTS: Final = "reports.events"
"""Periodic reporting regime facts."""

ALL: Final = (
    ORG_EVENTS,
    DECISION_REQUESTS,
    DECISION_EVENTS,
    WORKFLOW_REQUESTS,
    WORKFLOW_EVENTS,
    NOTIFY_EVENTS,
    REPORT_EVENTS,
)


def dead_letter(topic: str) -> str:
    return f"{topic}.dlq"
