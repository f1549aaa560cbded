"""The independent checker: reads every topic, database and mailbox and says what went wrong.

It trusts nothing the services say about themselves (except, for the registry copies, the digest
each instance reports of what it holds). From the driver it takes only the manifest: which
decisions were driven, which poison messages were sent and where they landed. Then:

* **lost** — a driven workflow whose decision is not ``issued`` in the tasks database (a probe:
  not past ``consultation_requested``);
* **duplicated transitions** — a fact recorded twice in a decision's history (two drafts, two
  closings, two opinions of one consultee…), or two different facts published under one ``seq``;
* **rule violations** — an issuance without an opinion of every required consultee and a synthesis
  before it, or one "with exception" that nobody overrode;
* **chain failures** — a stored history whose hashes do not recompute (sha256 over the canonical
  JSON, as documented in ``services/tasks/domain/hashchain.py``; recomputed here, not imported);
* **read-model mismatches** — a reports view whose facts or status differ from the tasks record;
* **notifications per consultee** — consultation e-mails in the mail sink (distinct Message-IDs)
  and sent deliveries in the notify database, for every (decision, consultee);
* **good messages on a DLQ** — any dead letter whose original is not a poison message;
* **poison handled** — each poison message dead-lettered with a reason, refused with a reason
  (``decision.request_rejected``) or refused by the broker; how many exactly once;
* **registry copies** — every instance's org copy: same digest, position at the topic's end;
* **lag** — every consumer group's committed offsets against the end of its topics.

``python -m scripts.chaos.check <run dir>`` re-runs it on a finished run while the servers are up.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from services.notify.worker import wire_id
from shared.contract.topics import DECISION_EVENTS, NOTIFY_EVENTS, ORG_EVENTS
from shared.kafka_auth import aiokafka_kwargs
from shared.reliability.catchup import partitions_of, topic_size
from shared.settings import CommonSettings

UNIQUE_FACTS = (
    "decision.drafted",
    "decision.consultation_requested",
    "decision.consultation_closed",
    "decision.synthesised",
    "decision.issued",
    "decision.coordination_tasks_created",
)
GENESIS = "0" * 64


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


async def stored_chain(chunks: Any, head: dict[str, Any]) -> list[dict[str, Any]]:
    """A decision's whole stored chain: the archived chunks up to its snapshot, found by walking back
    from the snapshot's hash through each chunk's first ``prev_hash`` (a chunk left by an attempt that
    lost its head update is not on that path), then the head document's tail."""
    snap = head.get("snapshot")
    by_last = {
        str(c["entries"][-1]["hash"]): list(c["entries"])
        async for c in chunks.find({"aggregate_id": head["_id"]})
        if c["entries"]
    }
    path: list[list[dict[str, Any]]] = []
    want = str(snap["hash"]) if snap else GENESIS
    while want != GENESIS and want in by_last:
        chunk = by_last.pop(want)
        path.append(chunk)
        want = str(chunk[0]["prev_hash"])
    prefix = [e for chunk in reversed(path) for e in chunk]
    return prefix + list(head.get("tail", []))


def chain_ok(chain: list[dict[str, Any]]) -> str | None:
    """None when every entry's hash recomputes and links to the previous one; else why not."""
    prev = GENESIS
    for i, e in enumerate(chain, start=1):
        if e.get("seq") != i:
            return f"entry {i} has seq {e.get('seq')}"
        if e.get("prev_hash") != prev:
            return f"entry {i} does not link to entry {i - 1}"
        body = {k: e.get(k) for k in ("seq", "event_type", "event_version", "payload", "prev_hash")}
        if hashlib.sha256(_canonical(body)).hexdigest() != e.get("hash"):
            return f"entry {i}: hash does not recompute"
        prev = str(e["hash"])
    return None


def history_faults(decision_id: str, chain: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(duplicated transitions, rule violations) of one stored history."""
    dups: list[str] = []
    violations: list[str] = []
    types = Counter(str(e["event_type"]) for e in chain)
    for t in UNIQUE_FACTS:
        if types[t] > 1:
            dups.append(f"{decision_id}: {t} ×{types[t]}")
    opinions = Counter(
        str(e["payload"].get("consultee_unit_id"))
        for e in chain
        if e["event_type"] == "decision.opinion_recorded"
    )
    dups += [f"{decision_id}: opinion of {u} ×{n}" for u, n in opinions.items() if n > 1]
    required: set[str] = set()
    opinions_before: set[str] = set()
    synthesised = overridden = False
    for e in chain:
        t, p = str(e["event_type"]), e["payload"]
        if t == "decision.consultation_requested":
            required = {str(c["unit_id"]) for c in p["requirement"]["consultees"]}
        elif t == "decision.opinion_recorded":
            opinions_before.add(str(p.get("consultee_unit_id")))
        elif t == "decision.synthesised":
            synthesised = True
        elif t == "decision.overridden":
            overridden = True
        elif t == "decision.issued":
            if p.get("with_exception") and not overridden:
                violations.append(f"{decision_id}: issued with exception, no override recorded")
            elif not p.get("with_exception"):
                missing = required - opinions_before
                if not required or missing or not synthesised:
                    violations.append(
                        f"{decision_id}: issued with opinions missing {sorted(missing)} "
                        f"(consultees known: {bool(required)}, synthesised: {synthesised})"
                    )
    return dups, violations


def message_ids(directory: Path) -> Counter[str]:
    """How many files of the mail sink carry each Message-ID (its part before ``@``)."""
    found: Counter[str] = Counter()
    for path in directory.glob("*.eml"):
        with path.open("rb") as fh:
            msg = email.message_from_binary_file(fh, policy=email.policy.default)
        found[str(msg.get("Message-ID", "")).strip("<>").split("@", 1)[0]] += 1
    return found


@dataclass
class Report:
    figures: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def fail(self, what: str, detail: str) -> None:
        self.problems[what].append(detail)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())


async def read_topic(settings: CommonSettings, topics: Iterable[str]) -> list[Any]:
    """Every record of ``topics``, from the beginning to the end offsets as of now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=2_000_000,
        fetch_max_bytes=8_000_000,
        **aiokafka_kwargs(settings, "admin"),
    )
    await consumer.start()
    out: list[Any] = []
    try:
        existing = await consumer.topics()
        parts = [tp for t in topics if t in existing for tp in await partitions_of(consumer, t)]
        if not parts:
            return out
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        todo = {tp for tp in parts if ends[tp] > 0}
        while todo:
            batch = await consumer.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                out.extend(records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    todo.discard(tp)
            for tp in list(todo):
                if await consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
    finally:
        await consumer.stop()
    return out


def _headers(record: Any) -> dict[str, str]:
    return {k: (v or b"").decode("utf-8", "replace") for k, v in (record.headers or ())}


class Checker:
    def __init__(self, settings: CommonSettings, run_dir: Path) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.manifest: dict[str, Any] = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        self.report = Report()

    async def check(self) -> Report:
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.settings.mongo_url, tz_aware=True)
        try:
            tasks = await self._tasks(mongo)
            await self._topic_facts()
            await self._reports(mongo, tasks)
            await self._notifications(mongo, tasks)
            await self._dead_letters_and_poison()
            await self._copies()
            await self._lag()
        finally:
            await mongo.close()
        return self.report

    # -- tasks: lost, duplicated, violations, chains ------------------------------------
    async def _tasks(self, mongo: AsyncMongoClient[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        r = self.report
        coll = mongo[self.settings.database_name("tasks")]["decisions"]
        prefix = f"CH-{self.manifest['run']}-"
        docs = {str(d["_id"]): d async for d in coll.find({"_id": {"$regex": f"^{prefix}"}}, {"outbox": 0})}
        chunks = mongo[self.settings.database_name("tasks")]["decisions_chunks"]
        for head in docs.values():
            head["chain"] = await stored_chain(chunks, head)
        driven = self.manifest["workflows"]
        full = [w for w in driven if w["kind"] == "full"]
        probes = [w for w in driven if w["kind"] == "probe"]
        issued = 0
        for w in full:
            d = docs.get(w["decision_id"])
            if d is not None and d.get("status") == "issued":
                issued += 1
            else:
                r.fail(
                    "lost",
                    f"{w['decision_id']}: status {d.get('status') if d else 'absent'} (driver at {w['stage']})",
                )
        reached = 0
        for w in probes:
            d = docs.get(w["decision_id"])
            chain = d["chain"] if d else []
            if any(e["event_type"] == "decision.consultation_requested" for e in chain):
                reached += 1
            else:
                r.fail("lost", f"probe {w['decision_id']}: no consultation requested")
        chains = 0
        for did, d in docs.items():
            chain = list(d["chain"])
            why = chain_ok(chain)
            chains += why is None
            if why:
                r.fail("chain failures", f"{did}: {why}")
            dups, violations = history_faults(did, chain)
            for x in dups:
                r.fail("duplicated transitions", x)
            for x in violations:
                r.fail("rule violations", x)
        r.figures["workflows driven"] = len(full)
        r.figures["workflows issued"] = issued
        r.figures["probes past consultation_requested"] = f"{reached}/{len(probes)}"
        r.figures["chains verified"] = f"{chains}/{len(docs)}"
        r.figures["decisions in the tasks database"] = len(docs)
        return docs

    async def _topic_facts(self) -> None:
        """Facts on ``tasks.decisions``: one content per (decision, seq); copies counted."""
        r = self.report
        by_seq: dict[tuple[str, int], set[bytes]] = defaultdict(set)
        ids: Counter[str] = Counter()
        per_fact_ids: dict[tuple[str, int], set[str]] = defaultdict(set)
        for rec in await read_topic(self.settings, [DECISION_EVENTS]):
            try:
                env = json.loads(rec.value)
            except ValueError:
                r.fail("duplicated transitions", f"unreadable record at {rec.partition}:{rec.offset}")
                continue
            seq = env["payload"].get("seq")
            if seq is None:
                continue
            key = (str(env["payload"].get("decision_id")), int(seq))
            by_seq[key].add(_canonical(env["payload"]))
            ids[str(env["id"])] += 1
            per_fact_ids[key].add(str(env["id"]))
        for (did, seq), contents in by_seq.items():
            if len(contents) > 1:
                r.fail(
                    "duplicated transitions", f"{did} seq {seq}: {len(contents)} different facts published"
                )
        r.figures["facts on tasks.decisions"] = sum(ids.values())
        r.figures["facts published twice (same envelope id, at-least-once)"] = sum(
            n - 1 for n in ids.values()
        )
        r.figures["facts re-wrapped under a new envelope id"] = sum(
            len(v) - 1 for v in per_fact_ids.values() if len(v) > 1
        )

    # -- reports -------------------------------------------------------------------------
    async def _reports(
        self, mongo: AsyncMongoClient[dict[str, Any]], tasks: dict[str, dict[str, Any]]
    ) -> None:
        coll = mongo[self.settings.database_name("reports")]["decisions"]
        views = {str(d["_id"]): d async for d in coll.find({"_id": {"$in": list(tasks)}}, {"outbox": 0})}
        agree = 0
        for did, t in tasks.items():
            seqs = {str(e["seq"]) for e in t["chain"]}
            v = views.get(did)
            got = set((v or {}).get("state", {}).get("facts", {}))
            status = (v or {}).get("status")
            if v is None or got != seqs or status != t.get("status"):
                self.report.fail(
                    "read-model mismatches",
                    f"{did}: tasks {len(seqs)} facts/{t.get('status')}, reports {len(got)} facts/{status}",
                )
            else:
                agree += 1
        self.report.figures["read models agreeing with tasks"] = f"{agree}/{len(tasks)}"

    # -- notifications -----------------------------------------------------------------
    async def _notifications(
        self, mongo: AsyncMongoClient[dict[str, Any]], tasks: dict[str, dict[str, Any]]
    ) -> None:
        """Every consultee of every decision: one consultation delivery (e-mail), sent, recorded as
        sent on ``notify.events``, and its message (alone or in a digest) in the mail sink."""
        r = self.report
        expected: set[tuple[str, str]] = set()
        for did, t in tasks.items():
            for e in t["chain"]:
                if e["event_type"] == "decision.consultation_requested":
                    expected |= {(did, str(c["unit_id"])) for c in e["payload"]["requirement"]["consultees"]}
        coll = mongo[self.settings.database_name("notify")]["deliveries"]
        deliveries: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        async for d in coll.find(
            {"state.kind": "consultation_requested", "state.channel": "email"}, {"outbox": 0}
        ):
            deliveries[(str(d["state"].get("decision_id")), str(d["state"].get("unit_id")))].append(d)
        # read after the database: a delivery recorded as sent was in the sink (and its event on its
        # way) before it was recorded, so nothing is counted missing only because it came later
        in_sink = await asyncio.to_thread(message_ids, Path(self.manifest["mail_dir"]))
        sent_events: Counter[str] = Counter()
        for rec in await read_topic(self.settings, [NOTIFY_EVENTS]):
            env = json.loads(rec.value)
            if env["type"] == "notify.delivery_sent":
                sent_events[str(env["payload"]["delivery_id"])] += 1
        once = copies = 0
        for key in sorted(expected):
            found = deliveries.get(key, [])
            where = f"{key[0]} / {key[1]}"
            if len(found) != 1:
                r.fail("notifications", f"{where}: {len(found)} consultation deliveries")
                continue
            d = found[0]
            wire = wire_id(str(d["state"].get("digest_id") or d["_id"]))
            if d["status"] != "sent":
                r.fail("notifications", f"{where}: delivery {d['status']} ({d['state'].get('last_error')})")
            elif not sent_events[str(d["_id"])]:
                r.fail("notifications", f"{where}: sent, but no notify.delivery_sent published")
            elif not in_sink[wire]:
                r.fail("notifications", f"{where}: recorded as sent, not in the mail sink")
            else:
                once += 1
                copies += in_sink[wire] - 1
        r.figures["consultees: one delivery, sent, published, received"] = f"{once}/{len(expected)}"
        r.figures["e-mails received twice (same Message-ID)"] = copies

    # -- dead letters and poison -------------------------------------------------------
    async def _dead_letters_and_poison(self) -> None:
        r = self.report
        dlq_topics = await dead_letter_topics(self.settings)
        poison = self.manifest.get("poison", [])
        by_coords = {(p["topic"], p["partition"], p["offset"]): p for p in poison if p["offset"] is not None}
        letters: Counter[tuple[str, int, int]] = Counter()
        reasons: dict[tuple[str, int, int], str] = {}
        good = 0
        for rec in await read_topic(self.settings, dlq_topics):
            h = _headers(rec)
            coords = (
                h.get("dv-dlq-original-topic", ""),
                int(h.get("dv-dlq-original-partition", "-1")),
                int(h.get("dv-dlq-original-offset", "-1")),
            )
            if coords in by_coords:
                letters[coords] += 1
                reasons[coords] = h.get("dv-dlq-reason", "")
            else:
                good += 1
                r.fail(
                    "good messages on a DLQ",
                    f"{rec.topic} from {h.get('dv-dlq-service')}: {h.get('dv-dlq-reason', '')[:160]}",
                )
        rejected: dict[str, str] = {}
        for rec in await read_topic(self.settings, [DECISION_EVENTS]):
            env = json.loads(rec.value)
            if env["type"] == "decision.request_rejected":
                p = env["payload"]
                if p.get("code") and p.get("message_vi"):
                    rejected.setdefault(str(p["request_id"]), str(p["code"]))
        handled: Counter[str] = Counter()
        exactly_once = 0
        per_class: Counter[str] = Counter()
        for p in poison:
            per_class[p["cls"]] += 1
            coords = (p["topic"], p["partition"], p["offset"])
            if p["expect"] == "broker" or p["broker_refused"]:
                # refused by the broker itself (a topic the principal may not write, a record over the
                # broker's own limit): the sender got the error, nothing entered the platform
                ok = bool(p["broker_refused"])
                exactly_once += ok
            elif p["expect"] == "rejection":
                ok = p["request_id"] in rejected
                exactly_once += ok
            else:
                ok = letters[coords] >= 1 and bool(reasons.get(coords))
                exactly_once += letters[coords] == 1
            if ok:
                handled[p["cls"]] += 1
            else:
                r.fail("poison not handled", f"{p['cls']} at {coords}")
        if poison:
            r.figures["poison handled with a reason"] = (
                f"{sum(handled.values())}/{len(poison)} = {100 * sum(handled.values()) / len(poison):.1f} %"
            )
            r.figures["poison handled exactly once"] = f"{exactly_once}/{len(poison)}"
            r.figures["poison per class (handled/sent)"] = ", ".join(
                f"{c} {handled[c]}/{n}" for c, n in per_class.items()
            )
        r.figures["good messages dead-lettered"] = good

    # -- registry copies and lag ---------------------------------------------------------
    async def _copies(self) -> None:
        r = self.report
        size = await topic_size(self.settings, ORG_EVENTS, principal="admin")
        digests: dict[str, str] = {}
        async with httpx.AsyncClient(timeout=5) as c:
            for name, url in self.manifest["instances"].items():
                if name.startswith("org"):
                    continue
                try:
                    h = (await c.get(f"{url}/health")).json()
                except (httpx.HTTPError, ValueError) as exc:
                    r.fail("registry copies", f"{name}: /health unreachable ({type(exc).__name__})")
                    continue
                digests[name] = str(h.get("org_digest"))
                if int(h.get("org_position", -1)) < size:
                    r.fail("registry copies", f"{name}: at {h.get('org_position')} of {size} org events")
        if len(set(digests.values())) > 1:
            r.fail(
                "registry copies", "digests differ: " + ", ".join(f"{n}={d[:12]}" for n, d in digests.items())
            )
        r.figures["registry copies equal"] = (
            f"{len(digests)} instances, {len(set(digests.values()))} digest(s)"
        )

    async def _lag(self) -> None:
        pending = await pending_work(self.settings)
        self.report.figures["work still pending at the check"] = sum(pending.values())
        for what, n in pending.items():
            self.report.fail("lag", f"{what}: {n}")
        lag = await group_lag(self.settings)
        self.report.figures["consumer lag at the end"] = sum(lag.values())
        for g, n in lag.items():
            if n:
                self.report.fail("lag", f"group {g}: {n} records behind")


async def group_lag(settings: CommonSettings) -> dict[str, int]:
    """Records between each consumer group's committed offsets and the end of its partitions."""
    auth = aiokafka_kwargs(settings, "admin")
    lag: dict[str, int] = {}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **auth)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, **auth)
    await admin.start()
    await consumer.start()
    try:
        for g, *_ in await admin.list_consumer_groups():
            offsets = await admin.list_consumer_group_offsets(g)
            if offsets:
                end = await consumer.end_offsets(list(offsets))
                lag[g] = sum(max(0, end[tp] - om.offset) for tp, om in offsets.items() if om.offset >= 0)
    finally:
        await consumer.stop()
        await admin.close()
    return lag


async def pending_work(settings: CommonSettings) -> dict[str, int]:
    """What the services still have to do: stored envelopes not yet published (per database) and
    deliveries not yet sent (due or waiting for a retry)."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo_url, serverSelectionTimeoutMS=5000
    )
    out: dict[str, int] = {}
    try:
        for service in ("org", "tasks", "notify", "reports"):
            db = mongo[settings.database_name(service)]
            for name in await db.list_collection_names():
                n = await db[name].count_documents({"outbox_pending": True})
                if n:
                    out[f"{service}.{name} outbox"] = n
        due = await mongo[settings.database_name("notify")]["deliveries"].count_documents(
            {"status": {"$in": ["pending", "failed_retryable"]}}
        )
        if due:
            out["notify deliveries unsent"] = due
    finally:
        await mongo.close()
    return out


async def dead_letter_topics(settings: CommonSettings) -> list[str]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **aiokafka_kwargs(settings, "admin")
    )
    await admin.start()
    try:
        return [t for t in await admin.list_topics() if t.endswith(".dlq")]
    finally:
        await admin.close()


def print_report(report: Report) -> None:
    print("\n\033[1m==> Checker (independent: topics, databases, mail sink)\033[0m")
    for k, v in report.figures.items():
        print(f"    {k:58} {v}")
    headline = (
        "lost",
        "duplicated transitions",
        "rule violations",
        "chain failures",
        "read-model mismatches",
        "notifications",
        "good messages on a DLQ",
        "poison not handled",
        "registry copies",
        "lag",
    )
    print()
    for what in headline:
        found = report.problems.get(what, [])
        print(f"    {what:58} {len(found)}")
        for line in found[:10]:
            print(f"        - {line}")
        if len(found) > 10:
            print(f"        … and {len(found) - 10} more")


def main() -> int:
    run_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if run_dir is None:
        runs = sorted((Path(__file__).resolve().parents[2] / ".cache" / "chaos").glob("*/manifest.json"))
        if not runs:
            print("no chaos run found (.cache/chaos/*/manifest.json)", file=sys.stderr)
            return 2
        run_dir = runs[-1].parent
    report = asyncio.run(Checker(CommonSettings(), run_dir).check())
    print_report(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
