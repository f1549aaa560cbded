"""org's import endpoints refuse unsafe documents (alias bombs, deep nesting, huge CSV) with 413/422.

The app is built but not started (TestClient without ``with``: no lifespan, no Kafka, no database);
the routes' access rule is overridden with a platform-wide registry administrator, since every
refusal here happens while parsing, before the registry is touched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.org.app import OrgSettings, build
from shared.access.audit import MemoryAuditLog
from shared.access.guard import Guard
from shared.access.roles import ALL_UNITS, Grant, Identity, Role
from tests.unit.shared.test_safe_input import BILLION_LAUGHS

ADMIN = Identity(
    subject="p.admin",
    name="Quản trị thử",
    grants=(Grant(Role.REGISTRY_ADMIN, ALL_UNITS, date(2020, 1, 1), None),),
)
GUARDED = {"/api/import/yaml", "/api/import/units.csv", "/api/policies"}


def _app() -> FastAPI:
    app, _ = build(OrgSettings(ORG_SEEDS=""))
    app.state.access.audit = MemoryAuditLog()
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path in GUARDED:
            for dep in route.dependant.dependencies:
                if isinstance(dep.call, Guard):
                    app.dependency_overrides[dep.call] = lambda: ADMIN
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    yield TestClient(_app(), raise_server_exceptions=False)


def test_the_alias_bomb_is_refused_422_at_once(client: TestClient) -> None:
    started = time.perf_counter()
    r = client.post("/api/import/yaml", content=BILLION_LAUGHS, headers={"content-type": "application/yaml"})
    assert time.perf_counter() - started < 1.0
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "yaml_too_many_nodes"
    assert "an toàn" in body["message"] and body["message"].startswith("import.yaml (dòng ")


def test_a_deep_policy_document_is_refused_422(client: TestClient) -> None:
    r = client.post(
        "/api/policies",
        content="format: danvan-policy/1\nx: " + "[" * 100 + "]" * 100,
        headers={"content-type": "application/yaml"},
    )
    assert r.status_code == 422 and r.json()["code"] == "yaml_too_deep"


def test_a_csv_with_too_many_rows_is_refused_422(client: TestClient) -> None:
    text = "id,name,kind,level,parent_id,valid_from\n" + "u,n,party_committee,province,,2020-01-01\n" * 20_000
    r = client.post("/api/import/units.csv", content=text, headers={"content-type": "text/csv"})
    assert r.status_code == 422 and r.json()["code"] == "csv_too_many_rows"
    text = (
        "id,name,kind,level,parent_id,valid_from\nu,"
        + "x" * 20_000
        + ",party_committee,province,,2020-01-01\n"
    )
    r = client.post("/api/import/units.csv", content=text, headers={"content-type": "text/csv"})
    assert r.status_code == 422 and r.json()["code"] == "csv_field_too_long"


def test_a_yaml_over_the_document_limit_is_413(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_MAX_BODY_BYTES", str(4 * 1024 * 1024))  # so that the document limit answers
    client = TestClient(_app(), raise_server_exceptions=False)
    r = client.post(
        "/api/import/yaml", content="#" * (1024 * 1024 + 1), headers={"content-type": "application/yaml"}
    )
    assert r.status_code == 413 and r.json()["code"] == "input_too_large", r.text


def test_a_body_over_the_http_limit_is_413_before_parsing(client: TestClient) -> None:
    r = client.post(
        "/api/import/yaml", content="#" * (2 * 1024 * 1024), headers={"content-type": "application/yaml"}
    )
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


def test_an_ordinary_document_still_reaches_the_registry_checks(client: TestClient) -> None:
    # well formed, small, but names an unknown parent: the seed checks answer, not the limits
    r = client.post(
        "/api/import/units.csv",
        content="id,name,kind,level,parent_id,valid_from\nu,n,party_committee,province,nope,2020-01-01\n",
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "seed_invalid_value" and "locality_id" in r.json()["message"]
