"""Who may do what on the local broker, and the admin chores that apply it (run as ``admin``).

Why: the broker denies everything no ACL allows (``allow.everyone.if.no.acl.found=false``), so
each principal gets exactly the rights below; ``User:admin`` is the only super user. The table is
the one place these rights are written down; ``ready`` makes the broker match it.

aiokafka 0.14 has no admin calls for ACLs or SCRAM users (Kafka 4 ships ``AclCommand`` in the
separate kafka-tools jar, which infra/kafka.sh does not install), so this speaks those four Kafka
requests itself, with aiokafka's protocol classes: one Python process instead of a JVM per
``kafka-acls`` call.

Usage (from the repo root, as infra/kafka.sh does):
    python infra/kafka_admin.py [--bootstrap HOST:PORT] ready [--timeout S]
    python infra/kafka_admin.py [--bootstrap HOST:PORT] acls
    python infra/kafka_admin.py [--bootstrap HOST:PORT] add-agency agency-NAME
    python infra/kafka_admin.py [--bootstrap HOST:PORT] remove-agency agency-NAME
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from shared.contract import topics
from shared.kafka_auth import aiokafka_kwargs, password_file
from shared.settings import CommonSettings

ADMIN = "admin"
AGENCY_PREFIX = "agency-"


# -- the rights ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rights:
    """Topics a principal reads, topics it writes, and the prefix of its consumer groups."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    group_prefix: str | None = None


DLQ = topics.dead_letter
EVERY_DLQ = tuple(DLQ(t) for t in topics.ALL)


def _service(read: Sequence[str], write: Sequence[str], group_prefix: str) -> Rights:
    """A service also writes the dead-letter twin of every topic it reads (its consumers' dead letters)
    and of every topic it writes (its outbox relay reports an envelope it had to isolate there)."""
    twins = [DLQ(t) for t in (*read, *write) if not t.endswith(".dlq")]
    # …and reads the twins of what it reads: an operator's replay re-handles its own dead letters
    replayable = [DLQ(t) for t in read if not t.endswith(".dlq")]
    return Rights(
        tuple(dict.fromkeys([*read, *replayable])), tuple(dict.fromkeys([*write, *twins])), group_prefix
    )


SERVICES: dict[str, Rights] = {
    "org": Rights(write=(topics.ORG_EVENTS, DLQ(topics.ORG_EVENTS)), group_prefix="org"),
    "tasks": _service(
        read=(topics.ORG_EVENTS, topics.DECISION_REQUESTS, topics.WORKFLOW_REQUESTS),
        write=(topics.DECISION_EVENTS, topics.WORKFLOW_EVENTS),
        group_prefix="tasks",
    ),
    "notify": _service(
        read=(topics.ORG_EVENTS, topics.DECISION_EVENTS),
        # opinions given through action links are requests notify publishes on the links' behalf
        write=(topics.DECISION_REQUESTS, topics.NOTIFY_EVENTS),
        group_prefix="notify",
    ),
    "reports": _service(
        read=(
            topics.ORG_EVENTS,
            topics.DECISION_EVENTS,
            topics.WORKFLOW_EVENTS,
            topics.NOTIFY_EVENTS,
            topics.REPORT_EVENTS,
            *EVERY_DLQ,
        ),
        write=(topics.REPORT_EVENTS,),
        group_prefix="reports",
    ),
}
"""Each service reads and writes only its own topics and groups (groups are PREFIXED, so the
tests' suffixed groups such as ``tasks-it-<run>`` are covered)."""

AGENCY = Rights(write=(topics.DECISION_REQUESTS, topics.WORKFLOW_REQUESTS))
"""An agency system only publishes requests: no read, no group."""


def rights_of(principal: str) -> Rights:
    if principal in SERVICES:
        return SERVICES[principal]
    if principal.startswith(AGENCY_PREFIX):
        return AGENCY
    raise KeyError(f"no rights defined for principal {principal!r}")


# Kafka's enum codes (org.apache.kafka.common.resource / acl)
ANY, TOPIC, GROUP = 1, 2, 3
LITERAL, PREFIXED = 3, 4
READ, WRITE, DESCRIBE = 3, 4, 8
ALLOW = 3
NAMES = {
    "resource": {2: "TOPIC", 3: "GROUP", 4: "CLUSTER", 5: "TRANSACTIONAL_ID"},
    "pattern": {3: "LITERAL", 4: "PREFIXED"},
    "operation": {2: "ALL", 3: "READ", 4: "WRITE", 5: "CREATE", 6: "DELETE", 7: "ALTER", 8: "DESCRIBE"},
    "permission": {2: "DENY", 3: "ALLOW"},
}


@dataclass(frozen=True, order=True)
class Acl:
    principal: str  # "User:tasks"
    resource_type: int
    resource_name: str
    pattern_type: int
    operation: int
    permission: int = ALLOW
    host: str = "*"

    def __str__(self) -> str:
        return (
            f"{self.principal:18} {NAMES['permission'].get(self.permission, self.permission)} "
            f"{NAMES['operation'].get(self.operation, self.operation):8} "
            f"{NAMES['resource'].get(self.resource_type, self.resource_type)}:"
            f"{NAMES['pattern'].get(self.pattern_type, self.pattern_type)}:{self.resource_name}"
        )


def acls_for(principal: str, rights: Rights) -> list[Acl]:
    """READ or WRITE (each with DESCRIBE, for metadata and offsets) per topic; READ on the group prefix.

    No cluster ACL: an idempotent producer (acks=all, enable_idempotence=True) needs
    IDEMPOTENT_WRITE on the cluster *or* WRITE on any topic (KIP-679), which every producer here has.
    """
    user = f"User:{principal}"
    out = [Acl(user, TOPIC, t, LITERAL, op) for t in rights.read for op in (READ, DESCRIBE)]
    out += [Acl(user, TOPIC, t, LITERAL, op) for t in rights.write for op in (WRITE, DESCRIBE)]
    if rights.group_prefix:
        out.append(Acl(user, GROUP, rights.group_prefix, PREFIXED, READ))
    return sorted(set(out))


def principals_on_disk(settings: CommonSettings) -> list[str]:
    """Every principal with a password file (the fixed ones and each agency added with add-agency)."""
    return sorted(
        p.name.removesuffix(".password") for p in (settings.secrets_dir / "kafka").glob("*.password")
    )


def wanted_acls(principals: Iterable[str]) -> list[Acl]:
    out: set[Acl] = set()
    for p in principals:
        if p != ADMIN:
            out.update(acls_for(p, rights_of(p)))
    return sorted(out)


# -- the wire: requests aiokafka defines but does not expose, and two it does not define ---------
class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 30

    def __init__(self, acls: Sequence[Acl]) -> None:
        self.acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(
            [
                (
                    a.resource_type,
                    a.resource_name,
                    a.pattern_type,
                    a.principal,
                    a.host,
                    a.operation,
                    a.permission,
                )
                for a in self.acls
            ]
        )


class _DescribeAcls(Request[DescribeAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 29

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        return request_struct_class(ANY, None, ANY, None, None, ANY, ANY)  # everything


class _DeleteAcls(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 31

    def __init__(self, acls: Sequence[Acl]) -> None:
        self.acls = acls

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(
            [
                (
                    a.resource_type,
                    a.resource_name,
                    a.pattern_type,
                    a.principal,
                    a.host,
                    a.operation,
                    a.permission,
                )
                for a in self.acls
            ]
        )


class AlterUserScramCredentialsResponse_v0(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):  # type: ignore[misc]  # aiokafka is untyped
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


SCRAM_SHA_512 = 2
RESOURCE_NOT_FOUND = 91  # deleting a credential that does not exist
SCRAM_ITERATIONS = 8192


class _AlterScram(Request[AlterUserScramCredentialsRequest_v0]):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 51

    def __init__(self, users: dict[str, str], deletions: Sequence[str] = ()) -> None:
        self.users = users
        self.deletions = deletions

    def build(
        self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]
    ) -> AlterUserScramCredentialsRequest_v0:
        upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]] = []
        for name, password in self.users.items():
            salt = os.urandom(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
            upsertions.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {}))
        return request_struct_class([(n, SCRAM_SHA_512, {}) for n in self.deletions], upsertions, {})


# -- the admin session ---------------------------------------------------------------------------
class KafkaAdmin:
    def __init__(self, bootstrap: str, settings: CommonSettings) -> None:
        self.settings = settings
        self.client = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=10000, **aiokafka_kwargs(settings, ADMIN)
        )

    async def connect(self, wait_s: float) -> None:
        """Bootstrap (a metadata request as admin), retrying while the broker comes up."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                await self.client.bootstrap()
                await self.client.fetch_all_metadata()
                return
            except Exception as exc:
                if time.monotonic() >= deadline:
                    raise SystemExit(
                        f"[kafka] broker did not answer a metadata request as admin: {exc!r}"
                    ) from exc
                await asyncio.sleep(0.3)

    async def send(self, request: Request[Any]) -> Any:
        return await self.client.send(self.client.get_random_node(), request)

    async def close(self) -> None:
        await self.client.close()

    async def upsert_users(self, users: dict[str, str]) -> None:
        if not users:
            return
        resp = await self.send(_AlterScram(users))
        failed = [(u, code, msg) for u, code, msg, _ in resp.results if code]
        if failed:
            raise SystemExit(f"[kafka] SCRAM users not written: {failed}")

    async def delete_user(self, name: str) -> bool:
        """Remove ``name``'s SCRAM credential; False if it had none."""
        resp = await self.send(_AlterScram({}, [name]))
        codes = [code for _u, code, _msg, _ in resp.results]
        if any(code not in (0, RESOURCE_NOT_FOUND) for code in codes):
            raise SystemExit(f"[kafka] SCRAM user {name} not deleted: {resp.results}")
        return RESOURCE_NOT_FOUND not in codes

    async def acls(self) -> list[Acl]:
        resp = await self.send(_DescribeAcls())
        if resp.error_code:
            raise SystemExit(f"[kafka] DescribeAcls failed: {resp.error_code} {resp.error_message}")
        return sorted(
            Acl(principal, rtype, rname, ptype, op, perm, host)
            for rtype, rname, ptype, entries in resp.resources
            for principal, host, op, perm in entries
        )

    async def create_acls(self, acls: Sequence[Acl]) -> None:
        if not acls:
            return
        resp = await self.send(_CreateAcls(acls))
        failed = [
            (str(a), code, msg) for a, (code, msg) in zip(acls, resp.creation_responses, strict=True) if code
        ]
        if failed:
            raise SystemExit(f"[kafka] ACLs not created: {failed}")

    async def delete_acls(self, acls: Sequence[Acl]) -> None:
        if not acls:
            return
        resp = await self.send(_DeleteAcls(acls))
        failed = [(code, msg) for code, msg, _ in resp.filter_responses if code]
        if failed:
            raise SystemExit(f"[kafka] ACLs not deleted: {failed}")

    async def converge(self, principals: Sequence[str], *, prune: bool = False) -> tuple[int, int, int]:
        """Make the broker's ACLs of ``principals`` equal the table; with ``prune``, also remove the
        ACLs of services and agencies that no longer have a password file. Others are left alone."""
        want = set(wanted_acls(principals))
        managed = {f"User:{p}" for p in principals if p != ADMIN}
        every = await self.acls()
        if prune:
            managed |= {
                a.principal
                for a in every
                if a.principal.removeprefix("User:") in SERVICES
                or a.principal.startswith(f"User:{AGENCY_PREFIX}")
            }
        have = {a for a in every if a.principal in managed}
        missing, extra = sorted(want - have), sorted(have - want)
        await self.create_acls(missing)
        await self.delete_acls(extra)
        return len(missing), len(extra), len(want & have)


def read_passwords(settings: CommonSettings, principals: Iterable[str]) -> dict[str, str]:
    return {p: password_file(settings, p).read_text(encoding="utf-8").strip() for p in principals}


def new_password_file(path: Path) -> bool:
    """Create ``path`` with a fresh random password (mode 600) unless it exists; True if created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(24) + "\n")
    return True


async def cmd_ready(bootstrap: str, settings: CommonSettings, wait_s: float) -> None:
    admin = KafkaAdmin(bootstrap, settings)
    try:
        await admin.connect(wait_s)
        principals = principals_on_disk(settings)
        # the storage was formatted with these users; writing them again keeps the broker in line
        # with the files (a principal or an agency added since, a password file replaced)
        await admin.upsert_users(read_passwords(settings, [p for p in principals if p != ADMIN]))
        created, removed, kept = await admin.converge(principals, prune=True)
        print(
            f"[kafka] {len(principals)} SCRAM users; ACLs: {created} created, {removed} removed, "
            f"{kept} already in place"
        )
    finally:
        await admin.close()


async def cmd_acls(bootstrap: str, settings: CommonSettings) -> None:
    admin = KafkaAdmin(bootstrap, settings)
    try:
        await admin.connect(10)
        for acl in await admin.acls():
            print(acl)
    finally:
        await admin.close()


async def cmd_add_agency(bootstrap: str, settings: CommonSettings, name: str) -> None:
    if not name.startswith(AGENCY_PREFIX) or name in SERVICES:
        raise SystemExit(f"[kafka] an agency principal is named {AGENCY_PREFIX}<name>, got {name!r}")
    path = password_file(settings, name)
    created = new_password_file(path)
    admin = KafkaAdmin(bootstrap, settings)
    try:
        await admin.connect(10)
        await admin.upsert_users(read_passwords(settings, [name]))
        made, _, kept = await admin.converge([name])
    finally:
        await admin.close()
    print(f"[kafka] SCRAM user {name} ({'new' if created else 'existing'} password in {path})")
    print(f"[kafka] ACLs of User:{name}: {made} created, {kept} already in place")
    for acl in acls_for(name, AGENCY):
        print(f"[kafka]   {acl}")


async def cmd_remove_agency(bootstrap: str, settings: CommonSettings, name: str) -> None:
    if not name.startswith(AGENCY_PREFIX) or name in SERVICES:
        raise SystemExit(f"[kafka] an agency principal is named {AGENCY_PREFIX}<name>, got {name!r}")
    admin = KafkaAdmin(bootstrap, settings)
    try:
        await admin.connect(10)
        had_user = await admin.delete_user(name)
        mine = [a for a in await admin.acls() if a.principal == f"User:{name}"]
        await admin.delete_acls(mine)
    finally:
        await admin.close()
    path = password_file(settings, name)
    path.unlink(missing_ok=True)
    print(
        f"[kafka] removed {name}: SCRAM user {'deleted' if had_user else 'was absent'}, "
        f"{len(mine)} ACLs deleted, {path} removed"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    ready = sub.add_parser("ready", help="wait for the broker, then apply the SCRAM users and the ACLs")
    ready.add_argument("--timeout", type=float, default=60.0)
    sub.add_parser("acls", help="list the broker's ACLs")
    agency = sub.add_parser("add-agency", help="add an agency principal (SCRAM user + producer ACLs)")
    agency.add_argument("name")
    gone = sub.add_parser(
        "remove-agency", help="remove an agency principal (SCRAM user, ACLs, password file)"
    )
    gone.add_argument("name")
    args = ap.parse_args(argv)
    settings = CommonSettings()
    if args.cmd == "ready":
        asyncio.run(cmd_ready(args.bootstrap, settings, args.timeout))
    elif args.cmd == "acls":
        asyncio.run(cmd_acls(args.bootstrap, settings))
    elif args.cmd == "add-agency":
        asyncio.run(cmd_add_agency(args.bootstrap, settings, args.name))
    else:
        asyncio.run(cmd_remove_agency(args.bootstrap, settings, args.name))


if __name__ == "__main__":
    main()
