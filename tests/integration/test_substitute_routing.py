"""A delegation in the org registry routes the consultation link to the substitute.

Real org, tasks and notify processes, a real SMTP sink, Kafka and the store:
the head of the provincial Ban Dân vận is away (delegation to the deputy head,
granted through the org API), so the consultation e-mail for the board goes to
the deputy, whose opinion through the link is recorded as given by a substitute.
"""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contract.envelope import Envelope
from shared.contract.events.decisions import Article, DecisionFlag, DocType, DraftSubmitted
from shared.reliability.catchup import topic_size
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import wait_for
from tests.integration.services import REPO, Proc, free_port, run_services

pytestmark = pytest.mark.integration
LINK = re.compile(r"https?://[^\s\"'<>]+/a/[A-Za-z0-9._~\-]+")
VN = timedelta(hours=7)


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def stack(settings: CommonSettings, mail_dir: Path) -> Iterator[dict[str, Proc]]:
    smtp_port, notify_port = free_port(), free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "services.notify.mailsink", "--port", str(smtp_port), "--dir", str(mail_dir)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "DB_PREFIX": f"it_sub_{RUN_ID}",
        "GROUP_SUFFIX": f"-sub-{RUN_ID}",
        "NOTIFY_CONSUMER_GROUP": f"notify-sub-{RUN_ID}",
        "NOTIFY_DECISIONS_FROM": "latest",  # earlier tests' decisions are not this test's business
        "SMTP_PORT": str(smtp_port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{notify_port}",
        "TICK_SECONDS": "1",
        "DIGEST_WINDOW_SECONDS": "1",
    }
    try:
        with run_services(["org", "tasks", "notify"], env, ports={"notify": notify_port}) as procs:
            yield procs
    finally:
        sink.terminate()
        sink.wait(10)


@pytest.fixture
async def producer(settings: CommonSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await p.start()
    yield p
    await p.stop()


async def get_json(client: httpx.AsyncClient, url: str) -> Any:
    r = await client.get(url)
    return r.json() if r.status_code == 200 else None


async def test_link_goes_to_the_substitute_and_the_opinion_is_recorded_as_such(
    stack: dict[str, Proc], producer: AIOKafkaProducer, mail_dir: Path
) -> None:
    org, tasks, notify = stack["org"], stack["tasks"], stack["notify"]
    today = (datetime.now(UTC) + VN).date()
    async with httpx.AsyncClient(timeout=10) as c:
        holder = await get_json(c, f"{org.url}/api/units/kg.bdv/in-charge")
        assert holder["person_id"] == "p.kg.003" and holder["delegation_id"] is None
        delegation = {
            "request_id": f"deleg-{RUN_ID}",
            "events": [
                {
                    "type": "org.delegation_granted",
                    "payload": {
                        "delegation_id": f"d.it.{RUN_ID}",
                        "unit_id": "kg.bdv",
                        "role": "truong_ban",
                        "delegate_id": "p.kg.004",
                        "valid_from": (today - timedelta(days=1)).isoformat(),
                        "valid_to": (today + timedelta(days=60)).isoformat(),
                        "reason": "Trưởng ban đi công tác",
                    },
                }
            ],
        }
        r = await c.post(f"{org.url}/api/changes", json=delegation)
        assert r.status_code == 201, r.text
        acting = await get_json(c, f"{org.url}/api/units/kg.bdv/in-charge")
        assert acting["person_id"] == "p.kg.004" and acting["delegation_id"] == f"d.it.{RUN_ID}"

        org_events = await topic_size(
            CommonSettings().kafka_bootstrap, "org.events"
        )  # the delegation is the last org event

        async def replicas_caught_up() -> bool:
            t = await get_json(c, f"{tasks.url}/health")
            n = await get_json(c, f"{notify.url}/health")
            return bool(t and n and t["org_events"] >= org_events and _replica_count(n) >= org_events)

        await wait_for(replicas_caught_up, within=300, what="replicas applied the delegation")

        did = f"kg-sub-{RUN_ID}-{uuid.uuid4().hex[:6]}"
        env = Envelope.wrap(
            DraftSubmitted(
                request_id=f"draft-{did}",
                decision_id=did,
                submitted_at=datetime.now(UTC),
                issuer_unit_id="kg.ubnd",
                submitted_by="agency",
                doc_type=DocType.DECISION,
                title="Quyết định hỗ trợ ngư dân",
                flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
                articles=(Article(article_id="d1", text="Mức hỗ trợ."),),
            ),
            source="agency-test",
        )
        await producer.send_and_wait(env.topic, env.to_bytes(), key=env.subject.encode())

        async def board_mail() -> email.message.EmailMessage | None:
            return find_mail(mail_dir, did, "htnlan@")

        msg = await wait_for(board_mail, within=300, what="consultation e-mail to the deputy head")
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        assert "thay thế" in text  # the mail says why she receives it
        assert find_mail(mail_dir, did, "pvtam@") is None, "the absent holder must not get the link"
        link = LINK.findall(text)[0]
        r = await c.post(link, data={"stance": "agree", "general_comment": "Nhất trí.", "draft_version": "1"})
        assert r.status_code == 200, r.text[:500]

        async def recorded() -> dict[str, Any] | None:
            facts = await get_json(c, f"{tasks.url}/api/decisions/{did}/history") or []
            ops = [
                f
                for f in facts
                if f["type"] == "decision.opinion_recorded" and f["consultee_unit_id"] == "kg.bdv"
            ]
            return ops[0] if ops else None

        op = await wait_for(recorded, within=120, what="the substitute's opinion recorded")
        assert op["given_by"] == "p.kg.004"
        assert op["acting_as"] == "substitute"


def _replica_count(health: dict[str, Any]) -> int:
    return int(health["org_replica_events"])


def find_mail(mail_dir: Path, decision_id: str, to: str) -> email.message.EmailMessage | None:
    for path in sorted(mail_dir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        if decision_id in text and LINK.search(text) and to in str(msg["To"]):
            return msg
    return None
