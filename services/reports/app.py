"""Wiring of the reports service: runtime, consumers, read-model stores, HTTP.

Consumes ``tasks.decisions`` (decision facts and refused requests → decision views),
``org.events`` (a local registry copy, for names) and every dead-letter topic (raw bytes →
the console's dead-letter list). Publishes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.reports.handlers import ReportsHandlers
from services.reports.names import OrgNames
from services.reports.settings import ReportsSettings
from services.reports.store import ReportsStore
from services.reports.web import make_router
from shared.access.audit import MongoAuditLog
from shared.access.guard import access_for
from shared.contract import topics
from shared.orgmodel import MODEL_VERSION
from shared.orgmodel.replica import OrgReplica, unit_ancestors
from shared.replay_api import replay_router
from shared.runtime import ServiceRuntime
from shared.service_app import service_app

NAME = "reports"


def build(settings: ReportsSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or ReportsSettings()
    runtime = ServiceRuntime(NAME, settings)
    store = ReportsStore(runtime.db, inbox_size=settings.inbox_size)
    replica = OrgReplica()
    access = access_for(
        NAME, settings, MongoAuditLog(runtime.db["audit"]), ancestors=unit_ancestors(lambda: replica.registry)
    )
    handlers = ReportsHandlers(store, replica, retry_max_seconds=settings.retry_max_seconds)
    group = f"{NAME}{settings.group_suffix}"

    runtime.subscribe(topics.DECISION_EVENTS, handlers.decision_handlers(), group=group)
    org_copy = runtime.replicate(topics.ORG_EVENTS, handlers.org_handlers())
    # Dead letters are not envelopes: one raw subscriber over all the .dlq topics.
    runtime.raw_subscriber(
        [topics.dead_letter(t) for t in topics.ALL],
        handlers.on_dead_letter,
        group=f"{NAME}-dlq{settings.group_suffix}",
        title=f"{NAME}:dead-letters",
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.ensure_indexes()
        async with runtime.lifespan(app):
            yield

    app = service_app(
        title="Báo cáo và giám sát – Hệ thống phối hợp công tác dân vận",
        lifespan=lifespan,
        access=access,
    )

    runtime.install_ready(app, [access.public("readiness probe; reasons only")])
    runtime.install_metrics(app, [access.metrics()])
    app.include_router(replay_router(runtime.replay(), access))

    @app.get("/health", tags=["ops"], dependencies=[access.public("liveness probe; counts only")])
    async def health() -> JSONResponse:
        body = runtime.health()
        body["org_events"] = replica.count
        body["org_digest"] = replica.digest
        body["org_position"] = org_copy.position
        body["org_model_version"] = MODEL_VERSION
        body["org_caught_up"] = org_copy.is_open
        body["dead_letters_recorded"] = handlers.dead_letters_seen
        return JSONResponse(body, status_code=200)

    app.include_router(make_router(store, OrgNames(replica), access, list_limit=settings.list_limit))
    app.state.access = access
    return app, runtime
