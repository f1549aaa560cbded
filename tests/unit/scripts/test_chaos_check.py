"""The chaos checker's own judgements: it must find what it claims to find."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from scripts.chaos.check import chain_ok, history_faults
from shared.contract.envelope import Envelope
from shared.contract.events.org import PersonRegistered
from shared.orgmodel.replica import OrgReplica

GENESIS = "0" * 64


def chain(*events: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    prev = GENESIS
    for seq, (t, payload) in enumerate(events, start=1):
        body = {"seq": seq, "event_type": t, "event_version": 1, "payload": payload, "prev_hash": prev}
        h = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        out.append({**body, "hash": h})
        prev = h
    return out


REQ = (
    "decision.consultation_requested",
    {"requirement": {"consultees": [{"unit_id": "a"}, {"unit_id": "b"}]}},
)


def op(unit: str) -> tuple[str, dict[str, Any]]:
    return ("decision.opinion_recorded", {"consultee_unit_id": unit})


SYN = ("decision.synthesised", {})
ISSUED = ("decision.issued", {"with_exception": False})


def test_a_complete_history_has_no_fault() -> None:
    c = chain(("decision.drafted", {}), REQ, op("a"), op("b"), SYN, ISSUED)
    assert chain_ok(c) is None
    assert history_faults("D", c) == ([], [])


def test_an_edited_entry_and_a_removed_entry_break_the_chain() -> None:
    c = chain(("decision.drafted", {}), REQ, op("a"), ISSUED)
    edited = [dict(e) for e in c]
    edited[2] = {**edited[2], "payload": {"consultee_unit_id": "z"}}
    assert "hash does not recompute" in (chain_ok(edited) or "")
    assert "seq" in (chain_ok([c[0], c[2]]) or "")


def test_issuance_without_every_opinion_or_synthesis_is_a_violation() -> None:
    assert history_faults("D", chain(REQ, op("a"), SYN, ISSUED))[1]
    assert history_faults("D", chain(REQ, op("a"), op("b"), ISSUED))[1]
    # an opinion recorded after the issuance does not count
    assert history_faults("D", chain(REQ, op("a"), SYN, ISSUED, op("b")))[1]
    assert history_faults("D", chain(REQ, ("decision.issued", {"with_exception": True})))[1]


def test_a_transition_recorded_twice_is_a_duplicate() -> None:
    dups, _ = history_faults("D", chain(REQ, op("a"), op("a"), op("b"), SYN, ISSUED, ISSUED))
    assert any("opinion of a ×2" in d for d in dups)
    assert any("decision.issued ×2" in d for d in dups)


def person(person_id: str) -> Envelope:
    return Envelope.wrap(PersonRegistered(person_id=person_id, full_name=f"Cán bộ {person_id}"), source="org")


async def test_two_copies_that_applied_the_same_events_report_the_same_digest() -> None:
    x, y = person("p.x"), person("p.y")
    a, b, c = OrgReplica(), OrgReplica(), OrgReplica()
    for replica, envs in ((a, [x, y]), (b, [y, x, y]), (c, [x])):
        for env in envs:
            await replica.on_event(env, env.event())
    assert a.digest == b.digest  # order and redelivery do not matter
    assert a.digest != c.digest != OrgReplica().digest
