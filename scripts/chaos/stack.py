"""The processes the chaos run kills and restarts: service instances, the broker, the store.

Service instances are this harness's children (``python -m services.<name>``, each as its own Kafka
principal); the broker and the document store are the local servers ``infra/up.sh`` started, found
by their pid files and restarted with ``infra/kafka.sh start`` / ``infra/docstore.sh start`` on the
same data. Every kill is a SIGKILL: no shutdown hook runs, as in a power cut of that one process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.kafka_auth import kafka_password
from shared.settings import CommonSettings

REPO = Path(__file__).resolve().parents[2]
RUN_DIR = REPO / ".cache" / "run"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    """One service process (``tasks#1``, ``tasks#2``: two instances of tasks, same database and group)."""

    name: str
    port: int
    log: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def service(self) -> str:
        return self.name.split("#", 1)[0]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        if self.alive():
            return
        with self.log.open("ab") as fh:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.service}", "--port", str(self.port)],
                cwd=REPO,
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)
            self.kills += 1

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()


@dataclass
class Server:
    """A local server started by ``infra/<script> start`` (pid file in ``.cache/run``)."""

    name: str
    script: str
    pidfile: str
    kills: int = 0

    def pid(self) -> int | None:
        try:
            pid = int((RUN_DIR / self.pidfile).read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        return self.pid() is not None

    def kill(self) -> None:
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.05)
            self.kills += 1

    async def start(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            str(REPO / "infra" / self.script),
            "start",
            cwd=REPO,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{self.script} start failed: {err.decode(errors='replace')[-500:]}")


@dataclass
class Stack:
    """Everything the run kills: instances by name, plus ``broker`` and ``store``."""

    logdir: Path
    env: dict[str, str]
    instances: dict[str, Instance] = field(default_factory=dict)
    broker: Server = field(default_factory=lambda: Server("broker", "kafka.sh", "kafka.pid"))
    store: Server = field(default_factory=lambda: Server("store", "docstore.sh", "docstore.pid"))

    def add(self, name: str, extra: dict[str, str] | None = None) -> Instance:
        service = name.split("#", 1)[0]
        identity = {"KAFKA_USERNAME": service, "KAFKA_PASSWORD": kafka_password(CommonSettings(), service)}
        inst = Instance(
            name=name,
            port=free_port(),
            log=self.logdir / f"{name.replace('#', '-')}.log",
            env={**os.environ, **identity, **self.env, **(extra or {})},
        )
        self.instances[name] = inst
        return inst

    def of(self, service: str) -> list[Instance]:
        return [i for i in self.instances.values() if i.service == service]

    def live_url(self, service: str) -> str | None:
        """What a load balancer in front of the service would route to: a live instance."""
        for inst in self.of(service):
            if inst.alive():
                return inst.url
        return None

    async def wait_healthy(self, names: list[str] | None = None, within: float = 180.0) -> None:
        deadline = time.monotonic() + within
        todo = list(names or self.instances)
        async with httpx.AsyncClient(timeout=2) as c:
            while todo:
                name = todo[0]
                inst = self.instances[name]
                if not inst.alive():
                    tail = inst.log.read_text(errors="replace").splitlines()[-30:]
                    raise RuntimeError(f"{name} exited:\n" + "\n".join(tail))
                try:
                    if (await c.get(f"{inst.url}/ready")).status_code == 200:
                        todo.pop(0)
                        continue
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready within {within:.0f} s (log {inst.log})")
                await asyncio.sleep(0.5)

    def stop(self) -> None:
        for inst in self.instances.values():
            inst.stop()
