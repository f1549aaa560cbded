"""What a request costs as a decision's history grows, on the real document store. Prints figures.

The measured case is the one that grew O(L²) before the event-sourced repository: a public
comment on a decision whose history already holds L entries. For each L it builds one decision
through the domain commands (draft, consultation with a public window, L - 3 public comments),
stored through :class:`shared.eventsourcing.repository.EventSourcedRepository` on the real store,
then times ``--n`` more comments through the same path as the tasks service (load → command →
append; the relay drains the outbox between requests, untimed) and prints the median per request, the store commands per request and the head
document's size — warm (the process's verified cache, the steady state of a service) and cold
(a fresh process: snapshot + tail, or the whole chain when nothing was archived yet).

Usage: ./dev bench history [--sizes 10,500] [--n 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

from bson import BSON
from pymongo import AsyncMongoClient, monitoring

from services.tasks.domain.calendar import VN_TZ
from services.tasks.domain.decision import Decision
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import ConsultationRequirement, ConsulteeSpec, DocType
from shared.eventsourcing.heads import MongoHeads
from shared.eventsourcing.repository import Append, EventSourcedRepository
from shared.reliability.outbox import OutboxRelay
from shared.settings import CommonSettings

RUN = uuid.uuid4().hex[:6]
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=VN_TZ)


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.count: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in {"find", "insert", "update", "delete", "findAndModify", "aggregate"}:
            self.count[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def requirement() -> ConsultationRequirement:
    return ConsultationRequirement(
        consultees=(
            ConsulteeSpec(unit_id="bdv", kind="dan_van_board", name_vi="Ban Dân vận"),
            ConsulteeSpec(unit_id="mttq", kind="fatherland_front", name_vi="Ủy ban MTTQ"),
        ),
        deadline=NOW + timedelta(days=30),
        public_comment_required=True,
        public_comment_closes_at=NOW + timedelta(days=20),
        override_roles=("party_secretary",),
        synthesiser_unit_id="bdv",
        escalation_unit_id="tu",
        report_to_unit_ids=("tu", "ubnd"),
        citations=("357-QĐ/TU mục 5",),
        policy_id="bench",
        policy_version="1",
    )


async def comment(repo: EventSourcedRepository[Decision], did: str, i: int) -> None:
    def decide(d: Decision, exists: bool) -> Append | None:
        if not exists:
            facts = d.draft(
                f"{did}:draft",
                decision_id=did,
                issuer_unit_id="ubnd",
                doc_type=DocType.DECISION,
                title="Quyết định thử tải",
                flags=(),
                articles=(("d1", "Điều 1."), ("d2", "Điều 2.")),
                at=NOW,
            )
            facts += d.request_consultation(f"{did}:consult", requirement=requirement(), at=NOW)
        else:
            facts = d.record_public_comment(
                f"{did}:c{i}", text=f"Góp ý số {i} " + "x" * 200, at=NOW, article_id="d1", author_ref=None
            )
        envs = [Envelope.wrap(f, source="bench") for f in facts]
        return Append(facts=facts, outbox=envs, extra={"next_timer_at": d.next_timer_at(NOW)})

    await repo.execute(did, f"{did}:m{i}", decide)


async def main(sizes: list[int], n: int) -> None:
    settings = CommonSettings()
    listener = Commands()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_url, tz_aware=True, event_listeners=[listener]
    )
    db = client[f"bench_history_{RUN}"]
    heads = MongoHeads(db["decisions"], db["decisions_chunks"], inbox_size=settings.inbox_size)

    async def publish(env: Envelope) -> None:
        return None  # what the relay would send; the request's cost is what is measured

    relay = OutboxRelay([heads.collection], publish, owner="bench")

    def repository() -> EventSourcedRepository[Decision]:
        return EventSourcedRepository(
            heads, new=Decision, restore=Decision.restore, snapshot_every=settings.snapshot_every
        )

    try:
        await heads.ensure_indexes()
        print(
            f"event-sourced repository, real store ({settings.mongo_url.split('@')[-1]}), "
            f"snapshot every {settings.snapshot_every}, {n} requests per size"
        )
        print(f"{'entries':>8} {'warm ms p50':>12} {'ops/req':>8} {'cold ms p50':>12} {'head KB':>8}")
        baseline: float | None = None
        for size in sizes:
            did = f"h{size}-{RUN}"
            repo = repository()
            i = 0
            while True:  # draft + consultation + public window opened = 3 entries, then comments
                await comment(repo, did, i)
                await relay.run_once()  # as in the service: the outbox is drained after each save
                i += 1
                current = await repo.current(did)
                assert current is not None
                if current.seq >= size:
                    break
            warm: list[float] = []
            ops_before = sum(listener.count.values())
            for k in range(n):
                t0 = time.perf_counter()
                await comment(repo, did, i + k)
                warm.append((time.perf_counter() - t0) * 1000)
                ops_before -= sum(listener.count.values())
                await relay.run_once()  # not timed, not counted: the relay's own cost
                ops_before += sum(listener.count.values())
            ops = (sum(listener.count.values()) - ops_before) / n
            cold: list[float] = []
            for k in range(max(3, n // 5)):
                fresh = repository()  # another process: nothing cached
                t0 = time.perf_counter()
                await comment(fresh, did, i + n + k)
                cold.append((time.perf_counter() - t0) * 1000)
                await relay.run_once()
            raw = await db["decisions"].find_one({"_id": did})
            head_kb = len(BSON.encode(raw or {})) / 1024
            p50 = statistics.median(warm)
            baseline = baseline or p50
            print(
                f"{size:>8} {p50:>12.1f} {ops:>8.1f} {statistics.median(cold):>12.1f} {head_kb:>8.1f}"
                f"   ({p50 / baseline:.2f}× the first size)"
            )
    finally:
        await client.drop_database(db.name)
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,500", help="history lengths to measure, comma-separated")
    parser.add_argument("--n", type=int, default=30, help="requests timed per size")
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")], args.n))
