"""Tamper-evident history of an aggregate (chuỗi băm chống sửa đổi).

Why: whether a decision was issued with every mandatory opinion is something an inspection
(Ủy ban Kiểm tra) may check years later. Each fact of an aggregate (a decision, a complaint,
the org registry…) is appended to its own hash chain by the repository
(:mod:`shared.eventsourcing.repository`): ``hash = sha256(canonical_json({seq, event_type, event_version,
payload, prev_hash}))``. Editing, deleting, inserting or reordering any entry changes a hash
or breaks a ``prev_hash`` link, and :func:`verify` names the first entry where that happens.

Canonical JSON = keys sorted, no insignificant whitespace, UTF-8 (``ensure_ascii=False`` so
Vietnamese text hashes as the bytes people see). The chain proves integrity, not
authenticity: anchoring the head hash somewhere else (a signed report, another system) is
what stops someone who rewrites the *whole* chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.contract.envelope import Event

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first entry."""


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, compact separators, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(
    seq: int, event_type: str, event_version: int, payload: Mapping[str, Any], prev_hash: str
) -> str:
    body = {
        "seq": seq,
        "event_type": event_type,
        "event_version": event_version,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class ChainEntry:
    """One link: the event (as JSON-compatible payload) and the hashes binding it in place."""

    seq: int
    event_type: str
    event_version: int
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_type": self.event_type,
            "event_version": self.event_version,
            "payload": dict(self.payload),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainEntry:
        return cls(
            seq=int(data["seq"]),
            event_type=str(data["event_type"]),
            event_version=int(data["event_version"]),
            payload=dict(data["payload"]),
            prev_hash=str(data["prev_hash"]),
            hash=str(data["hash"]),
        )


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of :func:`verify`; on failure, the first broken entry and why."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    first_broken_index: int | None = None
    reason_code: str | None = None
    message_vi: str | None = None
    head_hash: str = GENESIS_HASH


def link(seq: int, event: Event, prev_hash: str) -> ChainEntry:
    """The chain entry of ``event`` at ``seq`` after an entry whose hash is ``prev_hash``."""
    payload = event.model_dump(mode="json")
    return ChainEntry(
        seq=seq,
        event_type=event.event_type,
        event_version=event.event_version,
        payload=payload,
        prev_hash=prev_hash,
        hash=entry_hash(seq, event.event_type, event.event_version, payload, prev_hash),
    )


@dataclass
class HashChain:
    """Append-only chain held in memory (tests, tools); stored chains are the repository's."""

    entries: list[ChainEntry] = field(default_factory=list)

    @property
    def head(self) -> str:
        return self.entries[-1].hash if self.entries else GENESIS_HASH

    def append(self, event: Event) -> ChainEntry:
        entry = link(len(self.entries) + 1, event, self.head)
        self.entries.append(entry)
        return entry

    def verify(self) -> VerificationResult:
        return verify(self.entries)


def verify(
    chain: Iterable[ChainEntry] | Sequence[ChainEntry], *, after_seq: int = 0, prev_hash: str = GENESIS_HASH
) -> VerificationResult:
    """Check every link; stop at the first broken one and say which and why.

    ``after_seq``/``prev_hash``: where the entries continue a verified prefix (a snapshot's
    position and head hash); by default the chain starts at its genesis.
    """
    prev = prev_hash
    checked = 0
    for index, entry in enumerate(chain):
        expected_seq = after_seq + index + 1
        failure: tuple[str, str] | None = None
        if entry.seq != expected_seq:
            failure = (
                "sequence_gap",
                f"Mục thứ {expected_seq} mang số thứ tự {entry.seq}: chuỗi bị chèn, xóa hoặc đảo thứ tự.",
            )
        elif entry.prev_hash != prev:
            failure = (
                "broken_link",
                f"Mục số {entry.seq} không nối đúng với mục trước: mã băm liên kết không khớp.",
            )
        elif (
            entry_hash(entry.seq, entry.event_type, entry.event_version, entry.payload, entry.prev_hash)
            != entry.hash
        ):
            failure = (
                "hash_mismatch",
                f"Nội dung mục số {entry.seq} đã bị thay đổi: mã băm không khớp.",
            )
        if failure is not None:
            return VerificationResult(
                ok=False,
                checked=checked,
                first_broken_seq=entry.seq,
                first_broken_index=index,
                reason_code=failure[0],
                message_vi=failure[1],
                head_hash=prev,
            )
        prev = entry.hash
        checked += 1
    return VerificationResult(ok=True, checked=checked, head_hash=prev)
