"""What the tasks service publishes and consumes (feeds docs/asyncapi/tasks.json)."""

from shared.contract.envelope import Event
from shared.contract.events.decisions import DECISION_FACTS, DECISION_REQUEST_TYPES, RequestRejected
from shared.contract.events.org import ORG_EVENT_TYPES
from shared.contract.events.workflows import WORKFLOW_FACTS, WORKFLOW_REQUEST_TYPES

DESCRIPTION = (
    "Decision / pre-issuance consultation workflow (lấy ý kiến trước khi ban hành). Agency systems publish "
    "requests on tasks.decision-requests (draft, revision, issuance request, override, withdrawal…; notify "
    "publishes opinions given through action links). The service computes who must be consulted from its "
    "local copy of the org registry's policy, tracks opinions, deadlines in Vietnamese working days, reminders "
    "and escalation, and answers with facts on tasks.decisions — decision.issued only when the rule is met "
    "(or an authorised override is recorded), otherwise decision.issuance_refused naming what is missing. "
    "Refused requests get decision.request_rejected with a Vietnamese reason. The same service runs the other "
    "workflows on tasks.workflow-requests → tasks.workflows: complaints and petitions (§6), complex situations "
    "with escalation to the higher level (§7, Điều 22) and coordination plans with assigned tasks (plan 415-KH)."
)
PUBLISHES: list[type[Event]] = [*DECISION_FACTS, RequestRejected, *WORKFLOW_FACTS]
CONSUMES: list[type[Event]] = [*DECISION_REQUEST_TYPES, *WORKFLOW_REQUEST_TYPES, *ORG_EVENT_TYPES]
