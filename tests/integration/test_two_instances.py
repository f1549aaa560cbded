"""Two instances of tasks and of notify in one group: every instance's org copy sees every change.

Measured before (issue "No message wedges", item 8): the copies were fed through the service's
consumer group, so after a unit registration tasks#1 stayed at 288 events while tasks#2 had 289.
Here both instances of each service read the whole of ``org.events``; after a registration made
through org's API, all four copies hold it, their positions reach the topic's end, and every
instance is ready.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.reliability.catchup import topic_size
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import ADMIN, wait_for
from tests.integration.services import Proc, run_services
from tests.integration.signing import admin_headers

pytestmark = pytest.mark.integration

INSTANCES = ["tasks", "tasks#2", "notify", "notify#2"]


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Proc]]:
    env = {
        "DB_PREFIX": f"it_two_{RUN_ID}",
        "GROUP_SUFFIX": f"-two-{RUN_ID}",
        "NOTIFY_CONSUMER_GROUP": f"notify-two-{RUN_ID}",
        "NOTIFY_DECISIONS_FROM": "latest",
    }
    with run_services(["org", *INSTANCES], env) as procs:
        yield procs


async def health(c: httpx.AsyncClient, p: Proc) -> dict[str, Any]:
    body: dict[str, Any] = (await c.get(f"{p.url}/health")).json()
    return body


async def test_every_instance_copy_holds_a_change_made_once(stack: dict[str, Proc]) -> None:
    org = stack["org"]
    unit_id = f"kg.it_two_{RUN_ID}"
    async with httpx.AsyncClient(timeout=10) as c:

        async def published() -> bool:
            h = await health(c, org)
            return bool(h["registry_version"] >= 1 and h["outbox_pending"] == 0)

        await wait_for(published, within=120, what="org published its registry")
        first = await topic_size(CommonSettings(), "org.events", principal=ADMIN)

        async def all_caught_up() -> bool:
            return all([(await health(c, stack[n]))["org_position"] >= first for n in INSTANCES])

        await wait_for(all_caught_up, within=120, what="every instance read the registry")
        before = {n: await health(c, stack[n]) for n in INSTANCES}
        change = {
            "request_id": f"two-{RUN_ID}",
            "reason": "kiểm thử hai phiên bản",
            "events": [
                {
                    "type": "org.unit_registered",
                    "payload": {
                        "unit_id": unit_id,
                        "name": "Đơn vị kiểm thử hai phiên bản",
                        "kind": "department",
                        "locality_id": "kien_giang",
                        "parent_id": "kg.ubnd",
                        "valid_from": "2026-01-01",
                    },
                }
            ],
        }
        r = await c.post(f"{org.url}/api/changes", json=change, headers=admin_headers())
        assert r.status_code == 201, r.text

        async def org_flushed() -> bool:
            return bool((await health(c, org))["outbox_pending"] == 0)

        await wait_for(org_flushed, within=60, what="org published the registration")
        size = await topic_size(CommonSettings(), "org.events", principal=ADMIN)

        async def all_read() -> bool:
            return all([(await health(c, stack[n]))["org_position"] >= size for n in INSTANCES])

        await wait_for(all_read, within=120, what=f"every instance read org.events ({size} records)")
        counts = {n: (await health(c, stack[n])) for n in INSTANCES}
        assert counts["tasks"]["org_events"] == counts["tasks#2"]["org_events"]
        assert counts["notify"]["org_replica_events"] == counts["notify#2"]["org_replica_events"]
        for n in INSTANCES:
            ready = await c.get(f"{stack[n].url}/ready")
            assert ready.status_code == 200 and ready.json() == {"ready": True, "waiting_for": []}, n
        # each copy applied the registration (before: only the instance of the group that got it)
        assert counts["tasks"]["org_events"] >= before["tasks"]["org_events"] + 1
        assert counts["tasks#2"]["org_events"] >= before["tasks#2"]["org_events"] + 1
        assert counts["notify"]["org_replica_events"] >= before["notify"]["org_replica_events"] + 1
        assert counts["notify#2"]["org_replica_events"] >= before["notify#2"]["org_replica_events"] + 1
