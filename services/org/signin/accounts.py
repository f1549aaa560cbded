"""Local accounts (username → registry person, argon2 password hash) and their bootstrap file.

Accounts live only in org's own database — password hashes never travel on Kafka. Which *roles* an
account has is not stored here: roles are org events (``org.access_granted``) of the person the
account belongs to, so a grant is visible, dated and audited like every other registry change.

The bootstrap file ``danvan-accounts/1`` (``ORG_ACCOUNTS_FILE``; on a development machine the
generated ``.cache/secrets/accounts.yaml``) lists accounts with their hashes and the grants to
register::

    format: danvan-accounts/1
    accounts:
      - username: kg.bdv
        person_id: p.kg.004
        password_hash: $argon2id$...
        oidc_email: bdv@kiengiang.test        # optional: sign-in through the provincial IdP
        grants: [{role: synthesiser, unit: kg.bdv, valid_from: 2024-01-01}]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import yaml
from pwdlib import PasswordHash
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from shared.access.roles import Role
from shared.contract.events.org import AccessGranted, OrgEvent, PersonRegistered
from shared.orgmodel.errors import SeedFormatError

Doc = dict[str, Any]
FORMAT = "danvan-accounts/1"
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")

hasher = PasswordHash.recommended()
# A hash to verify against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = hasher.hash("không-phải-mật-khẩu-của-ai")


@dataclass(frozen=True)
class GrantSpec:
    role: Role
    unit_id: str
    valid_from: date
    valid_to: date | None = None


@dataclass(frozen=True)
class AccountSpec:
    username: str
    person_id: str
    password_hash: str
    full_name: str = ""
    oidc_email: str = ""
    grants: tuple[GrantSpec, ...] = ()


@dataclass
class Account:
    username: str
    person_id: str
    password_hash: str
    oidc_email: str = ""
    disabled: bool = False
    failures: int = 0
    locked_until: datetime | None = None
    extra: Doc = field(default_factory=dict)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def parse_accounts(text: str, source: str) -> list[AccountSpec]:
    # a deployment file of the operators (not an upload): PyYAML's safe loader is enough
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SeedFormatError(f"YAML không hợp lệ: {exc}", path=source, code="bad_yaml") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise SeedFormatError(f"thiếu «format: {FORMAT}».", path=source, code="bad_format")
    out: list[AccountSpec] = []
    for i, item in enumerate(raw.get("accounts") or []):
        where = f"tài khoản thứ {i + 1}"
        try:
            username = str(item["username"])
            if not _USERNAME.match(username):
                raise SeedFormatError(
                    f"{where}: tên đăng nhập «{username}» không hợp lệ.", path=source, code="bad_username"
                )
            hashed = str(item["password_hash"])
            if not hashed.startswith("$argon2"):
                raise SeedFormatError(
                    f"{where}: mật khẩu phải là mã băm argon2.", path=source, code="bad_password_hash"
                )
            grants = tuple(
                GrantSpec(
                    Role(g["role"]),
                    str(g["unit"]),
                    _as_date(g.get("valid_from", "2020-01-01")),
                    _as_date(g["valid_to"]) if g.get("valid_to") else None,
                )
                for g in item.get("grants") or []
            )
            out.append(
                AccountSpec(
                    username=username,
                    person_id=str(item["person_id"]),
                    password_hash=hashed,
                    full_name=str(item.get("full_name") or ""),
                    oidc_email=str(item.get("oidc_email") or "").lower(),
                    grants=grants,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SeedFormatError(f"{where}: {exc}", path=source, code="bad_account") from exc
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def grant_id(username: str, spec: GrantSpec) -> str:
    return f"g.{username}.{spec.role.value}.{spec.unit_id}.{spec.valid_from.isoformat()}"


def bootstrap_events(specs: list[AccountSpec], known_people: set[str], granted: set[str]) -> list[OrgEvent]:
    """Org events that register the people (when new) and grants (when not yet granted) of ``specs``."""
    events: list[OrgEvent] = []
    for spec in specs:
        if spec.person_id not in known_people:
            if not spec.full_name:
                raise SeedFormatError(
                    f"Tài khoản «{spec.username}»: cán bộ «{spec.person_id}» chưa có trong sổ đăng ký "
                    "(ghi full_name để đăng ký mới).",
                    path="accounts",
                    code="unknown_person",
                )
            events.append(PersonRegistered(person_id=spec.person_id, full_name=spec.full_name))
            known_people.add(spec.person_id)
        for g in spec.grants:
            gid = grant_id(spec.username, g)
            if gid in granted:
                continue
            events.append(
                AccessGranted(
                    grant_id=gid,
                    person_id=spec.person_id,
                    role=g.role.value,
                    unit_id=g.unit_id,
                    valid_from=g.valid_from,
                    valid_to=g.valid_to,
                    reason=f"tệp tài khoản khởi tạo ({spec.username})",
                )
            )
            granted.add(gid)
    return events


class AccountStore(Protocol):
    async def upsert(self, spec: AccountSpec) -> None: ...
    async def get(self, username: str) -> Account | None: ...
    async def by_oidc_email(self, email: str) -> Account | None: ...
    async def failed(self, username: str, now: datetime) -> Account | None: ...
    async def succeeded(self, username: str) -> None: ...


def _account(doc: Doc) -> Account:
    locked = doc.get("locked_until")
    if isinstance(locked, datetime) and locked.tzinfo is None:
        locked = locked.replace(tzinfo=UTC)
    return Account(
        username=doc["_id"],
        person_id=doc["person_id"],
        password_hash=doc["password_hash"],
        oidc_email=doc.get("oidc_email", ""),
        disabled=bool(doc.get("disabled", False)),
        failures=int(doc.get("failures", 0)),
        locked_until=locked if isinstance(locked, datetime) else None,
    )


class MongoAccountStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self.collection = collection

    async def upsert(self, spec: AccountSpec) -> None:
        await self.collection.update_one(
            {"_id": spec.username},
            {
                "$set": {
                    "person_id": spec.person_id,
                    "password_hash": spec.password_hash,
                    "oidc_email": spec.oidc_email,
                },
                "$setOnInsert": {"failures": 0, "disabled": False},
            },
            upsert=True,
        )

    async def get(self, username: str) -> Account | None:
        doc = await self.collection.find_one({"_id": username})
        return _account(doc) if doc else None

    async def by_oidc_email(self, email: str) -> Account | None:
        if not email:
            return None
        doc = await self.collection.find_one({"oidc_email": email.lower()})
        return _account(doc) if doc else None

    async def failed(self, username: str, now: datetime) -> Account | None:
        """Count a failed attempt atomically; the fifth consecutive one locks the account."""
        doc = await self.collection.find_one_and_update(
            {"_id": username}, {"$inc": {"failures": 1}}, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        if int(doc.get("failures", 0)) >= MAX_FAILURES:
            await self.collection.update_one(
                {"_id": username}, {"$set": {"locked_until": now + LOCKOUT, "failures": 0}}
            )
            doc["locked_until"] = now + LOCKOUT
        return _account(doc)

    async def succeeded(self, username: str) -> None:
        await self.collection.update_one({"_id": username}, {"$set": {"failures": 0, "locked_until": None}})


def check_password(account: Account | None, password: str) -> bool:
    """Constant-ish time whether or not the account exists (argon2 verification either way)."""
    if account is None:
        hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return bool(hasher.verify(password, account.password_hash))
    except Exception:  # malformed hash: never a match
        return False
