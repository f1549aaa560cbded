"""Persons, their positions (chức vụ, as effective-dated assignments) and delegations (ủy quyền).

Why positions are effective-dated assignments and not a field on the person: the
platform must answer "who had to sign / be notified on date D", including after a
reshuffle, and a person often holds several positions at once (e.g. Ủy viên Ban
Thường vụ Đảng ủy and Chủ tịch Ủy ban MTTQ xã — exactly the case §8 of Quyết định
357-QĐ/TU turns on).

Why delegations: the holder of a single-holder role may be away; a delegation for a
date range makes :meth:`Positions.acting_for` return the substitute, so
notifications and override authority follow the person actually acting. Who is *in
charge* of dân vận work is :mod:`shared.orgmodel.people`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from shared.orgmodel.errors import (
    AssignmentOverlap,
    DuplicateId,
    InvalidOperation,
    NotActive,
    OverlappingInterval,
    UnknownReference,
    day_vi,
    put_once,
)
from shared.orgmodel.hierarchy import Hierarchy
from shared.orgmodel.role_catalog import ROLE_CATALOG, RoleSpec
from shared.orgmodel.units import Interval

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .\-]{5,18}[0-9]$")


@dataclass(frozen=True)
class ContactChannels:
    """Where a person can be reached: thư điện tử, điện thoại, webhook of their agency system."""

    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None

    def __post_init__(self) -> None:
        if self.email is not None and not _EMAIL.match(self.email):
            raise InvalidOperation(
                f"Địa chỉ thư điện tử “{self.email}” không hợp lệ.", code="invalid_contact"
            )
        if self.phone is not None and not _PHONE.match(self.phone):
            raise InvalidOperation(f"Số điện thoại “{self.phone}” không hợp lệ.", code="invalid_contact")
        if self.webhook_url is not None and not self.webhook_url.startswith(("https://", "http://")):
            raise InvalidOperation(
                f"Địa chỉ webhook “{self.webhook_url}” phải bắt đầu bằng https:// hoặc http://.",
                code="invalid_contact",
            )


@dataclass
class Person:
    """A person (cán bộ) known to the registry."""

    id: str
    full_name: str
    contacts: ContactChannels


@dataclass
class Assignment:
    """A person holding a role in a unit for ``interval`` (``duties`` e.g. ``{"dan_van"}``)."""

    id: str
    person_id: str
    unit_id: str
    role: str
    interval: Interval
    duties: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Delegation:
    """``delegate_id`` acts in ``role`` of ``unit_id`` during ``interval`` (holder away)."""

    id: str
    unit_id: str
    role: str
    delegate_id: str
    interval: Interval
    reason: str = ""


@dataclass(frozen=True)
class Acting:
    """Who acts in a role on a date: the holder, or the delegate if a delegation covers it."""

    person_id: str
    unit_id: str
    role: str
    holder_id: str | None
    delegation_id: str | None

    @property
    def is_delegate(self) -> bool:
        return self.delegation_id is not None


@dataclass
class Positions:
    """Persons, assignments and delegations, validated against the unit hierarchy."""

    hierarchy: Hierarchy = field(compare=False, repr=False)
    persons: dict[str, Person] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    delegations: dict[str, Delegation] = field(default_factory=dict)
    roles: dict[str, RoleSpec] = field(default_factory=lambda: dict(ROLE_CATALOG))

    # -------------------------------------------------------------- commands

    def register_person(self, person_id: str, full_name: str, contacts: ContactChannels) -> None:
        if person_id in self.persons:
            raise DuplicateId(f"Mã cán bộ “{person_id}” đã được sử dụng.", id=person_id)
        if not full_name.strip():
            raise InvalidOperation(f"Họ tên của cán bộ “{person_id}” không được để trống.", code="empty_name")
        self.persons[person_id] = Person(person_id, full_name.strip(), contacts)

    def update_person(self, person_id: str, full_name: str, contacts: ContactChannels) -> None:
        person = self.person(person_id)
        person.full_name = full_name.strip() or person.full_name
        person.contacts = contacts

    def define_role(self, spec: RoleSpec) -> None:
        put_once(
            self.roles,
            spec.code,
            spec,
            lambda: DuplicateId(f"Chức vụ “{spec.code}” đã được khai báo với thông tin khác.", id=spec.code),
        )

    def assign(
        self,
        assignment_id: str,
        person_id: str,
        unit_id: str,
        role: str,
        valid_from: date,
        valid_to: date | None = None,
        duties: Iterable[str] = (),
    ) -> Assignment:
        """Record that a person holds ``role`` in ``unit_id`` during ``[valid_from, valid_to)``."""
        if assignment_id in self.assignments:
            raise DuplicateId(f"Mã phân công “{assignment_id}” đã được sử dụng.", id=assignment_id)
        self.person(person_id)
        spec = self.role(role)
        interval = Interval(valid_from, valid_to)
        self._check_unit_covers(unit_id, interval, what=f"phân công “{assignment_id}”")
        for other in self.assignments.values():
            if other.unit_id != unit_id or other.role != role or not other.interval.overlaps(interval):
                continue
            if spec.single_holder or other.person_id == person_id:
                raise AssignmentOverlap(
                    f"Chức vụ “{spec.title_vi}” của đơn vị “{unit_id}” đã có người giữ "
                    f"(“{other.person_id}”, {other.interval.describe()}) chồng lấn với khoảng "
                    f"{interval.describe()} của “{person_id}”.",
                    unit=unit_id,
                    role=role,
                    existing=other.id,
                )
        assignment = Assignment(assignment_id, person_id, unit_id, role, interval, frozenset(duties))
        self.assignments[assignment_id] = assignment
        return assignment

    def end_assignment(self, assignment_id: str, on: date) -> None:
        """End an assignment on ``on`` (miễn nhiệm / điều động); ``on`` must be inside it."""
        a = self.assignments.get(assignment_id)
        if a is None:
            raise UnknownReference(
                f"Không tìm thấy phân công “{assignment_id}”.", code="unknown_assignment", id=assignment_id
            )
        if on <= a.interval.start or not a.interval.ends_after(on):
            raise OverlappingInterval(
                f"Ngày kết thúc {day_vi(on)} nằm ngoài thời gian hiệu lực {a.interval.describe()} "
                f"của phân công “{assignment_id}”.",
                code="invalid_end_date",
                id=assignment_id,
            )
        a.interval = Interval(a.interval.start, on)

    def end_unit_assignments(self, unit_id: str, on: date) -> tuple[str, ...]:
        """Close every assignment / delegation of a unit that ends on ``on`` (merge, dissolution).

        Assignments that would only have started on/after ``on`` are cancelled. Returns
        the ids of the assignments touched.
        """
        touched: list[str] = []
        for aid, a in list(self.assignments.items()):
            if a.unit_id != unit_id or not a.interval.ends_after(on):
                continue
            touched.append(aid)
            if a.interval.start >= on:
                del self.assignments[aid]
            else:
                a.interval = Interval(a.interval.start, on)
        for did, d in list(self.delegations.items()):
            if d.unit_id != unit_id or not d.interval.ends_after(on):
                continue
            if d.interval.start >= on:
                del self.delegations[did]
            else:
                self.delegations[did] = Delegation(
                    d.id, d.unit_id, d.role, d.delegate_id, Interval(d.interval.start, on), d.reason
                )
        return tuple(touched)

    def grant_delegation(
        self,
        delegation_id: str,
        unit_id: str,
        role: str,
        delegate_id: str,
        valid_from: date,
        valid_to: date | None,
        reason: str = "",
    ) -> Delegation:
        """Let ``delegate_id`` act in a single-holder ``role`` of ``unit_id`` for a date range."""
        if delegation_id in self.delegations:
            raise DuplicateId(f"Mã ủy quyền “{delegation_id}” đã được sử dụng.", id=delegation_id)
        self.person(delegate_id)
        spec = self._single_holder(
            role, "Chỉ ủy quyền được cho chức vụ một người giữ; “{title}” có thể có nhiều người giữ."
        )
        interval = Interval(valid_from, valid_to)
        self._check_unit_covers(unit_id, interval, what=f"ủy quyền “{delegation_id}”")
        holder = self._holder_assignment(unit_id, role, valid_from)
        if holder is not None and holder.person_id == delegate_id:
            raise InvalidOperation(
                f"Người được ủy quyền “{delegate_id}” đang là người giữ chức vụ “{spec.title_vi}” "
                f"của đơn vị “{unit_id}”.",
                code="delegate_is_holder",
                id=delegation_id,
            )
        for other in self.delegations.values():
            if other.unit_id == unit_id and other.role == role and other.interval.overlaps(interval):
                raise OverlappingInterval(
                    f"Ủy quyền “{delegation_id}” {interval.describe()} chồng lấn với ủy quyền “{other.id}” "
                    f"{other.interval.describe()} cho cùng chức vụ “{spec.title_vi}” của đơn vị “{unit_id}”.",
                    code="delegation_overlap",
                    id=delegation_id,
                    existing=other.id,
                )
        delegation = Delegation(delegation_id, unit_id, role, delegate_id, interval, reason)
        self.delegations[delegation_id] = delegation
        return delegation

    # --------------------------------------------------------------- queries

    def person(self, person_id: str) -> Person:
        person = self.persons.get(person_id)
        if person is None:
            raise UnknownReference(
                f"Không tìm thấy cán bộ “{person_id}”.", code="unknown_person", id=person_id
            )
        return person

    def role(self, code: str) -> RoleSpec:
        spec = self.roles.get(code)
        if spec is None:
            raise UnknownReference(f"Không tìm thấy chức vụ “{code}”.", code="unknown_role", id=code)
        return spec

    def holders(self, unit_id: str, role: str, on: date) -> tuple[Person, ...]:
        """Every holder of ``role`` in ``unit_id`` on ``on`` (sorted by person id)."""
        self.role(role)
        ids = sorted(
            a.person_id
            for a in self.assignments.values()
            if a.unit_id == unit_id and a.role == role and a.interval.contains(on)
        )
        return tuple(self.persons[i] for i in ids)

    def positions_of(self, person_id: str, on: date) -> tuple[Assignment, ...]:
        self.person(person_id)
        found = [a for a in self.assignments.values() if a.person_id == person_id and a.interval.contains(on)]
        return tuple(sorted(found, key=lambda a: (a.unit_id, a.role)))

    def holds(self, person_id: str, unit_id: str, role: str, on: date) -> bool:
        return any(
            a.person_id == person_id and a.unit_id == unit_id and a.role == role and a.interval.contains(on)
            for a in self.assignments.values()
        )

    def acting_for(self, unit_id: str, role: str, on: date) -> Acting | None:
        """The one person acting in a single-holder role on ``on``, or None if vacant.

        A delegation covering ``on`` wins over the holder. If the unit no longer exists
        on ``on`` because it was merged, the role passes to its single successor.
        """
        self._single_holder(
            role, "Chức vụ “{title}” có thể có nhiều người giữ; hãy dùng danh sách người giữ chức vụ."
        )
        unit_id = self._current_unit(unit_id, on)
        holder = self._holder_assignment(unit_id, role, on)
        for d in self.delegations.values():
            if d.unit_id == unit_id and d.role == role and d.interval.contains(on):
                return Acting(d.delegate_id, unit_id, role, holder.person_id if holder else None, d.id)
        if holder is None:
            return None
        return Acting(holder.person_id, unit_id, role, holder.person_id, None)

    # ------------------------------------------------------------- internals

    def _single_holder(self, role: str, refusal_vi: str) -> RoleSpec:
        """The role, refused (``refusal_vi``, ``{title}`` = its title) unless it has one holder at a time."""
        spec = self.role(role)
        if not spec.single_holder:
            raise InvalidOperation(
                refusal_vi.format(title=spec.title_vi), code="role_not_single_holder", role=role
            )
        return spec

    def _holder_assignment(self, unit_id: str, role: str, on: date) -> Assignment | None:
        for a in self.assignments.values():
            if a.unit_id == unit_id and a.role == role and a.interval.contains(on):
                return a
        return None

    def _current_unit(self, unit_id: str, on: date) -> str:
        resolved = self.hierarchy.resolve(unit_id, on)
        if len(resolved) == 1:
            return resolved[0]
        if not resolved:
            raise NotActive(f"Đơn vị “{unit_id}” không tồn tại vào ngày {day_vi(on)}.", id=unit_id)
        raise NotActive(
            f"Đơn vị “{unit_id}” đã được chia tách trước ngày {day_vi(on)} thành {', '.join(resolved)}; "
            f"hãy chỉ rõ đơn vị kế thừa.",
            code="unit_split",
            id=unit_id,
        )

    def _check_unit_covers(self, unit_id: str, interval: Interval, *, what: str) -> None:
        existence = self.hierarchy.unit(unit_id).existence  # unknown_unit if not registered
        if not existence.covers(interval):
            raise NotActive(
                f"Thời gian {interval.describe()} của {what} nằm ngoài thời gian tồn tại "
                f"{existence.describe()} của đơn vị “{unit_id}”.",
                code="unit_not_active",
                id=unit_id,
            )
