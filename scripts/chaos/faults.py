"""The fault plan: random SIGKILLs, a long outage of every component, a failover of each pair.

Between the outages, every ``kill_every`` seconds (±50 %) a random component (a service instance,
the broker or the store) is SIGKILLed and restarted 0–5 s later. Each outage keeps one component
(for tasks and notify: both instances) down for ``outage`` seconds. A supervisor restarts an
instance that exited by itself (as systemd's ``Restart=always`` would) and counts it.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from scripts.chaos.stack import Server, Stack

OUTAGE_TARGETS = ("store", "broker", "org", "tasks", "notify", "reports")


@dataclass
class FaultLog:
    t0: float = field(default_factory=time.monotonic)
    entries: list[tuple[float, str, str]] = field(default_factory=list)
    self_exits: dict[str, int] = field(default_factory=dict)

    def add(self, action: str, target: str) -> None:
        t = time.monotonic() - self.t0
        self.entries.append((round(t, 1), action, target))
        print(f"    [chaos {t:6.1f} s] {action:8} {target}", flush=True)

    def count(self, action: str) -> int:
        return sum(1 for _, a, _ in self.entries if a == action)


class Faults:
    def __init__(self, stack: Stack, rng: random.Random, log: FaultLog) -> None:
        self.stack = stack
        self.rng = rng
        self.log = log
        self.held: set[str] = set()  # instances kept down on purpose
        self._supervisor: asyncio.Task[None] | None = None

    # -- supervision ------------------------------------------------------------------
    def supervise(self) -> None:
        self._supervisor = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(1)
            for name, inst in self.stack.instances.items():
                if name not in self.held and not inst.alive():
                    self.log.self_exits[name] = self.log.self_exits.get(name, 0) + 1
                    inst.start()

    def unsupervise(self) -> None:
        if self._supervisor:
            self._supervisor.cancel()

    # -- primitives -------------------------------------------------------------------
    def _server(self, name: str) -> Server | None:
        return {"broker": self.stack.broker, "store": self.stack.store}.get(name)

    async def down(self, target: str) -> None:
        server = self._server(target)
        if server is not None:
            server.kill()
            self.log.add("SIGKILL", target)
            return
        names = [target] if target in self.stack.instances else [i.name for i in self.stack.of(target)]
        for name in names:
            self.held.add(name)
            self.stack.instances[name].kill()
            self.log.add("SIGKILL", name)

    async def up(self, target: str) -> None:
        server = self._server(target)
        if server is not None:
            await server.start()
            self.log.add("restart", target)
            return
        names = [target] if target in self.stack.instances else [i.name for i in self.stack.of(target)]
        for name in names:
            self.stack.instances[name].start()
            self.held.discard(name)
            self.log.add("restart", name)

    async def kill_and_restart(self, target: str, after: float) -> None:
        await self.down(target)
        await asyncio.sleep(after)
        await self.up(target)

    # -- the plan ------------------------------------------------------------------------
    async def random_kills(self, seconds: float, every: float) -> None:
        end = time.monotonic() + seconds
        targets = [*self.stack.instances, "broker", "store"]
        while True:
            pause = every * self.rng.uniform(0.5, 1.5)
            if time.monotonic() + pause > end:
                await asyncio.sleep(max(0.0, end - time.monotonic()))
                return
            await asyncio.sleep(pause)
            await self.kill_and_restart(self.rng.choice(targets), self.rng.uniform(0, 5))

    async def outage(self, target: str, seconds: float) -> None:
        await self.down(target)
        self.log.add("outage", f"{target} for {seconds:.0f} s")
        await asyncio.sleep(seconds)
        await self.up(target)

    async def failover(self, seconds: float) -> None:
        """One instance of each pair dies and stays down; the other carries the load."""
        pair = [n for n in ("tasks", "notify") if len(self.stack.of(n)) > 1]
        for service in pair:
            await self.down(self.stack.of(service)[0].name)
        await asyncio.sleep(seconds)
        for service in pair:
            await self.up(self.stack.of(service)[0].name)

    async def plan(self, *, warmup: float, gap: float, every: float, outage: float) -> None:
        await asyncio.sleep(warmup)
        order = list(OUTAGE_TARGETS)
        self.rng.shuffle(order)
        for i, target in enumerate(order):
            await self.random_kills(gap, every)
            await self.outage(target, outage)
            if i == len(order) // 2:
                await self.random_kills(gap / 2, every)
                await self.failover(max(20.0, outage / 2))
        await self.random_kills(gap, every)

    @staticmethod
    def plan_seconds(*, warmup: float, gap: float, outage: float) -> float:
        """About how long :meth:`plan` runs (restarts of the servers add a little)."""
        n = len(OUTAGE_TARGETS)
        return warmup + (n + 1) * gap + n * outage + gap / 2 + max(20.0, outage / 2)
