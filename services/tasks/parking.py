"""Requests that arrive before their decision exists wait, instead of being refused at once.

Why: an opinion, a revision or a close request for a decision whose draft has not been processed
yet (a sender that published out of order, a draft still being retried) used to be refused for good
with ``unknown_decision`` (issue "No message wedges", item 4). Such a request from a verified sender
is *parked* here with the principal that signed it; once the draft is stored the decision service
handles the parked requests in arrival order (at once after the draft, and at every timer pass for
anything left by a crash); a request whose decision still does not exist after ``park_for`` is
refused as before, so the sender always gets an answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.contract.envelope import Envelope
from shared.security.principal import Principal


class ParkedRequests:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], park_for: timedelta) -> None:
        self.collection = collection
        self.park_for = park_for

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("decision_id", ASCENDING), ("parked_at", ASCENDING)])

    async def park(self, env: Envelope, decision_id: str, principal: Principal, at: datetime) -> bool:
        """Keep ``env`` until its decision exists; False if it was parked already (a redelivery)."""
        try:
            await self.collection.insert_one(
                {
                    "_id": env.id,
                    "decision_id": decision_id,
                    "envelope": env.model_dump(mode="json"),
                    "principal": asdict(principal),
                    "parked_at": at,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def waiting(
        self, decision_id: str | None = None
    ) -> AsyncIterator[tuple[Envelope, Principal, datetime]]:
        """Parked requests (of one decision, or all), oldest first."""
        query = {"decision_id": decision_id} if decision_id is not None else {}
        async for doc in self.collection.find(query).sort("parked_at", ASCENDING):
            p = doc["principal"]
            principal = Principal(
                system_id=p["system_id"], kid=p["kid"], kind=p["kind"], signed_at=p["signed_at"]
            )
            yield Envelope.model_validate(doc["envelope"]), principal, doc["parked_at"]

    async def done(self, env: Envelope) -> None:
        await self.collection.delete_one({"_id": env.id})

    def expired(self, parked_at: datetime, now: datetime) -> bool:
        return now - parked_at > self.park_for
