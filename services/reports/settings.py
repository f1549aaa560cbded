"""Settings of the reports service (read models and the operators' console)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class ReportsSettings(CommonSettings):
    http_port: int = Field(default=8003, alias="HTTP_PORT")
    group_suffix: str = Field(
        default="",
        alias="REPORTS_GROUP_SUFFIX",
        description="appended to the consumer group ids; tests use a unique one so each run reads from the start",
    )
    list_limit: int = Field(default=200, ge=1, le=5000, alias="REPORTS_LIST_LIMIT")
