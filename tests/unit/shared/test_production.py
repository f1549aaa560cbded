"""Production mode: every service refuses to start with a missing or development secret.

Each refusal is shown on its own (a complete, valid production environment with one thing
wrong), then all at once, then for real: ``python -m services.<name>`` exits non-zero with the
message and without a traceback, before it connects to anything. Development keeps working with
the development link secret (logged as unsafe), and the local ``.cache/secrets`` fallback is never
read in production.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey

from services.notify.settings import NotifySettings
from shared.production import (
    DEV_LINK_SECRET,
    KNOWN_DEVELOPMENT_SECRETS,
    REQUIREMENTS,
    UnsafeProductionConfig,
    production_problems,
    refuse_unsafe_start,
)
from shared.settings import CommonSettings

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("org", "tasks", "notify", "reports")
PRIVATE_JWK = json.dumps(OKPKey.generate_key("Ed25519").as_dict(private=True))
PUBLIC_JWK = json.dumps(OKPKey.generate_key("Ed25519").as_dict(private=False))
STRONG = "q2Vb7l0w9x1mZ4T3nR8sK5cJ6fH0dG2aP7eY9uQ1"  # 40 characters, not a known value


def good_env(**overrides: str | None) -> dict[str, str]:
    """A production environment every service accepts; ``None`` removes a variable."""
    env = {
        "APP_ENV": "production",
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_PASSWORD": "kafka-" + STRONG,
        "SIGNING_KEY": PRIVATE_JWK,
        "AUTH_TOKEN_KEY": PRIVATE_JWK,
        "AUTH_TOKEN_PUBLIC_KEY": PUBLIC_JWK,
        "AUTH_ALLOWED_ORIGINS": "https://danvan.example.vn,https://baocao.danvan.example.vn",
        "LINK_SECRET": "link-" + STRONG,
        "WEBHOOK_SECRET": "hook-" + STRONG,
        "METRICS_TOKEN": "metrics-" + STRONG,
    }
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def refused(service: str, env: dict[str, str]) -> list[str]:
    with pytest.raises(UnsafeProductionConfig) as info:
        refuse_unsafe_start(service, env)
    assert info.value.service == service and info.value.problems
    assert isinstance(info.value, SystemExit) and isinstance(info.value.code, str)  # exit status 1
    for p in info.value.problems:
        assert p in info.value.code
    return info.value.problems


@pytest.mark.parametrize("service", SERVICES)
def test_a_complete_production_environment_starts(service: str) -> None:
    assert production_problems(service, good_env()) == []
    refuse_unsafe_start(service, good_env())


def test_every_service_has_a_list() -> None:
    assert set(REQUIREMENTS) == set(SERVICES)
    with pytest.raises(KeyError):
        production_problems("nobody", good_env())


@pytest.mark.parametrize("service", SERVICES)
def test_development_checks_nothing(service: str) -> None:
    refuse_unsafe_start(service, {})
    refuse_unsafe_start(service, {"APP_ENV": "development", "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"})


def test_an_unknown_app_env_is_refused() -> None:
    assert "APP_ENV is 'prod'" in refused("tasks", {"APP_ENV": "prod"})[0]


# --------------------------------------------------------------------------- broker, every service


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"KAFKA_PASSWORD": None}, "KAFKA_PASSWORD is not set"),
        ({"KAFKA_PASSWORD": "  "}, "KAFKA_PASSWORD is not set"),
        ({"KAFKA_PASSWORD": "admin-secret"}, "KAFKA_PASSWORD is a known development value"),
        ({"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
        ({"KAFKA_SECURITY_PROTOCOL": "plaintext"}, "KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
    ],
)
def test_the_broker_must_authenticate_every_service(
    service: str, overrides: dict[str, str | None], expected: str
) -> None:
    problems = refused(service, good_env(**overrides))
    assert len(problems) == 1 and problems[0].startswith(expected)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "METRICS_TOKEN is not set"),
        ("", "METRICS_TOKEN is empty"),
        ("secret", "METRICS_TOKEN is a known development value"),
        ("short-scrape-secret", "METRICS_TOKEN is shorter than 32 characters"),
    ],
)
def test_every_service_needs_a_real_scrape_secret(service: str, value: str | None, expected: str) -> None:
    problems = refused(service, good_env(METRICS_TOKEN=value))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_production_reads_the_scrape_secret_only_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "metrics_token").write_text("local-" + STRONG, encoding="utf-8")
    development = CommonSettings(SECRETS_DIR=tmp_path)
    assert development.metrics_secret() == "local-" + STRONG
    assert CommonSettings(SECRETS_DIR=tmp_path, APP_ENV="production").metrics_secret() is None
    given = CommonSettings(SECRETS_DIR=tmp_path, APP_ENV="production", METRICS_TOKEN="env-" + STRONG)
    assert given.metrics_secret() == "env-" + STRONG


def test_the_security_protocol_defaults_to_sasl() -> None:
    assert production_problems("tasks", good_env(KAFKA_SECURITY_PROTOCOL=None)) == []
    assert CommonSettings().kafka_security_protocol != "PLAINTEXT"


# --------------------------------------------------------------------------- signing key, every service


@pytest.mark.parametrize("service", SERVICES)
def test_a_signing_key_is_required(service: str) -> None:
    problems = refused(service, good_env(SIGNING_KEY=None))
    assert problems == [
        "neither SIGNING_KEY nor SIGNING_KEY_FILE is set (the service's private Ed25519 JWK: "
        "what it publishes is signed with it)"
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("not json", "SIGNING_KEY is not JSON"),
        (json.dumps({"kty": "RSA", "n": "x", "e": "AQAB"}), "SIGNING_KEY is not an Ed25519 JWK"),
        (PUBLIC_JWK, "SIGNING_KEY is not a private key"),
        (json.dumps({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "d": "AAAA"}), "SIGNING_KEY does not hold"),
    ],
)
def test_the_signing_key_must_be_a_private_ed25519_jwk(key: str, expected: str) -> None:
    problems = refused("reports", good_env(SIGNING_KEY=key))
    assert len(problems) == 1 and problems[0].startswith(expected)


def test_a_signing_key_file_is_read_and_checked(tmp_path: Path) -> None:
    good, public = tmp_path / "tasks.jwk", tmp_path / "public.jwk"
    good.write_text(PRIVATE_JWK, encoding="utf-8")
    public.write_text(PUBLIC_JWK, encoding="utf-8")
    assert production_problems("tasks", good_env(SIGNING_KEY=None, SIGNING_KEY_FILE=str(good))) == []
    missing = refused("tasks", good_env(SIGNING_KEY=None, SIGNING_KEY_FILE=str(tmp_path / "nope.jwk")))
    assert missing[0].startswith(f"SIGNING_KEY_FILE {tmp_path / 'nope.jwk'} cannot be read")
    assert (
        "is not a private key"
        in refused("tasks", good_env(SIGNING_KEY=None, SIGNING_KEY_FILE=str(public)))[0]
    )


# --------------------------------------------------------------------------- org


def test_org_needs_its_session_key() -> None:
    problems = refused("org", good_env(AUTH_TOKEN_KEY=None))
    assert len(problems) == 1 and problems[0].startswith("neither AUTH_TOKEN_KEY nor AUTH_TOKEN_KEY_FILE")
    assert "private" in refused("org", good_env(AUTH_TOKEN_KEY=PUBLIC_JWK))[0]


@pytest.mark.parametrize("service", ["tasks", "notify", "reports"])
def test_other_services_need_the_public_session_key(service: str) -> None:
    assert refused(service, good_env(AUTH_TOKEN_PUBLIC_KEY=None))[0].startswith(
        "AUTH_TOKEN_PUBLIC_KEY is not set"
    )
    assert "PUBLIC" in refused(service, good_env(AUTH_TOKEN_PUBLIC_KEY=PRIVATE_JWK))[0]


@pytest.mark.parametrize("service", SERVICES)
def test_pages_need_https_origins(service: str) -> None:
    assert refused(service, good_env(AUTH_ALLOWED_ORIGINS=None))[0].startswith(
        "AUTH_ALLOWED_ORIGINS is not set"
    )
    problems = refused(service, good_env(AUTH_ALLOWED_ORIGINS="http://danvan.example.vn"))
    assert problems[0].startswith("AUTH_ALLOWED_ORIGINS must list https origins only")


# --------------------------------------------------------------------------- notify


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"LINK_SECRET": None}, "LINK_SECRET is not set (the development default would be used"),
        ({"LINK_SECRET": DEV_LINK_SECRET}, "LINK_SECRET is a known development value"),
        ({"LINK_SECRET": "a" * 31}, "LINK_SECRET is shorter than 32 characters"),
        ({"LINK_SECRET": ""}, "LINK_SECRET is empty"),
        (
            {"LINK_PREVIOUS_KEYS": f"k0:{DEV_LINK_SECRET}"},
            "LINK_PREVIOUS_KEYS entry 'k0' is a known development",
        ),
        ({"LINK_PREVIOUS_KEYS": "k0:tooshort"}, "LINK_PREVIOUS_KEYS entry 'k0' is shorter than 32"),
        ({"LINK_PREVIOUS_KEYS": "k0"}, "LINK_PREVIOUS_KEYS entry 'k0' is not set"),
        ({"WEBHOOK_SECRET": ""}, "WEBHOOK_SECRET is empty"),
        ({"WEBHOOK_SECRET": "webhook"}, "WEBHOOK_SECRET is shorter than 32 characters"),
        ({"WEBHOOK_SECRET": "secret"}, "WEBHOOK_SECRET is a known development value"),
    ],
)
def test_notify_refuses_forgeable_links_and_weak_webhook_signatures(
    overrides: dict[str, str | None], expected: str
) -> None:
    problems = refused("notify", good_env(**overrides))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_notify_without_webhooks_needs_no_webhook_secret() -> None:
    assert production_problems("notify", good_env(WEBHOOK_SECRET=None)) == []
    assert production_problems("notify", good_env(LINK_PREVIOUS_KEYS=f"k0:{'r' * 40}")) == []


def test_only_notify_looks_at_link_and_webhook_secrets() -> None:
    for service in ("org", "tasks", "reports"):
        assert production_problems(service, good_env(LINK_SECRET=None, WEBHOOK_SECRET="x")) == []


def test_the_development_link_secret_is_a_known_development_value() -> None:
    assert DEV_LINK_SECRET in KNOWN_DEVELOPMENT_SECRETS
    assert NotifySettings.model_fields["link_secret"].default == DEV_LINK_SECRET


# --------------------------------------------------------------------------- all at once


def test_every_problem_is_named_in_one_message() -> None:
    env = {"APP_ENV": "production", "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "WEBHOOK_SECRET": "x"}
    problems = refused("notify", env)
    assert [p.split(" ", 1)[0] for p in problems] == [
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_PASSWORD",
        "neither",
        "METRICS_TOKEN",
        "AUTH_TOKEN_PUBLIC_KEY",
        "AUTH_ALLOWED_ORIGINS",
        "LINK_SECRET",
        "WEBHOOK_SECRET",
    ]


def test_variable_names_match_case_insensitively_like_the_settings() -> None:
    env = {k.lower(): v for k, v in good_env().items()}
    assert production_problems("notify", env) == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_process_exits_before_connecting(service: str, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "APP_ENV": "production",
        "KAFKA_BOOTSTRAP": "127.0.0.1:9",  # nothing listens: a connection attempt would hang or fail later
        "MONGO_URL": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100",
        "SECRETS_DIR": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", f"services.{service}", "--port", "9"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert f"{service}: refusing to start with APP_ENV=production" in proc.stderr
    assert "KAFKA_PASSWORD is not set" in proc.stderr and "SIGNING_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr and "Uvicorn running" not in proc.stderr


# --------------------------------------------------------------------------- development, fallbacks


def test_development_keeps_the_development_link_secret_and_says_it_is_unsafe(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("LINK_SECRET", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    settings = NotifySettings()
    assert settings.link_secret == DEV_LINK_SECRET and not settings.production
    with caplog.at_level(logging.WARNING, logger="notify.settings"):
        settings.warn_if_insecure()
    assert "development default" in caplog.text
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(UnsafeProductionConfig):
        NotifySettings().warn_if_insecure()


def test_production_never_reads_the_local_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from shared.kafka_auth import KafkaCredentialsError, kafka_password
    from shared.security.keys import load_signing_key
    from shared.security.local_secrets import read_local

    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "tasks.password").write_text("local-kafka-password\n", encoding="utf-8")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "tasks.jwk").write_text(PRIVATE_JWK, encoding="utf-8")
    (tmp_path / "link_secret").write_text("local-admin-token\n", encoding="utf-8")
    for name in ("KAFKA_PASSWORD", "KAFKA_USERNAME", "SIGNING_KEY", "SIGNING_KEY_FILE", "SIGNING_SYSTEM_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))

    monkeypatch.setenv("APP_ENV", "development")  # the fallback works on a development machine…
    assert read_local("link_secret") == "local-admin-token"
    assert kafka_password(CommonSettings(), "tasks") == "local-kafka-password"
    assert load_signing_key("tasks") is not None

    monkeypatch.setenv("APP_ENV", "production")  # …and is never read in production
    assert read_local("link_secret") is None
    with pytest.raises(KafkaCredentialsError, match="KAFKA_PASSWORD"):
        kafka_password(CommonSettings(), "tasks")
    assert load_signing_key("tasks") is None
    problems = production_problems("tasks", dict(os.environ))
    assert any(p.startswith("KAFKA_PASSWORD is not set") for p in problems)
    assert any(p.startswith("neither SIGNING_KEY nor SIGNING_KEY_FILE") for p in problems)
