"""Settings shared by every service, read from the environment.

Defaults are safe for a developer machine: loopback Kafka and document store as
started by ``infra/up.sh``, console/file telemetry, no external delivery.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.security.local_secrets import secrets_dir as local_secrets_dir

METRICS_TOKEN_FILE = "metrics_token"
"""The local scrape secret (``python -m scripts.secrets ensure``), read outside production only."""


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", env_file=None)

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", alias="KAFKA_BOOTSTRAP")
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL", "PLAINTEXT"] = Field(
        default="SASL_PLAINTEXT",
        alias="KAFKA_SECURITY_PROTOCOL",
        description="SASL_PLAINTEXT (the local broker), SASL_SSL, or PLAINTEXT (an unsecured broker)",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        default="SCRAM-SHA-512", alias="KAFKA_SASL_MECHANISM"
    )
    kafka_username: str | None = Field(
        default=None, alias="KAFKA_USERNAME", description="Kafka principal; unset = the service's name"
    )
    kafka_password: SecretStr | None = Field(
        default=None,
        alias="KAFKA_PASSWORD",
        description="password of KAFKA_USERNAME; unset = read <SECRETS_DIR>/kafka/<principal>.password",
    )
    secrets_dir: Path = Field(
        default_factory=local_secrets_dir,
        alias="SECRETS_DIR",
        description="local secrets made by `python -m scripts.secrets ensure` (never committed)",
    )
    mongo_url: str = Field(default="mongodb://127.0.0.1:27017/?directConnection=true", alias="MONGO_URL")
    db_prefix: str = Field(
        default="dv", alias="DB_PREFIX", description="database name prefix (tests use their own)"
    )
    otlp_endpoint: str | None = Field(default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    trace_file: str | None = Field(
        default=None, alias="TRACE_FILE", description="also write finished spans as JSON lines here"
    )
    trace_file_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=0,
        alias="TRACE_FILE_MAX_BYTES",
        description="TRACE_FILE is rotated at this size (0: never); TRACE_FILE_BACKUPS older files are kept",
    )
    trace_file_backups: int = Field(default=3, ge=0, alias="TRACE_FILE_BACKUPS")
    log_file: str | None = Field(
        default=None,
        alias="LOG_FILE",
        description="write the log to this file (rotated by size) instead of stderr; ./dev sets it",
    )
    log_file_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=0,
        alias="LOG_FILE_MAX_BYTES",
        description="LOG_FILE is rotated at this size (0: never); LOG_FILE_BACKUPS older files are kept",
    )
    log_file_backups: int = Field(default=3, ge=0, alias="LOG_FILE_BACKUPS")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_json: bool = Field(default=False, alias="LOG_JSON")
    max_attempts: int = Field(default=5, ge=1, alias="CONSUMER_MAX_ATTEMPTS")
    retry_base_seconds: float = Field(default=0.2, gt=0, alias="CONSUMER_RETRY_BASE_SECONDS")
    retry_max_seconds: float = Field(default=5.0, gt=0, alias="CONSUMER_RETRY_MAX_SECONDS")
    max_message_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        alias="MAX_MESSAGE_BYTES",
        description="largest record a consumer processes; larger ones are dead-lettered as too_large "
        "(half the broker's 1 MiB limit, so the facts a request becomes, with their headers, still fit)",
    )
    consumer_outage_backoff_max_seconds: float = Field(
        default=30.0,
        gt=0,
        alias="CONSUMER_OUTAGE_BACKOFF_MAX_SECONDS",
        description="longest wait between tries while the store or the broker is unreachable",
    )
    kafka_send_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        alias="KAFKA_SEND_TIMEOUT_SECONDS",
        description="a send to Kafka not acknowledged within this is abandoned and the producer replaced",
    )
    relay_poll_seconds: float = Field(default=0.5, gt=0, alias="OUTBOX_POLL_SECONDS")
    inbox_size: int = Field(default=1000, ge=10, alias="INBOX_SIZE")
    snapshot_every: int = Field(
        default=50,
        ge=2,
        alias="SNAPSHOT_EVERY",
        description="an event-sourced aggregate's tail is archived and its snapshot moved every this many facts",
    )
    aggregate_cache_size: int = Field(
        default=5000,
        ge=0,
        alias="AGGREGATE_CACHE_SIZE",
        description="verified aggregates each process keeps in memory (checked against the stored version)",
    )
    http_host: str = Field(default="127.0.0.1", alias="HTTP_HOST")
    http_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        alias="HTTP_MAX_BODY_BYTES",
        description="largest request body any service's HTTP API accepts (bytes); larger: 413",
    )
    app_env: Literal["development", "production"] = Field(
        default="development",
        alias="APP_ENV",
        description="production: refuse to start with a missing or development secret "
        "(shared/production.py) and never read the local .cache/secrets fallback",
    )

    metrics_token: SecretStr | None = Field(
        default=None,
        alias="METRICS_TOKEN",
        description="the scrape secret of GET /metrics (Authorization: Bearer …); unset = read "
        "<SECRETS_DIR>/metrics_token outside production (required in production)",
    )
    metrics_scrape_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        alias="METRICS_SCRAPE_TIMEOUT_SECONDS",
        description="longest a /metrics probe of the store or the broker may take (then it is left out)",
    )

    auth_login_url: str = Field(
        default="http://127.0.0.1:8001/dang-nhap",
        alias="AUTH_LOGIN_URL",
        description="org's sign-in page; pages of every service send anonymous visitors there",
    )
    auth_allowed_origins: str = Field(
        default="http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003,http://127.0.0.1:8004,"
        "http://localhost:8001,http://localhost:8002,http://localhost:8003,http://localhost:8004",
        alias="AUTH_ALLOWED_ORIGINS",
        description="comma-separated origins whose cookie-authenticated POSTs are accepted (CSRF defence)",
    )

    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.auth_allowed_origins.split(",") if o.strip())

    def metrics_secret(self) -> str | None:
        """The scrape secret: ``METRICS_TOKEN``, else (outside production) the local one."""
        if self.metrics_token is not None and self.metrics_token.get_secret_value().strip():
            return self.metrics_token.get_secret_value().strip()
        if self.production:
            return None
        try:
            return (self.secrets_dir / METRICS_TOKEN_FILE).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    def database_name(self, service: str) -> str:
        """Each service owns its own database."""
        return f"{self.db_prefix}_{service}"
