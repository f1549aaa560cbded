"""Start real service processes (uvicorn + Kafka + store) for end-to-end tests.

Each test session gets its own database prefix and consumer-group suffix, so
it sees only what it wrote, even on a long-lived local broker. Each service
connects to Kafka as its own principal (KAFKA_USERNAME / KAFKA_PASSWORD, the
password from the local secrets file), as in production.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from shared.kafka_auth import kafka_password
from shared.settings import CommonSettings

REPO = Path(__file__).resolve().parents[2]


def kafka_identity(service: str) -> dict[str, str]:
    """The Kafka principal a service process connects as: its own name and password."""
    return {"KAFKA_USERNAME": service, "KAFKA_PASSWORD": kafka_password(CommonSettings(), service)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    def __init__(self, name: str, port: int, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name, self.port, self.popen, self.log = name, port, popen, log
        self.url = f"http://127.0.0.1:{port}"

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@contextmanager
def run_services(
    names: list[str], env: dict[str, str], *, ready_timeout: float = 60.0, ports: dict[str, int] | None = None
) -> Iterator[dict[str, Proc]]:
    procs: dict[str, Proc] = {}
    logdir = REPO / ".cache" / "logs" / "it"
    logdir.mkdir(parents=True, exist_ok=True)
    try:
        for name in names:  # "tasks#2": a second instance of tasks (same database and group)
            service = name.split("#", 1)[0]
            port = (ports or {}).get(name) or free_port()
            log = logdir / f"{name.replace('#', '-')}-{env.get('DB_PREFIX', 'x')}.log"
            fh = log.open("wb")
            popen = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}", "--port", str(port)],
                cwd=REPO,
                env={**os.environ, **kafka_identity(service), **env},
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
            procs[name] = Proc(name, port, popen, log)
        deadline = time.monotonic() + ready_timeout
        for p in procs.values():
            while True:
                if p.popen.poll() is not None:
                    raise AssertionError(f"service {p.name} exited with {p.popen.returncode}:\n{p.tail()}")
                try:
                    if httpx.get(f"{p.url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"service {p.name} not ready:\n{p.tail()}")
                time.sleep(0.3)
        yield procs
    finally:
        for p in procs.values():
            if p.popen.poll() is None:
                p.popen.terminate()
        for p in procs.values():
            try:
                p.popen.wait(20)
            except subprocess.TimeoutExpired:
                p.popen.kill()
