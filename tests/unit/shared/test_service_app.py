"""shared/service_app.py: every service's app answers errors in Vietnamese and checks access."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.access.audit import MemoryAuditLog
from shared.access.guard import Access
from shared.service_app import service_app

started: list[str] = []


@contextlib.asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    started.append("up")
    yield
    started.append("down")


def _app(**extra: str) -> FastAPI:
    access = Access("org", audit=MemoryAuditLog(), load_key=False)
    return service_app(title="Thử", lifespan=_lifespan, access=access, **extra)


def test_title_description_and_version() -> None:
    app = _app(description="Mô tả", version="1.0.0")
    assert (app.title, app.description, app.version) == ("Thử", "Mô tả", "1.0.0")
    bare = _app()
    assert (bare.description, bare.version) == (FastAPI().description, FastAPI().version)


def test_errors_in_vietnamese_and_the_lifespan_runs() -> None:
    started.clear()
    with TestClient(_app()) as client:
        response = client.get("/khong-co")
    assert response.status_code == 404
    assert response.json()["message"] == "Không tìm thấy tài nguyên được yêu cầu."
    assert started == ["up", "down"]


def test_access_is_installed() -> None:
    paths = {getattr(route, "path", None) for route in _app().routes}
    assert "/api/audit" in paths
    with TestClient(_app()) as client:
        assert client.get("/api/audit").status_code == 401
