"""The parties at the same level that complaints and situations involve (357-QĐ/TU §6–7): the
Dân vận board and the Fatherland Front must be among them, and the board, the Front and the
socio-political organisations are assigned to mobilise the people, the board leading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from shared.contract.events.workflows import MobilisationTask, PartyRef, PartyRole
from shared.eventsourcing.errors import DomainError

MOBILISER_ROLES = (PartyRole.DAN_VAN_BOARD, PartyRole.FATHERLAND_FRONT, PartyRole.SOCIO_POLITICAL_ORG)
MASS_ORG_ROLES = frozenset({PartyRole.FATHERLAND_FRONT, PartyRole.SOCIO_POLITICAL_ORG})


def require_board_and_front(parties: Sequence[PartyRef], message_vi: str) -> None:
    """Refused (``recipients_below_rule``) unless the board and the Front are among ``parties``."""
    roles = {p.role for p in parties}
    if PartyRole.DAN_VAN_BOARD not in roles or PartyRole.FATHERLAND_FRONT not in roles:
        raise DomainError("recipients_below_rule", message_vi, {"roles": sorted(r.value for r in roles)})


def mobilisation_tasks(
    id_prefix: str, parties: Iterable[PartyRef], title_vi: Callable[[bool], str]
) -> tuple[MobilisationTask, ...]:
    """One task per mobilising party (``{id_prefix}:mob:{n}``); ``title_vi(lead)`` names it."""
    tasks: list[MobilisationTask] = []
    for party in parties:
        if party.role not in MOBILISER_ROLES:
            continue
        lead = party.role == PartyRole.DAN_VAN_BOARD
        tasks.append(
            MobilisationTask(
                task_id=f"{id_prefix}:mob:{len(tasks) + 1}",
                assignee=party,
                lead=lead,
                title_vi=title_vi(lead),
            )
        )
    return tuple(tasks)


def name_of(party: PartyRef) -> str:
    """How a party is named in a message: its Vietnamese name, else its unit id."""
    return party.name_vi or party.unit_id
