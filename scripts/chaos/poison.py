"""The poison suite: bad messages of every class, near-limit sizes included, amid good traffic.

Each poison message is published by an agency principal and remembered by its Kafka coordinates
(and request id, where it has one); the checker later looks for what became of each: a dead letter
naming it (``dv-dlq-original-*`` headers) with a reason, a ``decision.request_rejected`` naming its
request id, or a refusal by the broker itself (a topic the principal may not write). Meanwhile a
good draft is published every second and timed to its ``decision.consultation_requested``: the
longest such latency is the longest stall poison caused to good traffic.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from scripts.chaos.driver import AGENCY_PRINCIPAL, BOARD_SYSTEM, UBND_SYSTEM, Driver, draft
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import Article
from shared.contract.topics import DECISION_EVENTS, DECISION_REQUESTS, WORKFLOW_REQUESTS
from shared.kafka_auth import aiokafka_kwargs
from shared.security.signing import SIGNATURE_HEADER, sign
from shared.settings import CommonSettings

# class → what must become of it
CLASSES: dict[str, str] = {
    "not_json": "dlq",
    "not_an_envelope": "dlq",
    "unknown_type": "dlq",
    "bad_schema": "dlq",
    "field_too_long": "dlq",
    "key_mismatch": "dlq",
    "over_entrance_limit": "dlq",
    "near_broker_limit": "dlq",  # ≈1,047,800–1,048,500 bytes: fits the broker, not its own dead letter
    "workflow_not_json": "dlq",
    "unsigned": "rejection",
    "wrong_system": "rejection",
    "tampered": "rejection",
    "forbidden_topic": "broker",
}
# the big ones are slow to push through a loopback broker: fewer of them
WEIGHT: dict[str, float] = {"over_entrance_limit": 0.25, "near_broker_limit": 0.25, "forbidden_topic": 0.1}


@dataclass
class Poison:
    cls: str
    expect: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    request_id: str | None = None
    size: int = 0
    broker_refused: bool = False
    refused_with: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _draft(did: str, **over: Any) -> dict[str, Any]:
    event = draft(did, "Dự thảo độc", submitted_by="chaos-poison")
    data: dict[str, Any] = json.loads(Envelope.wrap(event, source=AGENCY_PRINCIPAL).to_bytes())
    data["payload"].update(over)
    return data


def raw(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def _sized(did: str, target: int) -> bytes:
    """A draft envelope of about ``target`` bytes (its one article carries the padding)."""
    data = _draft(did)
    base = len(json.dumps(data, ensure_ascii=False).encode())
    data["payload"]["articles"][0]["text"] = "a" * max(0, target - base)
    return json.dumps(data, ensure_ascii=False).encode()


class PoisonSuite:
    def __init__(self, settings: CommonSettings, driver: Driver, run: str, total: int) -> None:
        self.settings = settings
        self.driver = driver
        self.run = run
        self.total = total
        self.sent: list[Poison] = []
        self.stalls: list[float] = []

    def _message(self, cls: str, i: int) -> tuple[str, bytes | None, bytes, bool, str | None]:
        """(topic, key, value, signed, request id)."""
        did = f"CH-{self.run}-poison-{cls}-{i}"
        match cls:
            case "not_json":
                return DECISION_REQUESTS, did.encode(), b"\xff\xfe{not json " + uuid.uuid4().bytes, True, None
            case "workflow_not_json":
                return WORKFLOW_REQUESTS, did.encode(), b"<xml/>" + uuid.uuid4().bytes, True, None
            case "not_an_envelope":
                return DECISION_REQUESTS, did.encode(), raw({"hello": did}), True, None
            case "unknown_type":
                d = _draft(did)
                d["type"] = "decision.nonsense_submitted"
                return DECISION_REQUESTS, did.encode(), raw(d), True, None
            case "bad_schema":
                d = _draft(did)
                del d["payload"]["title"]
                d["payload"]["articles"] = "not a list"
                return DECISION_REQUESTS, did.encode(), raw(d), True, None
            case "field_too_long":
                return DECISION_REQUESTS, did.encode(), raw(_draft(did, title="T" * 5000)), True, None
            case "key_mismatch":
                return DECISION_REQUESTS, b"another-key", raw(_draft(did)), True, None
            case "over_entrance_limit":
                return DECISION_REQUESTS, did.encode(), _sized(did, 600_000 + i), True, None
            case "near_broker_limit":
                return DECISION_REQUESTS, did.encode(), _sized(did, 1_047_800 + (i * 37) % 700), True, None
            case "unsigned":
                return DECISION_REQUESTS, did.encode(), raw(_draft(did)), False, f"draft-{did}"
            case "wrong_system" | "tampered":
                return DECISION_REQUESTS, did.encode(), raw(_draft(did)), True, f"draft-{did}"
            case "forbidden_topic":
                return DECISION_EVENTS, did.encode(), raw(_draft(did)), True, None
        raise ValueError(cls)

    def _counts(self) -> dict[str, int]:
        weights = {c: WEIGHT.get(c, 1.0) for c in CLASSES}
        scale = self.total / sum(weights.values())
        return {c: max(1, round(w * scale)) for c, w in weights.items()}

    async def run_suite(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            max_request_size=1_100_000,
            **aiokafka_kwargs(self.settings, AGENCY_PRINCIPAL),
        )
        await producer.start()
        stop = asyncio.Event()
        prober = asyncio.create_task(self._probe(stop))
        try:
            for cls, n in self._counts().items():
                for i in range(n):
                    await self._send_one(producer, cls, i)
        finally:
            await producer.stop()
            await asyncio.sleep(5)  # good traffic after the last poison too
            stop.set()
            await prober

    async def _send_one(self, producer: AIOKafkaProducer, cls: str, i: int) -> None:
        topic, key, value, signed, request_id = self._message(cls, i)
        p = Poison(cls, CLASSES[cls], topic, request_id=request_id, size=len(value))
        headers: list[tuple[str, bytes]] = []
        if signed:
            system = BOARD_SYSTEM if cls == "wrong_system" else UBND_SYSTEM
            signature = sign(self.driver.keys[system], value if cls != "tampered" else value + b" ")
            headers.append((SIGNATURE_HEADER, signature.encode()))
        try:
            md = await producer.send_and_wait(topic, value, key=key, headers=headers)
            p.partition, p.offset = md.partition, md.offset
        except KafkaError as exc:
            p.broker_refused = True
            p.refused_with = type(exc).__name__
        self.sent.append(p)

    async def _probe(self, stop: asyncio.Event) -> None:
        n = 0
        pending: list[asyncio.Task[Any]] = []
        while not stop.is_set():
            n += 1
            pending.append(asyncio.create_task(self.driver.probe(f"probe-{n:04d}")))
            await asyncio.sleep(1)
        for _did, out in await asyncio.gather(*pending):
            self.stalls.append(out.finished - out.started if out.done else float("inf"))

    async def big_good_draft(self) -> bool:
        """A valid draft just under the entrance limit (five 99,000-character articles): must pass,
        and its ``decision.drafted`` must reach Kafka (it once stopped the relay)."""
        articles = tuple(Article(article_id=f"dieu-{k}", text="b" * 99_000) for k in range(1, 6))
        started = time.monotonic()
        _, out = await self.driver.probe("big-valid", articles=articles)
        print(
            f"    near-limit valid draft (~495 KB): {'passed' if out.done else 'STUCK'} in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
        return out.done
