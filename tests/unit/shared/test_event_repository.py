"""The event-sourced repository on the in-memory head store: append-only, snapshots, the verified
cache, conflicts, redelivery and tamper detection (the same logic runs on the real store in
tests/integration/test_event_store.py)."""

from __future__ import annotations

import asyncio

import pytest

from shared.eventsourcing.chain import ChainEntry, link
from shared.eventsourcing.errors import DomainError
from shared.eventsourcing.repository import TamperedHistory
from shared.testing.eventstore import MemoryHeads
from tests.unit.shared.tally import AT, Added, Tally, add, repo


async def test_appends_only_the_new_entries_and_publishes_them() -> None:
    heads = MemoryHeads()
    r = repo(heads)
    for i in range(3):
        assert (await add(r, i + 1, f"c{i}")).applied
    doc = heads.raw("t1")
    assert [e["seq"] for e in doc["tail"]] == [1, 2, 3]
    assert doc["total"] == 6 and doc["version"] == 3 and doc["seq"] == 3
    assert [e.payload["amount"] for e in heads.outbox("t1")] == [1, 2, 3]
    verdict = await r.verify("t1")
    assert verdict is not None and verdict.ok and verdict.checked == 3


async def test_a_redelivered_message_and_a_repeated_command_write_nothing() -> None:
    heads = MemoryHeads()
    r = repo(heads)
    await add(r, 5, "c1", msg="m1")
    again = await add(r, 5, "c1", msg="m1")
    assert not again.applied
    other_message_same_command = await add(r, 5, "c1", msg="m2")
    assert not other_message_same_command.applied
    assert heads.raw("t1")["seq"] == 1 and len(heads.outbox("t1")) == 1


async def test_an_inbox_hit_is_reported_as_a_duplicate() -> None:
    heads = MemoryHeads()
    r = repo(heads)
    await add(r, 1, "c1", msg="m1")
    out = await add(r, 1, "c2", msg="m1")  # a new command under an id already processed
    assert out.duplicate and not out.applied
    assert heads.raw("t1")["seq"] == 1
    assert (await r.get("t1")) is not None and (await r.get("t1")).total == 1  # type: ignore[union-attr]


async def test_snapshots_every_k_entries_and_a_cold_load_gives_the_same_state() -> None:
    heads = MemoryHeads()
    r = repo(heads, every=10)
    for i in range(23):
        await add(r, i, f"c{i}")
    doc = heads.raw("t1")
    assert doc["snapshot"]["seq"] == 20 and doc["tail_len"] == 3 and len(doc["tail"]) == 3
    assert len(heads.chunk_docs) == 2
    cold = repo(heads, every=10)  # another process: nothing cached
    t = await cold.get("t1")
    assert t is not None and t.total == sum(range(23)) and t.amounts == list(range(23))
    assert cold.cold_loads == 1
    history = await cold.history("t1")
    assert history is not None and [f.seq for f in history] == list(range(1, 24))  # type: ignore[attr-defined]
    verdict = await cold.verify("t1")
    assert verdict is not None and verdict.ok and verdict.checked == 23


async def test_a_request_costs_the_same_store_operations_at_10_and_500_entries() -> None:
    heads = MemoryHeads()
    r = repo(heads, every=50)

    async def cost(cid: str) -> int:
        before = heads.operations
        await add(r, 1, cid)
        return heads.operations - before

    for i in range(9):
        await add(r, 1, f"a{i}")
    at_10 = cost("x10")
    small = await at_10
    for i in range(490):
        await add(r, 1, f"b{i}")
    large = await cost("x500")
    assert small == large == 2  # one small read of the head, one append
    assert len(heads.raw("t1")["tail"]) < 50  # the head document does not grow with history


async def test_a_conflict_with_another_instance_retries_on_a_fresh_read() -> None:
    heads = MemoryHeads()
    one, two = repo(heads), repo(heads)
    await add(one, 1, "c1")
    await add(two, 2, "c2")  # two is now ahead of one's cached copy
    await add(one, 3, "c3")
    t = await repo(heads).get("t1")
    assert t is not None and t.amounts == [1, 2, 3]
    assert [e["seq"] for e in heads.raw("t1")["tail"]] == [1, 2, 3]


async def test_concurrent_handlers_in_one_process_do_not_share_an_unsaved_object() -> None:
    heads = MemoryHeads()
    r = repo(heads)
    await add(r, 0, "c0")
    await asyncio.gather(*(add(r, i, f"c{i}") for i in range(1, 20)))
    t = await repo(heads).get("t1")
    assert t is not None and sorted(t.amounts) == list(range(20)) and t.seq == 20


async def test_a_refused_command_leaves_the_cached_aggregate_untouched() -> None:
    heads = MemoryHeads()
    r = repo(heads)
    await add(r, 4, "c1")
    with pytest.raises(DomainError):
        await add(r, -1, "c2")
    t = await r.get("t1")
    assert t is not None and t.total == 4


async def test_an_edited_tail_entry_stops_the_load() -> None:
    heads = MemoryHeads()
    for i in range(3):
        await add(repo(heads), i, f"c{i}")
    heads.raw("t1")["tail"][1]["payload"]["amount"] = 99
    with pytest.raises(TamperedHistory, match="hash_mismatch"):
        await repo(heads).get("t1")


async def test_the_sweep_finds_an_edited_chunk_and_stops_writes_even_with_a_warm_cache() -> None:
    heads = MemoryHeads()
    r = repo(heads, every=5)
    for i in range(7):
        await add(r, i, f"c{i}")
    chunk = next(iter(heads.chunk_docs.values()))
    chunk["entries"][2]["payload"]["amount"] = 42
    assert await r.sweep() == 1
    verdict = await r.verify("t1")
    assert verdict is not None and not verdict.ok and verdict.reason_code == "hash_mismatch"
    with pytest.raises(TamperedHistory):
        await add(r, 1, "after")


async def test_an_edited_snapshot_is_found_by_the_full_verification() -> None:
    heads = MemoryHeads()
    r = repo(heads, every=5)
    for i in range(6):
        await add(r, i, f"c{i}")
    heads.chunk_docs[heads.raw("t1")["snapshot"]["chunk"]]["state"]["total"] = 1000
    verdict = await repo(heads, every=5).verify("t1")
    assert verdict is not None and not verdict.ok and verdict.reason_code == "snapshot_mismatch"


async def test_a_stray_chunk_from_a_lost_attempt_is_ignored() -> None:
    heads = MemoryHeads()
    r = repo(heads, every=3)
    for i in range(4):
        await add(r, i, f"c{i}")
    real = next(iter(heads.chunk_docs.values()))["entries"]
    stray = [dict(e, hash="f" * 64) for e in real]
    await heads.add_chunk("t1", stray, None)
    verdict = await r.verify("t1")
    assert verdict is not None and verdict.ok and verdict.checked == 4


def test_snapshot_restore_round_trip() -> None:
    t = Tally()
    for i in range(5):
        t.add(f"c{i}", "t1", i)
    back = Tally.restore(t.take_snapshot())
    assert back.total == t.total and back.amounts == t.amounts and back.seq == 5
    assert back.processed_commands == t.processed_commands and back.has_state(t.take_snapshot())
    assert back.add("c1", "t1", 7) == []  # processed commands survive the snapshot


async def test_a_chunk_from_an_attempt_that_lost_its_head_update_is_not_on_the_chain() -> None:
    heads = MemoryHeads()
    r = repo(heads, every=3)
    for i in range(2):
        await add(r, i, f"c{i}")
    # another attempt archived entries 1..3 with *its* third fact, then lost the head update
    tail = [ChainEntry.from_dict(e) for e in heads.raw("t1")["tail"]]
    lost = link(3, Added(tally_id="t1", seq=3, occurred_at=AT, command_id="lost", amount=99), tail[-1].hash)
    await heads.add_chunk("t1", [*(e.to_dict() for e in tail), lost.to_dict()], None)
    for i in range(2, 5):  # the real third fact and an archive of its own, then a tail
        await add(r, i, f"c{i}")
    verdict = await r.verify("t1")
    assert verdict is not None and verdict.ok and verdict.checked == 5
    history = await r.history("t1")
    assert history is not None and [f.amount for f in history] == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]


async def test_an_archive_over_a_tail_another_instance_moved_retries_instead_of_mixing_them() -> None:
    heads = MemoryHeads()
    one, two = repo(heads, every=3), repo(heads, every=3)
    await add(one, 0, "c0")
    await add(one, 1, "c1")
    await add(two, 2, "c2")  # two archives 1..3; one's cached copy is at 2 entries
    await add(two, 3, "c3")
    await add(one, 4, "c4")  # one must not archive its stale view of the tail
    t = await repo(heads, every=3).get("t1")
    assert t is not None and t.amounts == [0, 1, 2, 3, 4]
    verdict = await one.verify("t1")
    assert verdict is not None and verdict.ok and verdict.checked == 5
