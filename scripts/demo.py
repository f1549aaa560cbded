"""The Kiên Giang demo: one decision through the whole line, with real services and events.

Run by ``./dev demo`` after Kafka, the document store, the four services and the
local mail sink are up. It plays the agency system (publishing requests on Kafka)
and the staff (opening the links in the e-mails they receive), and prints what
the platform does:

drafted → consultation requested (consultees from the org policy) → opinions
through signed links (a second click cannot submit twice) → an issuance attempt
refused, naming the missing opinion → the late consultee reminded and escalated
(the demo moves the tasks service's clock forward) → its late opinion →
consultation closed → the Dân vận board's synthesis → issued, with coordination
tasks; then the hash chain is verified and the trace of the draft is followed
across the services.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.propagate import inject

from scripts.secrets import account_password, ensure, private_jwk
from services.notify.channels.email import link_cases, link_token
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import (
    Article,
    ConsultationCloseRequested,
    DecisionFlag,
    DocType,
    DraftSubmitted,
    IssuanceRequested,
    OverrideRequested,
    SynthesisSubmitted,
)
from shared.kafka_auth import aiokafka_kwargs
from shared.reliability.catchup import topic_size
from shared.security.signing import SIGNATURE_HEADER, SigningKey, sign
from shared.settings import CommonSettings
from shared.telemetry import configure_telemetry

REPO = Path(__file__).resolve().parents[1]


def demo_key(system_id: str) -> SigningKey:
    """The demo's agency systems (UBND tỉnh, Ban Dân vận) sign with keys that ./dev generated and the
    org service registered (``.cache/secrets``)."""
    ensure()
    return SigningKey.from_jwk(system_id, private_jwk(system_id))


ORG = os.environ.get("ORG_URL", "http://127.0.0.1:8001")
TASKS = os.environ.get("TASKS_URL", "http://127.0.0.1:8002")
REPORTS = os.environ.get("REPORTS_URL", "http://127.0.0.1:8003")
NOTIFY = os.environ.get("NOTIFY_URL", "http://127.0.0.1:8004")
MAIL_DIR = Path(os.environ.get("MAIL_DIR", REPO / ".cache" / "mail"))
LATE_UNIT = "kg.hoi_nong_dan"
LINK = re.compile(r"https?://[^\s\"'<>]+/a/[A-Za-z0-9._~\-]+")
T = TypeVar("T")


def link_unit(msg: email.message.Message, url: str) -> str | None:
    """The consultee unit a link is for: links are opaque, the mail's ``X-Danvan-Case`` header says."""
    case = link_cases(msg).get(link_token(url))
    return case.unit_id if case else None


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: float, text: str) -> None:
    say(f"\n\033[1m[{n}] {text}\033[0m")


class DemoFailed(Exception):
    pass


async def until(what: str, probe: Callable[[], Awaitable[T | None]], within: float = 60.0) -> T:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise DemoFailed(f"timed out after {within:.0f} s waiting for: {what}")


class Demo:
    def __init__(self) -> None:
        self.http = httpx.AsyncClient(timeout=10)
        self.reader: dict[str, str] = {}  # the drafting office's signed-in staff (kg.vanphong)
        self.admin: dict[str, str] = {}  # the operator (vanhanh): clock changes only
        self.outsider: dict[str, str] = {}  # Thanh Oai's drafting office: may not read Kiên Giang's
        self.settings = CommonSettings()
        self.started = time.time()
        self.did = f"KG-QD-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:6]}"
        self.tracer = trace.get_tracer("agency-demo")
        self.seen_mail: set[Path] = set()

    async def send(self, event: Event, system_id: str = "kg.ubnd.vpdt") -> Envelope:
        """Publish a request as an agency system does: signed with that system's registered key."""
        carrier: dict[str, str] = {}
        inject(carrier)
        env = Envelope.wrap(event, source="agency-demo", traceparent=carrier.get("traceparent"))
        value = env.to_bytes()
        headers = [(k, v.encode()) for k, v in carrier.items()]
        headers.append((SIGNATURE_HEADER, sign(demo_key(system_id), value).encode()))
        await self.producer.send_and_wait(env.topic, value, key=env.subject.encode(), headers=headers)
        return env

    async def untrusted_requests_refused(self) -> None:
        """Nobody walks around the gate: an unsigned override and one from the UBND's own system (not the
        Tỉnh ủy's) are refused with their reasons; the decision is unchanged."""
        step(5.5, "Untrusted requests are refused: an unsigned override, and one from the wrong system")
        before = len(await self.facts())
        secretary = "p.kg.001"
        override = OverrideRequested(
            request_id=f"ovr-unsigned-{self.did}",
            decision_id=self.did,
            submitted_at=datetime.now(UTC),
            by_person_id=secretary,
            role="bi_thu",
            reason="Thử vượt quy trình",
        )
        env = Envelope.wrap(override, source="rogue")  # no dv-signature header
        await self.producer.send_and_wait(env.topic, env.to_bytes(), key=env.subject.encode())
        await self.send(override.model_copy(update={"request_id": f"ovr-ubnd-{self.did}"}))

        async def refusals() -> list[dict[str, Any]] | None:
            found = await self.get(f"{TASKS}/api/decisions/{self.did}/rejections") or []
            mine = [r for r in found if str(r["request_id"]).startswith("ovr-")]
            return mine if len(mine) >= 2 else None

        for r in sorted(await until("the two refusals", refusals, 60), key=lambda r: r["request_id"]):
            say(f"    ✗ {r['request_id'].split('-' + self.did)[0]}: [{r['code']}] {r['message_vi']}")
        if len(await self.facts()) != before:
            raise DemoFailed("an untrusted request changed the decision")

    async def get(self, url: str, headers: dict[str, str] | None = None) -> Any:
        r = await self.http.get(url, headers=self.reader if headers is None else headers)
        return r.json() if r.status_code == 200 else None

    async def post_form(self, url: str, form: dict[str, str]) -> httpx.Response:
        """Post a link page's form as the browser does from that page: with the page's ``Origin``
        (notify refuses form posts from any other origin, or with none)."""
        parts = urlsplit(url)
        return await self.http.post(url, data=form, headers={"Origin": f"{parts.scheme}://{parts.netloc}"})

    async def sign_in(self, username: str) -> dict[str, str]:
        """Sign in through org as a demo account (password generated in .cache/secrets/accounts/)."""
        r = await self.http.post(
            f"{ORG}/api/session", json={"username": username, "password": account_password(username)}
        )
        if r.status_code != 200:
            raise DemoFailed(f"sign-in as {username} refused: {r.status_code} {r.text}")
        me = await self.http.get(
            f"{ORG}/api/session/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
        roles = ", ".join(f"{g['role']}@{g['unit_id']}" for g in me.json()["grants"])
        say(f"    signed in as {username} ({me.json()['name']}): {roles}")
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def facts(self, fact_type: str | None = None) -> list[dict[str, Any]]:
        all_facts = await self.get(f"{TASKS}/api/decisions/{self.did}/history") or []
        return [f for f in all_facts if fact_type is None or f["type"] == fact_type]

    async def wait_fact(self, fact_type: str, count: int = 1, within: float = 60) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            found = await self.facts(fact_type)
            return found if len(found) >= count else None

        return await until(f"{fact_type} (x{count})", probe, within)

    def new_mails(self) -> list[email.message.EmailMessage]:
        out = []
        for path in sorted(MAIL_DIR.glob("*.eml"), key=lambda p: p.stat().st_mtime):
            if path in self.seen_mail or path.stat().st_mtime < self.started - 1:
                continue
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(msg, email.message.EmailMessage)
            body = msg.get_body(preferencelist=("plain",))
            text = body.get_content() if body else ""
            if self.did not in text:  # notifications carry the case reference (mã hồ sơ)
                continue
            self.seen_mail.add(path)
            out.append(msg)
        return out

    @staticmethod
    def text_of(msg: email.message.EmailMessage) -> str:
        body = msg.get_body(preferencelist=("plain",))
        return body.get_content() if body else ""

    title = "Quyết định ban hành quy định bồi thường, hỗ trợ, tái định cư khi Nhà nước thu hồi đất dự án mở rộng cảng Rạch Giá"

    async def run(self) -> None:
        # the demo is an agency system: its principal may only publish requests
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            **aiokafka_kwargs(self.settings, "agency-demo"),
        )
        await self.producer.start()
        provider = configure_telemetry("agency-demo", self.settings)
        try:
            await self._run()
        finally:
            provider.force_flush(3000)
            await self.producer.stop()
            await self.http.aclose()

    async def _run(self) -> None:
        step(0, "Services up; the tasks and notify services hold a copy of the Kiên Giang org registry")

        async def org_published() -> bool:
            h = await self.get(f"{ORG}/health")
            return bool(h and h["registry_version"] >= 1 and h["outbox_pending"] == 0)

        await until("the org service published its registry", org_published, 120)
        size = await topic_size(self.settings, "org.events", principal="admin")  # an observer

        async def registry_ready() -> bool:
            t = await self.get(f"{TASKS}/health")
            n = await self.get(f"{NOTIFY}/health")
            return bool(
                t
                and n
                and t["org_caught_up"]
                and n["org_caught_up"]
                and t["org_position"] >= size
                and n["org_position"] >= size
            )

        await until(f"tasks and notify copies of the org registry ({size} events)", registry_ready, 180)
        for name, url in (("org", ORG), ("tasks", TASKS), ("reports", REPORTS), ("notify", NOTIFY)):
            h = await self.get(f"{url}/health")
            say(f"    {name:8} {url}  {'ok' if h else 'NOT READY'}")

        step(0.5, "Staff sign in through org (local accounts; roles per unit from the registry)")
        anonymous = await self.http.get(f"{TASKS}/api/decisions/{self.did}")
        say(f"    anonymous GET {TASKS}/api/decisions/… → {anonymous.status_code} {anonymous.json()['code']}")
        if anonymous.status_code != 401:
            raise DemoFailed("an anonymous request was not refused")
        self.reader = await self.sign_in("kg.vanphong")
        self.admin = await self.sign_in("vanhanh")
        self.outsider = await self.sign_in("to.vanphong")

        step(1, "Agency system (UBND tỉnh Kiên Giang) publishes a draft decision touching people's rights")
        with self.tracer.start_as_current_span("agency: submit draft decision") as span:
            self.trace_id = format(span.get_span_context().trace_id, "032x")
            await self.send(
                DraftSubmitted(
                    request_id=f"draft-{self.did}",
                    decision_id=self.did,
                    submitted_at=datetime.now(UTC),
                    issuer_unit_id="kg.ubnd",
                    submitted_by="he-thong-van-ban:ubnd-kien-giang",
                    doc_type=DocType.DECISION,
                    title=self.title,
                    flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
                    articles=(
                        Article(
                            article_id="dieu-1",
                            text="Điều 1. Phạm vi điều chỉnh: dự án mở rộng cảng Rạch Giá.",
                        ),
                        Article(
                            article_id="dieu-2", text="Điều 2. Mức hỗ trợ tái định cư: 60 triệu đồng/hộ."
                        ),
                        Article(article_id="dieu-3", text="Điều 3. Thời hạn bàn giao mặt bằng: 90 ngày."),
                    ),
                )
            )
        say(f"    decision id {self.did}; trace id {self.trace_id}")

        requested = (await self.wait_fact("decision.consultation_requested"))[0]["requirement"]
        step(
            2,
            "Consultation requested — who must be consulted comes from the versioned policy, not the drafter",
        )
        for c in requested["consultees"]:
            say(f"    • {c['name_vi']}  ({c['kind']})")
        say(f"    deadline: {requested['deadline']}  (10 working days, Vietnamese calendar)")
        say(f"    basis: {'; '.join(requested['citations'])}; policy version {requested['policy_version']}")
        units = {c["unit_id"]: c["name_vi"] for c in requested["consultees"]}

        step(3, "Notify e-mails each consultee's person in charge a signed, single-use link")

        async def all_mails() -> list[email.message.EmailMessage] | None:
            self.mails = getattr(self, "mails", []) + self.new_mails()
            return self.mails if len(self.mails) >= len(units) else None

        mails = await until(f"{len(units)} consultation e-mails in {MAIL_DIR}", all_mails, 300)
        links: dict[str, str] = {}
        for msg in mails:
            found = LINK.findall(self.text_of(msg))
            unit = link_unit(msg, found[0]) if found else None
            if unit is None or unit not in units or unit in links:
                continue
            page = await self.http.get(found[0])
            say(f"    ✉ {units[unit]} — {msg['To']}: «{msg['Subject']}» → page {page.status_code}")
            links[unit] = found[0]
        missing_links = set(units) - set(links)
        if missing_links:
            raise DemoFailed(f"no link received for {sorted(missing_links)}")

        step(4, "Staff open their links and give opinions (all but Hội Nông dân, who is late)")
        for unit, url in links.items():
            if unit == LATE_UNIT:
                continue
            amend = unit == "kg.mttq"
            form = {
                "stance": "agree_with_amendments" if amend else "agree",
                "article_comment__dieu-2": "Đề nghị nâng mức hỗ trợ cho hộ nghèo, hộ chính sách."
                if amend
                else "",
                "general_comment": "Nhất trí với dự thảo."
                if not amend
                else "Cơ bản nhất trí, đề nghị bổ sung Điều 2.",
                "draft_version": "1",
            }
            r = await self.post_form(url, form)
            say(f"    {units[unit]}: {form['stance']} → {r.status_code}")
            if r.status_code != 200:
                raise DemoFailed(f"opinion page for {unit} answered {r.status_code}: {r.text[:300]}")
        replay_unit = "kg.bdv"
        r = await self.post_form(
            links[replay_unit], {"stance": "disagree", "general_comment": "lần hai", "draft_version": "1"}
        )
        say(
            f"    second click on the Ban Dân vận link → {r.status_code}: shows what was submitted, nothing new recorded"
        )
        await self.wait_fact("decision.opinion_recorded", count=len(units) - 1)

        step(5, "Agency requests issuance too early → refused, naming exactly what is missing")
        await self.send(
            IssuanceRequested(
                request_id=f"iss-1-{self.did}",
                decision_id=self.did,
                submitted_at=datetime.now(UTC),
                requested_by="ubnd-kien-giang",
            )
        )
        refused = (await self.wait_fact("decision.issuance_refused"))[0]
        for m in refused["missing"]:
            say(f"    ✗ {m['message_vi']}")
        if refused["missing_consultee_unit_ids"] != [LATE_UNIT]:
            raise DemoFailed(
                f"expected only {LATE_UNIT} missing, got {refused['missing_consultee_unit_ids']}"
            )

        await self.untrusted_requests_refused()

        step(
            6, "Time passes (the demo moves the tasks clock): reminder, then escalation of the late consultee"
        )
        for day in range(1, 40):  # noqa: B007 - the last value is reported below
            r = await self.http.post(f"{TASKS}/admin/clock/advance", params={"days": 1}, headers=self.admin)
            if r.status_code != 200:
                raise DemoFailed(f"clock advance refused: {r.text}")
            reminders = await self.facts("decision.reminder_due")
            escalations = await self.facts("decision.escalated")
            if escalations:
                break
        else:
            raise DemoFailed("no escalation after 40 days")
        for f in reminders:
            say(
                f"    ⏰ reminder to {units.get(f.get('consultee_unit_id', ''), f.get('consultee_unit_id'))} (clock +{day} d)"
            )
        for f in escalations:
            say(
                f"    ⚠ escalated (level {f.get('level')}) about {units.get(f.get('consultee_unit_id', ''), f.get('consultee_unit_id'))}"
            )
        await asyncio.sleep(2)
        for msg in self.new_mails():
            say(f"    ✉ {msg['To']}: {msg['Subject']}")

        step(7, "Hội Nông dân finally gives its opinion through its link (recorded as late)")
        r = await self.post_form(
            links[LATE_UNIT], {"stance": "agree", "general_comment": "Nhất trí.", "draft_version": "1"}
        )
        say(f"    {units[LATE_UNIT]} → {r.status_code}")
        ops = await self.wait_fact("decision.opinion_recorded", count=len(units))
        late = [o for o in ops if o["consultee_unit_id"] == LATE_UNIT]
        say(f"    recorded, late={late[0]['late'] if late else '?'}")

        step(8, "Consultation closed; the Ban Dân vận synthesises; issuance requested again")
        await self.send(
            ConsultationCloseRequested(
                request_id=f"close-{self.did}",
                decision_id=self.did,
                submitted_at=datetime.now(UTC),
                requested_by="ubnd-kien-giang",
            )
        )
        await self.wait_fact("decision.consultation_closed")
        board_head = (await self.get(f"{ORG}/api/units/kg.bdv/in-charge"))["person_id"]
        await self.send(
            SynthesisSubmitted(
                request_id=f"syn-{self.did}",
                decision_id=self.did,
                submitted_at=datetime.now(UTC),
                by_unit_id="kg.bdv",
                by_person_id=board_head,
                summary="Ban Dân vận Tỉnh ủy tổng hợp: 7/7 cơ quan, đoàn thể cho ý kiến; MTTQ đề nghị nâng mức hỗ trợ hộ nghèo (Điều 2).",
            ),
            system_id="kg.bdv.qlvb",  # the board's own system: nobody else may synthesise
        )
        await self.wait_fact("decision.synthesised")
        await self.send(
            IssuanceRequested(
                request_id=f"iss-2-{self.did}",
                decision_id=self.did,
                submitted_at=datetime.now(UTC),
                requested_by="ubnd-kien-giang",
            )
        )
        issued = (await self.wait_fact("decision.issued"))[0]
        tasks = (await self.wait_fact("decision.coordination_tasks_created"))[0]["tasks"]
        say(
            f"    ✓ ISSUED (with exception: {issued['with_exception']}); {len(tasks)} coordination tasks created"
        )

        step(9, "The decision's history is a hash chain; it verifies")
        v = await self.get(f"{TASKS}/api/decisions/{self.did}/verify")
        say(f"    {v['message']} ({v['checked']} entries, head {v['head_hash'][:16]}…)")
        say("    timeline: " + " → ".join(f["type"].removeprefix("decision.") for f in await self.facts()))

        step(10, "One trace across the services (spans exported to .cache/logs/traces.jsonl)")
        await asyncio.sleep(1.5)
        services = self.trace_services(self.trace_id)
        say(f"    trace {self.trace_id}: services {', '.join(sorted(services)) or '(none)'}")
        if not {"tasks", "notify"} <= services:
            raise DemoFailed(f"trace {self.trace_id} did not reach tasks and notify: {services}")
        if viewer := os.environ.get("TRACES_UI_URL"):  # set by ./dev demo when `./dev traces` runs
            say(f"    xem vết này trong Jaeger: {viewer}/trace/{self.trace_id}")

        other = await self.http.get(f"{TASKS}/api/decisions/{self.did}", headers=self.outsider)
        say(
            f"    Thanh Oai's drafting office reading this Kiên Giang decision → {other.status_code} {other.json()['code']}"
        )
        if other.status_code != 403:
            raise DemoFailed("another unit could read the decision")
        report = await self.get(f"{REPORTS}/api/decisions/{self.did}")
        if report:
            say(f"\n    reports console: {REPORTS}/decisions/{self.did}")
        say("\nDemo finished: drafted → consultation requested → opinions collected → synthesised → issued.")

    def trace_services(self, trace_id: str) -> set[str]:
        path = Path(os.environ.get("TRACE_FILE", REPO / ".cache" / "logs" / "traces.jsonl"))
        found: set[str] = set()
        # TRACE_FILE rotates by size (TRACE_FILE_MAX_BYTES): the older spans are in path.1, path.2, …
        rotated = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
        rotated.sort(key=lambda p: int(p.suffix[1:]), reverse=True)
        for file in [*rotated, path]:
            if not file.exists():
                continue
            for line in file.read_text(encoding="utf-8").splitlines():
                try:
                    span = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if span.get("trace_id") == trace_id and span.get("service"):
                    found.add(str(span["service"]))
        return found


def main() -> int:
    try:
        asyncio.run(Demo().run())
    except DemoFailed as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
