"""The notify service end to end, against the real broker, document store and SMTP.

org events (Kiên Giang seed) and a decision's ``drafted`` + ``consultation_requested`` facts go
onto Kafka; the service (its own database and consumer group) finds each consultee's person in
charge, e-mails them a signed link through a real SMTP server (the aiosmtpd sink writing .eml
files), and the link page records one opinion per link, whose ``decision.opinion_submitted``
request really reaches ``tasks.decision-requests``.

Topics are shared with other runs on the local broker: everything is filtered by this run's ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from services.notify.__main__ import PROXY_HEADERS
from services.notify.app import NotifyRuntime, build
from services.notify.channels.email import link_cases, link_token
from services.notify.domain.links import Action, SigningKey, issue_link
from services.notify.mailsink import start_sink
from services.notify.recipients import Contact, ReplicaBehind
from services.notify.settings import NotifySettings
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import (
    Article,
    ConsultationRequested,
    ConsultationRequirement,
    ConsulteeSpec,
    DecisionDrafted,
    DocType,
    RequestRejected,
)
from shared.contract.events.org import PersonRegistered, PersonUpdated
from shared.contract.topics import (
    ALL,
    DECISION_EVENTS,
    DECISION_REQUESTS,
    NOTIFY_EVENTS,
    ORG_EVENTS,
    dead_letter,
)
from shared.orgmodel.projection import seed_events
from shared.orgmodel.seed_format import parse_seed
from shared.settings import CommonSettings
from tests.integration.conftest import create_topics
from tests.integration.helpers import kafka_auth, wait_for
from tests.integration.services import free_port
from tests.integration.signing import admin_headers
from tests.unit.notify._http_server import fake_http_server

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONSULTEES = (
    ("kg.bdv", "dan_van_board", "Ban Dân vận Tỉnh ủy Kiên Giang"),
    ("kg.mttq", "fatherland_front", "Ủy ban MTTQ Việt Nam tỉnh Kiên Giang"),
    ("kg.cong_doan", "socio_political_org", "Liên đoàn Lao động tỉnh Kiên Giang"),
    ("kg.doan_thanh_nien", "socio_political_org", "Tỉnh đoàn Kiên Giang"),
    ("kg.hoi_ccb", "socio_political_org", "Hội Cựu chiến binh tỉnh Kiên Giang"),
    ("kg.hoi_lhpn", "socio_political_org", "Hội Liên hiệp Phụ nữ tỉnh Kiên Giang"),
    ("kg.hoi_nong_dan", "socio_political_org", "Hội Nông dân tỉnh Kiên Giang"),
)
VACANT_UNIT = ("kg.hoi_chu_thap_do", "mass_association", "Hội Chữ thập đỏ tỉnh Kiên Giang")
"""No person in charge in the seed: must end as an operator-visible ``no_recipient`` delivery."""
LINK_RE = re.compile(r"https?://[^\s\"'<>]+/a/[A-Za-z0-9._-]+")


@dataclass
class Harness:
    app: Any
    runtime: NotifyRuntime
    settings: NotifySettings
    base_url: str
    mail_dir: Path


@contextlib.asynccontextmanager
async def running_notify(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    """The notify app on uvicorn (real port), with its own db, consumer group and SMTP sink."""
    run = uuid.uuid4().hex[:10]
    common = CommonSettings()
    await create_topics(common.kafka_bootstrap, [*ALL, *(dead_letter(t) for t in ALL)])
    mail_dir = tmp_path / "mail"
    smtp_port = free_port()
    sink = start_sink(mail_dir, port=smtp_port, quiet=True)
    http_port = free_port()
    base_url = f"http://127.0.0.1:{http_port}"
    values: dict[str, Any] = {
        "DB_PREFIX": f"it_notify_{run}",
        "NOTIFY_CONSUMER_GROUP": f"notify-it-{run}",  # the notify principal's groups start with notify
        "SMTP_PORT": smtp_port,
        "PUBLIC_BASE_URL": base_url,
        "DELIVERY_POLL_SECONDS": 0.2,
        "OUTBOX_POLL_SECONDS": 0.2,
        "LINK_SECRET": "it-secret-" + "x" * 40,
        "CONSUMER_RETRY_BASE_SECONDS": 0.05,
        **overrides,
    }
    settings = NotifySettings(**values)
    await start_group_at_end(settings.kafka_bootstrap, settings.consumer_group, [ORG_EVENTS, DECISION_EVENTS])
    app, runtime = build(settings)
    assert isinstance(runtime, NotifyRuntime)
    server = uvicorn.Server(  # started as python -m services.notify starts it (no proxy headers)
        uvicorn.Config(
            app, host="127.0.0.1", port=http_port, log_config=None, lifespan="on", proxy_headers=PROXY_HEADERS
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(300):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.1)
        assert server.started, "uvicorn did not start"
        yield Harness(app, runtime, settings, base_url, mail_dir)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        sink.stop()
        with contextlib.suppress(Exception):
            await runtime.mongo.drop_database(settings.database_name("notify"))


async def start_group_at_end(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit the end offsets for a new consumer group, so the service reads only what this run
    publishes. Why: the local broker's topics keep every earlier run's facts (thousands of org
    events); replaying them all into a fresh replica would make each test minutes long."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **kafka_auth()
    )
    await consumer.start()
    try:
        # aiokafka has no public "partitions of a topic" call that fetches metadata first
        cluster = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]
        assert tps, f"no partitions for {topics}"
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit({tp: off for tp, off in ends.items()})
    finally:
        await consumer.stop()


async def publish(bootstrap: str, events: list[Event]) -> list[Envelope]:
    # plays the org and tasks services (org.events, tasks.decisions): admin
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **kafka_auth()
    )
    await producer.start()
    out = []
    try:
        for e in events:
            env = Envelope.wrap(e, source="it")
            await producer.send_and_wait(e.topic, env.to_bytes(), key=env.subject.encode())
            out.append(env)
    finally:
        await producer.stop()
    return out


async def publish_org(h: Harness) -> None:
    seed = parse_seed((REPO / "services/org/seeds/kien_giang.yaml").read_text(encoding="utf-8"))
    await publish(h.settings.kafka_bootstrap, list(seed_events(seed)))
    units = [c[0] for c in CONSULTEES] + [VACANT_UNIT[0]]

    async def ready() -> bool:
        try:
            return all(
                isinstance(h.runtime.service.recipients.in_charge(u, datetime.now(UTC)), Contact)
                for u in units[:-1]
            ) and h.runtime.replica.registry.hierarchy.has_unit(units[-1])
        except ReplicaBehind:
            return False

    await wait_for(ready, 90, "org replica of notify to know every consultee")


def decision_events(decision_id: str, title: str, *, with_vacant: bool) -> list[Event]:
    now = datetime.now(UTC)
    consultees = [*CONSULTEES, *([VACANT_UNIT] if with_vacant else [])]
    return [
        DecisionDrafted(
            decision_id=decision_id,
            seq=1,
            occurred_at=now,
            issuer_unit_id="kg.ubnd",
            doc_type=DocType.DECISION,
            title=title,
            articles=(
                Article(
                    article_id="d1",
                    text="Điều 1. Phạm vi điều chỉnh\nQuyết định này quy định mức hỗ trợ hộ nghèo.",
                ),
                Article(
                    article_id="d2",
                    text="Điều 2. Đối tượng áp dụng\nHộ nghèo, hộ cận nghèo trên địa bàn tỉnh.",
                ),
            ),
        ),
        ConsultationRequested(
            decision_id=decision_id,
            seq=2,
            occurred_at=now,
            draft_version=1,
            requirement=ConsultationRequirement(
                consultees=tuple(ConsulteeSpec(unit_id=u, kind=k, name_vi=n) for u, k, n in consultees),
                deadline=now + timedelta(days=10),
                synthesiser_unit_id="kg.bdv",
                escalation_unit_id="kg.cap_uy",
                policy_id="consultation-policy",
                policy_version="1",
            ),
        ),
    ]


def mails_with(mail_dir: Path, needle: str) -> list[email.message.EmailMessage]:
    out = []
    for p in sorted(mail_dir.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        if needle in str(msg["Subject"]) or needle in text:
            out.append(msg)
    return out


def link_of(msg: email.message.EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    found = LINK_RE.findall(body.get_content())
    assert found, "the e-mail carries an action link"
    return str(found[0])


async def opinion_requests(bootstrap: str, decision_id: str, within: float = 10.0) -> list[Envelope]:
    """Every ``decision.opinion_submitted`` for our decision on the real topic (fresh reader)."""
    consumer = AIOKafkaConsumer(
        DECISION_REQUESTS,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        **kafka_auth(),
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while loop.time() < end:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch and found:
                break
            for records in batch.values():
                for r in records:
                    with contextlib.suppress(Exception):
                        env = Envelope.from_bytes(r.value)
                        if env.type == "decision.opinion_submitted" and env.subject == decision_id:
                            found.append(env)
    finally:
        await consumer.stop()
    return found


async def topic_envelopes(bootstrap: str, topic: str, pred: Any, within: float = 10.0) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, **kafka_auth()
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        idle = 0
        while loop.time() < end and idle < 4:
            batch = await consumer.getmany(timeout_ms=500)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                for r in records:
                    with contextlib.suppress(Exception):
                        env = Envelope.from_bytes(r.value)
                        if pred(env):
                            found.append(env)
    finally:
        await consumer.stop()
    return found


async def test_consultation_emails_links_single_use_opinion_reaches_kafka(tmp_path: Path) -> None:
    async with running_notify(tmp_path) as h, httpx.AsyncClient(timeout=20) as http:
        await publish_org(h)
        decision_id = f"it-notify-{uuid.uuid4().hex[:12]}"
        title = f"Quyết định hỗ trợ hộ nghèo ({decision_id})"
        await publish(h.settings.kafka_bootstrap, decision_events(decision_id, title, with_vacant=True))

        # each consultee's person in charge gets exactly one e-mail with a link
        async def all_mails() -> list[email.message.EmailMessage] | None:
            found = mails_with(h.mail_dir, decision_id)
            return found if len(found) >= len(CONSULTEES) else None

        mails = await wait_for(all_mails, 60, "one e-mail per consultee")
        await asyncio.sleep(1.0)
        mails = mails_with(h.mail_dir, decision_id)
        assert len(mails) == len(CONSULTEES), [m["To"] for m in mails]
        links = {link_of(m) for m in mails}
        assert len(links) == len(CONSULTEES), "every consultee has its own link"
        assert all(link.startswith(h.base_url + "/a/") for link in links)
        # opaque links (nothing readable in them); the mail says which decision and unit each is for
        assert all(len(link_token(link)) == 32 and "." not in link_token(link) for link in links)
        for m in mails:
            case = link_cases(m)[link_token(link_of(m))]
            assert case.decision_id == decision_id and case.unit_id in {c[0] for c in CONSULTEES}
            assert str(m["Date"]).endswith("+0700") and m["List-Id"] == "<lay-y-kien.danvan.example.vn>"
            assert str(m["List-Unsubscribe"]).startswith("<mailto:") and m["Reply-To"]
        assert "Đề nghị" in str(mails[0]["Subject"]) or "góp ý" in str(mails[0]["Subject"]).lower()

        # the vacant unit is an operator-visible failure, not silence
        async def recorded() -> dict[str, str] | None:
            resp = await http.get(
                f"{h.base_url}/deliveries", headers=admin_headers(), params={"decision_id": decision_id}
            )
            assert resp.status_code == 200
            statuses = {d["unit_id"]: d["status"] for d in resp.json()["deliveries"]}
            done = len(statuses) == len(CONSULTEES) + 1 and all(
                statuses[u] == "sent" for u, _, _ in CONSULTEES
            )
            return statuses if done else None

        statuses = await wait_for(recorded, 30, "every delivery recorded as sent")
        assert statuses[VACANT_UNIT[0]] == "no_recipient"
        failed = await http.get(
            f"{h.base_url}/deliveries", headers=admin_headers(), params={"status": "no_recipient"}
        )
        assert any(d["decision_id"] == decision_id for d in failed.json()["deliveries"])

        # the page shows the draft by article
        link = sorted(links)[0]
        page = await http.get(link)
        assert page.status_code == 200
        assert "Điều 1. Phạm vi điều chỉnh" in page.text and "Hộ nghèo, hộ cận nghèo" in page.text
        assert page.headers["referrer-policy"] == "same-origin"

        # submit once → confirmation; again → what was submitted, nothing new recorded
        form = {
            "stance": "agree_with_amendments",
            "article_comment__d1": "Đề nghị nêu rõ mức hỗ trợ theo từng nhóm hộ.",
            "general_comment": "Cơ bản nhất trí.",
            "draft_version": "1",
        }
        # a post from another site, or naming no origin at all, is refused and records nothing
        forged = await http.post(link, data=form, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403 and "nguồn gửi biểu mẫu không khớp" in forged.text
        assert (await http.post(link, data=form)).status_code == 403
        assert await h.runtime.submissions.collection.count_documents({"decision_id": decision_id}) == 0
        first = await http.post(link, data=form, headers={"Origin": h.base_url})
        assert first.status_code == 200, first.text
        assert "Đã gửi ý kiến thành công" in first.text
        again = await http.post(
            link, data={**form, "general_comment": "Lần hai"}, headers={"Origin": h.base_url}
        )
        assert again.status_code == 409
        assert "Đề nghị nêu rõ mức hỗ trợ" in again.text and "Lần hai" not in again.text
        reopened = await http.get(link)
        assert reopened.status_code == 200 and "Ý kiến đã được gửi trước đó" in reopened.text

        # tampered and expired links → Vietnamese 4xx pages
        tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
        bad = await http.get(tampered)
        assert bad.status_code in (400, 403) and "Liên kết" in bad.text
        key = SigningKey(h.settings.link_key_id, h.settings.link_secret.encode())
        old = issue_link(
            key=key,
            recipient_unit_id="kg.mttq",
            recipient_role="chu_tich",
            person_id="p.kg.009",
            decision_id=decision_id,
            action=Action.GIVE_OPINION,
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        expired = await http.get(old.url(h.base_url))
        assert expired.status_code == 410 and "Liên kết đã hết hạn" in expired.text

        # the opinion request is on Kafka, exactly once, deduplicable by the workflow
        subs = await wait_for(
            lambda: opinion_requests(h.settings.kafka_bootstrap, decision_id),
            30,
            "opinion_submitted on Kafka",
        )
        assert len(subs) == 1, [s.payload for s in subs]
        payload = subs[0].payload
        assert payload["stance"] == "agree_with_amendments"
        assert payload["comments"] == [
            {"article_id": "d1", "text": "Đề nghị nêu rõ mức hỗ trợ theo từng nhóm hộ."}
        ]
        assert payload["request_id"] == payload["link_token_id"]
        assert payload["consultee_unit_id"] in {c[0] for c in CONSULTEES}
        assert payload["request_id"] != link_token(link)  # the id in events is not the credential
        stored = await h.runtime.submissions.load(payload["request_id"])
        assert stored is not None and stored.state["general_comment"] == "Cơ bản nhất trí."

        # delivery facts on notify.events
        sent = await topic_envelopes(
            h.settings.kafka_bootstrap,
            NOTIFY_EVENTS,
            lambda e: e.payload.get("decision_id") == decision_id,
        )
        types = [e.type for e in sent]
        assert types.count("notify.delivery_sent") == len(CONSULTEES)
        assert types.count("notify.delivery_failed") == 1

        # the workflow refuses that opinion (say, the board had already synthesised):
        # its sender is told by e-mail that it does not count, with the reason
        person_to = str(next(m for m in mails if link_of(m) == link)["To"])
        await publish(
            h.settings.kafka_bootstrap,
            [
                RequestRejected(
                    decision_id=decision_id,
                    request_id=payload["request_id"],
                    request_type="decision.opinion_submitted",
                    code="synthesis_done",
                    message_vi="Ban Dân vận đã tổng hợp ý kiến; không nhận thêm ý kiến.",
                    occurred_at=datetime.now(UTC),
                )
            ],
        )

        async def refusal_mail() -> list[email.message.EmailMessage] | None:
            found = [
                m for m in mails_with(h.mail_dir, decision_id) if "chưa được ghi nhận" in str(m["Subject"])
            ]
            return found or None

        refusal = (await wait_for(refusal_mail, 30, "opinion-not-recorded e-mail"))[0]
        assert str(refusal["To"]) == person_to
        body = refusal.get_body(preferencelist=("plain",))
        assert body is not None and "không nhận thêm ý kiến" in body.get_content()


async def test_redelivered_consultation_fact_sends_nothing_twice(tmp_path: Path) -> None:
    async with running_notify(tmp_path) as h:
        await publish_org(h)
        decision_id = f"it-notify-dup-{uuid.uuid4().hex[:12]}"
        events = decision_events(decision_id, f"Dự thảo thử trùng lặp ({decision_id})", with_vacant=False)
        envs = [Envelope.wrap(e, source="it") for e in events]
        producer = AIOKafkaProducer(
            bootstrap_servers=h.settings.kafka_bootstrap, acks="all", enable_idempotence=True, **kafka_auth()
        )
        await producer.start()
        try:
            for env in [*envs, envs[1]]:  # the consultation fact delivered twice
                await producer.send_and_wait(DECISION_EVENTS, env.to_bytes(), key=env.subject.encode())
        finally:
            await producer.stop()

        async def done() -> bool:
            return len(mails_with(h.mail_dir, decision_id)) >= len(CONSULTEES)

        await wait_for(done, 60, "e-mails")
        await asyncio.sleep(2.0)
        assert len(mails_with(h.mail_dir, decision_id)) == len(CONSULTEES)
        assert ORG_EVENTS  # (org facts were consumed from the shared topic above)


async def test_unreachable_smtp_retries_then_dead_letters_and_publishes_failure(tmp_path: Path) -> None:
    closed_port = free_port()  # nothing listens there: connection refused = retryable failure
    async with (
        running_notify(
            tmp_path,
            SMTP_PORT=closed_port,
            SMTP_TIMEOUT=2.0,
            DELIVERY_MAX_ATTEMPTS=2,
            DELIVERY_RETRY_BASE_SECONDS=0.3,
        ) as h,
        httpx.AsyncClient(timeout=20) as http,
    ):
        await publish_org(h)
        decision_id = f"it-notify-dlq-{uuid.uuid4().hex[:12]}"
        await publish(
            h.settings.kafka_bootstrap,
            decision_events(decision_id, f"Dự thảo thử lỗi gửi ({decision_id})", with_vacant=False),
        )

        async def dead() -> list[dict[str, Any]] | None:
            r = await http.get(
                f"{h.base_url}/deliveries", headers=admin_headers(), params={"decision_id": decision_id}
            )
            ds = r.json()["deliveries"]
            return (
                ds if len(ds) == len(CONSULTEES) and all(d["status"] == "dead_lettered" for d in ds) else None
            )

        deliveries = await wait_for(dead, 60, "every delivery dead-lettered")
        assert all(d["attempts"] == 2 and d["last_error"] for d in deliveries)
        assert all([a["outcome"] for a in d["history"]] == ["retryable_failure"] * 2 for d in deliveries)
        failed = await topic_envelopes(
            h.settings.kafka_bootstrap,
            NOTIFY_EVENTS,
            lambda e: e.type == "notify.delivery_failed" and e.payload.get("decision_id") == decision_id,
        )
        assert len(failed) == len(CONSULTEES)
        assert all(e.payload["status"] == "dead_lettered" and e.payload["reason"] for e in failed)


async def test_a_contact_change_is_confirmed_to_the_old_addresses_and_a_private_webhook_refused(
    tmp_path: Path,
) -> None:
    """org changes a person's e-mail (as an attacker with an administrator's session would): the old
    mailbox is told, with the new address masked, and nothing goes to the new one; the person's
    webhook, on this machine's loopback, is refused at send time (host allowed, address private) —
    dead-lettered at the first attempt, the listener never reached. A new test person is used: org.events
    is shared with other test modules, so no real consultee's address changes."""
    run = uuid.uuid4().hex[:8]
    person = f"p.it.contact.{run}"
    old_mail, new_mail = f"cu.{run}@kiengiang.example.vn", f"moi.{run}@attacker.example"
    async with (
        fake_http_server((200, b"{}", 0.0)) as listener,
        running_notify(
            tmp_path,
            WEBHOOK_SECRET="it-webhook-" + "w" * 30,
            NOTIFY_WEBHOOK_ALLOW="*=127.0.0.1",  # the host is listed; its address is still private
        ) as h,
        httpx.AsyncClient(timeout=20) as http,
    ):
        hook = f"{listener.url}/hook"
        await publish(
            h.settings.kafka_bootstrap,
            [
                PersonRegistered(
                    person_id=person, full_name="Trần Thị Thử", email=old_mail, webhook_url=hook
                ),
                PersonUpdated(person_id=person, full_name="Trần Thị Thử", email=new_mail, webhook_url=hook),
            ],
        )

        async def notice() -> email.message.EmailMessage | None:
            for m in mails_with(h.mail_dir, "Thay đổi thông tin liên lạc"):
                if old_mail in str(m["To"]):
                    return m
            return None

        mail = await wait_for(notice, 60, "the contact change notice to the old address")
        body = mail.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        assert "Thư điện tử: được đổi thành m***@a***.example" in text
        assert "quản trị viên sổ đăng ký" in text
        assert new_mail not in mail.as_string() and f"moi.{run}" not in mail.as_string()
        assert not [m for m in mails_with(h.mail_dir, "Thay đổi") if new_mail in str(m["To"])]

        async def both_final() -> dict[str, dict[str, Any]] | None:
            r = await http.get(f"{h.base_url}/deliveries", headers=admin_headers())
            mine = {d["channel"]: d for d in r.json()["deliveries"] if d["person_id"] == person}
            done = mine.get("email", {}).get("status") == "sent" and "webhook" in mine
            return mine if done and mine["webhook"]["status"] == "dead_lettered" else None

        mine = await wait_for(both_final, 60, "the e-mail sent and the webhook dead-lettered")
        assert all(d["kind"] == "contact_changed" for d in mine.values())
        assert mine["webhook"]["attempts"] == 1  # permanent: not retried
        assert "webhook target refused" in mine["webhook"]["last_error"]
        assert "non-public address 127.0.0.1" in mine["webhook"]["last_error"]
        assert listener.requests == []
        facts = await topic_envelopes(
            h.settings.kafka_bootstrap,
            NOTIFY_EVENTS,
            lambda e: e.payload.get("recipient_person_id") == person,
        )
        assert sorted(e.type for e in facts) == ["notify.delivery_failed", "notify.delivery_sent"]
        # the copy now has the new address
        assert h.runtime.replica.registry.people.person(person).contacts.email == new_mail
