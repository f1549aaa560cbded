"""Console pages and JSON API over an in-memory store (no Kafka, no database)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey

from services.reports.domain.dead_letters import DeadLetter, from_record
from services.reports.domain.decision_view import build
from services.reports.domain.view_model import DecisionView
from services.reports.names import OrgNames
from services.reports.web import make_router
from shared.access.audit import MemoryAuditLog
from shared.access.guard import Access
from shared.access.roles import ALL_UNITS, Grant, Role
from shared.access.tokens import issue
from shared.orgmodel.replica import OrgReplica
from tests.unit.reports.factories import Stream, exception_scenario, full_scenario


class FakeStore:
    def __init__(self, views: list[DecisionView], dead: list[DeadLetter]) -> None:
        self.views = {v.decision_id: v for v in views}
        self.dead = dead

    async def get(self, decision_id: str) -> DecisionView | None:
        return self.views.get(decision_id)

    async def recent(
        self, *, unit_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[DecisionView]:
        return [
            v
            for v in self.views.values()
            if (unit_id is None or v.issuer_unit_id == unit_id)
            and (status is None or v.status.value == status)
        ][:limit]

    async def all_views(self, *, unit_id: str | None = None) -> list[DecisionView]:
        return await self.recent(unit_id=unit_id)

    async def status_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.views.values():
            out[v.status.value] = out.get(v.status.value, 0) + 1
        return out

    async def dead_letters(self, *, topic: str | None = None, limit: int = 200) -> list[DeadLetter]:
        return [d for d in self.dead if topic is None or d.topic == topic][:limit]

    async def dead_letter_count(self) -> int:
        return len(self.dead)


@pytest.fixture
def client() -> Iterator[TestClient]:
    views = [
        build("qd-a", exception_scenario("qd-a").facts),
        build("qd-b", full_scenario("qd-b").facts),
        build("qd-c", Stream("qd-c").drafted(title="Kế hoạch <b>tuyên truyền</b>").consult().facts),
    ]
    dead = [
        from_record(
            dlq_topic="tasks.decisions.dlq",
            dlq_partition=0,
            dlq_offset=0,
            key=b"k",
            value=b"<script>alert(1)</script>",
            headers={
                "dv-dlq-reason": b"malformed: envelope is not valid",
                "dv-dlq-service": b"tasks",
            },
        )
    ]
    app = FastAPI()
    store: Any = FakeStore(views, dead)
    access = Access("reports", audit=MemoryAuditLog(), key=PUBLIC, load_key=False)
    access.install(app)
    app.include_router(make_router(store, OrgNames(OrgReplica()), access))  # type: ignore[arg-type]
    with TestClient(app, headers=bearer(Role.AUDITOR, Role.OPERATOR)) as c:
        yield c


KEY = OKPKey.generate_key("Ed25519")
PUBLIC = OKPKey.import_key(KEY.as_dict(private=False))


def bearer(*roles: Role, unit: str = ALL_UNITS) -> dict[str, str]:
    grants = tuple(Grant(r, unit, date(2020, 1, 1)) for r in roles)
    token = issue(KEY, subject="p.t", name="T", session_id="s", method="password", grants=grants)
    return {"Authorization": f"Bearer {token}"}


def test_a_drafter_of_another_unit_sees_none_of_these_decisions_nor_dead_letters(client: TestClient) -> None:
    outsider = bearer(Role.DRAFTER, unit="hn.to.ubnd")
    assert client.get("/api/decisions", headers=outsider).json()["count"] == 0
    assert client.get("/api/decisions/qd-a", headers=outsider).status_code == 403
    assert client.get("/decisions/qd-a", headers=outsider).status_code == 404
    assert client.get("/api/dead-letters", headers=outsider).status_code == 403
    page = client.get("/", headers=outsider).text
    assert "malformed: envelope is not valid" not in page
    assert client.get("/api/compliance", params={"unit": "kg.ubnd"}, headers=outsider).status_code == 403
    anonymous = client.get("/api/decisions", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_overview(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="vi">' in html and "<script" not in html.replace("&lt;script", "")
    assert "Tổng quan tình hình lấy ý kiến trước khi ban hành văn bản" in html
    assert "NGOẠI LỆ" in html and "Cấp bách do thiên tai" in html
    assert "Chưa có ý kiến của hlhpn-tinh." in html  # refusal with the missing item
    assert "malformed: envelope is not valid" in html
    assert "Kế hoạch &lt;b&gt;tuyên truyền&lt;/b&gt;" in html  # escaped
    assert "Đã ban hành (2)" in html


def test_decision_page(client: TestClient) -> None:
    r = client.get("/decisions/qd-a")
    assert r.status_code == 200
    assert (
        "Hội Liên hiệp Phụ nữ tỉnh" in r.text and "Ngoại lệ (được miễn)" in r.text and "Diễn biến" in r.text
    )
    assert client.get("/decisions/khong-co").status_code == 404


def test_compliance_page_and_bad_period(client: TestClient) -> None:
    r = client.get("/compliance", params={"period": "2026-Q4"})
    assert r.status_code == 200 and "Quý IV năm 2026" in r.text and "Tổng cộng" in r.text
    bad = client.get("/compliance", params={"period": "quý 4"})
    assert bad.status_code == 400 and "không hợp lệ" in bad.text


def test_api(client: TestClient) -> None:
    items = client.get("/api/decisions").json()["items"]
    assert {i["decision_id"] for i in items} == {"qd-a", "qd-b", "qd-c"}
    one = client.get("/api/decisions/qd-a").json()
    assert one["status"] == "issued" and one["with_exception"] is True and one["status_vi"] == "Đã ban hành"
    assert client.get("/api/decisions/nope").status_code == 404
    comp = client.get("/api/compliance", params={"period": "2026-Q4"}).json()
    assert comp["total"]["issued_with_exception"] == 1 and comp["total"]["full_rate"] == 0.5
    assert client.get("/api/compliance", params={"period": "x"}).status_code == 400
    dl = client.get("/api/dead-letters").json()
    assert dl["count"] == 1 and dl["items"][0]["service"] == "tasks"


def test_markdown_report(client: TestClient) -> None:
    r = client.get("/reports/compliance.md", params={"period": "2026"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "Báo cáo".upper() in r.text and "Năm 2026" in r.text
