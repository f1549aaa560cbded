"""``GET /metrics`` on real service processes (org and reports against the real broker and store).

Scraped with the scrape secret (``METRICS_TOKEN``) and an operator token: the Prometheus text names
each consumer by group and topic, the reports group's lag per partition, the org copy's lag to the
end of ``org.events``, org's outbox pending; nothing failed to answer. Without a credential: 401; a
person without the operator role: 403; a wrong secret: 401 — each refusal in the service's audit
log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.access.roles import Role
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import wait_for
from tests.integration.services import Proc, run_services
from tests.integration.signing import admin_headers, token_headers

pytestmark = pytest.mark.integration

SCRAPE = secrets.token_urlsafe(32)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def stack(settings: CommonSettings) -> Iterator[dict[str, Proc]]:
    env = {
        "DB_PREFIX": f"it_metrics_{RUN_ID}",
        "REPORTS_GROUP_SUFFIX": f"-it-metrics-{RUN_ID}",
        "METRICS_TOKEN": SCRAPE,
    }
    with run_services(["org", "reports"], env) as procs:
        yield procs


async def scrape(url: str, headers: dict[str, str]) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(f"{url}/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def labelled(out: Samples, name: str, **labels: str) -> list[dict[str, str]]:
    """The label sets of ``name``'s samples that carry ``labels``."""
    return [dict(k[1]) for k in out if k[0] == name and labels.items() <= dict(k[1]).items()]


async def test_the_scrape_secret_reads_consumers_lag_and_the_outbox(stack: dict[str, Proc]) -> None:
    org, reports = stack["org"], stack["reports"]
    group = f"reports-it-metrics-{RUN_ID}"

    async def reports_assigned() -> bool:
        return bool(labelled(await scrape(reports.url, bearer(SCRAPE)), "dv_consumer_lag", group=group))

    await wait_for(reports_assigned, within=60, what="the reports group's partitions in /metrics")
    out = await scrape(reports.url, bearer(SCRAPE))
    partitions = {x["partition"] for x in labelled(out, "dv_consumer_lag", group=group)}
    assert partitions and partitions <= {"0", "1", "2"}
    assert {x["partition"] for x in labelled(out, "dv_topic_copy_lag", topic="org.events")} == {"0", "1", "2"}
    processed = (("group", group), ("result", "processed"), ("topic", "tasks.decisions"))
    assert ("dv_consumer_messages_total", processed) in out
    assert out[("dv_consumer_paused", (("group", ""), ("topic", "org.events")))] == 0
    assert out[("dv_topic_copy_caught_up", (("topic", "org.events"),))] == 1
    assert not labelled(out, "dv_metrics_scrape_errors_total"), "a probe failed with everything up"

    org_out = await scrape(org.url, admin_headers())  # an operator token works as well
    assert ("dv_outbox_pending", ()) in org_out and ("dv_outbox_published_total", ()) in org_out

    async with httpx.AsyncClient(timeout=5) as client:
        health = (await client.get(f"{reports.url}/health")).json()
    named = {(c["group"], tuple(c["topics"])) for c in health["consumers"]}
    assert {(group, ("tasks.decisions",)), ("", ("org.events",))} <= named
    assert "org_position" in health and "org_caught_up" in health


async def test_anyone_else_is_refused_and_audited(stack: dict[str, Proc]) -> None:
    url = f"{stack['reports'].url}/metrics"
    drafter = token_headers("p.test.metrics", "Người soạn thảo", ((Role.DRAFTER, "*"), (Role.AUDITOR, "*")))
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(url)).status_code == 401
        assert (await client.get(url, headers=bearer(SCRAPE + "x"))).status_code == 401
        refused = await client.get(url, headers=drafter)
        assert refused.status_code == 403 and refused.json()["code"] == "missing_role"
        audit = await client.get(
            f"{stack['reports'].url}/api/audit", params={"kind": "refusal"}, headers=admin_headers()
        )
    whys = {e["why"] for e in audit.json() if e["what"] == "GET /metrics"}
    assert {"unauthenticated", "token_invalid", "missing_role"} <= whys
