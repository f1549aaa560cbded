"""The org registry service against the real broker and store.

It answers "who must be consulted" at province and commune level with the
citation, refuses bad changes with a precise Vietnamese message (nothing
stored, nothing published), keeps history queryable by date after an
effective-dated change, and publishes accepted changes on org.events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared.contract.envelope import Envelope
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import kafka_auth, wait_for
from tests.integration.services import Proc, run_services
from tests.integration.signing import admin_headers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def org(settings: CommonSettings) -> Iterator[Proc]:
    with run_services(["org"], {"DB_PREFIX": f"it_org_{RUN_ID}"}) as procs:
        yield procs["org"]


def test_who_must_be_consulted_at_province_and_commune_level(org: Proc) -> None:
    q = {"doc_type": "quyet_dinh", "flags": "touches_peoples_rights", "on": "2026-11-23"}
    province = httpx.get(
        f"{org.url}/api/consultation", params={**q, "issuer": "kg.ubnd"}, headers=admin_headers()
    ).json()
    assert province["required"] is True
    assert {c["unit_id"] for c in province["consultees"]} == {
        "kg.bdv",
        "kg.mttq",
        "kg.cong_doan",
        "kg.doan_thanh_nien",
        "kg.hoi_ccb",
        "kg.hoi_lhpn",
        "kg.hoi_nong_dan",
    }
    assert province["citations"] == ["Quyết định 357-QĐ/TU (Kiên Giang), mục 5"]
    commune = httpx.get(
        f"{org.url}/api/consultation", params={**q, "issuer": "kg.rg.phi_thong.ubnd"}, headers=admin_headers()
    ).json()
    kinds = {c["kind"] for c in commune["consultees"]}
    assert "dan_van_bloc" in kinds and "fatherland_front" in kinds and "dan_van_board" not in kinds
    assert all(c["unit_id"].startswith("kg.rg.phi_thong.") for c in commune["consultees"])
    none = httpx.get(
        f"{org.url}/api/consultation",
        params={"doc_type": "quyet_dinh", "issuer": "kg.ubnd"},
        headers=admin_headers(),
    ).json()
    assert none["required"] is False


def test_bad_changes_are_refused_in_vietnamese_and_change_nothing(org: Proc) -> None:
    before = httpx.get(f"{org.url}/health").json()["registry_version"]
    unknown_parent = {
        "events": [
            {
                "type": "org.unit_registered",
                "payload": {
                    "unit_id": f"kg.test.{RUN_ID}",
                    "name": "Đơn vị thử",
                    "kind": "department",
                    "locality_id": "kien_giang",
                    "parent_id": "kg.khong_co",
                    "valid_from": "2026-01-01",
                },
            }
        ]
    }
    r = httpx.post(f"{org.url}/api/changes", headers=admin_headers(), json=unknown_parent)
    assert r.status_code == 409
    assert r.json()["code"] == "unknown_parent"
    assert "kg.khong_co" in r.json()["message"]
    cycle = {
        "events": [
            {
                "type": "org.unit_changed",
                "payload": {
                    "unit_id": "kg.cap_uy",
                    "on": "2026-06-01",
                    "change": "reparented",
                    "parent_id": "kg.bdv",
                },
            }
        ]
    }
    r = httpx.post(f"{org.url}/api/changes", headers=admin_headers(), json=cycle)
    assert r.status_code == 409 and r.json()["code"] == "hierarchy_cycle"
    bad_kind = {
        "events": [
            {
                "type": "org.unit_registered",
                "payload": {
                    "unit_id": "x",
                    "name": "x",
                    "kind": "khong_co",
                    "locality_id": "kien_giang",
                    "valid_from": "2026-01-01",
                },
            }
        ]
    }
    r = httpx.post(f"{org.url}/api/changes", headers=admin_headers(), json=bad_kind)
    assert r.status_code == 409 and r.json()["code"] == "unknown_unit_kind"
    r = httpx.post(
        f"{org.url}/api/changes",
        headers=admin_headers(),
        json={"events": [{"type": "org.khong_co", "payload": {}}]},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_event" and r.json()["event_index"] == 0
    assert r.json()["message"].startswith("Sự kiện thứ 1 không hợp lệ")
    r = httpx.post(
        f"{org.url}/api/changes",
        headers=admin_headers(),
        json={"events": [{"type": "decision.request_rejected", "payload": {}}]},
    )
    assert r.status_code == 422 and r.json()["code"] in {"invalid_event", "not_an_org_event"}
    assert httpx.get(f"{org.url}/health").json()["registry_version"] == before


async def test_effective_dated_rename_keeps_history_and_is_published(
    org: Proc, settings: CommonSettings
) -> None:
    request_id = f"rename-{uuid.uuid4().hex}"
    change = {
        "request_id": request_id,
        "events": [
            {
                "type": "org.unit_changed",
                "payload": {
                    "unit_id": "kg.so_tnmt",
                    "on": "2026-12-01",
                    "change": "renamed",
                    "name": "Sở Nông nghiệp và Môi trường tỉnh Kiên Giang",
                },
            }
        ],
    }
    async with httpx.AsyncClient(base_url=org.url, headers=admin_headers()) as c:
        assert (await c.post("/api/changes", json=change)).status_code == 201
        assert (await c.post("/api/changes", json=change)).json()["appended"] == 0  # same request: once
        before = (await c.get("/api/units/kg.so_tnmt", params={"on": "2026-11-30"})).json()
        after = (await c.get("/api/units/kg.so_tnmt", params={"on": "2026-12-01"})).json()
    assert before["name"] == "Sở Tài nguyên và Môi trường tỉnh Kiên Giang"
    assert after["name"] == "Sở Nông nghiệp và Môi trường tỉnh Kiên Giang"

    consumer = AIOKafkaConsumer(
        "org.events", bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", **kafka_auth()
    )
    await consumer.start()
    try:

        async def published() -> list[Envelope] | None:
            batch = await consumer.getmany(timeout_ms=500)
            found = [
                env
                for records in batch.values()
                for r in records
                if (env := Envelope.from_bytes(r.value)).type == "org.unit_changed"
                and env.payload.get("name") == "Sở Nông nghiệp và Môi trường tỉnh Kiên Giang"
            ]
            return found or None

        envs = await wait_for(published, within=60, what="org.unit_changed on Kafka")
    finally:
        await consumer.stop()
    assert envs[0].subject == "vn"  # one key keeps the registry's order
