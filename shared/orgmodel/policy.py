"""Versioned, effective-dated consultation policy (quy định lấy ý kiến trước khi ban hành).

Why a policy object and not code: who must be consulted comes from regulations that
differ by jurisdiction (Kiên Giang 357-QĐ/TU §5, Thanh Oai 05-QC/HU) and change over
time; a draft is judged by the policy version in force on the date asked, and every
answer carries the citations it rests on so an official can check it.

Why consultees are *kinds* resolved through the hierarchy: the rule says "the Ban Dân
vận, the Fatherland Front and the socio-political organisations **at the same level**";
which concrete units those are depends on the issuer's địa bàn on that date (and
changes with merges). :func:`required_consultation` does that resolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum

from shared.orgmodel.errors import DuplicateId, InvalidOperation, PolicyError, day_vi, parse_code, put_once
from shared.orgmodel.hierarchy import Hierarchy
from shared.orgmodel.units import UnitAt, UnitKind

DEFAULT_WINDOW_WORKING_DAYS = 10
"""Default minimum response window. Neither 357-QĐ/TU §5 nor 05-QC/HU gives a number of
days; 10 working days is a platform default, configurable per rule."""


class DocumentType(StrEnum):
    """Kinds of documents (loại văn bản) an issuer may draft."""

    NGHI_QUYET = "nghi_quyet"
    """Nghị quyết (resolution)."""
    CHI_THI = "chi_thi"
    """Chỉ thị (directive)."""
    QUYET_DINH = "quyet_dinh"
    """Quyết định (decision)."""
    VAN_BAN_QPPL = "van_ban_qppl"
    """Văn bản quy phạm pháp luật (legal normative document)."""
    KE_HOACH = "ke_hoach"
    """Kế hoạch (plan)."""
    DE_AN = "de_an"
    """Đề án (scheme / project proposal)."""
    CHUONG_TRINH = "chuong_trinh"
    """Chương trình (programme)."""
    KET_LUAN = "ket_luan"
    """Kết luận (conclusion)."""
    QUY_DINH = "quy_dinh"
    """Quy định (regulation)."""
    QUY_CHE = "quy_che"
    """Quy chế (rules of procedure)."""
    CHU_TRUONG = "chu_truong"
    """Chủ trương (policy line)."""
    CHINH_SACH = "chinh_sach"
    """Chính sách (policy / mechanism)."""
    DU_AN = "du_an"
    """Dự án (project, e.g. land clearance)."""
    THONG_BAO = "thong_bao"
    """Thông báo (notice)."""
    BAO_CAO = "bao_cao"
    """Báo cáo (report)."""

    @classmethod
    def parse(cls, raw: str) -> DocumentType:
        return parse_code(
            cls,
            raw,
            lambda known: PolicyError(
                f"Loại văn bản “{raw}” không tồn tại; các loại hợp lệ: {known}.",
                code="unknown_document_type",
                id=raw,
            ),
        )


class Flag(StrEnum):
    """Properties of a draft that trigger duties."""

    TOUCHES_PEOPLES_RIGHTS = "touches_peoples_rights"
    """Liên quan đến quyền, lợi ích của các tầng lớp nhân dân."""
    TOUCHES_MANY_CITIZENS = "touches_many_citizens"
    """Liên quan trực tiếp đến quyền lợi và trách nhiệm của đông đảo công dân."""
    ON_DAN_VAN_WORK = "on_dan_van_work"
    """Về công tác dân vận."""


@dataclass(frozen=True)
class DocumentFlags:
    """The flags the drafter declares for a document."""

    touches_peoples_rights: bool = False
    touches_many_citizens: bool = False
    on_dan_van_work: bool = False

    def active(self) -> frozenset[Flag]:
        out: set[Flag] = set()
        if self.touches_peoples_rights:
            out.add(Flag.TOUCHES_PEOPLES_RIGHTS)
        if self.touches_many_citizens:
            out.add(Flag.TOUCHES_MANY_CITIZENS)
        if self.on_dan_van_work:
            out.add(Flag.ON_DAN_VAN_WORK)
        return frozenset(out)


@dataclass(frozen=True)
class ConsulteeGroup:
    """One consultee requirement: all units of the first kind in ``kinds`` present at the địa bàn.

    ``kinds=(dan_van_board, dan_van_bloc)`` reads "the Ban Dân vận, or where there is
    none (commune) the Khối dân vận". ``required=False`` marks units that take part
    where they exist but whose silence does not block issuance (hội quần chúng).
    """

    kinds: tuple[UnitKind, ...]
    required: bool = True
    label_vi: str = ""

    def __post_init__(self) -> None:
        if not self.kinds:
            raise PolicyError(
                "Nhóm đơn vị được lấy ý kiến phải có ít nhất một loại đơn vị.", code="empty_group"
            )
        for k in self.kinds:
            if not isinstance(k, UnitKind):
                UnitKind.parse(str(k))


@dataclass(frozen=True)
class OverrideAuthority:
    """Who may authorise issuing without a complete consultation: roles in a same-level unit."""

    unit_kind: UnitKind
    roles: tuple[str, ...]
    body_vi: str


@dataclass(frozen=True)
class PolicyRule:
    """One rule of a consultation policy, with the regulation it comes from."""

    id: str
    citation: str
    description_vi: str
    issuer_kinds: frozenset[UnitKind]
    document_types: frozenset[DocumentType]
    triggers: frozenset[Flag]
    """The rule applies if the draft has any of these flags."""
    consultees: tuple[ConsulteeGroup, ...] = ()
    window_working_days: int = DEFAULT_WINDOW_WORKING_DAYS
    public_comment_if: frozenset[Flag] = frozenset()
    """Public comment (lấy ý kiến rộng rãi) is required if the draft has any of these flags."""
    publication_kinds: tuple[UnitKind, ...] = ()
    """Same-level units that publish the draft for public comment (Báo, Đài)."""
    override: tuple[OverrideAuthority, ...] = ()
    synthesiser_kinds: tuple[UnitKind, ...] = ()
    """Who leads the synthesis of opinions (first kind present wins)."""
    report_to_kinds: tuple[UnitKind, ...] = ()
    """Who receives the synthesis (cấp ủy, UBND cùng cấp)."""
    applies_within: tuple[str, ...] = ()
    """địa bàn ids whose subtree the rule covers; empty = everywhere."""

    def __post_init__(self) -> None:
        if self.window_working_days < 1:
            raise PolicyError(
                f"Quy tắc “{self.id}”: thời hạn trả lời phải ít nhất 1 ngày làm việc.",
                code="invalid_window",
                id=self.id,
            )
        if not self.citation.strip():
            raise PolicyError(
                f"Quy tắc “{self.id}” phải có trích dẫn văn bản căn cứ.", code="missing_citation"
            )
        kinds: list[UnitKind] = [
            *self.issuer_kinds,
            *self.publication_kinds,
            *self.synthesiser_kinds,
            *self.report_to_kinds,
            *(o.unit_kind for o in self.override),
        ]
        for k in kinds:
            if not isinstance(k, UnitKind):
                UnitKind.parse(str(k))

    def matches(self, issuer_kind: UnitKind, doc_type: DocumentType, flags: frozenset[Flag]) -> bool:
        return (
            issuer_kind in self.issuer_kinds
            and doc_type in self.document_types
            and bool(self.triggers & flags)
        )

    def in_scope(self, locality_id: str, on: date, hierarchy: Hierarchy) -> bool:
        return not self.applies_within or any(
            hierarchy.has_locality(root) and hierarchy.is_within(locality_id, root, on)
            for root in self.applies_within
        )


@dataclass(frozen=True)
class ConsultationPolicy:
    """A published version of the policy, in force from ``effective_from``."""

    version: int
    effective_from: date
    rules: tuple[PolicyRule, ...]
    no_consultation_citation: str = "Quyết định 357-QĐ/TU (Kiên Giang), mục 5"
    """Cited when no rule applies (the scope clause of the regulation)."""
    title_vi: str = ""

    def __post_init__(self) -> None:
        if self.version < 1:
            raise PolicyError("Số phiên bản chính sách phải là số nguyên dương.", code="invalid_version")
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise DuplicateId(f"Mã quy tắc “{r.id}” bị trùng trong phiên bản {self.version}.", id=r.id)
            seen.add(r.id)


@dataclass
class PolicySet:
    """All published versions; picks the one in force on a date."""

    versions: dict[int, ConsultationPolicy] = field(default_factory=dict)

    def publish(self, policy: ConsultationPolicy) -> None:
        put_once(
            self.versions,
            policy.version,
            policy,
            lambda: DuplicateId(
                f"Phiên bản chính sách {policy.version} đã được công bố với nội dung khác.",
                code="duplicate_policy_version",
                id=policy.version,
            ),
        )

    def in_force(self, on: date) -> ConsultationPolicy:
        """The version with the latest ``effective_from <= on`` (ties: the higher version)."""
        candidates = [p for p in self.versions.values() if p.effective_from <= on]
        if not candidates:
            raise PolicyError(
                f"Không có phiên bản chính sách lấy ý kiến nào có hiệu lực vào ngày {day_vi(on)}.",
                code="no_policy_in_force",
                on=on,
            )
        return max(candidates, key=lambda p: (p.effective_from, p.version))


@dataclass(frozen=True)
class Consultee:
    """A concrete unit that must (or may) give its opinion, and the rule that says so."""

    unit_id: str
    name: str
    kind: UnitKind
    rule_id: str


@dataclass(frozen=True)
class MissingConsultee:
    """A required group that resolved to no unit at the địa bàn: a gap in the registry."""

    kinds: tuple[UnitKind, ...]
    rule_id: str
    citation: str


@dataclass(frozen=True)
class OverrideRole:
    """A concrete (unit, role) allowed to authorise an override, e.g. (Tỉnh ủy, bi_thu)."""

    unit_id: str
    role: str
    body_vi: str


@dataclass(frozen=True, kw_only=True)
class ConsultationRequirement:
    """What must happen before a draft may be issued (the answer of :func:`required_consultation`).

    What no matching rule asks for is empty (the answer when no consultation is required).
    """

    required: bool
    issuer_id: str
    locality_id: str
    on: date
    policy_version: int
    rule_ids: tuple[str, ...] = ()
    consultees: tuple[Consultee, ...] = ()
    optional_consultees: tuple[Consultee, ...] = ()
    missing: tuple[MissingConsultee, ...] = ()
    window_working_days: int = 0
    public_comment: bool = False
    publication_unit_ids: tuple[str, ...] = ()
    override_roles: tuple[OverrideRole, ...] = ()
    synthesiser_id: str | None = None
    report_to_ids: tuple[str, ...] = ()
    citations: tuple[str, ...]
    reason_vi: str

    @property
    def consultee_ids(self) -> tuple[str, ...]:
        return tuple(c.unit_id for c in self.consultees)


def required_consultation(
    issuer: UnitAt | str,
    doc_type: DocumentType,
    flags: DocumentFlags,
    on: date,
    registry: Hierarchy,
    policies: PolicySet | ConsultationPolicy,
) -> ConsultationRequirement:
    """Resolve who must be consulted before ``issuer`` issues a ``doc_type`` with ``flags`` on ``on``.

    Pure: reads the hierarchy and the policy version in force on ``on``. All matching
    rules are combined (union of consultees, longest window, public comment if any
    rule demands it). A draft that touches no rights and is not on dân vận work needs
    no consultation; the answer then cites the policy's scope clause. Raises
    :class:`PolicyError` if the issuer's địa bàn is covered by no rule of the version
    in force (the registry and the policy disagree: better loud than silent).
    """
    issuer_id = issuer if isinstance(issuer, str) else issuer.id
    unit = registry.unit_at(issuer_id, on)
    policy = policies if isinstance(policies, ConsultationPolicy) else policies.in_force(on)
    scoped = [r for r in policy.rules if r.in_scope(unit.locality_id, on, registry)]
    if not scoped:
        raise PolicyError(
            f"Phiên bản chính sách {policy.version} không có quy tắc nào áp dụng cho địa bàn "
            f"“{unit.locality_id}” của “{issuer_id}”.",
            code="no_rule_for_jurisdiction",
            id=issuer_id,
        )
    active = flags.active()
    matching = [r for r in scoped if r.matches(unit.kind, doc_type, active)]
    answer = ConsultationRequirement(
        required=False,
        issuer_id=issuer_id,
        locality_id=unit.locality_id,
        on=on,
        policy_version=policy.version,
        citations=(policy.no_consultation_citation,),
        reason_vi=(
            "Không bắt buộc lấy ý kiến: văn bản không thuộc lĩnh vực công tác dân vận và không liên quan "
            "đến quyền, lợi ích của nhân dân (hoặc loại văn bản/cơ quan ban hành không thuộc phạm vi quy tắc)."
        ),
    )
    if not matching:
        return answer
    consultees: dict[str, Consultee] = {}
    optional: dict[str, Consultee] = {}
    missing: list[MissingConsultee] = []
    publication: list[str] = []
    overrides: dict[tuple[str, str], OverrideRole] = {}
    synthesiser: str | None = None
    report_to: list[str] = []
    public_comment = False
    for rule in matching:
        for group in rule.consultees:
            found = [u for u in registry.counterparts(unit.locality_id, group.kinds, on) if u.id != issuer_id]
            target = consultees if group.required else optional
            for u in found:
                if u.id not in consultees:
                    target.setdefault(u.id, Consultee(u.id, u.name, u.kind, rule.id))
            if group.required and not found:
                missing.append(MissingConsultee(group.kinds, rule.id, rule.citation))
        if rule.public_comment_if & active:
            public_comment = True
            _extend(
                publication,
                (u.id for u in registry.counterparts(unit.locality_id, rule.publication_kinds, on)),
            )
        for auth in rule.override:
            for u in registry.counterparts(unit.locality_id, auth.unit_kind, on):
                for role in auth.roles:
                    overrides.setdefault((u.id, role), OverrideRole(u.id, role, auth.body_vi))
        if synthesiser is None and rule.synthesiser_kinds:
            found_synth = registry.counterparts(unit.locality_id, rule.synthesiser_kinds, on)
            synthesiser = found_synth[0].id if found_synth else None
        for kind in rule.report_to_kinds:
            _extend(report_to, (u.id for u in registry.counterparts(unit.locality_id, kind, on)))
    for uid in consultees:
        optional.pop(uid, None)
    citations: list[str] = []
    _extend(citations, (r.citation for r in matching))
    names = ", ".join(c.name for c in consultees.values())
    return replace(
        answer,
        required=True,
        rule_ids=tuple(r.id for r in matching),
        consultees=tuple(consultees.values()),
        optional_consultees=tuple(optional.values()),
        missing=tuple(missing),
        window_working_days=max(r.window_working_days for r in matching),
        public_comment=public_comment,
        publication_unit_ids=tuple(publication),
        override_roles=tuple(overrides.values()),
        synthesiser_id=synthesiser,
        report_to_ids=tuple(report_to),
        citations=tuple(citations),
        reason_vi=f"Phải lấy ý kiến trước khi ban hành: {names}."
        if names
        else "Phải lấy ý kiến trước khi ban hành.",
    )


def _extend(target: list[str], items: Iterable[str]) -> None:
    for item in items:
        if item not in target:
            target.append(item)


def add_working_days(
    start: date, days: int, holidays: Sequence[date] | frozenset[date] = frozenset()
) -> date:
    """The date ``days`` working days after ``start`` (Saturdays, Sundays and ``holidays`` skipped).

    The response deadline of a consultation is ``add_working_days(sent_on, window)``;
    the holiday calendar is data supplied by the caller (Tết moves every year).
    """
    if days < 0:
        raise InvalidOperation("Số ngày làm việc không được âm.", code="invalid_days")
    off = frozenset(holidays)
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in off:
            remaining -= 1
    return current
