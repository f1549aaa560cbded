"""The one event-sourced repository: load verified, decide, append, snapshot — O(1) in history.

``execute(id, message_id, decide)``:

1. **load** — a verified aggregate from this process's cache when the stored ``version`` still
   matches (one small read); otherwise the snapshot + the tail after it, the tail's hash links
   checked from the snapshot's hash (a break → :class:`TamperedHistory`, nothing written on top);
2. **decide** — the caller's pure function runs the domain command and returns an
   :class:`Append` (new facts, outgoing envelopes, index fields) or ``None``;
3. **append** — the new facts become chain entries and are pushed onto the head document with
   the outbox and the processed mark in one version-checked write (:mod:`.heads`); every
   ``snapshot_every`` entries the tail is archived to a chunk and the snapshot moves forward.

A write conflict (another instance saved first) drops the cached copy and retries on a fresh
read. One lock per aggregate id keeps this process's own handlers (consumer, timers, pages) from
deciding on the same in-memory object at once.

:meth:`verify` reads the *whole* chain (chunks + tail) from genesis and also checks that the
snapshot equals the replay of the entries before it; :meth:`sweep` runs it over every aggregate
and marks a broken one, which stops all writes to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.contract.envelope import Envelope, Event, event_class
from shared.eventsourcing.aggregate import Aggregate
from shared.eventsourcing.chain import GENESIS_HASH, ChainEntry, VerificationResult, link, verify
from shared.eventsourcing.heads import AlreadyProcessed, HeadStore, Write
from shared.reliability.errors import ConcurrencyConflict, PermanentError

log = logging.getLogger("eventsourcing.repository")

A = TypeVar("A", bound=Aggregate[Any])


class TamperedHistory(PermanentError):
    """The stored hash chain does not verify: nothing more is written on top of it."""


@dataclass
class Append:
    """What a decision produces: new facts (already applied to the aggregate) and what to send."""

    facts: Sequence[Event] = ()
    outbox: Sequence[Envelope] = ()
    extra: Mapping[str, Any] | None = None
    """Index fields kept beside the aggregate for queries (status, ``next_timer_at``…)."""
    result: Any = None


@dataclass
class Outcome:
    applied: bool
    duplicate: bool = False
    version: int = 0
    result: Any = None
    outbox: list[Envelope] = field(default_factory=list)


Decide = Callable[[A, bool], Append | Awaitable[Append | None] | None]
"""``decide(aggregate, exists)``: a new, empty aggregate when ``exists`` is False."""


@dataclass
class Current(Generic[A]):
    """An aggregate as loaded: read-only for callers outside :meth:`EventSourcedRepository.execute`."""

    aggregate: A
    version: int
    seq: int
    head_hash: str
    tail_len: int


class EventSourcedRepository(Generic[A]):
    def __init__(
        self,
        heads: HeadStore,
        *,
        new: Callable[[], A],
        restore: Callable[[Mapping[str, Any]], A],
        snapshot_every: int = 50,
        cache_size: int = 5000,
        conflict_retries: int = 5,
        on_saved: Callable[[], None] | None = None,
    ) -> None:
        self.heads = heads
        self.new = new
        self.restore = restore
        self.snapshot_every = snapshot_every
        self.cache_size = cache_size
        self.conflict_retries = conflict_retries
        self.on_saved = on_saved
        self._cache: OrderedDict[str, Current[A]] = OrderedDict()
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self.cold_loads = 0
        """How many loads read the snapshot and tail (a cache miss); for tests and metrics."""

    # ------------------------------------------------------------------ reads
    async def get(self, aggregate_id: str) -> A | None:
        """The current aggregate, verified (read-only: do not call commands on it)."""
        loaded = await self.current(aggregate_id)
        return loaded.aggregate if loaded else None

    async def current(self, aggregate_id: str) -> Current[A] | None:
        """The current aggregate with its chain position (``seq``, ``head_hash``), verified."""
        async with self._lock(aggregate_id):
            return await self._load(aggregate_id)

    async def ids(self, *, due_before: datetime | None = None) -> list[str]:
        return await self.heads.ids(due_before=due_before)

    async def entries(self, aggregate_id: str) -> tuple[list[ChainEntry], VerificationResult] | None:
        """The whole chain from genesis (chunks + tail) and its verification."""
        head = await self.heads.head(aggregate_id, full=True)
        if head is None:
            return None
        snap = head.get("snapshot")
        prefix = await self._archived(aggregate_id, str(snap["hash"])) if snap else []
        tail = [ChainEntry.from_dict(e) for e in head.get("tail", [])]
        chain = prefix + tail
        result = verify(chain)
        if result.ok and snap is not None:
            state = await self.heads.chunk_state(str(snap["chunk"])) if snap.get("has_state") else None
            result = self._check_snapshot(prefix, snap, state, result)
        if result.ok and head.get("broken"):
            reason = dict(head["broken"])
            result = VerificationResult(
                False,
                result.checked,
                reason.get("seq"),
                None,
                reason.get("code"),
                reason.get("message_vi"),
                result.head_hash,
            )
        return chain, result

    async def _archived(self, aggregate_id: str, snapshot_hash: str) -> list[ChainEntry]:
        """The archived entries up to the snapshot, found by walking back from the snapshot's hash
        through each chunk's first ``prev_hash``: a chunk an attempt wrote before losing its head
        update (same first entries, another ending) is never on that path. A missing chunk ends the
        walk early; :meth:`_check_snapshot` then reports the entries missing."""
        by_last = {
            str(chunk[-1]["hash"]): [ChainEntry.from_dict(e) for e in chunk]
            for chunk in await self.heads.chunks(aggregate_id)
            if chunk
        }
        path: list[list[ChainEntry]] = []
        want = snapshot_hash
        while want != GENESIS_HASH and want in by_last:
            chunk = by_last.pop(want)  # popped: a cycle cannot loop
            path.append(chunk)
            want = chunk[0].prev_hash
        if want != GENESIS_HASH:
            return []
        return [entry for chunk in reversed(path) for entry in chunk]

    async def history(self, aggregate_id: str) -> list[Event] | None:
        got = await self.entries(aggregate_id)
        if got is None:
            return None
        return [_decode(e) for e in got[0]]

    async def replay_unverified(self, aggregate_id: str) -> A | None:
        """The aggregate replayed from every stored entry *without* checking hashes: only to show
        (and let its readers verify) an aggregate whose history is broken; never to write."""
        got = await self.entries(aggregate_id)
        if got is None:
            return None
        return _replayed(self.new(), got[0])

    async def verify(self, aggregate_id: str) -> VerificationResult | None:
        got = await self.entries(aggregate_id)
        return got[1] if got else None

    async def sweep(self) -> int:
        """Verify every stored chain from genesis; mark (and log) the broken ones. Returns how many."""
        broken = 0
        for aggregate_id in await self.heads.ids():
            result = await self.verify(aggregate_id)
            if result is None or result.ok:
                continue
            broken += 1
            reason = {
                "code": result.reason_code,
                "seq": result.first_broken_seq,
                "message_vi": result.message_vi,
            }
            await self.heads.mark_broken(aggregate_id, reason)
            self._cache.pop(aggregate_id, None)
            log.error(
                "stored history does not verify; writes stopped",
                extra={"aggregate_id": aggregate_id, **reason},
            )
        return broken

    # ------------------------------------------------------------------ writes
    async def execute(self, aggregate_id: str, message_id: str | None, decide: Decide[A]) -> Outcome:
        """Run ``decide`` on the current aggregate and append its facts atomically (see module)."""
        for attempt in range(self.conflict_retries + 1):
            async with self._lock(aggregate_id):
                loaded = await self._load(aggregate_id)
                exists = loaded is not None
                current = loaded or Current(self.new(), 0, 0, GENESIS_HASH, 0)
                try:
                    maybe = decide(current.aggregate, exists)
                    change = await maybe if isinstance(maybe, Awaitable) else maybe
                    if change is None:
                        if current.aggregate.next_seq - 1 != current.seq:
                            self._cache.pop(aggregate_id, None)  # facts applied, then refused: drop them
                        return Outcome(applied=False, version=current.version)
                    version = await self._append(aggregate_id, current, message_id, change)
                except AlreadyProcessed:
                    self._cache.pop(aggregate_id, None)
                    return Outcome(applied=False, duplicate=True, version=current.version)
                except ConcurrencyConflict:
                    self._cache.pop(aggregate_id, None)
                    if attempt >= self.conflict_retries:
                        raise
                except BaseException:
                    self._cache.pop(aggregate_id, None)  # the cached object may hold unsaved facts
                    raise
                else:
                    if self.on_saved is not None:
                        self.on_saved()
                    return Outcome(
                        applied=True, version=version, result=change.result, outbox=list(change.outbox)
                    )
            await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _append(
        self, aggregate_id: str, current: Current[A], message_id: str | None, change: Append
    ) -> int:
        entries: list[ChainEntry] = []
        prev = current.head_hash
        for offset, fact in enumerate(change.facts):
            entry = link(current.seq + offset + 1, fact, prev)
            entries.append(entry)
            prev = entry.hash
        seq = current.seq + len(entries)
        raw = [e.to_dict() for e in entries]
        snapshot: dict[str, Any] | None = None
        tail_len = current.tail_len + len(entries)
        if entries and tail_len >= self.snapshot_every:
            head = await self.heads.head(aggregate_id, full=True) if current.tail_len else None
            stored_tail = list(head.get("tail", [])) if head else []
            if len(stored_tail) != current.tail_len or (
                stored_tail and stored_tail[-1]["hash"] != current.head_hash
            ):  # another instance appended meanwhile: its write wins, ours retries on a fresh read
                raise ConcurrencyConflict(f"{aggregate_id}: tail moved before archiving")
            archived = [*stored_tail, *raw]
            state = current.aggregate.take_snapshot() if current.aggregate.snapshots else None
            chunk = await self.heads.add_chunk(aggregate_id, archived, state)
            snapshot = {"seq": seq, "hash": prev, "chunk": chunk, "has_state": state is not None}
            tail_len = 0
        write = Write(
            version=current.version,
            seq=seq,
            head_hash=prev,
            entries=raw,
            outbox=change.outbox,
            message_id=message_id,
            extra=change.extra,
            snapshot=snapshot,
        )
        version = await self.heads.write(aggregate_id, write)
        self._remember(aggregate_id, Current(current.aggregate, version, seq, prev, tail_len))
        return version

    # ------------------------------------------------------------------ loading
    async def _load(self, aggregate_id: str) -> Current[A] | None:
        cached = self._cache.get(aggregate_id)
        if cached is not None:
            head = await self.heads.head(aggregate_id, full=False)
            if head is not None and int(head["version"]) == cached.version and not head.get("broken"):
                self._cache.move_to_end(aggregate_id)
                return cached
            self._cache.pop(aggregate_id, None)
        head = await self.heads.head(aggregate_id, full=True)
        if head is None:
            return None
        self.cold_loads += 1
        if head.get("broken"):
            reason = dict(head["broken"])
            raise TamperedHistory(
                f"{aggregate_id}: {reason.get('code')} at entry {reason.get('seq')}: {reason.get('message_vi')}"
            )
        snap = head.get("snapshot")
        if snap is not None and not snap.get("has_state"):
            return await self._replay_all(aggregate_id, head)
        after, prev = (int(snap["seq"]), str(snap["hash"])) if snap else (0, GENESIS_HASH)
        tail = [ChainEntry.from_dict(e) for e in head.get("tail", [])]
        result = verify(tail, after_seq=after, prev_hash=prev)
        if not result.ok or result.head_hash != head.get("head_hash", result.head_hash):
            raise _tampered(aggregate_id, result)
        state = await self.heads.chunk_state(str(snap["chunk"])) if snap else None
        if snap and state is None:
            raise TamperedHistory(f"{aggregate_id}: the snapshot at entry {after} is missing")
        aggregate = _replayed(self.restore(state) if state is not None else self.new(), tail)
        loaded = Current(aggregate, int(head["version"]), after + len(tail), result.head_hash, len(tail))
        self._remember(aggregate_id, loaded)
        return loaded

    async def _replay_all(self, aggregate_id: str, head: Mapping[str, Any]) -> Current[A]:
        """A cold load of an aggregate kept without snapshot state: the whole chain, verified."""
        got = await self.entries(aggregate_id)
        assert got is not None
        chain, result = got
        if not result.ok or result.head_hash != head.get("head_hash"):
            raise _tampered(aggregate_id, result)
        aggregate = _replayed(self.new(), chain)
        loaded = Current(
            aggregate, int(head["version"]), len(chain), result.head_hash, int(head.get("tail_len", 0))
        )
        self._remember(aggregate_id, loaded)
        return loaded

    def _check_snapshot(
        self,
        prefix: list[ChainEntry],
        snap: Mapping[str, Any],
        state: Mapping[str, Any] | None,
        ok: VerificationResult,
    ) -> VerificationResult:
        seq = int(snap["seq"])
        if not snap.get("has_state") and len(prefix) == seq:
            return ok  # kept without snapshot state: the chain alone is the proof
        if len(prefix) != seq or (prefix and prefix[-1].hash != snap["hash"]):
            return VerificationResult(
                False,
                ok.checked,
                seq,
                None,
                "missing_entries",
                f"Thiếu các mục trước ảnh chụp trạng thái (số {seq}).",
                ok.head_hash,
            )
        replayed = _replayed(self.new(), prefix)
        if state is None or not replayed.has_state(state):
            return VerificationResult(
                False,
                ok.checked,
                seq,
                None,
                "snapshot_mismatch",
                f"Ảnh chụp trạng thái tại mục số {seq} không khớp với lịch sử.",
                ok.head_hash,
            )
        return ok

    def _remember(self, aggregate_id: str, loaded: Current[A]) -> None:
        self._cache[aggregate_id] = loaded
        self._cache.move_to_end(aggregate_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    @asynccontextmanager
    async def _lock(self, aggregate_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(aggregate_id, (asyncio.Lock(), 0))
        self._locks[aggregate_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[aggregate_id]
            if users <= 1:
                del self._locks[aggregate_id]
            else:
                self._locks[aggregate_id] = (lock, users - 1)


def _replayed(aggregate: A, entries: Sequence[ChainEntry]) -> A:
    for entry in entries:
        aggregate._apply(_decode(entry))
    return aggregate


def _tampered(aggregate_id: str, result: VerificationResult) -> TamperedHistory:
    return TamperedHistory(
        f"{aggregate_id}: {result.reason_code or 'head_mismatch'} at entry {result.first_broken_seq}: "
        f"{result.message_vi}"
    )


def _decode(entry: ChainEntry) -> Any:
    return event_class(entry.event_type, entry.event_version).model_validate(dict(entry.payload))
