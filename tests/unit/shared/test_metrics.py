"""``/metrics``: what the sources and probes report, in the Prometheus text format, with fakes.

A probe that hangs or fails is left out and counted (``dv_metrics_scrape_errors_total``); the page
never hangs or answers 500. The app-level tests build tasks without Kafka and with a store address
where nothing listens (an outage), and scrape it with the scrape secret, an operator token and
without.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import TopicPartition
from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import ServerSelectionTimeoutError

from services.notify.metrics import deliveries_by_status
from services.tasks.metrics import timers_due
from shared.access.audit import MemoryAuditLog
from shared.access.roles import ALL_UNITS, Grant, Role
from shared.access.tokens import issue
from shared.contract.envelope import Envelope
from shared.metrics import (
    ServiceMetrics,
    consumer_families,
    copies_lag,
    copy_families,
    gauge,
    group_lag,
    lag_families,
)
from shared.reliability.consumer import Delivery, ReliableConsumer
from tests.unit.shared.sample_events import SampleHappened

SCRAPE = "scrape-secret-for-the-unit-tests-0123456789"


def samples(text: bytes | str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition: (name, sorted labels) → value."""
    raw = text.decode() if isinstance(text, bytes) else text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(raw)
        for s in family.samples
    }


async def test_a_hanging_or_failing_probe_is_left_out_and_counted_the_others_answer() -> None:
    metrics = ServiceMetrics("svc", timeout_seconds=0.05)

    async def good() -> list[Any]:
        return [gauge("dv_good", "a figure", 7)]

    async def hangs() -> list[Any]:
        await asyncio.sleep(30)
        return [gauge("dv_never", "never", 1)]

    async def store_down() -> list[Any]:
        raise ServerSelectionTimeoutError("127.0.0.1:27017: connection refused")

    metrics.probe("good", good)
    metrics.probe("slow", hangs)
    metrics.probe("store", store_down)
    metrics.source("memory", lambda: [gauge("dv_memory", "from memory", 3)])
    started = time.monotonic()
    first = samples(await metrics.render())
    assert time.monotonic() - started < 1.0  # the probes run concurrently, each bounded
    assert first[("dv_good", ())] == 7 and first[("dv_memory", ())] == 3
    assert not any(name == "dv_never" for name, _ in first)
    assert first[("dv_metrics_scrape_errors_total", (("probe", "slow"),))] == 1
    assert first[("dv_metrics_scrape_errors_total", (("probe", "store"),))] == 1
    second = samples(await metrics.render())
    assert second[("dv_metrics_scrape_errors_total", (("probe", "store"),))] == 2
    assert ("dv_metrics_scrape_errors_total", (("probe", "good"),)) not in second


async def test_a_broken_source_does_not_take_the_others_down() -> None:
    metrics = ServiceMetrics("svc")

    def broken() -> list[Any]:
        raise RuntimeError("bug")

    metrics.source("broken", broken)
    metrics.source("fine", lambda: [gauge("dv_fine", "fine", 1)])
    out = samples(await metrics.render())
    assert out[("dv_fine", ())] == 1
    assert out[("dv_metrics_scrape_errors_total", (("probe", "broken"),))] == 1


def test_each_runtime_has_its_own_registry() -> None:
    a, b = ServiceMetrics("tasks"), ServiceMetrics("tasks")  # the same names twice do not collide
    a.scrape_errors.labels(probe="x").inc()
    assert a.registry is not b.registry
    assert b.registry.get_sample_value("dv_metrics_scrape_errors_total", {"probe": "x"}) is None


async def test_consumers_are_named_by_group_and_topic_with_their_results_and_pause() -> None:
    async def handler(env: Envelope, event: Any) -> None:
        return None

    async def dlq(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        return None

    consumer = ReliableConsumer(
        service="tasks",
        handlers={"test.sample_happened": handler},
        publish_raw=dlq,
        group="tasks",
        topics=("tasks.decision-requests",),
    )
    good = Envelope.wrap(SampleHappened(sample_id="s1", amount=1), source="t").to_bytes()
    for offset, value in enumerate([good, good, b"not json"]):
        await consumer.handle(Delivery("tasks.decision-requests", 0, offset, b"s1", value, {}))
    copy = ReliableConsumer(service="tasks", handlers={}, publish_raw=dlq, topics=("org.events",))
    copy.paused = "ServerSelectionTimeoutError: down"
    out = samples(_text(consumer_families([consumer, copy])))
    key = (("group", "tasks"), ("result", "{}"), ("topic", "tasks.decision-requests"))
    at = {
        r: out[("dv_consumer_messages_total", tuple((k, v.format(r)) for k, v in key))]
        for r in ("processed", "skipped", "dead_lettered")
    }
    assert at == {"processed": 2, "skipped": 0, "dead_lettered": 1}
    assert out[("dv_consumer_paused", (("group", "tasks"), ("topic", "tasks.decision-requests")))] == 0
    assert out[("dv_consumer_paused", (("group", ""), ("topic", "org.events")))] == 1
    assert consumer.health() == {
        "group": "tasks",
        "topics": ["tasks.decision-requests"],
        "processed": 2,
        "skipped": 0,
        "dead_lettered": 1,
        "paused": None,
    }


class FakeKafka:
    """The part of an aiokafka consumer lag needs."""

    def __init__(
        self, ends: dict[int, int], committed: dict[int, int | None], positions: dict[int, int]
    ) -> None:
        self.ends, self._committed, self.positions = ends, committed, positions

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("tasks.decisions", p) for p in self.ends}

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp.partition] for tp in partitions}

    async def committed(self, partition: TopicPartition) -> int | None:
        return self._committed[partition.partition]

    async def position(self, partition: TopicPartition) -> int:
        return self.positions[partition.partition]


async def test_group_lag_is_end_minus_committed_or_the_position_before_a_first_commit() -> None:
    kafka = FakeKafka({0: 10, 2: 5}, {0: 4, 2: None}, {0: 9, 2: 3})
    lags = await group_lag("reports", kafka)
    assert [(x.partition, x.end, x.at, x.lag) for x in lags] == [(0, 10, 4, 6), (2, 5, 3, 2)]
    out = samples(_text(lag_families(lags)))
    labels = (("group", "reports"), ("partition", "0"), ("topic", "tasks.decisions"))
    assert out[("dv_consumer_lag", labels)] == 6 and out[("dv_consumer_end_offset", labels)] == 10
    assert await group_lag("reports", FakeKafka({}, {}, {})) == []


class FakeCopy:
    def __init__(self, lag: dict[int, tuple[int, int]], *, caught_up: bool) -> None:
        self.topic, self.is_open, self._lag = "org.events", caught_up, lag
        self.position = sum(p for _, p in lag.values())

    async def lag(self) -> dict[int, tuple[int, int]]:
        return self._lag


async def test_the_org_copy_reports_its_lag_to_the_end_of_the_topic() -> None:
    copy = FakeCopy({0: (100, 100), 1: (50, 47), 2: (8, 8)}, caught_up=True)
    out = samples(_text([*copy_families([copy]), *await copies_lag([copy])]))  # type: ignore[list-item]
    assert out[("dv_topic_copy_lag", (("partition", "1"), ("topic", "org.events")))] == 3
    assert out[("dv_topic_copy_lag", (("partition", "0"), ("topic", "org.events")))] == 0
    assert out[("dv_topic_copy_caught_up", (("topic", "org.events"),))] == 1
    assert out[("dv_topic_copy_position", (("topic", "org.events"),))] == 155


class FakeCollection:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.asked: list[tuple[dict[str, Any], dict[str, Any]]] = []

    async def count_documents(self, filter: dict[str, Any], **kwargs: Any) -> int:
        self.asked.append((filter, kwargs))
        return self.counts.get(str(filter.get("status")), 0) if "status" in filter else 4


async def test_notify_counts_deliveries_by_state_with_a_bound() -> None:
    coll = FakeCollection({"pending": 3, "sent": 12, "dead_lettered": 1})
    out = samples(_text(await deliveries_by_status(coll, max_time_ms=500)()))
    by = {dict(k[1])["status"]: v for k, v in out.items() if k[0] == "dv_notify_deliveries"}
    assert by == {"pending": 3, "sent": 12, "failed_retryable": 0, "dead_lettered": 1}
    assert all(kw == {"maxTimeMS": 500} for _, kw in coll.asked)


async def test_tasks_counts_the_decisions_whose_timer_is_due_by_its_clock() -> None:
    coll = FakeCollection({})
    now = datetime(2026, 12, 3, 8, tzinfo=UTC)
    out = samples(_text(await timers_due(coll, lambda: now, max_time_ms=250)()))
    assert out[("dv_tasks_timers_due", ())] == 4
    assert coll.asked == [({"next_timer_at": {"$lte": now}}, {"maxTimeMS": 250})]


def _text(families: Any) -> str:
    from prometheus_client import generate_latest
    from prometheus_client.registry import Collector

    class _Once(Collector):
        def collect(self) -> Any:
            return iter(list(families))

    return generate_latest(_Once()).decode()


# --------------------------------------------------------------------------- the endpoint on a service

KEY = OKPKey.generate_key("Ed25519")


def _token(*roles: Role) -> str:
    grants = tuple(Grant(r, ALL_UNITS, date(2020, 1, 1)) for r in roles)
    return issue(KEY, subject="p.test", name="Thử", session_id="s", method="password", grants=grants)


def _tasks_app(monkeypatch: Any) -> Any:
    from services.tasks.app import TasksSettings, build

    monkeypatch.setenv("MONGO_URL", "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100")
    monkeypatch.setenv("METRICS_TOKEN", SCRAPE)
    monkeypatch.setenv("METRICS_SCRAPE_TIMEOUT_SECONDS", "0.5")
    app, runtime = build(TasksSettings())
    app.state.access.key = OKPKey.import_key(KEY.as_dict(private=False))
    app.state.access.audit = MemoryAuditLog()
    return app, runtime


def test_metrics_answer_the_scrape_secret_and_operators_during_a_store_outage(monkeypatch: Any) -> None:
    app, _ = _tasks_app(monkeypatch)
    client = TestClient(app, raise_server_exceptions=False)
    started = time.monotonic()
    r = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    # answers rather than hangs (each probe is bounded at 0.5 s; the bound here only catches a hang)
    assert time.monotonic() - started < 60
    out = samples(r.text)
    assert out[("dv_ready", ())] == 0  # not started
    assert out[("dv_outbox_published_total", ())] == 0
    for probe in ("outbox_pending", "timers_due"):  # the store is unreachable: counted, not fatal
        assert out[("dv_metrics_scrape_errors_total", (("probe", probe),))] >= 1
    assert ("dv_outbox_pending", ()) not in out
    messages = {
        dict(k[1])["group"] + "|" + dict(k[1])["topic"] for k in out if k[0] == "dv_consumer_messages_total"
    }
    assert {"tasks|tasks.decision-requests", "|org.events"} <= messages
    operator = client.get("/metrics", headers={"Authorization": f"Bearer {_token(Role.OPERATOR)}"})
    assert operator.status_code == 200 and "dv_consumer_paused" in operator.text


def test_metrics_refuse_anyone_else_and_audit_it(monkeypatch: Any) -> None:
    app, _ = _tasks_app(monkeypatch)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE}x"}).status_code == 401
    drafter = client.get(
        "/metrics", headers={"Authorization": f"Bearer {_token(Role.DRAFTER, Role.AUDITOR)}"}
    )
    assert drafter.status_code == 403 and drafter.json()["code"] == "missing_role"
    docs = app.state.access.audit.docs
    assert [(d["what"], d["why"]) for d in docs] == [
        ("GET /metrics", "unauthenticated"),
        ("GET /metrics", "token_invalid"),
        ("GET /metrics", "missing_role"),
    ]


def test_health_names_its_consumers(monkeypatch: Any) -> None:
    _, runtime = _tasks_app(monkeypatch)
    named = {(c["group"], tuple(c["topics"])) for c in runtime.health()["consumers"]}
    assert {("tasks", ("tasks.decision-requests",)), ("", ("org.events",))} <= named
