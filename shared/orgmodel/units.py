"""Units (đơn vị) and localities (địa bàn) of the political system, with effective dating.

Why effective dating everywhere: consultation duties are decided "as of" a date (the
day a draft is submitted, the day it is issued), and Vietnam's administrative map
changes (2025: districts abolished, provinces and communes merged). A question such
as "who was the Ban Dân vận of X on 2024-03-01" must keep its historical answer after
X is merged away, so names, parents and địa bàn of a unit are time lines, not fields.

Why administrative levels are data (:class:`Level`), not an enum: the number of local
levels changed in 2025 (three → two). Logic only compares ``rank`` (smaller = higher
up); it never branches on "district".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Generic, TypeVar

from shared.orgmodel.errors import InvalidInterval, OverlappingInterval, UnknownUnitKind, parse_code

T = TypeVar("T")


class UnitKind(StrEnum):
    """The kind of a unit in the political system (see DOMAIN.md, table "Who").

    The kind decides the unit's role in consultation (mandatory consultee,
    synthesiser, issuer...), independent of the administrative level.
    """

    PARTY_COMMITTEE = "party_committee"
    """Cấp ủy — Tỉnh ủy / Huyện ủy / Thành ủy / Đảng ủy xã (with Ban Thường vụ, Thường trực)."""
    DAN_VAN_BOARD = "dan_van_board"
    """Ban Dân vận of a party committee: mandatory consultee and synthesiser."""
    DAN_VAN_BLOC = "dan_van_bloc"
    """Khối dân vận (commune level): plays the board's role where there is no board."""
    PARTY_BOARD = "party_board"
    """Other party organs: Văn phòng cấp ủy, Ban Tổ chức, Ban Tuyên giáo, Ủy ban Kiểm tra, Ban Nội chính…"""
    PEOPLES_COUNCIL = "peoples_council"
    """Hội đồng nhân dân (HĐND)."""
    PEOPLES_COMMITTEE = "peoples_committee"
    """Ủy ban nhân dân (UBND)."""
    DEPARTMENT = "department"
    """Sở / ngành (province), phòng / ban (district), Văn phòng UBND."""
    JUDICIAL = "judicial"
    """Tòa án, Viện kiểm sát."""
    ARMED_FORCES = "armed_forces"
    """Quân sự, Công an."""
    FATHERLAND_FRONT = "fatherland_front"
    """Ủy ban Mặt trận Tổ quốc Việt Nam (MTTQ)."""
    SOCIO_POLITICAL_ORG = "socio_political_org"
    """Tổ chức chính trị – xã hội: Đoàn Thanh niên, Hội LHPN, Hội Nông dân, Hội CCB, Liên đoàn Lao động."""
    MASS_ASSOCIATION = "mass_association"
    """Hội quần chúng (được Đảng, Nhà nước giao nhiệm vụ)."""
    MEDIA = "media"
    """Báo, Đài Phát thanh – Truyền hình: publish drafts for public comment."""
    POLITICAL_SCHOOL = "political_school"
    """Trường Chính trị: training in dân vận work."""

    @classmethod
    def parse(cls, raw: str) -> UnitKind:
        """Parse a kind code, refusing unknown codes with a Vietnamese message."""
        return parse_code(
            cls,
            raw,
            lambda known: UnknownUnitKind(
                f"Loại đơn vị “{raw}” không tồn tại; các loại hợp lệ: {known}.", kind=raw
            ),
        )


@dataclass(frozen=True)
class Level:
    """An administrative level (cấp hành chính) as data.

    ``rank`` orders levels top-down (1 = province). A địa bàn's parent must have a
    strictly smaller rank; nothing else in the domain looks at the code.
    """

    code: str
    rank: int
    name_vi: str


PROVINCE = Level("province", 1, "Cấp tỉnh")
DISTRICT = Level("district", 2, "Cấp huyện")
COMMUNE = Level("commune", 3, "Cấp xã")
DEFAULT_LEVELS: tuple[Level, ...] = (PROVINCE, DISTRICT, COMMUNE)
"""The three local levels before 1 July 2025; seeds may define others."""


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open date interval ``[start, end)``; ``end=None`` means "until further notice".

    Half-open so that "A ends on D" and "B starts on D" do not overlap: an operation
    dated D takes effect on D.
    """

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise InvalidInterval(
                f"Khoảng thời gian không hợp lệ: ngày kết thúc {self.end.isoformat()} "
                f"phải sau ngày bắt đầu {self.start.isoformat()}.",
                start=self.start,
                end=self.end,
            )

    def contains(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on < self.end)

    def overlaps(self, other: Interval) -> bool:
        return (other.end is None or self.start < other.end) and (self.end is None or other.start < self.end)

    def covers(self, inner: Interval) -> bool:
        """True if every day of ``inner`` is inside this interval."""
        if inner.start < self.start:
            return False
        if self.end is None:
            return True
        return inner.end is not None and inner.end <= self.end

    def ends_after(self, on: date) -> bool:
        """True if some day ``>= on`` is inside the interval."""
        return self.end is None or self.end > on

    def describe(self) -> str:
        end = self.end.isoformat() if self.end is not None else "nay"
        return f"[{self.start.isoformat()} – {end})"


@dataclass(frozen=True)
class Dated(Generic[T]):
    """A value that holds during an interval."""

    interval: Interval
    value: T


@dataclass
class Timeline(Generic[T]):
    """Non-overlapping, ordered effective-dated values of one attribute.

    Why append-only: events are applied in order by every service that keeps a
    local copy; allowing back-dated inserts would make copies diverge on replay.
    A change dated on or before the last recorded change is refused as an overlap.
    """

    entries: list[Dated[T]] = field(default_factory=list)

    @classmethod
    def of(cls, entries: Iterable[Dated[T]], *, what: str) -> Timeline[T]:
        """Build from explicit intervals (bulk import), refusing overlaps."""
        ordered = sorted(entries, key=lambda e: e.interval.start)
        for a, b in pairwise(ordered):
            if a.interval.overlaps(b.interval):
                raise OverlappingInterval(
                    f"Các khoảng hiệu lực của {what} chồng lấn nhau: "
                    f"{a.interval.describe()} và {b.interval.describe()}.",
                    what=what,
                )
        return cls(list(ordered))

    @classmethod
    def starting(cls, on: date, value: T) -> Timeline[T]:
        """``value`` from ``on`` until further notice."""
        return cls([Dated(Interval(on), value)])

    def entry_at(self, on: date) -> Dated[T] | None:
        for entry in reversed(self.entries):
            if entry.interval.contains(on):
                return entry
        return None

    def last(self) -> Dated[T] | None:
        return self.entries[-1] if self.entries else None

    def change_from(self, on: date, value: T, *, what: str) -> None:
        """Make ``value`` hold from ``on`` until the end of the current last entry."""
        last = self.last()
        if last is None:
            self.entries.append(Dated(Interval(on), value))
            return
        if on <= last.interval.start:
            raise OverlappingInterval(
                f"Thay đổi {what} từ ngày {on.isoformat()} chồng lấn với giá trị đã ghi nhận "
                f"từ ngày {last.interval.start.isoformat()}; lịch sử chỉ được ghi tiếp theo thứ tự thời gian.",
                what=what,
                on=on,
            )
        if last.interval.end is not None and on >= last.interval.end:
            self.entries.append(Dated(Interval(on), value))
            return
        self.entries[-1] = Dated(Interval(last.interval.start, on), last.value)
        self.entries.append(Dated(Interval(on, last.interval.end), value))

    def close(self, on: date) -> None:
        """End the timeline at ``on``: entries starting on/after ``on`` never take effect.

        (E.g. a bloc re-parented on D because its party committee merged on D, and
        itself merged on D too.) The caller has checked ``on`` is after the first start.
        """
        while len(self.entries) > 1 and self.entries[-1].interval.start >= on:
            self.entries.pop()
        last = self.last()
        if last is not None and last.interval.ends_after(on):
            self.entries[-1] = Dated(Interval(last.interval.start, on), last.value)

    def change_dates(self) -> list[date]:
        return [e.interval.start for e in self.entries]


class TreeNode:
    """What a địa bàn and a unit share: an id, a life, dated names and parents, successors at the end.

    Not a dataclass: :class:`Locality` and :class:`Unit` declare the fields themselves (their
    order is their constructor's); this class holds the behaviour the two trees share.
    """

    id: str
    existence: Interval
    names: Timeline[str]
    parents: Timeline[str | None]
    successor_ids: tuple[str, ...]

    def exists_at(self, on: date) -> bool:
        return self.existence.contains(on)

    def name_at(self, on: date) -> str | None:
        entry = self.names.entry_at(on)
        return entry.value if entry else None

    def parent_at(self, on: date) -> str | None:
        entry = self.parents.entry_at(on)
        return entry.value if entry else None

    def end(self, on: date, successors: tuple[str, ...]) -> None:
        """Stop existing on ``on`` (dated values close with it), naming who carries on."""
        self.existence = Interval(self.existence.start, on)
        self.names.close(on)
        self.parents.close(on)
        self.successor_ids = successors


@dataclass
class Locality(TreeNode):
    """A địa bàn (administrative area: province / district / commune...).

    Units belong to a địa bàn; "the same level" in the consultation rule means
    "the same địa bàn". A địa bàn has its own effective-dated name and parent so
    that communes can move from a district to the province (2025) or merge.
    """

    id: str
    level_code: str
    existence: Interval
    names: Timeline[str]
    parents: Timeline[str | None]
    successor_ids: tuple[str, ...] = ()


@dataclass
class Unit(TreeNode):
    """A unit (đơn vị / cơ quan / tổ chức) of the political system.

    ``function`` distinguishes units of the same kind at one địa bàn (e.g. the five
    socio-political organisations: ``doan_thanh_nien``, ``hoi_lhpn``...; or a
    ``van_phong`` among departments) so that successors can be paired on merges and
    the right Văn phòng found for staff support (§8, Quyết định 357-QĐ/TU).
    """

    id: str
    kind: UnitKind
    existence: Interval
    names: Timeline[str]
    parents: Timeline[str | None]
    localities: Timeline[str]
    function: str | None = None
    successor_ids: tuple[str, ...] = ()
    end_reason: str | None = None

    def locality_at(self, on: date) -> str | None:
        entry = self.localities.entry_at(on)
        return entry.value if entry else None

    def end_for(self, on: date, successors: tuple[str, ...], reason: str) -> None:
        """:meth:`end` and leave its địa bàn too, saying why (``merged``, ``split``, ``dissolved``)."""
        self.end(on, successors)
        self.localities.close(on)
        self.end_reason = reason


@dataclass(frozen=True)
class UnitAt:
    """Read model: a unit as it was on ``on`` (what queries return)."""

    id: str
    name: str
    kind: UnitKind
    function: str | None
    level: Level
    locality_id: str
    parent_id: str | None
    valid_from: date
    valid_to: date | None
    on: date


@dataclass(frozen=True)
class LocalityAt:
    """Read model: a địa bàn as it was on ``on``."""

    id: str
    name: str
    level: Level
    parent_id: str | None
    valid_from: date
    valid_to: date | None
    on: date


@dataclass(frozen=True)
class NewUnit:
    """Specification of a unit created by an operation (register, merge into new, split)."""

    id: str
    name: str
    kind: UnitKind
    locality_id: str | None = None
    parent_id: str | None = None
    function: str | None = None
    inherit_parent: bool = True
    """For merge/split: when ``parent_id`` is None, take the first source's parent."""

    def with_defaults(self, *, locality_id: str | None, parent_id: str | None) -> NewUnit:
        return replace(
            self,
            locality_id=self.locality_id or locality_id,
            parent_id=self.parent_id
            if (self.parent_id is not None or not self.inherit_parent)
            else parent_id,
        )


def sort_units(units: Sequence[UnitAt]) -> tuple[UnitAt, ...]:
    """Deterministic order for query answers (by kind order, then function, then id)."""
    order = {k: i for i, k in enumerate(UnitKind)}
    return tuple(sorted(units, key=lambda u: (order[u.kind], u.function or "", u.id)))
