"""docker-compose.yml ships no usable secret and runs the services in production mode on an
authenticated broker whose rights are the local broker's (infra/kafka_admin.py).

Static checks of the file; `infra/compose-check.sh` (tests/integration/test_compose_check.py)
runs `docker compose config` itself: refused without the env file, valid with one.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from scripts import secrets as secrets_script
from shared.contract import topics

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = ("org", "tasks", "notify", "reports")
REQUIRED = re.compile(r"^\$\{(?P<var>[A-Z][A-Z0-9_]*):\?[^}]+\}$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|SIGNING_KEY|SYSTEMS_YAML")


def env_of(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"][service]["environment"].items()}


def references(node: Any) -> set[str]:
    """Every ${VAR...} the file interpolates."""
    text = yaml.safe_dump(node)
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))


def kafka_admin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kafka_admin_for_test", REPO / "infra" / "kafka_admin.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("service", SERVICES)
def test_services_run_in_production_as_their_own_principal(service: str) -> None:
    env = env_of(service)
    assert env["APP_ENV"] == "production"
    assert (
        env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    )
    assert env["KAFKA_USERNAME"] == service
    for var in ("KAFKA_PASSWORD", "SIGNING_KEY", "AUTH_TOKEN_PUBLIC_KEY", "METRICS_TOKEN"):
        m = REQUIRED.match(env[var])
        assert m, f"{service}.{var} must be ${{VAR:?message}}, is {env[var]!r}"
    assert REQUIRED.match(env["KAFKA_PASSWORD"])["var"] == f"{service.upper()}_KAFKA_PASSWORD"  # type: ignore[index]
    assert REQUIRED.match(env["SIGNING_KEY"])["var"] == f"{service.upper()}_SIGNING_KEY"  # type: ignore[index]


def test_notify_gets_its_link_and_webhook_secrets_and_public_address_from_the_env_file() -> None:
    env = env_of("notify")
    for var in ("LINK_SECRET", "WEBHOOK_SECRET", "PUBLIC_BASE_URL"):
        assert REQUIRED.match(env[var]), var
    assert REQUIRED.match(env_of("org")["ORG_SYSTEMS_YAML"])
    assert REQUIRED.match(env_of("org")["ORG_ACCOUNTS_YAML"])
    assert REQUIRED.match(env_of("org")["AUTH_TOKEN_KEY"])


def test_no_secret_has_a_default_anywhere() -> None:
    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str | int) and SECRET_NAME.search(str(k)):
                    assert REQUIRED.match(str(v)), f"{path}.{k} = {v!r}: a secret must come from the env file"
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
        elif isinstance(node, str):
            assert ":-" not in node or "${" not in node, f"{path}: no ${{VAR:-default}} in this file"

    walk(COMPOSE, "compose")
    for name, config in COMPOSE["configs"].items():  # the JAAS file and the admin client settings
        passwords = re.findall(r'password="([^"]*)"', config["content"])
        assert passwords and all(REQUIRED.match(p) for p in passwords), name


def test_every_variable_is_one_the_generator_writes(tmp_path: Path) -> None:
    secrets_script.ensure(tmp_path)
    generated = {line.split("=", 1)[0] for line in secrets_script.env_lines(tmp_path, compose=True)}
    used = references(COMPOSE)
    assert used - generated == {"PUBLIC_BASE_URL"}  # ./dev secrets adds it to .env.compose
    assert {
        "LINK_SECRET",
        "WEBHOOK_SECRET",
        "AUTH_TOKEN_KEY",
        "AUTH_TOKEN_PUBLIC_KEY",
        "KAFKA_ADMIN_PASSWORD",
        "METRICS_TOKEN",
    } <= used


def test_env_file_is_git_ignored() -> None:
    res = subprocess.run(
        ["git", "check-ignore", "-q", ".env.compose"], cwd=REPO, capture_output=True, check=False
    )
    assert res.returncode == 0


def test_broker_authenticates_every_listener_and_denies_by_default() -> None:
    env = {k: str(v) for k, v in COMPOSE["services"]["kafka"]["environment"].items()}
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}
    assert env["KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_LISTENER_NAME_EXTERNAL_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert env["KAFKA_ADVERTISED_LISTENERS"].startswith("CLIENT://kafka:9092,")
    jaas = COMPOSE["configs"]["kafka_jaas"]["content"]
    assert re.findall(r"user_(\w+)=", jaas) == ["admin"]  # the only PLAIN user
    for service in SERVICES:
        assert COMPOSE["services"][service]["environment"]["KAFKA_BOOTSTRAP"] == "kafka:9092"


def _setup_rights() -> dict[str, tuple[set[str], set[str], str | None]]:
    script = (REPO / "infra" / "compose" / "kafka-setup.sh").read_text(encoding="utf-8")
    block = script.split('RIGHTS="', 1)[1].split('"', 1)[0]
    out: dict[str, tuple[set[str], set[str], str | None]] = {}
    for line in filter(None, (raw.strip() for raw in block.splitlines())):
        principal, reads, writes, group = line.split("|")
        out[principal] = (
            set() if reads == "-" else set(reads.split(",")),
            set() if writes == "-" else set(writes.split(",")),
            None if group == "-" else group,
        )
    return out


def test_compose_broker_rights_are_the_local_brokers() -> None:
    admin = kafka_admin()
    agencies = [p for p in secrets_script.PRINCIPALS if p.startswith("agency-")]
    want = {
        name: (set(r.read), set(r.write), r.group_prefix)
        for name, r in [*admin.SERVICES.items(), *((a, admin.AGENCY) for a in agencies)]
    }
    assert _setup_rights() == want
    every_topic = {t for name in topics.ALL for t in (name, topics.dead_letter(name))}
    for principal, (reads, writes, _) in _setup_rights().items():
        assert reads <= every_topic, principal
        if principal.startswith("agency-"):
            assert not reads and writes == {topics.DECISION_REQUESTS, topics.WORKFLOW_REQUESTS}


def test_setup_creates_a_user_for_every_password_in_the_env_file() -> None:
    setup = COMPOSE["services"]["kafka-setup"]["environment"]
    principals = ["admin", *_setup_rights()]
    for principal in principals:
        var = (
            "KAFKA_ADMIN_PASSWORD"
            if principal == "admin"
            else principal.upper().replace("-", "_") + "_KAFKA_PASSWORD"
        )
        assert REQUIRED.match(str(setup[var])), var
    assert set(principals) == set(secrets_script.PRINCIPALS)
