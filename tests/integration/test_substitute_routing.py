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
import yaml
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from shared.contract.envelope import Envelope
from shared.contract.events.decisions import Article, DecisionFlag, DocType, DraftSubmitted
from shared.reliability.catchup import topic_size
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import ADMIN, AGENCY, kafka_auth, wait_for
from tests.integration.services import REPO, Proc, free_port, run_services
from tests.integration.signing import admin_headers, send_as, system_for

pytestmark = pytest.mark.integration
LINK = re.compile(r"https?://[^\s\"'<>]+/a/[A-Za-z0-9._~\-]+")
VN = timedelta(hours=7)


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("traces") / "traces.jsonl"


@pytest.fixture(scope="module")
def stack(settings: CommonSettings, mail_dir: Path, trace_file: Path) -> Iterator[dict[str, Proc]]:
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
        "TRACE_FILE": str(trace_file),  # every span of this run, checked for leaked secrets at the end
    }
    try:
        with run_services(["org", "tasks", "notify"], env, ports={"notify": notify_port}) as procs:
            yield procs
    finally:
        sink.terminate()
        sink.wait(10)


@pytest.fixture
async def producer(settings: CommonSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **kafka_auth(AGENCY)
    )
    await p.start()
    yield p
    await p.stop()


async def get_json(client: httpx.AsyncClient, url: str) -> Any:
    r = await client.get(url)
    return r.json() if r.status_code == 200 else None


async def test_link_goes_to_the_substitute_and_the_opinion_is_recorded_as_such(
    stack: dict[str, Proc],
    producer: AIOKafkaProducer,
    mail_dir: Path,
    trace_file: Path,
    mongo: AsyncMongoClient[dict[str, object]],
) -> None:
    org, tasks, notify = stack["org"], stack["tasks"], stack["notify"]
    today = (datetime.now(UTC) + VN).date()
    async with httpx.AsyncClient(timeout=10, headers=admin_headers()) as c:
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
        r = await c.post(f"{org.url}/api/changes", json=delegation, headers=admin_headers())
        assert r.status_code == 201, r.text
        acting = await get_json(c, f"{org.url}/api/units/kg.bdv/in-charge")
        assert acting["person_id"] == "p.kg.004" and acting["delegation_id"] == f"d.it.{RUN_ID}"

        org_events = await topic_size(
            CommonSettings(), "org.events", principal=ADMIN
        )  # the delegation is the last org event

        async def replicas_caught_up() -> bool:
            t = await get_json(c, f"{tasks.url}/health")
            n = await get_json(c, f"{notify.url}/health")
            return bool(t and n and t["org_position"] >= org_events and n["org_position"] >= org_events)

        await wait_for(replicas_caught_up, within=120, what="replicas applied the delegation")

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
        await send_as(producer, env.event(), system_for("kg.ubnd"), envelope=env)

        async def board_mail() -> email.message.EmailMessage | None:
            return find_mail(mail_dir, did, "htnlan@")

        msg = await wait_for(board_mail, within=300, what="consultation e-mail to the deputy head")
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        assert "thay thế" in text  # the mail says why she receives it
        assert find_mail(mail_dir, did, "pvtam@") is None, "the absent holder must not get the link"
        found = LINK.search(text, text.index(did))  # a digest lists other cases too: the link after ours
        assert found is not None
        link = found.group(0)
        r = await c.post(
            link,
            data={"stance": "agree", "general_comment": "Nhất trí.", "draft_version": "1"},
            headers={"Origin": link.split("/a/", 1)[0]},  # posted from the link's own page
        )
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

    # Redaction: the logs and the trace file of this whole run hold no link token, e-mail address
    # or phone number (the tokens are the ones really issued: from the mails and notify's links).
    links = mongo[f"it_sub_{RUN_ID}_notify"]["links"]
    issued = {str(d["state"]["url"]).rsplit("/", 1)[1] async for d in links.find({}, {"state.url": 1})}
    assert_nothing_leaked(stack, trace_file, tokens=issued | mailed_tokens(mail_dir))


def find_mail(mail_dir: Path, decision_id: str, to: str) -> email.message.EmailMessage | None:
    for path in sorted(mail_dir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        if decision_id in text and LINK.search(text) and to in str(msg["To"]):
            return msg
    return None


def mailed_tokens(mail_dir: Path) -> set[str]:
    found: set[str] = set()
    for path in mail_dir.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                found.update(url.rsplit("/a/", 1)[1] for url in LINK.findall(str(part.get_content())))
    return found


def seed_contacts() -> set[str]:
    """Every e-mail address and phone number of the people in the bundled seeds."""
    found: set[str] = set()
    for path in (REPO / "services" / "org" / "seeds").glob("*.yaml"):
        for person in yaml.safe_load(path.read_text(encoding="utf-8")).get("people") or []:
            for key in ("email", "phone"):
                if person.get(key):
                    found.add(str(person[key]))
                    if key == "phone":
                        found.add("".join(c for c in str(person[key]) if c.isdigit()))
    return found


def assert_nothing_leaked(stack: dict[str, Proc], trace_file: Path, *, tokens: set[str]) -> None:
    """Stop the services (their last spans are flushed on the way out), then grep what they wrote."""
    assert tokens, "no link was issued: nothing to look for"
    for p in stack.values():
        p.popen.terminate()
    for p in stack.values():
        p.popen.wait(30)
    contacts = seed_contacts()
    assert "htnlan@kiengiang.example.vn" in contacts
    files = [p.log for p in stack.values()] + [trace_file]
    assert trace_file.exists() and trace_file.stat().st_size > 0, "the run wrote no spans"
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for secret in sorted(tokens | contacts):
            kind = "link token" if secret in tokens else "contact"
            lines = [n for n, line in enumerate(text.splitlines(), 1) if secret in line]
            assert not lines, f"a {kind} appears in {path} on lines {lines[:10]}"
    notify_log = stack["notify"].log.read_text(encoding="utf-8", errors="replace")
    assert "/a/[token]" in notify_log  # the access log line of the opinion post is still there
