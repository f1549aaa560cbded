"""Settings shared by every service, read from the environment.

Defaults are safe for a developer machine: loopback Kafka and document store as
started by ``infra/up.sh``, console/file telemetry, no external delivery.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", env_file=None)

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", alias="KAFKA_BOOTSTRAP")
    mongo_url: str = Field(default="mongodb://127.0.0.1:27017/?directConnection=true", alias="MONGO_URL")
    db_prefix: str = Field(
        default="dv", alias="DB_PREFIX", description="database name prefix (tests use their own)"
    )
    otlp_endpoint: str | None = Field(default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    trace_file: str | None = Field(
        default=None, alias="TRACE_FILE", description="write finished spans as JSON lines here when no OTLP"
    )
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_json: bool = Field(default=False, alias="LOG_JSON")
    max_attempts: int = Field(default=5, ge=1, alias="CONSUMER_MAX_ATTEMPTS")
    retry_base_seconds: float = Field(default=0.2, gt=0, alias="CONSUMER_RETRY_BASE_SECONDS")
    retry_max_seconds: float = Field(default=5.0, gt=0, alias="CONSUMER_RETRY_MAX_SECONDS")
    relay_poll_seconds: float = Field(default=0.5, gt=0, alias="OUTBOX_POLL_SECONDS")
    inbox_size: int = Field(default=1000, ge=10, alias="INBOX_SIZE")
    http_host: str = Field(default="127.0.0.1", alias="HTTP_HOST")

    def database_name(self, service: str) -> str:
        """Each service owns its own database."""
        return f"{self.db_prefix}_{service}"
