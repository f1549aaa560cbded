"""The load of the chaos run: agency systems and staff driving decisions through the full line.

Per decision (id ``CH-<run>-<n>``): the UBND's system publishes a signed draft → tasks requests the
consultation → notify mails each consultee a link → the driver, as each person in charge, opens the
link on a live notify instance and gives an opinion → the UBND closes the consultation → the Dân vận
board's system synthesises → the UBND requests issuance → ``decision.issued``.

Honesty rules (so that the checker can find losses rather than the driver hiding them): a request
Kafka acknowledged is **never sent again**, and a link form that answered 200 is never posted again.
Only a send the broker did not acknowledge (it was down) is retried, with the same envelope id, as an
agency system would. What the driver waits for it learns by reading ``tasks.decisions`` and the mail
sink, never from the services' own APIs.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from scripts.chaos.stack import Stack
from scripts.secrets import ensure, private_jwk
from services.notify.channels.base import LinkCase
from services.notify.channels.email import link_cases, link_token
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import (
    Article,
    ConsultationCloseRequested,
    DecisionFlag,
    DocType,
    DraftSubmitted,
    IssuanceRequested,
    SynthesisSubmitted,
)
from shared.contract.topics import DECISION_EVENTS
from shared.kafka_auth import aiokafka_kwargs
from shared.security.signing import SIGNATURE_HEADER, SigningKey, sign
from shared.settings import CommonSettings

log = logging.getLogger("chaos.driver")

LINK = re.compile(r"https?://[^\s\"'<>]+/a/[A-Za-z0-9._~\-]+")
UBND_SYSTEM = "kg.ubnd.vpdt"
BOARD_SYSTEM = "kg.bdv.qlvb"
AGENCY_PRINCIPAL = "agency-demo"


def link_claims(msg: email.message.Message, url: str) -> LinkCase | None:
    """Which decision and unit an action link of ``msg`` is for (links are opaque: the mail's
    ``X-Danvan-Case`` headers say, one per link, so a digest works too)."""
    return link_cases(msg).get(link_token(url))


def draft(
    did: str,
    title: str,
    *,
    articles: tuple[Article, ...] | None = None,
    submitted_by: str = "he-thong-van-ban:ubnd-kien-giang",
) -> DraftSubmitted:
    """The UBND's draft of a decision touching people's rights (every draft the harness sends)."""
    return DraftSubmitted(
        request_id=f"draft-{did}",
        decision_id=did,
        submitted_at=datetime.now(UTC),
        issuer_unit_id="kg.ubnd",
        submitted_by=submitted_by,
        doc_type=DocType.DECISION,
        title=title,
        flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
        articles=articles or (Article(article_id="dieu-1", text="Điều 1. Phạm vi điều chỉnh."),),
    )


@dataclass
class DecisionSeen:
    """What ``tasks.decisions`` has shown of one decision."""

    types: set[str] = field(default_factory=set)
    consultees: list[str] = field(default_factory=list)
    opinions: set[str] = field(default_factory=set)
    first_seen: dict[str, float] = field(default_factory=dict)


class Tracker:
    """Reads ``tasks.decisions`` from its beginning (as an observer, no group) and wakes waiters."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self.seen: dict[str, DecisionSeen] = defaultdict(DecisionSeen)
        self.changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(
            DECISION_EVENTS,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            **aiokafka_kwargs(self.settings, "admin"),
        )
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                if not batch:
                    continue
                for records in batch.values():
                    for r in records:
                        self._note(r.value)
                async with self.changed:
                    self.changed.notify_all()
        finally:
            await consumer.stop()

    def _note(self, value: bytes | None) -> None:
        try:
            env = Envelope.from_bytes(value or b"")
        except ValueError:
            return
        did = str(env.payload.get("decision_id") or env.subject)
        s = self.seen[did]
        s.types.add(env.type)
        s.first_seen.setdefault(env.type, time.monotonic())
        if env.type == "decision.consultation_requested" and not s.consultees:
            req = env.payload.get("requirement") or {}
            s.consultees = [str(c["unit_id"]) for c in req.get("consultees", [])]
        if env.type == "decision.opinion_recorded":
            s.opinions.add(str(env.payload.get("consultee_unit_id")))

    async def wait(self, did: str, ok: Callable[[DecisionSeen], bool], deadline: float) -> bool:
        async with self.changed:
            while not ok(self.seen[did]):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), min(left, 2.0))
            return True


class Mailbox:
    """Watches the mail sink's directory; keeps the first opinion link per (decision, unit)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.links: dict[tuple[str, str], str] = {}
        self._read: set[str] = set()
        self.mails = 0

    def scan(self) -> None:
        for path in sorted(self.directory.glob("*.eml")):
            if path.name in self._read:
                continue
            self._read.add(path.name)
            self.mails += 1
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(msg, email.message.EmailMessage)
            body = msg.get_body(preferencelist=("plain",))
            text = body.get_content() if body else ""
            for url in LINK.findall(text):
                c = link_claims(msg, url)
                if c and c.action == "opinion":
                    self.links.setdefault((c.decision_id, c.unit_id), url)

    async def wait(self, did: str, unit: str, deadline: float) -> str | None:
        while time.monotonic() < deadline:
            self.scan()
            if (did, unit) in self.links:
                return self.links[(did, unit)]
            await asyncio.sleep(0.5)
        return None


@dataclass
class Outcome:
    decision_id: str
    kind: str
    stage: str = "not started"
    done: bool = False
    started: float = 0.0
    finished: float = 0.0
    unacked_resends: int = 0
    requests: list[str] = field(default_factory=list)


class Driver:
    def __init__(self, settings: CommonSettings, stack: Stack, mailbox: Mailbox, run: str) -> None:
        self.settings = settings
        self.stack = stack
        self.mailbox = mailbox
        self.run = run
        self.tracker = Tracker(settings)
        self.http = httpx.AsyncClient(timeout=15)
        self.outcomes: dict[str, Outcome] = {}
        self.keys = {s: SigningKey.from_jwk(s, private_jwk(s)) for s in (UBND_SYSTEM, BOARD_SYSTEM)}
        self.board_head = ""
        self.producer: AIOKafkaProducer | None = None

    async def start(self, board_head: str) -> None:
        ensure()
        self.board_head = board_head
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=15000,
            **aiokafka_kwargs(self.settings, AGENCY_PRINCIPAL),
        )
        await self.producer.start()
        await self.tracker.start()

    async def stop(self) -> None:
        await self.tracker.stop()
        if self.producer:
            await self.producer.stop()
        await self.http.aclose()

    # -- the agency side ------------------------------------------------------------
    async def send(self, out: Outcome, event: Event, system_id: str, deadline: float) -> bool:
        """Publish until the broker acknowledges (same envelope id each time, re-signed)."""
        assert self.producer is not None
        env = Envelope.wrap(event, source=AGENCY_PRINCIPAL)
        value = env.to_bytes()
        out.requests.append(env.id)
        first = True
        while time.monotonic() < deadline:
            if not first:
                out.unacked_resends += 1
            first = False
            headers = [(SIGNATURE_HEADER, sign(self.keys[system_id], value).encode())]
            try:
                await self.producer.send_and_wait(env.topic, value, key=env.subject.encode(), headers=headers)
                return True
            except KafkaError as exc:
                log.info("send of %s not acknowledged (%s); again in 1 s", env.type, type(exc).__name__)
                await asyncio.sleep(1)
        return False

    # -- the staff side ---------------------------------------------------------------
    async def give_opinion(self, url: str, deadline: float) -> bool:
        """Open the link and post the form on a live notify instance (what a load balancer does),
        with the public page's Origin, until one answer is 200."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        form = {"stance": "agree", "general_comment": "Nhất trí.", "draft_version": "1"}
        posted = False  # a post went out and no answer came back (the instance died, the store was away)
        while time.monotonic() < deadline:
            base = self.stack.live_url("notify")
            if base is None:
                await asyncio.sleep(1)
                continue
            b = urlsplit(base)
            target = urlunsplit((b.scheme, b.netloc, parts.path, parts.query, ""))
            posted_before = posted
            try:
                page = await self.http.get(target)
                if page.status_code == 200:
                    posted = True
                    r = await self.http.post(target, data=form, headers={"Origin": origin})
                    if r.status_code == 200:
                        return True
                    if r.status_code == 409 and posted_before:
                        # the earlier post was recorded but its answer was lost: what a person sees
                        # ("already submitted"); whether tasks recorded it is the checker's job
                        return True
                    if 400 <= r.status_code < 500 and r.status_code not in (409, 429):
                        log.warning("opinion form refused %s: %s", r.status_code, r.text[:200])
                        return False
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1)
        return False

    # -- one decision ---------------------------------------------------------------------
    async def workflow(self, n: int, deadline: float) -> None:
        did = f"CH-{self.run}-{n:04d}"
        out = self.outcomes[did] = Outcome(did, "full", started=time.monotonic())
        t = self.tracker
        out.stage = "draft"
        if not await self.send(
            out, draft(did, f"Quyết định thử nghiệm chịu lỗi số {n}"), UBND_SYSTEM, deadline
        ):
            return
        out.stage = "consultation_requested"
        if not await t.wait(did, lambda s: bool(s.consultees), deadline):
            return
        units = list(t.seen[did].consultees)
        out.stage = "links"

        async def opinion(unit: str) -> bool:
            url = await self.mailbox.wait(did, unit, deadline)
            return url is not None and await self.give_opinion(url, deadline)

        if not all(await asyncio.gather(*(opinion(u) for u in units))):
            return
        out.stage = "opinions_recorded"
        if not await t.wait(did, lambda s: set(s.consultees) <= s.opinions, deadline):
            return
        out.stage = "close"
        close = ConsultationCloseRequested(
            request_id=f"close-{did}", decision_id=did, submitted_at=datetime.now(UTC), requested_by="ubnd"
        )
        if not await self.send(out, close, UBND_SYSTEM, deadline):
            return
        if not await t.wait(did, lambda s: "decision.consultation_closed" in s.types, deadline):
            return
        out.stage = "synthesis"
        synthesis = SynthesisSubmitted(
            request_id=f"syn-{did}",
            decision_id=did,
            submitted_at=datetime.now(UTC),
            by_unit_id="kg.bdv",
            by_person_id=self.board_head,
            summary=f"Ban Dân vận tổng hợp ý kiến của {len(units)} cơ quan, đoàn thể.",
        )
        if not await self.send(out, synthesis, BOARD_SYSTEM, deadline):
            return
        if not await t.wait(did, lambda s: "decision.synthesised" in s.types, deadline):
            return
        out.stage = "issuance"
        issue = IssuanceRequested(
            request_id=f"iss-{did}", decision_id=did, submitted_at=datetime.now(UTC), requested_by="ubnd"
        )
        if not await self.send(out, issue, UBND_SYSTEM, deadline):
            return
        if not await t.wait(did, lambda s: "decision.issued" in s.types, deadline):
            return
        out.stage, out.done, out.finished = "issued", True, time.monotonic()

    async def probe(self, label: str, *, articles: tuple[Article, ...] | None = None) -> tuple[str, Outcome]:
        """A draft only (good traffic during the poison suite): returns when consultation is
        requested; the outcome's ``finished - started`` is its latency."""
        did = f"CH-{self.run}-{label}"
        out = self.outcomes[did] = Outcome(did, "probe", started=time.monotonic())
        probe_draft = draft(did, f"Dự thảo thăm dò {label}", articles=articles)
        deadline = time.monotonic() + 600
        out.stage = "draft"
        if await self.send(out, probe_draft, UBND_SYSTEM, deadline):
            out.stage = "consultation_requested"
            if await self.tracker.wait(did, lambda s: bool(s.consultees), deadline):
                out.stage, out.done, out.finished = "consultation_requested", True, time.monotonic()
        return did, out

    def manifest(self) -> list[dict[str, Any]]:
        return [
            {
                "decision_id": o.decision_id,
                "kind": o.kind,
                "done": o.done,
                "stage": o.stage,
                "seconds": round(o.finished - o.started, 2) if o.done else None,
                "requests": o.requests,
                "unacked_resends": o.unacked_resends,
            }
            for o in self.outcomes.values()
        ]
