"""Server-side sessions in org's document store, and the sign-in throttle.

A session id is 32 random bytes given to the browser once (``dv_session`` cookie, HttpOnly, path
``/``); the store keeps only its SHA-256, so a copy of the database does not hold live sessions.
Sessions end on sign-out, after ``IDLE`` without use, or ``ABSOLUTE`` after sign-in.

The throttle counts *failed* sign-ins per client address in a fixed 15-minute window (one atomic
``$inc`` each); at 20 the address is refused until the window ends. Concurrent guesses already in
flight may each be answered once more; the lockout per account (accounts.py: 5 failures → 15
minutes) bounds guessing of any one password regardless.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Doc = dict[str, Any]
COOKIE = "dv_session"
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=8)
WINDOW = timedelta(minutes=15)
FAILURES_PER_WINDOW = 20


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _aware(value: Any) -> datetime:
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Session:
    sid_hash: str
    person_id: str
    username: str
    method: str
    created: datetime
    last_seen: datetime

    def alive(self, now: datetime) -> bool:
        return now - self.last_seen < IDLE and now - self.created < ABSOLUTE


class SessionStore:
    def __init__(self, sessions: AsyncCollection[Doc], throttle: AsyncCollection[Doc]) -> None:
        self.sessions = sessions
        self.throttle = throttle

    async def open(self, person_id: str, username: str, method: str, now: datetime) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        doc = {
            "_id": _hash(sid),
            "person_id": person_id,
            "username": username,
            "method": method,
            "created": now,
            "last_seen": now,
        }
        await self.sessions.insert_one(doc)
        return sid, _session(doc)

    async def touch(self, sid: str, now: datetime) -> Session | None:
        """The live session of ``sid`` (its last use moved to ``now``), or ``None``."""
        if not sid or len(sid) > 200:
            return None
        doc = await self.sessions.find_one({"_id": _hash(sid)})
        if doc is None:
            return None
        session = _session(doc)
        if not session.alive(now):
            await self.sessions.delete_one({"_id": session.sid_hash})
            return None
        await self.sessions.update_one({"_id": session.sid_hash}, {"$set": {"last_seen": now}})
        return session

    async def close(self, sid: str) -> bool:
        result = await self.sessions.delete_one({"_id": _hash(sid)})
        return result.deleted_count > 0

    def _window(self, client: str, now: datetime) -> str:
        return f"{client}:{int(now.timestamp() // WINDOW.total_seconds())}"

    async def blocked(self, client: str, now: datetime) -> bool:
        """Whether ``client`` used up this window's budget of failed sign-ins."""
        doc = await self.throttle.find_one({"_id": self._window(client, now)})
        return doc is not None and int(doc.get("n", 0)) >= FAILURES_PER_WINDOW

    async def failed(self, client: str, now: datetime) -> None:
        """Count one failed sign-in from ``client`` (one atomic ``$inc``)."""
        await self.throttle.update_one(
            {"_id": self._window(client, now)}, {"$inc": {"n": 1}, "$setOnInsert": {"at": now}}, upsert=True
        )


def _session(doc: Doc) -> Session:
    return Session(
        sid_hash=doc["_id"],
        person_id=doc["person_id"],
        username=doc["username"],
        method=doc["method"],
        created=_aware(doc["created"]),
        last_seen=_aware(doc["last_seen"]),
    )
