"""The Decision aggregate: pre-issuance consultation of a document (lấy ý kiến trước khi ban hành).

The rule it enforces (Kiên Giang 357-QĐ/TU §5; Thanh Oai 05-QC/HU Điều 16–21): a document on
dân vận work, or touching the people's rights, must obtain the opinions of the Dân vận board,
the Fatherland Front and the socio-political organisations at the same level *before* it is
issued; when it touches many citizens it is also published for public comment; the Dân vận
board synthesises the opinions and reports them.

Style (cosmicpython / eventsourcing): every command method validates against the current
state, builds new facts (the pydantic models of :mod:`shared.contract.events.decisions`) with
``_fact`` (which fills their header), applies them to itself and returns them. State is *only*
ever changed by ``_when`` (:mod:`.state`), through the base's ``_apply``, so ``Decision.replay`` of
the returned facts rebuilds exactly the same aggregate; a snapshot of the state
(``take_snapshot`` / ``restore``) does too. A command that would break a rule raises
:class:`DomainError` and changes nothing. No I/O: the caller passes the time (``at`` / ``now``),
the consultation requirement and the calendar. The facts themselves (and their hash chain) are
the repository's: the aggregate keeps only its state.

Modules: :mod:`.status` (statuses and the commands each allows), :mod:`.messages` (Vietnamese
names and texts), :mod:`.state` (the state, ``_when``, queries and the issuance rule),
:mod:`.timers` (the one schedule of time-driven facts), :mod:`.consultation` and
:mod:`.commands` (the rules), :mod:`.coordination` (tasks after issuance).

State machine (``status``)::

    DRAFTED ──request_consultation──▶ CONSULTATION_REQUESTED ──give_opinion──▶ COLLECTING
       │                                      │                                    │
       │ revise (stays DRAFTED)               └──────────close_consultation────────┤
       ▼                                                                           ▼
    REVISED ◀──revise── (CONSULTATION_REQUESTED | COLLECTING | CONSULTATION_CLOSED | SYNTHESISED)
    REVISED ──give_opinion──▶ COLLECTING;  REVISED ──close_consultation──▶ CONSULTATION_CLOSED
    CONSULTATION_CLOSED ──synthesise──▶ SYNTHESISED ──request_issuance (rule met)──▶ ISSUED
    any non-terminal ──withdraw──▶ WITHDRAWN
    request_issuance (rule unmet) ──▶ IssuanceRefused, status unchanged

Decisions documented here because users will ask:

* **Late opinions** are accepted and flagged ``late`` (a consultee's opinion is what the rule
  wants; refusing it would only push the drafter towards an override). They are accepted until
  synthesis, including after the consultation was closed; after synthesis the opinion would
  not be in the board's report, so it is refused.
* **Opinions are bound to a draft version.** On revision, a consultee whose commented articles
  changed (text differs, or the article was removed) must give the opinion again, with a new
  deadline and a new reminder/escalation round; the others' opinions carry over. A synthesis
  and any override are bound to the version too and lapse on revision.
* **Closing early is refused** while a consultee without an opinion is still within its
  deadline: closing would silently take away the time the rule grants it.
* **Override** waives *missing consultee opinions only* (not synthesis, not the public comment
  window), only for a role listed in the requirement's ``override_roles``, always with a
  reason, and is recorded as an exception fact.
* **Idempotency.** Every command carries a ``command_id`` (the inbound ``request_id``). Facts
  record it; a command whose id was already processed returns ``[]`` and changes nothing.
  Reminders and escalations are time-driven: each fires at most once per consultee, round and
  kind, and the aggregate records which fired.
"""

from services.tasks.domain.decision.commands import Decision
from services.tasks.domain.decision.messages import COMMAND_VI, STATUS_VI
from services.tasks.domain.decision.state import ConsulteeState, PublicCommentState
from services.tasks.domain.decision.status import (
    ALLOWED_STATUSES,
    BOARD_KINDS,
    FRONT_KIND,
    NON_TERMINAL,
    OPEN_CONSULTATION,
    TERMINAL,
    DecisionStatus,
)

__all__ = [
    "ALLOWED_STATUSES",
    "BOARD_KINDS",
    "COMMAND_VI",
    "FRONT_KIND",
    "NON_TERMINAL",
    "OPEN_CONSULTATION",
    "STATUS_VI",
    "TERMINAL",
    "ConsulteeState",
    "Decision",
    "DecisionStatus",
    "PublicCommentState",
]
