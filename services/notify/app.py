"""Wiring of the notify service: runtime, org replica, handlers, delivery worker, HTTP.

Start order (why): the org copy is read from ``org.events`` by this process (every instance reads
all of it) and decision facts wait until it has caught up, so the first fact already finds its
recipients; the delivery worker starts
*after* the runtime (broker, relay) so what it records is published at once; on stop the
worker is cancelled first (a half-done attempt is retried from its stored state), then the
runtime drains the consumers and flushes the outbox.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from services.notify.channels.email import EmailChannel, EmailConfig
from services.notify.channels.sms import SmsChannel, SmsConfig
from services.notify.channels.webhook import WebhookChannel, WebhookConfig
from services.notify.domain.delivery import DeliveryStatus, InvalidTransition, RetryPolicy, requeue
from services.notify.metrics import deliveries_probe
from services.notify.org_changes import contact_change_handler
from services.notify.pages import (
    PagesDeps,
    PublicCommentDeps,
    build_pages_router,
    build_public_comment_router,
)
from services.notify.rate_limit import MongoCommentLimiter
from services.notify.recipients import Recipients
from services.notify.service import NO_RECIPIENT, NotifyService
from services.notify.settings import NotifySettings
from services.notify.stores.mongo import mongo_stores
from services.notify.worker import DeliveryWorker, state_of
from shared.access.audit import MongoAuditLog
from shared.access.guard import access_for
from shared.access.roles import Identity, Role
from shared.contract.events.org import ORG_EVENT_TYPES, PersonUpdated
from shared.contract.topics import DECISION_EVENTS, ORG_EVENTS
from shared.orgmodel import MODEL_VERSION
from shared.orgmodel.replica import OrgReplica
from shared.reliability.consumer import Handler
from shared.reliability.unit_of_work import Change
from shared.replay_api import replay_router
from shared.runtime import ServiceRuntime
from shared.service_app import service_app
from shared.store import AggregateStore, Stored

log = logging.getLogger("notify.app")

STATUSES = [*(s.value for s in DeliveryStatus), NO_RECIPIENT]


class NotifyRuntime(ServiceRuntime):
    """The shared runtime plus notify's own start/stop steps (replica load, delivery worker)."""

    settings: NotifySettings

    def __init__(self, settings: NotifySettings) -> None:
        super().__init__("notify", settings)
        self.settings = settings
        self.replica = OrgReplica()
        self.submissions = self.store("submissions")
        self.public_comments = self.store("public_comments")
        self.moderations = self.store("moderations")
        self.stores = mongo_stores(
            drafts=AggregateStore.of(self.db, "drafts", inbox_size=settings.inbox_size),
            links=AggregateStore.of(self.db, "links", inbox_size=settings.inbox_size),
            deliveries=self.store("deliveries"),
            submissions=self.submissions,
            public_comments=self.public_comments,
            moderations=self.moderations,
        )
        self.comment_limiter = MongoCommentLimiter(
            self.db["comment_limits"],
            settings.public_comment_rate_limit,
            timedelta(seconds=settings.public_comment_rate_window_seconds),
            secret=settings.comment_limit_key(),
        )
        self.fresh_deployment = False
        """Set at start: a new notify (its database never saw a start) sends no contact change notice
        for the history it reads before it caught up."""
        policy = RetryPolicy.exponential(
            max_attempts=settings.delivery_max_attempts,
            base=timedelta(seconds=settings.delivery_retry_base_seconds),
            cap=timedelta(seconds=settings.delivery_retry_max_seconds),
        )
        self.worker = DeliveryWorker(
            deliveries=self.stores.deliveries,
            emitter=self.emitter,
            email=EmailChannel(
                EmailConfig(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    sender=settings.smtp_from,
                    starttls=settings.smtp_starttls,
                    username=settings.smtp_user,
                    password=settings.smtp_password,
                    timeout=settings.smtp_timeout,
                    headers=settings.mail_headers(),
                ),
                now=now,
            ),
            sms=SmsChannel(SmsConfig(url=settings.sms_gateway_url, api_key=settings.sms_api_key))
            if settings.sms_gateway_url
            else None,
            webhook=WebhookChannel(
                WebhookConfig(
                    secret=settings.webhook_secret.encode("utf-8"), targets=settings.webhook_targets()
                )
            )
            if settings.webhook_secret
            else None,
            policy=policy,
            digest_window=timedelta(seconds=settings.digest_window_seconds),
            now=now,
            poll_seconds=settings.delivery_poll_seconds,
            on_outbox=self.relay.wake,
            concurrency=settings.delivery_concurrency,
        )
        self.service = NotifyService(
            settings=settings,
            recipients=Recipients(self.replica),
            stores=self.stores,
            emitter=self.emitter,
            now=now,
            on_delivery=self.worker.wake,
            on_outbox=self.relay.wake,
        )

    async def start(self) -> None:
        if self._started:
            return
        self.settings.warn_if_insecure()
        await self.stores.ensure_indexes()
        await self.comment_limiter.ensure_indexes()
        first = await self.db["meta"].find_one_and_update(
            {"_id": "first_start"}, {"$setOnInsert": {"at": datetime.now(UTC)}}, upsert=True
        )
        self.fresh_deployment = first is None  # the update returns the document as it was before
        await super().start()
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await super().stop()


def now() -> datetime:
    return datetime.now(UTC)


def _public(doc: dict[str, Any], *, demo: bool) -> dict[str, Any]:
    """An operator's view of a delivery. Never the address or the body: bodies carry action links
    (credentials) and addresses are personal data (operators see ids; the mailbox has the rest)."""
    s = doc.get("state", {})
    out = {
        "id": doc["_id"],
        "status": s.get("status"),
        "channel": s.get("channel"),
        "kind": s.get("kind"),
        "decision_id": s.get("decision_id"),
        "unit_id": s.get("unit_id"),
        "unit_name": (s.get("recipient") or {}).get("unit_name"),
        "person_id": s.get("person_id"),
        "attempts": s.get("attempts"),
        "next_attempt_at": s.get("next_attempt_at"),
        "last_error": s.get("last_error"),
        "digest_id": s.get("digest_id"),
        "created_at": s.get("created_at"),
        "history": s.get("history", []),
    }
    if demo:
        out["subject"] = (s.get("rendered") or {}).get("subject")
    return out


def build(settings: NotifySettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or NotifySettings()
    runtime = NotifyRuntime(settings)
    access = access_for("notify", settings, MongoAuditLog(runtime.db["audit"]))
    svc = runtime.service
    pages = svc.pages
    org_handlers: dict[str, Handler] = {t.event_type: runtime.replica.on_event for t in ORG_EVENT_TYPES}
    # a changed e-mail / phone / webhook is confirmed to the old address(es) before the copy forgets them
    org_handlers[PersonUpdated.event_type] = contact_change_handler(
        runtime.replica, svc, replaying=lambda: runtime.fresh_deployment and not org_ready.is_open
    )
    # recipients come from the org copy: hold decision events until it has caught up
    org_ready = runtime.replicate(ORG_EVENTS, org_handlers)

    runtime.subscribe(
        DECISION_EVENTS,
        svc.handlers(),
        group=settings.consumer_group,
        offset_reset=settings.decisions_offset_reset,
        after=org_ready,
    )

    app = service_app(
        title="Dân vận — notify",
        description=(
            "Thông báo, đường dẫn góp ý dự thảo, trang lấy ý kiến nhân dân và kiểm duyệt góp ý, "
            "theo dõi gửi thông báo."
        ),
        lifespan=runtime.lifespan,
        access=access,
    )
    # how both page routers open and check a link, and whom they accept a POST from
    links: dict[str, Any] = {
        "secret_keys": settings.signing_keys(),
        "now": now,
        "link_on_record": pages.link_on_record,
        "find_link": pages.find_link,
        "allowed_origins": settings.page_origins(),
        "trusted_proxies": settings.trusted_proxy_networks(),
    }
    app.include_router(
        build_pages_router(
            PagesDeps(
                load_draft=pages.load_draft,
                find_submission=pages.find_submission,
                submit_opinion=pages.submit_opinion,
                **links,
            )
        ),
        dependencies=[
            access.public(
                "action-link pages: the link (an opaque token, or a signed one of the former format) is the credential"
            )
        ],
    )

    app.include_router(
        build_public_comment_router(
            PublicCommentDeps(
                load_public_draft=pages.load_public_draft,
                submit_public_comment=pages.submit_public_comment,
                load_moderation=pages.load_moderation,
                submit_moderation=pages.submit_moderation,
                rate_limiter=runtime.comment_limiter,
                **links,
            )
        ),
        dependencies=[access.public("public comment (citizens) and moderation (signed link) pages")],
    )

    runtime.install_ready(app, [access.public("readiness probe; reasons only")])
    deliveries_store = runtime.stores.deliveries
    runtime.metrics.probe(
        "deliveries",
        deliveries_probe(
            lambda status: deliveries_store.count_status(status, max_time_ms=runtime.metrics.timeout_ms)
        ),
    )
    runtime.install_metrics(app, [access.metrics()])
    app.include_router(replay_router(runtime.replay(), access))

    @app.get("/health", dependencies=[access.public("liveness probe; counts only")])
    async def health() -> dict[str, Any]:
        return {
            **runtime.health(),
            "org_replica_events": runtime.replica.count,
            "org_digest": runtime.replica.digest,
            "org_position": org_ready.position,
            "org_model_version": MODEL_VERSION,
            "org_caught_up": org_ready.is_open,
            "deliveries_sent": runtime.worker.sent,
            "delivery_failed_attempts": runtime.worker.failed_attempts,
        }

    @app.post("/api/links/{token_id}/revoke")
    async def revoke_link(
        token_id: str,
        request: Request,
        reason: str = "",
        identity: Identity = access.require(Role.OPERATOR, Role.REGISTRY_ADMIN),
    ) -> dict[str, Any]:
        """Operator action: revoke an issued link; its page answers 410 from then on."""
        revoked = await pages.revoke_link(token_id, reason[:500])
        await access.changed(
            request,
            identity,
            "notify.revoke_link",
            reason[:500],
            token_id=token_id,
            found=revoked is not None,
        )
        if revoked is None:
            raise HTTPException(
                404, detail={"code": "unknown_link", "message": "Không tìm thấy liên kết với mã đã cho."}
            )
        return _jsonable(revoked)  # type: ignore[no-any-return]

    @app.get("/deliveries", dependencies=[access.require(Role.OPERATOR)])
    async def deliveries(
        status: str | None = Query(default=None, description=f"one of {', '.join(STATUSES)}"),
        decision_id: str | None = None,
        limit: int = Query(default=200, ge=1, le=1000),
    ) -> JSONResponse:
        """Operator view: every delivery with its status (dead-lettered and no_recipient included)."""
        if status is not None and status not in STATUSES:
            raise HTTPException(422, f"status must be one of {STATUSES}")
        docs = await deliveries_store.latest(status, decision_id, limit)
        body = [_public(d, demo=settings.demo_mode) for d in docs]
        counts: dict[str, int] = {}
        for d in docs:
            counts[str(d.get("status"))] = counts.get(str(d.get("status")), 0) + 1
        return JSONResponse(
            _jsonable({"count": len(body), "by_status": counts, "deliveries": body}),
            headers={"Cache-Control": "no-store"},
        )

    @app.post("/deliveries/{delivery_id}/requeue")
    async def requeue_delivery(
        delivery_id: str, request: Request, identity: Identity = access.require(Role.OPERATOR)
    ) -> dict[str, Any]:
        """Operator action: give a dead-lettered delivery a fresh retry budget (history kept)."""
        problems: list[str] = []

        def decide(current: Stored | None) -> Change | None:
            if current is None:
                problems.append("not_found")
                return None
            s = dict(current.state)
            try:
                after = requeue(state_of(s), now())
            except (InvalidTransition, ValueError) as exc:
                problems.append(str(exc))
                return None
            s.update(status=after.status.value, attempts=0, next_attempt_at=after.next_attempt_at)
            return Change(state=s, extra={"status": s["status"], "next_attempt_at": s["next_attempt_at"]})

        await deliveries_store.change(delivery_id, decide)
        if problems:
            raise HTTPException(404 if problems[0] == "not_found" else 409, problems[0])
        runtime.worker.wake()
        await access.changed(request, identity, "notify.requeue", "", delivery_id=delivery_id)
        return {"id": delivery_id, "status": DeliveryStatus.PENDING.value}

    app.state.access = access
    return app, runtime


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
