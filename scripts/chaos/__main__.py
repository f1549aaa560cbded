"""``./dev chaos``: the full line under SIGKILLs and outages, then an independent check.

1. Starts org, two tasks instances, two notify instances and reports (one consumer group per
   service), a mail sink, on the local broker and store (``./dev chaos`` resets them first).
2. Drives ``--workflows`` decisions through the full line (links included, :mod:`.driver`), their
   arrivals spread over the fault plan, while :mod:`.faults` SIGKILLs a random component every
   ``--kill-every`` seconds and takes each one (store, broker, each service) down for ``--outage``
   seconds, with a failover of each instance pair half-way.
3. After the plan and the stragglers: the poison suite (:mod:`.poison`) amid timed good traffic.
4. Waits for the consumers to catch up, writes ``manifest.json`` and runs :mod:`.check`.

Exit status 0 only when the checker finds nothing wrong. Everything is kept in ``.cache/chaos/<run>``
(logs of every instance, the mails, the manifest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx

from scripts.chaos.check import Checker, group_lag, pending_work, print_report
from scripts.chaos.driver import Driver, Mailbox
from scripts.chaos.faults import FaultLog, Faults
from scripts.chaos.poison import PoisonSuite
from scripts.chaos.stack import REPO, Stack, free_port
from scripts.secrets import account_password
from services.notify.mailsink import start_sink
from shared.settings import CommonSettings

INSTANCES = ("org#1", "tasks#1", "tasks#2", "notify#1", "notify#2", "reports#1")
"""Instance names are ``service#n``, so a name never reads as the whole service."""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


async def board_head(org_url: str) -> str:
    """The Ban Dân vận's person in charge (who signs the synthesis), as the board's system knows it."""
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.post(
            f"{org_url}/api/session",
            json={"username": "kg.vanphong", "password": account_password("kg.vanphong")},
        )
        r.raise_for_status()
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        body = (await c.get(f"{org_url}/api/units/kg.bdv/in-charge", headers=auth)).json()
        return str(body["person_id"])


async def settle(settings: CommonSettings, within: float) -> float:
    """Until every consumer group has committed the end of its topics, every outbox is published and
    every delivery sent (or ``within`` passes); returns how long it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        if sum((await group_lag(settings)).values()) == 0 and not await pending_work(settings):
            break
        await asyncio.sleep(2)
    return time.monotonic() - t0


async def print_readiness(stack: Stack) -> None:
    """What each instance says of itself at the end (for the operator reading a failed run)."""
    async with httpx.AsyncClient(timeout=5) as c:
        for name, inst in stack.instances.items():
            try:
                h = (await c.get(f"{inst.url}/health")).json()
                r = (await c.get(f"{inst.url}/ready")).json()
                print(
                    f"    {name:10} ready={r.get('ready')} published={h.get('outbox_published')} "
                    f"isolated={h.get('outbox_isolated')} waiting_for={r.get('waiting_for')}",
                    flush=True,
                )
            except (httpx.HTTPError, ValueError) as exc:
                print(f"    {name:10} unreachable ({type(exc).__name__})", flush=True)


async def run(a: argparse.Namespace) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its reconnect chatter during outages
    rng = random.Random(a.seed)
    run_id = uuid.uuid4().hex[:6]
    run_dir = REPO / ".cache" / "chaos" / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{run_id}"
    (run_dir / "logs").mkdir(parents=True)
    mail_dir = run_dir / "mail"
    smtp_port = free_port()
    sink = start_sink(mail_dir, port=smtp_port, quiet=True)
    settings = CommonSettings()
    notify_port = free_port()
    stack = Stack(
        logdir=run_dir / "logs",
        env={
            "SMTP_PORT": str(smtp_port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{notify_port}",
            "LOG_LEVEL": "WARNING",
            "CONSUMER_OUTAGE_BACKOFF_MAX_SECONDS": "5",
        },
    )
    for name in INSTANCES:
        inst = stack.add(name)
        if name == "notify#1":
            inst.port = notify_port
    print(
        f"\033[1m==> Chaos run {run_id}: {a.workflows} workflows, outages of {a.outage:.0f} s, "
        f"a kill every ~{a.kill_every:.0f} s (seed {a.seed}); files in {run_dir}\033[0m",
        flush=True,
    )
    log = FaultLog()
    faults = Faults(stack, rng, log)
    driver = Driver(settings, stack, Mailbox(mail_dir), run_id)
    poison = PoisonSuite(settings, driver, run_id, a.poison)
    t_start = time.monotonic()
    try:
        for inst in stack.instances.values():
            inst.start()
        await stack.wait_healthy(within=240)
        print(
            f"    all {len(stack.instances)} instances ready in {time.monotonic() - t_start:.0f} s",
            flush=True,
        )
        await driver.start(await board_head(stack.instances["org#1"].url))
        faults.supervise()
        plan_s = (
            Faults.plan_seconds(warmup=a.warmup, gap=a.gap, outage=a.outage) if a.faults else a.workflows / 2
        )
        plan = asyncio.create_task(
            faults.plan(warmup=a.warmup, gap=a.gap, every=a.kill_every, outage=a.outage)
            if a.faults
            else asyncio.sleep(0)
        )
        deadline = time.monotonic() + plan_s + a.settle
        gate = asyncio.Semaphore(a.concurrency)
        t0 = time.monotonic()

        async def one(n: int) -> None:
            await asyncio.sleep(n * plan_s / a.workflows)
            async with gate:
                # a workflow let in late (behind the others) still gets its full budget: a run that
                # stops driving it is the harness's deadline, not a loss the checker should count
                await driver.workflow(n, max(deadline, time.monotonic() + a.budget))

        work = asyncio.gather(*(one(n) for n in range(1, a.workflows + 1)))
        progress = asyncio.create_task(report_progress(driver, a.workflows))
        await work
        t_work = time.monotonic() - t0
        await plan
        progress.cancel()
        faults.unsupervise()
        for server in (stack.broker, stack.store):
            if not server.alive():
                await server.start()
        for inst in stack.instances.values():
            inst.start()
        await stack.wait_healthy(within=240)
        done = [o for o in driver.outcomes.values() if o.kind == "full" and o.done]
        print(f"    driver: {len(done)}/{a.workflows} workflows issued in {t_work:.0f} s", flush=True)

        stall_line = ""
        if a.poison:
            print(f"\033[1m==> Poison suite: {a.poison} bad messages amid good traffic\033[0m", flush=True)
            await poison.big_good_draft()
            await poison.run_suite()
            finite = [s for s in poison.stalls if s != float("inf")]
            stall_line = (
                f"good drafts during the poison: {len(finite)}/{len(poison.stalls)} answered; latency "
                f"p50 {pct(finite, 50):.2f} s, longest {max(poison.stalls, default=0):.2f} s"
            )
            print(f"    {stall_line}", flush=True)
        quiet = await settle(settings, 300)
        print(f"    consumers caught up and outboxes empty {quiet:.0f} s after the last message", flush=True)
        await print_readiness(stack)
        manifest = {
            "run": run_id,
            "mail_dir": str(mail_dir),
            "instances": {n: i.url for n, i in stack.instances.items()},
            "workflows": driver.manifest(),
            "poison": [p.to_json() for p in poison.sent],
            "faults": log.entries,
        }
        (run_dir / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        report = await Checker(settings, run_dir).check()
        secs = [o.finished - o.started for o in done]
        f = report.figures
        f["faults: SIGKILLs / outages"] = f"{log.count('SIGKILL')} / {log.count('outage')}"
        f["instances that exited by themselves (restarted)"] = sum(log.self_exits.values())
        f["workflow seconds p50 / p95 / max"] = (
            f"{pct(secs, 50):.1f} / {pct(secs, 95):.1f} / {max(secs, default=0):.1f}"
        )
        f["requests re-sent after no acknowledgement"] = sum(
            o.unacked_resends for o in driver.outcomes.values()
        )
        if stall_line:
            f["poison: good traffic"] = stall_line
        f["run time"] = f"{time.monotonic() - t_start:.0f} s"
        print_report(report)
        print("\n    " + ("CHAOS PASSED" if report.ok else "CHAOS FOUND PROBLEMS") + f" (files in {run_dir})")
        return 0 if report.ok else 1
    finally:
        await driver.stop()
        stack.stop()
        sink.stop()


async def report_progress(driver: Driver, total: int) -> None:
    while True:
        await asyncio.sleep(30)
        full = [o for o in driver.outcomes.values() if o.kind == "full"]
        stages = statistics.multimode([o.stage for o in full if not o.done]) if full else []
        print(
            f"    … {sum(o.done for o in full)}/{total} issued, {len(full)} started"
            f"{'; most waiting at ' + stages[0] if stages else ''}",
            flush=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(prog="./dev chaos", description=__doc__.split("\n\n")[0])
    ap.add_argument("--workflows", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=40)
    ap.add_argument("--outage", type=float, default=60.0, help="seconds each component stays down once")
    ap.add_argument("--gap", type=float, default=30.0, help="seconds of random kills between outages")
    ap.add_argument("--kill-every", type=float, default=12.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--settle", type=float, default=600.0, help="seconds allowed after the plan")
    ap.add_argument(
        "--budget", type=float, default=900.0, help="seconds each workflow has at least, from its start"
    )
    ap.add_argument("--poison", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--no-faults", dest="faults", action="store_false")
    return asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
