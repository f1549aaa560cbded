"""Production mode: a service refuses to start with a missing or development secret.

Why: a development default that "works" in production is worse than a crash: with notify's
development link secret anyone can forge an opinion link, with an open broker anyone can publish a
request, with an unsigned service its messages are refused downstream. So with ``APP_ENV=production``
each service checks its configuration *before it connects to anything* (the first line of its
``__main__``) and, if anything is wrong, exits non-zero with one message naming every problem.

What is checked, per service (:data:`REQUIREMENTS`):

* every service — the broker: ``KAFKA_SECURITY_PROTOCOL`` must not be ``PLAINTEXT`` and
  ``KAFKA_PASSWORD`` must be set (and not a development value); its signing key: ``SIGNING_KEY``
  (the private Ed25519 JWK as JSON) or ``SIGNING_KEY_FILE`` (a path to it) must be set and hold a
  private Ed25519 JWK; the pages' origins (``AUTH_ALLOWED_ORIGINS``) must be https; the scrape
  secret of ``GET /metrics`` (``METRICS_TOKEN``) must be set, ≥ 32 characters, not a development value;
* org — its session key ``AUTH_TOKEN_KEY`` (signs access tokens) must be set; the others need
  its public half ``AUTH_TOKEN_PUBLIC_KEY``;
* notify — ``LINK_SECRET`` must be set, at least 32 characters, and not the development default
  (nor may any ``LINK_PREVIOUS_KEYS`` secret be); ``WEBHOOK_SECRET`` (webhooks are sent exactly when
  it is set) must not be empty, short or a development value.

In production the local fallback ``.cache/secrets`` is never read (``shared.security.local_secrets``,
``shared.kafka_auth``), so a secret counts only if it is in the environment. In development none of
this applies; notify's development link secret keeps working and is logged as unsafe.

The environment is read directly (not through the settings classes) so that one invalid value does
not hide the others behind a validation error.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("shared.production")

APP_ENVS = ("development", "production")
MIN_SECRET_LENGTH = 32

DEV_LINK_SECRET = "dev-only-link-secret-change-me-0123456789abcdef"
"""notify's development link-signing secret (services/notify/settings.py): refused in production."""

KNOWN_DEVELOPMENT_SECRETS: frozenset[str] = frozenset(
    {
        DEV_LINK_SECRET,
        "admin",
        "admin-secret",
        "change-me",
        "changeme",
        "dev",
        "development",
        "password",
        "secret",
        "test",
    }
)
"""Values that are never a production secret, whatever their length."""


class UnsafeProductionConfig(SystemExit):
    """The service must not start: raised (and, uncaught, printed without a traceback, exit 1)."""

    def __init__(self, service: str, problems: list[str]) -> None:
        self.service = service
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{service}: refusing to start with APP_ENV=production:\n{lines}\n"
            "Set these in the service's environment (docker compose: the .env.compose file that "
            "`./dev secrets` writes). In production the local .cache/secrets files are never read."
        )


Env = Mapping[str, str]
Check = Callable[[Env], list[str]]


def _environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    """The environment with upper-case names (pydantic-settings matches names case-insensitively)."""
    source = os.environ if environ is None else environ
    return {k.upper(): v for k, v in source.items()}


def _secret_problem(name: str, value: str | None, *, what: str) -> str | None:
    if value is None:
        return f"{name} is not set ({what})"
    if not value.strip():
        return f"{name} is empty ({what})"
    if value.strip() in KNOWN_DEVELOPMENT_SECRETS or value.strip().lower() in KNOWN_DEVELOPMENT_SECRETS:
        return f"{name} is a known development value ({what})"
    if len(value) < MIN_SECRET_LENGTH:
        return f"{name} is shorter than {MIN_SECRET_LENGTH} characters ({what})"
    return None


def _common_default(alias: str) -> Any:
    """The default of a CommonSettings field, by its environment name (None if there is none)."""
    from shared.settings import CommonSettings

    for field in CommonSettings.model_fields.values():
        if field.alias == alias:
            return field.default
    return None


# --------------------------------------------------------------------------- checks


def check_kafka(env: Env) -> list[str]:
    """The broker must authenticate this service: SASL, with a password from the environment."""
    problems: list[str] = []
    protocol = env.get("KAFKA_SECURITY_PROTOCOL") or _common_default("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT"
    if str(protocol).strip().upper() == "PLAINTEXT":
        problems.append(
            "KAFKA_SECURITY_PROTOCOL is PLAINTEXT: the broker must authenticate clients "
            "(SASL_PLAINTEXT or SASL_SSL)"
        )
    password = env.get("KAFKA_PASSWORD")
    if password is None or not password.strip():
        problems.append("KAFKA_PASSWORD is not set (the service's SCRAM password on the broker)")
    elif password.strip() in KNOWN_DEVELOPMENT_SECRETS:
        problems.append("KAFKA_PASSWORD is a known development value")
    return problems


def _jwk_problem(name: str, text: str) -> str | None:
    try:
        raw = json.loads(text)
    except ValueError:
        return f"{name} is not JSON (expected a private Ed25519 JWK)"
    if not isinstance(raw, dict) or raw.get("kty") != "OKP" or raw.get("crv") != "Ed25519":
        return f"{name} is not an Ed25519 JWK (kty OKP, crv Ed25519)"
    if not raw.get("d") or not raw.get("x"):
        return f"{name} is not a private key (the JWK has no 'd')"
    try:
        from joserfc.jwk import OKPKey

        OKPKey.import_key({k: v for k, v in raw.items() if k != "kid"})
    except Exception as exc:
        return f"{name} does not hold a usable Ed25519 key ({type(exc).__name__})"
    return None


def _private_jwk_setting(env: Env, name: str, purpose: str) -> list[str]:
    """Problems of a private Ed25519 JWK given inline (``name``) or as a file (``name_FILE``)."""
    inline, path = env.get(name), env.get(f"{name}_FILE")
    if inline and inline.strip():
        problem = _jwk_problem(name, inline)
        return [problem] if problem else []
    if path and path.strip():
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            return [f"{name}_FILE {path} cannot be read ({exc.strerror or type(exc).__name__})"]
        problem = _jwk_problem(f"{name}_FILE {path}", text)
        return [problem] if problem else []
    return [f"neither {name} nor {name}_FILE is set ({purpose})"]


def check_signing_key(env: Env) -> list[str]:
    """Every service signs what it publishes: its private key must come from the environment."""
    return _private_jwk_setting(
        env, "SIGNING_KEY", "the service's private Ed25519 JWK: what it publishes is signed with it"
    )


def check_session_key(env: Env) -> list[str]:
    """org signs access tokens with its session key: a private Ed25519 JWK of its own."""
    return _private_jwk_setting(env, "AUTH_TOKEN_KEY", "org's session key signs access tokens")


def check_token_public_key(env: Env) -> list[str]:
    """Every other service verifies access tokens with the public half of org's session key."""
    raw = env.get("AUTH_TOKEN_PUBLIC_KEY")
    if not raw or not raw.strip():
        return [
            "AUTH_TOKEN_PUBLIC_KEY is not set (the public JWK of org's session key; without it nobody can sign in)"
        ]
    try:
        data = json.loads(raw)
    except ValueError:
        return ["AUTH_TOKEN_PUBLIC_KEY is not a JSON Web Key"]
    if not isinstance(data, dict) or data.get("kty") != "OKP" or data.get("crv") != "Ed25519" or "d" in data:
        return ["AUTH_TOKEN_PUBLIC_KEY must be the PUBLIC Ed25519 JWK (kty OKP, crv Ed25519, no d)"]
    return []


def check_secure_cookies(env: Env) -> list[str]:
    origins = env.get("AUTH_ALLOWED_ORIGINS", "")
    if not origins.strip():
        return ["AUTH_ALLOWED_ORIGINS is not set (the public https origins of the platform's pages)"]
    loopback = ("http://localhost:", "http://127.0.0.1:")  # browsers treat these as secure contexts
    plain = [
        o.strip()
        for o in origins.split(",")
        if o.strip() and not o.strip().startswith(("https://", *loopback))
    ]
    return [f"AUTH_ALLOWED_ORIGINS must list https origins only (got {', '.join(plain)})"] if plain else []


def check_metrics_token(env: Env) -> list[str]:
    """``GET /metrics`` accepts the scrape secret: it must be a real one (there is no default)."""
    problem = _secret_problem(
        "METRICS_TOKEN", env.get("METRICS_TOKEN"), what="the scrape secret of GET /metrics (Prometheus)"
    )
    return [problem] if problem else []


def check_link_secret(env: Env) -> list[str]:
    """Whoever knows the link secret can forge opinion links: never the development one."""
    what = "notify's link-signing secret: whoever knows it can forge opinion links"
    value = env.get("LINK_SECRET")
    if value is None:
        return [f"LINK_SECRET is not set (the development default would be used; {what})"]
    problems = [p for p in [_secret_problem("LINK_SECRET", value, what=what)] if p]
    for item in filter(None, (p.strip() for p in env.get("LINK_PREVIOUS_KEYS", "").split(","))):
        kid, _, secret = item.partition(":")
        problem = _secret_problem(
            f"LINK_PREVIOUS_KEYS entry {kid!r}", secret or None, what="retired keys still verify links"
        )
        if problem:
            problems.append(problem)
    return problems


def check_webhook_secret(env: Env) -> list[str]:
    """Webhooks are sent exactly when WEBHOOK_SECRET is set; then it must be a real secret."""
    if "WEBHOOK_SECRET" not in env:
        return []
    problem = _secret_problem(
        "WEBHOOK_SECRET", env["WEBHOOK_SECRET"], what="signs the webhook deliveries agency systems verify"
    )
    return [problem] if problem else []


_EVERY_SERVICE: tuple[Check, ...] = (check_kafka, check_signing_key, check_metrics_token)

REQUIREMENTS: dict[str, tuple[Check, ...]] = {
    "org": (*_EVERY_SERVICE, check_session_key, check_secure_cookies),
    "tasks": (*_EVERY_SERVICE, check_token_public_key, check_secure_cookies),
    "notify": (
        *_EVERY_SERVICE,
        check_token_public_key,
        check_secure_cookies,
        check_link_secret,
        check_webhook_secret,
    ),
    "reports": (*_EVERY_SERVICE, check_token_public_key, check_secure_cookies),
}
"""What each service checks in production."""


def production_problems(service: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every reason ``service`` must not run in production with this environment (empty: none)."""
    env = _environment(environ)
    checks = REQUIREMENTS.get(service)
    if checks is None:
        raise KeyError(f"no production requirements for service {service!r}")
    seen: list[str] = []
    for check in checks:
        for problem in check(env):
            if problem not in seen:
                seen.append(problem)
    return seen


def refuse_unsafe_start(service: str, environ: Mapping[str, str] | None = None) -> None:
    """Call first in a service's ``main()``: raises :class:`UnsafeProductionConfig` to refuse.

    Development (the default) passes without checking; an unknown ``APP_ENV`` is refused too (a
    typo must not silently run a production deployment in development mode).
    """
    env = _environment(environ)
    app_env = env.get("APP_ENV", "development").strip() or "development"
    if app_env not in APP_ENVS:
        raise UnsafeProductionConfig(service, [f"APP_ENV is {app_env!r}: use one of {', '.join(APP_ENVS)}"])
    if app_env != "production":
        return
    problems = production_problems(service, env)
    if problems:
        raise UnsafeProductionConfig(service, problems)
    log.info("production configuration checked", extra={"service": service})
