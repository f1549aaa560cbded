"""Kafka client credentials, in one place: every aiokafka client and FastStream broker gets them here.

Why: the local broker (infra/kafka.sh) authenticates every client with SASL/SCRAM-SHA-512 and
authorises it by principal, denying by default; each service connects as its own principal, the
infra scripts and test observers as ``admin``, agency systems as ``agency-*``.

The password of a principal is ``KAFKA_PASSWORD`` (the password of ``KAFKA_USERNAME``, or of the
service when ``KAFKA_USERNAME`` is unset) or — a local default only, never in production — the
file ``<SECRETS_DIR>/kafka/<principal>.password`` that ``python -m scripts.secrets ensure`` makes.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import CommonSettings


class KafkaCredentialsError(RuntimeError):
    """No usable Kafka password for a principal."""


def principal_of(settings: CommonSettings, default: str) -> str:
    """The principal a process connects as: ``KAFKA_USERNAME`` if set, else ``default``."""
    return settings.kafka_username or default


def password_file(settings: CommonSettings, principal: str) -> Path:
    return settings.secrets_dir / "kafka" / f"{principal}.password"


def kafka_password(settings: CommonSettings, principal: str) -> str:
    """``KAFKA_PASSWORD`` when it is this principal's, else the local secrets file (not in production)."""
    own = settings.kafka_username is None or settings.kafka_username == principal
    if own and settings.kafka_password is not None and settings.kafka_password.get_secret_value():
        return settings.kafka_password.get_secret_value()
    if settings.production:
        raise KafkaCredentialsError(
            f"no Kafka password for principal {principal!r}: set KAFKA_PASSWORD "
            "(secrets files are a local default only, not read in production)"
        )
    path = password_file(settings, principal)
    try:
        password = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KafkaCredentialsError(
            f"no Kafka password for principal {principal!r}: set KAFKA_PASSWORD, or create {path} "
            f"(`python -m scripts.secrets ensure`; {exc.strerror or exc})"
        ) from exc
    if not password:
        raise KafkaCredentialsError(f"no Kafka password for principal {principal!r}: {path} is empty")
    return password


def aiokafka_kwargs(settings: CommonSettings, principal: str) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer/Consumer/AdminClient connecting as ``principal``."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    out: dict[str, Any] = {
        "security_protocol": protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": principal,
        "sasl_plain_password": kafka_password(settings, principal),
    }
    if protocol == "SASL_SSL":
        out["ssl_context"] = ssl.create_default_context()
    return out


def faststream_security(settings: CommonSettings, principal: str) -> BaseSecurity | None:
    """The FastStream ``security=`` of a KafkaBroker connecting as ``principal`` (``SASLScram512`` locally)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    tls = ssl.create_default_context() if protocol == "SASL_SSL" else None
    password = kafka_password(settings, principal)
    if settings.kafka_sasl_mechanism == "SCRAM-SHA-512":
        return SASLScram512(principal, password, ssl_context=tls, use_ssl=tls is not None)
    if settings.kafka_sasl_mechanism == "SCRAM-SHA-256":
        return SASLScram256(principal, password, ssl_context=tls, use_ssl=tls is not None)
    return SASLPlaintext(principal, password, ssl_context=tls, use_ssl=tls is not None)
