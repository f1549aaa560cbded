"""Behaviour of the local infrastructure scripts (infra/kafka.sh, infra/docstore.sh, infra/env.sh).

Assumes `infra/up.sh` has been run (Kafka on KAFKA_PORT, docstore on DOCSTORE_PORT). Every test is
quick: none starts a broker; the port-taken case fails before the server would be spawned.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.services import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
RUN_DIR = REPO / ".cache" / "run"
KAFKA_PORT = os.environ.get("KAFKA_PORT", "9092")
DOCSTORE_PORT = os.environ.get("DOCSTORE_PORT", "27017")


def run(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module", autouse=True)
def infra_up() -> None:
    for script in ("kafka.sh", "docstore.sh"):
        res = run(INFRA / script, "status")
        assert res.returncode == 0, (
            f"{script} is not running; run infra/up.sh first:\n{res.stdout}{res.stderr}"
        )


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 held by a listening socket that is not ours to stop."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_kafka_start_when_running_says_already_running() -> None:
    res = run(INFRA / "kafka.sh", "start")
    assert res.returncode == 0, res.stderr
    assert "already running" in res.stdout
    assert f"127.0.0.1:{KAFKA_PORT}" in res.stdout


def test_kafka_status_reports_running_pid_and_port() -> None:
    res = run(INFRA / "kafka.sh", "status")
    assert res.returncode == 0, res.stderr
    assert "running (pid" in res.stdout
    assert f":{KAFKA_PORT}" in res.stdout
    pid = int((RUN_DIR / "kafka.pid").read_text().strip())
    assert "kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes().decode().replace("\0", " ")


def test_kafka_topics_is_idempotent() -> None:
    res = run(INFRA / "kafka.sh", "topics")
    assert res.returncode == 0, res.stderr
    assert "0 created, 14 already present" in res.stdout


def test_kafka_is_secured_scram_only_default_deny_admin_only_super_user() -> None:
    conf = REPO / ".cache" / "kafka" / "server.properties"
    props = dict(
        line.split("=", 1)
        for line in conf.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    controller = os.environ.get("KAFKA_CONTROLLER_PORT", "9093")
    assert (
        props["listeners"] == f"SASL_PLAINTEXT://127.0.0.1:{KAFKA_PORT},CONTROLLER://127.0.0.1:{controller}"
    )
    assert (
        props["listener.security.protocol.map"] == "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    # the files holding the admin password are the owner's only; no password on a command line
    for path in (conf, REPO / ".cache" / "kafka" / "admin-client.properties"):
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    pid = int((RUN_DIR / "kafka.pid").read_text().strip())
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    admin_password = (REPO / ".cache" / "secrets" / "kafka" / "admin.password").read_text().strip()
    assert admin_password not in cmdline
    assert "UserScramCredentialRecord" not in (REPO / ".cache" / "logs" / "kafka.stdout.log").read_text()


def test_kafka_reset_keeps_the_passwords_and_user_needs_an_agency_name() -> None:
    script = (INFRA / "kafka.sh").read_text()
    reset = script[script.index("cmd_reset() {") :].split("\n}\n", 1)[0]
    assert "secrets" not in reset.replace("the passwords in $SECRETS_DIR/kafka are kept", "")
    res = run(INFRA / "kafka.sh", "user", "reports")
    assert res.returncode != 0 and "agency-" in res.stderr


def test_docstore_start_when_running_says_already_running() -> None:
    res = run(INFRA / "docstore.sh", "start")
    assert res.returncode == 0, res.stderr
    assert "already running" in res.stdout


def test_docstore_start_on_taken_port_fails_naming_the_port(taken_port: int) -> None:
    res = run(INFRA / "docstore.sh", "start", env={"DOCSTORE_PORT": str(taken_port)})
    assert res.returncode != 0
    assert f"port {taken_port}" in res.stderr
    assert not (RUN_DIR / f"docstore-{taken_port}.pid").exists()


def test_docstore_stale_pid_file_is_removed() -> None:
    port = free_port()
    pidfile = RUN_DIR / f"docstore-{port}.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # alive, but not a docstore server
    try:
        res = run(INFRA / "docstore.sh", "status", env={"DOCSTORE_PORT": str(port)})
        assert res.returncode == 3
        assert "not running" in res.stdout
        assert not pidfile.exists()
        res = run(INFRA / "docstore.sh", "stop", env={"DOCSTORE_PORT": str(port)})
        assert res.returncode == 0 and "not running" in res.stdout
    finally:
        pidfile.unlink(missing_ok=True)


def test_env_sh_exports_defaults_and_honours_overrides() -> None:
    cmd = f'. "{INFRA / "env.sh"}"; echo "$KAFKA_BOOTSTRAP $MONGO_URL"'
    clean = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "MONGO_URL")}
    clean.pop("KAFKA_PORT", None)
    clean.pop("DOCSTORE_PORT", None)
    out = subprocess.run(["bash", "-c", cmd], env=clean, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["127.0.0.1:9092", "mongodb://127.0.0.1:27017"]
    over = {**clean, "MONGO_URL": "mongodb://db:1", "KAFKA_PORT": "19092"}
    out = subprocess.run(["bash", "-c", cmd], env=over, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["127.0.0.1:19092", "mongodb://db:1"]
