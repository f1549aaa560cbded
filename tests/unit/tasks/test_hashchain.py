"""Tamper-evident chain: any edit, deletion, insertion or reordering is pinpointed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.tasks.domain.calendar import VN_TZ
from shared.contract.events.decisions import DecisionWithdrawn
from shared.eventsourcing.chain import (
    GENESIS_HASH,
    ChainEntry,
    HashChain,
    canonical_json,
    verify,
)

T = datetime(2025, 3, 3, 9, tzinfo=VN_TZ)


def build(n: int) -> HashChain:
    chain = HashChain()
    for i in range(1, n + 1):
        chain.append(
            DecisionWithdrawn(decision_id="qd-1", seq=i, occurred_at=T, by_person_id="p", reason=f"lý do {i}")
        )
    return chain


def test_intact_chain_verifies() -> None:
    chain = build(5)
    result = chain.verify()
    assert result.ok and result.checked == 5 and result.head_hash == chain.head
    assert chain.entries[0].prev_hash == GENESIS_HASH
    assert verify([]).ok


def test_canonical_json_is_order_independent_and_utf8() -> None:
    assert canonical_json({"b": 1, "a": "Dân vận"}) == canonical_json({"a": "Dân vận", "b": 1})
    assert "Dân vận".encode() in canonical_json({"a": "Dân vận"})


@given(st.integers(min_value=1, max_value=8), st.data())
def test_payload_tamper_detected_at_that_entry(n: int, data: st.DataObject) -> None:
    chain = build(n)
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    entries = list(chain.entries)
    payload = dict(entries[i].payload)
    payload["reason"] = "đã bị sửa"
    entries[i] = replace(entries[i], payload=payload)
    result = verify(entries)
    assert not result.ok
    assert result.first_broken_index == i and result.first_broken_seq == i + 1
    assert result.reason_code == "hash_mismatch"
    assert result.message_vi and "bị thay đổi" in result.message_vi


def test_rehashed_entry_breaks_the_next_link() -> None:
    chain = build(4)
    entries = list(chain.entries)
    forged = chain.entries[1]
    payload = dict(forged.payload)
    payload["reason"] = "giả mạo"
    from shared.eventsourcing.chain import entry_hash

    new_hash = entry_hash(forged.seq, forged.event_type, forged.event_version, payload, forged.prev_hash)
    entries[1] = replace(forged, payload=payload, hash=new_hash)
    result = verify(entries)
    assert result.first_broken_index == 2 and result.reason_code == "broken_link"


def test_deletion_and_reorder_detected() -> None:
    entries = list(build(4).entries)
    assert verify(entries[:1] + entries[2:]).reason_code == "sequence_gap"
    swapped = [entries[0], entries[2], entries[1], entries[3]]
    assert verify(swapped).first_broken_index == 1


def test_dict_round_trip() -> None:
    entries = [ChainEntry.from_dict(e.to_dict()) for e in build(3).entries]
    assert verify(entries).ok


@pytest.mark.parametrize("field", ["event_type", "prev_hash"])
def test_header_tamper_detected(field: str) -> None:
    entries = list(build(3).entries)
    entries[0] = (
        replace(entries[0], event_type="x") if field == "event_type" else replace(entries[0], prev_hash="x")
    )
    assert verify(entries).first_broken_index == 0
