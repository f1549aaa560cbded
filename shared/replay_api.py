"""``POST /api/dead-letters/replay`` on every consuming service: operators replay its dead letters.

One dead letter by its coordinates on ``<topic>.dlq``, or every dead letter of this service whose
reason contains a text; the operator states why; the change is audited (who, what, why, how many)
and each dead letter is replayed once however often it is asked (:mod:`shared.reliability.replay`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.access.guard import Access
from shared.access.roles import Identity, Role
from shared.reliability.replay import DeadLetterReplay


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dlq_topic: str | None = Field(default=None, max_length=200)
    partition: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)
    reason_contains: str | None = Field(default=None, min_length=3, max_length=500)
    why: str = Field(
        min_length=3, max_length=1000, description="the operator's reason, kept in the audit log"
    )
    limit: int = Field(default=1000, ge=1, le=10_000)


def replay_router(replay: DeadLetterReplay, access: Access) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.post("/api/dead-letters/replay")
    async def replay_dead_letters(
        body: ReplayRequest, request: Request, identity: Identity = access.require(Role.OPERATOR)
    ) -> dict[str, Any]:
        """Replay one dead letter (``dlq_topic``, ``partition``, ``offset``) or all of one reason."""
        if body.reason_contains:
            results = await replay.by_reason(body.reason_contains, by=identity.subject, limit=body.limit)
            what = f"dead letters of {replay.service} whose reason contains {body.reason_contains!r}"
        elif body.dlq_topic is not None and body.partition is not None and body.offset is not None:
            results = [await replay.one(body.dlq_topic, body.partition, body.offset, by=identity.subject)]
            what = f"dead letter {body.dlq_topic}:{body.partition}:{body.offset}"
        else:
            raise HTTPException(
                422,
                detail={
                    "code": "replay_what",
                    "message": "Cần chỉ rõ thư lỗi cần phát lại (dlq_topic, partition, offset) "
                    "hoặc một đoạn của lý do (reason_contains).",
                },
            )
        outcomes: dict[str, int] = {}
        for r in results:
            outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        await access.changed(request, identity, f"replay {what}", body.why, outcomes=outcomes)
        return {"service": replay.service, "outcomes": outcomes, "replayed": [asdict(r) for r in results]}

    return router
