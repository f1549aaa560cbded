"""Who receives a notification for a unit, answered from notify's local org replica.

Why from the replica: notify must know whom to write to without calling the org service
(each service owns its data; org facts arrive on ``org.events``). The rules are the org
domain's own: the person in charge of dân vận work of the unit on the day
(§8 Quyết định 357-QĐ/TU), who is the substitute when a delegation covers the day; the head of
the unit for a level-1 escalation; the standing committee (Thường trực: Bí thư and Phó Bí thư
Thường trực) of the party committee for a level-2 escalation.

A unit the replica does not know yet raises :class:`ReplicaBehind` (transient: the consumer
retries, and dead-letters after its budget — visible). A vacant position or a person without
any contact is *not* an exception: the caller records a ``no_recipient`` delivery failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.vi_time import vn_date
from shared.orgmodel.errors import OrgDomainError, UnknownReference
from shared.orgmodel.people import KIEN_GIANG_357
from shared.orgmodel.replica import OrgReplica
from shared.orgmodel.role_catalog import HEAD_ROLES


class ReplicaBehind(Exception):
    """The unit is unknown to the local org copy (org events not yet received). Transient."""


@dataclass(frozen=True, slots=True)
class Contact:
    """One person to notify for a unit, with the channels they can be reached on."""

    person_id: str
    name: str
    unit_id: str
    unit_name: str
    role: str
    acting_as_substitute: bool
    email: str | None
    phone: str | None
    webhook_url: str | None

    @property
    def reachable(self) -> bool:
        return bool(self.email or self.phone or self.webhook_url)


@dataclass(frozen=True, slots=True)
class NoRecipient:
    """Nobody can be notified for ``unit_id``; ``reason_vi`` is shown to the operator."""

    unit_id: str
    unit_name: str
    reason_vi: str


class Recipients:
    def __init__(self, replica: OrgReplica) -> None:
        self.replica = replica

    def unit_name(self, unit_id: str, at: datetime) -> str:
        try:
            return self.replica.registry.hierarchy.unit_at(unit_id, vn_date(at)).name
        except (OrgDomainError, KeyError):
            return unit_id

    def _known(self, unit_id: str) -> None:
        if not self.replica.registry.hierarchy.has_unit(unit_id):
            raise ReplicaBehind(f"unit {unit_id!r} is not in notify's org replica yet")

    def _contact(self, unit_id: str, person_id: str, role: str, substitute: bool, at: datetime) -> Contact:
        person = self.replica.registry.people.person(person_id)
        return Contact(
            person_id=person_id,
            name=person.full_name,
            unit_id=unit_id,
            unit_name=self.unit_name(unit_id, at),
            role=role,
            acting_as_substitute=substitute,
            email=person.contacts.email,
            phone=person.contacts.phone,
            webhook_url=person.contacts.webhook_url,
        )

    def in_charge(self, unit_id: str, at: datetime) -> Contact | NoRecipient:
        """The person in charge of dân vận work for the unit on the day (holder or substitute)."""
        self._known(unit_id)
        try:
            ic = self.replica.registry.people.dan_van_in_charge(unit_id, vn_date(at), KIEN_GIANG_357)
        except UnknownReference as exc:
            raise ReplicaBehind(str(exc)) from exc
        except OrgDomainError as exc:
            return NoRecipient(unit_id, self.unit_name(unit_id, at), exc.message_vi)
        if ic.person_id is None:
            return NoRecipient(
                unit_id,
                self.unit_name(unit_id, at),
                "Chưa có người phụ trách công tác dân vận của đơn vị (chức vụ đang khuyết).",
            )
        return self._checked(self._contact(unit_id, ic.person_id, ic.role, ic.delegation_id is not None, at))

    def escalation(self, unit_id: str, role: str, at: datetime) -> list[Contact | NoRecipient]:
        """Recipients of an escalation: ``head`` of the unit (level 1) or the standing committee
        of the party committee (level 2). Falls back to the person in charge of dân vận work."""
        self._known(unit_id)
        people = self.replica.registry.people
        on = vn_date(at)
        roles = ("bi_thu", "pho_bi_thu_thuong_truc") if role == "standing_committee" else HEAD_ROLES
        found: list[Contact | NoRecipient] = []
        seen: set[str] = set()
        for r in roles:
            try:
                acting = people.acting_for(unit_id, r, on)
            except OrgDomainError:
                acting = None
            if acting is None or acting.person_id in seen:
                continue
            seen.add(acting.person_id)
            found.append(self._checked(self._contact(unit_id, acting.person_id, r, acting.is_delegate, at)))
            if role != "standing_committee":
                break  # the head: the first head role that is filled
        return found or [self.in_charge(unit_id, at)]

    def person(self, person_id: str, unit_id: str, at: datetime) -> Contact | NoRecipient:
        """A named person (e.g. who gave an opinion), writing for ``unit_id``."""
        try:
            return self._checked(self._contact(unit_id, person_id, "", False, at))
        except OrgDomainError:
            return NoRecipient(
                unit_id, self.unit_name(unit_id, at), f"Không tìm thấy cán bộ “{person_id}” trong sổ đăng ký."
            )

    @staticmethod
    def _checked(c: Contact) -> Contact | NoRecipient:
        if c.reachable:
            return c
        return NoRecipient(
            c.unit_id,
            c.unit_name,
            f"Cán bộ {c.name} ({c.person_id}) chưa có địa chỉ thư điện tử, số điện thoại hoặc webhook.",
        )
