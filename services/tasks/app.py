"""The tasks service process: consumers, durable timers and a small HTTP API.

Kafka in: org.events (local copy of the registry and policy) and
tasks.decision-requests (agency systems, notify's opinion pages).
Kafka out (through the outbox): tasks.decisions.
HTTP: decision state, its history and hash-chain verification; in demo mode an
operator can move the clock forward to rehearse deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import Field

from services.tasks.clock import Clock, StoredClock
from services.tasks.contract import DESCRIPTION
from services.tasks.decisions import DecisionService
from services.tasks.domain.calendar import DEFAULT_CALENDAR
from services.tasks.domain.decision import Decision
from services.tasks.metrics import timers_due
from services.tasks.org_port import ReplicaOrgPort
from services.tasks.parking import ParkedRequests
from services.tasks.workflows.service import register as register_workflows
from shared.access.audit import MongoAuditLog
from shared.access.guard import access_for
from shared.access.roles import Identity, Role
from shared.contract import topics
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import DECISION_REQUEST_TYPES, DecisionRequest
from shared.contract.events.org import ORG_EVENT_TYPES
from shared.eventsourcing.repository import TamperedHistory
from shared.orgmodel import MODEL_VERSION
from shared.orgmodel.replica import OrgReplica, unit_ancestors
from shared.reliability.lease import Lease
from shared.replay_api import replay_router
from shared.runtime import ServiceRuntime
from shared.security.principal import RecordAuthenticator
from shared.service_app import service_app
from shared.settings import CommonSettings
from shared.telemetry import BackgroundPass

log = logging.getLogger("tasks.app")


class TasksSettings(CommonSettings):
    tick_seconds: float = Field(default=30.0, gt=0, alias="TICK_SECONDS", description="timer scan period")
    chain_sweep_seconds: float = Field(
        default=3600.0,
        ge=0,
        alias="CHAIN_SWEEP_SECONDS",
        description="every this often the timer instance verifies every stored chain from genesis (0: never)",
    )
    demo_mode: bool = Field(default=False, alias="DEMO_MODE", description="allow moving the clock forward")
    group_suffix: str = Field(default="", alias="GROUP_SUFFIX", description="consumer group suffix (tests)")
    park_seconds: float = Field(
        default=3600.0,
        gt=0,
        alias="TASKS_PARK_SECONDS",
        description="how long a verified request for a decision not drafted yet waits before unknown_decision",
    )
    signature_max_skew_seconds: int = Field(
        default=300,
        ge=5,
        alias="SIGNATURE_MAX_SKEW_SECONDS",
        description="a request signed longer than this before the broker appended it is a replay",
    )


def _not_found(decision_id: str) -> HTTPException:
    return HTTPException(
        404,
        detail={"code": "unknown_decision", "message": f"Không tìm thấy dự thảo văn bản mã «{decision_id}»."},
    )


def build(settings: TasksSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or TasksSettings()
    runtime = ServiceRuntime("tasks", settings)
    clock = Clock(adjustable=settings.demo_mode)
    shared_clock = StoredClock(clock, runtime.db["meta"])
    replica = OrgReplica()
    access = access_for(
        "tasks",
        settings,
        MongoAuditLog(runtime.db["audit"]),
        ancestors=unit_ancestors(lambda: replica.registry),
    )
    parked = ParkedRequests(runtime.db["parked_requests"], timedelta(seconds=settings.park_seconds))
    calendar = DEFAULT_CALENDAR
    decisions = runtime.event_store(
        "decisions", new=lambda: Decision(calendar), restore=lambda s: Decision.restore(s, calendar)
    )
    rejections_store = runtime.store("rejections")
    service = DecisionService(
        decisions=decisions,
        rejections=rejections_store,
        emitter=runtime.emitter,
        org=ReplicaOrgPort(replica),
        clock=clock,
        on_saved=runtime.relay.wake,
        parked=parked,
    )

    async def on_request(env: Envelope, event: Event) -> None:
        assert isinstance(event, DecisionRequest)
        await service.handle(env, event)

    group = f"tasks{settings.group_suffix}"
    org_ready = runtime.replicate(
        topics.ORG_EVENTS, {t.event_type: replica.on_event for t in ORG_EVENT_TYPES}
    )
    authenticate = RecordAuthenticator(
        lambda: replica.registry.systems, max_skew_seconds=settings.signature_max_skew_seconds
    )
    runtime.subscribe(
        topics.DECISION_REQUESTS,
        {t.event_type: on_request for t in DECISION_REQUEST_TYPES},
        group=group,
        authenticate=authenticate,
        after=org_ready,  # never authenticate or answer from a registry copy still catching up
    )
    workflows = register_workflows(
        runtime, clock, replica, group=group, org_ready=org_ready, authenticate=authenticate, access=access
    )

    timer: dict[str, asyncio.Task[None]] = {}
    # one instance runs the timer pass (the others stand by and take over when its lease expires)
    timer_lease = Lease(
        runtime.db["meta"], "timer_pass", ttl=timedelta(seconds=max(10.0, 3 * settings.tick_seconds))
    )

    sweep: dict[str, Any] = {
        "next": time.monotonic() + settings.chain_sweep_seconds,
        "last_at": None,
        "broken": 0,
    }

    async def sweep_chains() -> None:
        """Verify every stored chain from genesis (decisions and workflows); a broken one is marked and
        refuses all writes from then on (shared.eventsourcing.repository)."""
        if not settings.chain_sweep_seconds or time.monotonic() < sweep["next"]:
            return
        sweep["next"] = time.monotonic() + settings.chain_sweep_seconds
        broken = await decisions.sweep()
        for repo in workflows.repositories.values():
            broken += await repo.sweep()
        sweep.update(last_at=clock.now().isoformat(), broken=broken)
        if broken:
            log.error("stored histories that do not verify", extra={"broken": broken})

    async def timer_loop() -> None:
        while True:
            try:
                # a span only for a pass that fired something: its facts carry the pass's trace
                with BackgroundPass("timer pass") as work:
                    await shared_clock.refresh()  # another instance (or an earlier run) may have moved it
                    if not await timer_lease.hold():
                        await asyncio.sleep(settings.tick_seconds)
                        continue
                    fired = await service.tick_all() + await workflows.tick_all()
                    fired += await service.handle_parked()  # left by a crash, or waited too long
                    await sweep_chains()
                    if fired:
                        work.found(**{"dv.timers.fired": fired})
                        log.info("timers fired", extra={"facts": fired})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("timer pass failed; will retry")
            await asyncio.sleep(settings.tick_seconds)

    @runtime.on_start
    async def indexes() -> None:
        await parked.ensure_indexes()
        await shared_clock.refresh()

    @runtime.on_started
    async def start_timers() -> None:
        timer["task"] = asyncio.create_task(timer_loop(), name="decision-timers")

    @runtime.on_stop
    async def stop_timers() -> None:
        task = timer.pop("task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await timer_lease.release()  # a standing-by instance takes over at its next pass

    app = service_app(
        title="Tasks — quy trình lấy ý kiến",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=runtime.lifespan,
        access=access,
    )

    async def readable(decision_id: str, request: Request, identity: Identity) -> Any:
        """The decision, if the caller's units issue it or are consulted on it (or above them)."""
        try:
            d = await service.get(decision_id)
        except TamperedHistory:  # still readable (and verifiable) by those it concerns
            d = await decisions.replay_unverified(decision_id)
        if d is None:
            raise _not_found(decision_id)
        units = [u for u in (d.issuer_unit_id, *d.consultees.keys()) if u]
        await access.check(request, identity, access.may_read_case(identity, units), "quyết định")
        return d

    runtime.install_ready(app, [access.public("readiness probe; reasons only")])
    runtime.metrics.probe(
        "timers_due",
        timers_due(runtime.db["decisions"], clock.now, max_time_ms=runtime.metrics.timeout_ms),
    )
    runtime.install_metrics(app, [access.metrics()])
    app.include_router(replay_router(runtime.replay(), access))

    @app.get("/health", dependencies=[access.public("liveness probe; counts only")])
    async def health() -> dict[str, Any]:
        return {
            **runtime.health(),
            "org_events": replica.count,
            "org_digest": replica.digest,
            "org_position": org_ready.position,
            "org_model_version": MODEL_VERSION,
            "org_caught_up": org_ready.is_open,
            "chain_sweep": {"last_at": sweep["last_at"], "broken": sweep["broken"]},
            "now": clock.now().isoformat(),
        }

    @app.get("/api/decisions/{decision_id}")
    async def get_decision(
        decision_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> dict[str, Any]:
        d = await readable(decision_id, request, identity)
        current = await decisions.current(decision_id)
        return {
            "decision_id": d.decision_id,
            "status": d.status.value if d.status else None,
            "title": d.title,
            "issuer_unit_id": d.issuer_unit_id,
            "version": d.version,
            "consultees": [
                {
                    "unit_id": c.unit_id,
                    "name": c.name_vi,
                    "kind": c.kind,
                    "deadline": c.deadline.isoformat(),
                    "has_valid_opinion": d.has_valid_opinion(c.unit_id),
                    "opinion_id": c.opinion_id,
                }
                for c in d.consultees.values()
            ],
            "issuance_blockers": [b.model_dump() for b in d.issuance_blockers()],
            "chain_head": current.head_hash if current else None,
        }

    @app.get("/api/decisions/{decision_id}/history")
    async def history(
        decision_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> list[dict[str, Any]]:
        await readable(decision_id, request, identity)
        facts = await decisions.history(decision_id)
        if facts is None:
            raise _not_found(decision_id)
        return [{"type": f.event_type, **f.model_dump(mode="json")} for f in facts]

    @app.get("/api/decisions/{decision_id}/rejections")
    async def rejections(
        decision_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> list[dict[str, Any]]:
        """Requests about this decision that were refused (who sent them, the code, the Vietnamese reason)."""
        await readable(decision_id, request, identity)
        cursor = rejections_store.collection.find({"state.decision_id": decision_id}, {"state": 1})
        return [dict(doc["state"]) async for doc in cursor]

    @app.get("/api/decisions/{decision_id}/verify")
    async def verify(
        decision_id: str, request: Request, identity: Identity = access.signed_in()
    ) -> dict[str, Any]:
        """Recompute the decision's hash chain; says where it breaks if anything was altered."""
        await readable(decision_id, request, identity)
        r = await decisions.verify(decision_id)
        if r is None:
            raise _not_found(decision_id)
        return {
            "ok": r.ok,
            "checked": r.checked,
            "head_hash": r.head_hash,
            "first_broken_seq": r.first_broken_seq,
            "reason_code": r.reason_code,
            "message": r.message_vi or "Chuỗi lịch sử toàn vẹn.",
        }

    @app.post("/admin/clock/advance")
    async def advance_clock(
        request: Request,
        days: float = 0,
        hours: float = 0,
        identity: Identity = access.require(Role.OPERATOR),
    ) -> dict[str, Any]:
        """Demo only: move the service clock forward, then run the timers at once."""
        try:
            now = await shared_clock.advance(timedelta(days=days, hours=hours))
        except PermissionError as exc:
            raise HTTPException(
                403,
                detail={
                    "code": "clock_locked",
                    "message": "Chỉ được chỉnh đồng hồ ở chế độ trình diễn (DEMO_MODE=1).",
                },
            ) from exc
        except ValueError as exc:
            raise HTTPException(
                422, detail={"code": "clock_backwards", "message": "Đồng hồ chỉ được chỉnh tiến."}
            ) from exc
        fired = await service.tick_all() + await workflows.tick_all()
        await access.changed(request, identity, "tasks.clock_advance", "", days=days, hours=hours)
        return {"now": now.isoformat(), "fired": fired}

    app.include_router(workflows.router)
    app.state.service = service
    app.state.runtime = runtime
    app.state.replica = replica
    app.state.clock = clock
    app.state.access = access
    return app, runtime
