"""The reports service against the real broker and document store.

Decision facts are published to ``tasks.decisions`` as the workflow would (one envelope
delivered twice, one fact re-published under a new envelope id), a dead letter is put
directly on ``tasks.decisions.dlq``; the read model, the compliance figures (the exception
counted once), the dead-letter list and the Vietnamese console pages are checked over HTTP.
Unique decision ids, issuer unit, database prefix and consumer groups per run: the topics
are shared with other runs.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from services.reports.app import build
from services.reports.settings import ReportsSettings
from shared.contract import topics
from shared.contract.envelope import Envelope, Event
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID, create_topics
from tests.integration.helpers import kafka_auth, wait_for
from tests.integration.signing import admin_headers
from tests.unit.reports.factories import exception_scenario, full_scenario

pytestmark = pytest.mark.integration


async def test_reports_read_models_dead_letters_and_console(
    settings: CommonSettings, mongo: AsyncMongoClient[dict[str, object]]
) -> None:
    run = f"{RUN_ID}-{uuid.uuid4().hex[:6]}"
    await create_topics(settings.kafka_bootstrap, [n for t in topics.ALL for n in (t, topics.dead_letter(t))])
    issuer = f"ubnd-it-{run}"
    exc = exception_scenario(f"qd-exc-{run}", issuer=issuer)
    full = full_scenario(f"qd-full-{run}", issuer=issuer)
    rejected = exc.rejected(f"req-{run}")

    rs = ReportsSettings.model_validate(
        {
            "DB_PREFIX": f"it_{run.replace('-', '_')}",
            "REPORTS_GROUP_SUFFIX": f"-it-{run}",
            "CONSUMER_RETRY_BASE_SECONDS": 0.05,
        }
    )
    app, _runtime = build(rs)
    producer = AIOKafkaProducer(  # plays the tasks service and dead letters: admin
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **kafka_auth()
    )
    await producer.start()

    async def send(event: Event, env: Envelope | None = None) -> Envelope:
        env = env or Envelope.wrap(event, source="tasks")
        await producer.send_and_wait(topics.DECISION_EVENTS, env.to_bytes(), key=env.subject.encode())
        return env

    try:
        async with app.router.lifespan_context(app):
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://reports", headers=admin_headers()
            )
            async with client:
                override_fact = next(f for f in exc.facts if f.event_type == "decision.override_recorded")
                for fact in exc.facts:
                    env = await send(fact)
                    if fact is override_fact:
                        await send(fact, env)  # the same envelope delivered twice
                        await send(fact)  # the same fact re-published under another envelope id
                for fact in full.facts:
                    await send(fact)
                await send(rejected)
                dlq_offset = uuid.uuid4().int % 10**9
                await producer.send_and_wait(
                    topics.dead_letter(topics.DECISION_EVENTS),
                    b'{"type": "decision.issued", "payload": ',
                    key=exc.decision_id.encode(),
                    headers=[
                        ("dv-dlq-reason", f"malformed: envelope is not valid ({run})".encode()),
                        ("dv-dlq-original-topic", topics.DECISION_EVENTS.encode()),
                        ("dv-dlq-original-partition", b"1"),
                        ("dv-dlq-original-offset", str(dlq_offset).encode()),
                        ("dv-dlq-service", b"tasks"),
                        ("dv-dlq-attempts", b"1"),
                        ("dv-dlq-at", b"2026-10-06T01:02:03+00:00"),
                    ],
                )

                async def exc_view() -> dict[str, Any] | None:
                    r = await client.get(f"/api/decisions/{exc.decision_id}")
                    body: dict[str, Any] = r.json()
                    done = r.status_code == 200 and body["last_seq"] == len(exc.facts) and body["rejections"]
                    return body if done else None

                view = await wait_for(exc_view, within=90, what="exception decision projected")

                async def full_view() -> dict[str, Any] | None:
                    r = await client.get(f"/api/decisions/{full.decision_id}")
                    return r.json() if r.status_code == 200 and r.json()["status"] == "issued" else None

                await wait_for(full_view, within=60, what="full decision projected")

                async def dead_letter() -> dict[str, Any] | None:
                    r = await client.get(
                        "/api/dead-letters", params={"topic": topics.DECISION_EVENTS, "limit": 2000}
                    )
                    key = f"{topics.DECISION_EVENTS}:1:{dlq_offset}:tasks"  # per service
                    return next((d for d in r.json()["items"] if d["key"] == key), None)

                dl = await wait_for(dead_letter, within=60, what="dead letter recorded")

                # -- the read model
                assert view["status"] == "issued" and view["with_exception"] is True
                assert view["issuer_unit_id"] == issuer
                statuses = {c["unit_id"]: c["status"] for c in view["consultees"]}
                assert statuses == {
                    "bdv-tu": "on_time",
                    "mttq-tinh": "on_time",
                    "tinh-doan": "late",
                    "hlhpn-tinh": "overridden",
                }
                assert len(view["overrides"]) == 1 and view["overrides"][0]["by_person_id"] == "p-secretary"
                assert view["overrides"][0]["reason"] == "Cấp bách do thiên tai"
                assert [m["unit_id"] for m in view["refusals"][0]["missing"]] == ["hlhpn-tinh"]
                assert len(view["timeline"]) == len(exc.facts) + 1  # + the refused request
                assert view["rejections"][0]["request_id"] == rejected.request_id

                # -- compliance: the exception counted once despite duplicate delivery
                comp = (
                    await client.get("/api/compliance", params={"period": "2026-Q4", "unit": issuer})
                ).json()
                t = comp["total"]
                assert (t["issued"], t["issued_full"], t["issued_with_exception"]) == (2, 1, 1)
                assert (t["overrides"], t["refused_attempts"], t["escalations"]) == (1, 1, 1)
                assert (t["opinions_on_time"], t["opinions_late"]) == (6, 1)
                assert t["requests_rejected"] == 1
                assert [r["unit_id"] for r in comp["rows"]] == [issuer]
                assert len(comp["exceptions"]) == 1
                other = (
                    await client.get("/api/compliance", params={"period": "2026-Q3", "unit": issuer})
                ).json()
                assert other["total"]["issued"] == 0

                # -- the dead letter
                assert dl["reason"] == f"malformed: envelope is not valid ({run})"
                assert dl["service"] == "tasks" and dl["value_preview"].startswith(
                    '{"type": "decision.issued"'
                )

                # -- the console, in Vietnamese
                home = await client.get("/")
                assert home.status_code == 200
                assert "Tổng quan tình hình lấy ý kiến" in home.text and "NGOẠI LỆ" in home.text
                page = await client.get(f"/decisions/{exc.decision_id}")
                assert page.status_code == 200 and "Hội Liên hiệp Phụ nữ tỉnh" in page.text
                assert "Ngoại lệ (được miễn)" in page.text
                comp_page = await client.get("/compliance", params={"period": "2026-Q4", "unit": issuer})
                assert comp_page.status_code == 200 and "Quý IV năm 2026" in comp_page.text
                md = await client.get("/reports/compliance.md", params={"period": "2026-Q4", "unit": issuer})
                assert md.status_code == 200
                assert "Tình hình lấy ý kiến trước khi ban hành văn bản" in md.text
                assert "ban hành theo ngoại lệ: 1" in md.text
                health = await client.get("/health")
                assert health.status_code == 200 and health.json()["started"] is True
    finally:
        await producer.stop()
        await mongo.drop_database(rs.database_name("reports"))
