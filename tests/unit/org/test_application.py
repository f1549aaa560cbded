"""The org registry's application layer on the in-memory fakes: a seed in → org events out once;
a change that contradicts the registry is refused whole and changes nothing (not even the copy
this process keeps); another process rebuilds the same registry from the archived chain."""

from __future__ import annotations

from datetime import date

import pytest

from services.org.service import REGISTRY_ID, OrgChangeRefused, OrgService, Registry
from shared.contract.events.org import UnitRegistered
from shared.eventsourcing.repository import EventSourcedRepository
from shared.orgmodel.units import UnitKind
from shared.reliability.emit import Emitter
from shared.testing.eventstore import MemoryHeads
from shared.testing.state_store import InMemoryStateStore


def service(heads: MemoryHeads, labels: InMemoryStateStore | None = None) -> OrgService:
    repo = EventSourcedRepository(heads, new=Registry, restore=Registry.restore, snapshot_every=200)
    return OrgService(repo, labels or InMemoryStateStore("labels"), Emitter("org"))


def some_unit(registry_unit_ids: set[str]) -> str:
    return sorted(registry_unit_ids)[0]


async def test_a_seed_goes_out_as_org_events_once_even_when_loaded_again() -> None:
    heads = MemoryHeads()
    labels = InMemoryStateStore("labels")
    org = service(heads, labels)
    appended = await org.load_seed("kien_giang")
    assert appended > 50
    outbox = heads.outbox(REGISTRY_ID)
    assert len(outbox) == appended and all(e.type.startswith("org.") for e in outbox)
    assert all(e.subject == REGISTRY_ID for e in outbox)
    assert await org.load_seed("kien_giang") == 0  # the label says it is loaded
    assert await service(heads, labels).load_seed("kien_giang") == 0  # so does another process
    assert len(heads.outbox(REGISTRY_ID)) == appended
    assert org.registry.hierarchy.find_unit("kg.ubnd", date(2025, 1, 1)) is not None


async def test_a_change_that_contradicts_the_registry_is_refused_whole_and_changes_nothing() -> None:
    heads = MemoryHeads()
    org = service(heads)
    await org.load_seed("kien_giang")
    before = len(heads.outbox(REGISTRY_ID))
    good = UnitRegistered(
        unit_id="kg.test_new",
        name="Đơn vị thử",
        kind=UnitKind.DEPARTMENT.value,
        locality_id="kien_giang",
        valid_from=date(2025, 1, 1),
    )
    bad = UnitRegistered(
        unit_id="kg.test_orphan",
        name="Đơn vị mồ côi",
        kind=UnitKind.DEPARTMENT.value,
        locality_id="khong-co",
        valid_from=date(2025, 1, 1),
    )
    with pytest.raises(OrgChangeRefused) as refused:
        await org.change("req-bad", [good, bad])
    assert refused.value.index == 1 and refused.value.error.message_vi
    assert len(heads.outbox(REGISTRY_ID)) == before
    assert org.registry.hierarchy.find_unit("kg.test_new", date(2025, 6, 1)) is None  # not half-applied
    assert await org.change("req-good", [good]) == 1
    assert await org.change("req-good", [good]) == 0  # redelivered request
    assert org.registry.hierarchy.find_unit("kg.test_new", date(2025, 6, 1)) is not None


async def test_another_process_rebuilds_the_same_registry_from_the_archived_chain() -> None:
    heads = MemoryHeads()
    org = service(heads)
    for name in ("kien_giang", "thanh_oai", "policy_v1"):
        await org.load_seed(name)
    doc = heads.raw(REGISTRY_ID)
    assert doc["snapshot"] is not None and doc["snapshot"]["has_state"] is False  # chunks, no snapshot state
    assert len(heads.chunk_docs) >= 1
    other = service(heads)
    await other.load()
    day = date(2025, 6, 1)
    assert other.registry.hierarchy.all_units_at(day) == org.registry.hierarchy.all_units_at(day)
    assert other.version == org.version
    verdict = await other.registries.verify(REGISTRY_ID)
    assert verdict is not None and verdict.ok and verdict.checked == doc["seq"]
