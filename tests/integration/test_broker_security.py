"""The local broker authenticates every client and denies by default — against the real broker.

infra/kafka.sh runs Kafka with SASL/SCRAM-SHA-512 on its client listener, the StandardAuthorizer,
``allow.everyone.if.no.acl.found=false`` and ``User:admin`` as the only super user; the rights of
each principal are the table in infra/kafka_admin.py. These tests connect as the principals
themselves and check the broker's answers: no anonymous access (not even on the controller
port), no wrong password, an agency system may publish requests and nothing else, a service may
not write another service's topic nor read what it does not consume.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    UnsupportedSaslMechanismError,
)
from aiokafka.protocol.admin import DescribeAclsRequest
from aiokafka.protocol.metadata import MetadataRequest

from shared.contract import topics
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import IssuanceRequested
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import AGENCY, kafka_auth

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONTROLLER_PORT = int(os.environ.get("KAFKA_CONTROLLER_PORT", "9093"))
LOG_APPEND_TIME = 1  # aiokafka RecordMetadata.timestamp_type
ANY = 1  # Kafka's ANY in ACL filters


def _kafka_admin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kafka_admin", REPO / "infra" / "kafka_admin.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("kafka_admin", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bootstrap(settings: CommonSettings) -> str:
    return settings.kafka_bootstrap


def host_port(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.rpartition(":")
    return host, int(port)


@contextlib.asynccontextmanager
async def producer(bootstrap: str, **auth: Any) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=10000, **auth
    )
    try:
        await p.start()
        yield p
    finally:
        with contextlib.suppress(Exception):
            await p.stop()


async def read_some(bootstrap: str, topic: str, group: str | None, **auth: Any) -> None:
    c = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", **auth
    )
    try:
        await c.start()
        await c.getmany(timeout_ms=3000)
    finally:
        with contextlib.suppress(Exception):
            await c.stop()


async def list_topics(bootstrap: str, **auth: Any) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **auth)
    try:
        await admin.start()
        return list(await admin.list_topics())
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def harmless_request() -> Envelope:
    """A well-formed request about a decision that does not exist: tasks refuses it, nothing else."""
    return Envelope.wrap(
        IssuanceRequested(
            request_id=f"it-security-{RUN_ID}-{uuid.uuid4().hex[:6]}",
            decision_id=f"it-security-{RUN_ID}",
            submitted_at=datetime.now(UTC),
            requested_by="agency-test",
        ),
        source=AGENCY,
    )


# -- authentication ------------------------------------------------------------------------------
async def test_anonymous_plaintext_client_cannot_list_topics_or_produce(bootstrap: str) -> None:
    anonymous = {"security_protocol": "PLAINTEXT"}
    with pytest.raises(KafkaConnectionError):
        await list_topics(bootstrap, **anonymous)
    with pytest.raises(KafkaConnectionError):
        async with producer(bootstrap, **anonymous) as p:
            await p.send_and_wait(topics.DECISION_REQUESTS, b"anonymous")
    # at the protocol level: the connection opens, the first real request is refused (the broker
    # expects a SASL handshake and closes the connection)
    conn = await create_conn(*host_port(bootstrap), security_protocol="PLAINTEXT")
    try:
        with pytest.raises(KafkaConnectionError):
            await conn.send(MetadataRequest([]))
    finally:
        conn.close()


async def test_controller_listener_is_not_an_anonymous_back_door(bootstrap: str) -> None:
    host, _ = host_port(bootstrap)
    conn = await create_conn(host, CONTROLLER_PORT, security_protocol="PLAINTEXT")
    try:
        with pytest.raises(KafkaConnectionError):  # an admin request the controller serves: no answer
            await conn.send(DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY))
    finally:
        conn.close()
    # SCRAM users cannot log in there either: the controller accepts only its own PLAIN admin login
    with pytest.raises(UnsupportedSaslMechanismError):
        await create_conn(host, CONTROLLER_PORT, **kafka_auth(AGENCY))


async def test_wrong_password_and_unknown_user_are_refused(bootstrap: str) -> None:
    wrong = {**kafka_auth(AGENCY), "sasl_plain_password": "not-the-password-" + uuid.uuid4().hex}
    with pytest.raises(SaslAuthenticationFailed):
        await create_conn(*host_port(bootstrap), **wrong)
    unknown = {**kafka_auth(AGENCY), "sasl_plain_username": f"nobody-{RUN_ID}"}
    with pytest.raises(SaslAuthenticationFailed):
        await create_conn(*host_port(bootstrap), **unknown)
    with pytest.raises(KafkaConnectionError):  # what a client sees: it cannot even bootstrap
        await list_topics(bootstrap, **wrong)
    # the right password on the same path connects
    conn = await create_conn(*host_port(bootstrap), **kafka_auth(AGENCY))
    conn.close()


# -- authorisation -------------------------------------------------------------------------------
async def test_agency_publishes_requests_and_nothing_else(bootstrap: str) -> None:
    agency = kafka_auth(AGENCY)
    # it sees only what it may write
    assert set(await list_topics(bootstrap, **agency)) == {topics.DECISION_REQUESTS, topics.WORKFLOW_REQUESTS}
    env = harmless_request()
    async with producer(bootstrap, **agency) as p:  # idempotent, acks=all: no cluster ACL needed
        sent = await p.send_and_wait(
            topics.DECISION_REQUESTS, env.to_bytes(), key=env.subject.encode(), timestamp_ms=1_000
        )
        # the broker stamps request topics (LogAppendTime): the producer's timestamp is ignored
        assert sent.timestamp_type == LOG_APPEND_TIME
        assert sent.timestamp > 1_000_000_000_000
        for topic in (topics.DECISION_EVENTS, topics.ORG_EVENTS):
            with pytest.raises(TopicAuthorizationFailedError):
                await p.send_and_wait(topic, env.to_bytes(), key=env.subject.encode())
    with pytest.raises(TopicAuthorizationFailedError):
        await read_some(bootstrap, topics.DECISION_EVENTS, None, **agency)
    with pytest.raises(TopicAuthorizationFailedError):  # not even its own requests
        await read_some(bootstrap, topics.DECISION_REQUESTS, None, **agency)


async def test_notify_cannot_write_org_events(bootstrap: str) -> None:
    async with producer(bootstrap, **kafka_auth("notify")) as p:
        with pytest.raises(TopicAuthorizationFailedError):
            await p.send_and_wait(topics.ORG_EVENTS, b"{}", key=b"x")


async def test_tasks_reads_only_its_topics_in_its_groups(bootstrap: str) -> None:
    tasks = kafka_auth("tasks")
    with pytest.raises(TopicAuthorizationFailedError):
        await read_some(bootstrap, topics.NOTIFY_EVENTS, f"tasks-security-{RUN_ID}", **tasks)
    with pytest.raises(GroupAuthorizationFailedError):  # another service's group
        await read_some(bootstrap, topics.ORG_EVENTS, f"notify-security-{RUN_ID}", **tasks)


async def test_broker_holds_exactly_the_acl_table(settings: CommonSettings) -> None:
    ka = _kafka_admin()
    admin = ka.KafkaAdmin(settings.kafka_bootstrap, settings)
    try:
        await admin.connect(10)
        have = set(await admin.acls())
    finally:
        await admin.close()
    want = set(ka.wanted_acls(ka.principals_on_disk(settings)))
    managed = {a for a in have if a.principal in {f"User:{p}" for p in ka.principals_on_disk(settings)}}
    assert managed == want
    assert not [a for a in have if a.resource_type not in (ka.TOPIC, ka.GROUP)], "no cluster-wide grants"
    assert not [a for a in have if a.principal in ("User:*", "User:ANONYMOUS")]
    agency = {a for a in have if a.principal == f"User:{AGENCY}"}
    assert {(a.resource_name, a.operation) for a in agency} == {
        (t, op)
        for t in (topics.DECISION_REQUESTS, topics.WORKFLOW_REQUESTS)
        for op in (ka.WRITE, ka.DESCRIBE)
    }


def kafka_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "infra" / "kafka.sh"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_kafka_user_adds_and_removes_an_agency_principal(bootstrap: str) -> None:
    name = f"agency-it-{RUN_ID}"
    added = await asyncio.to_thread(kafka_sh, "user", name)
    try:
        assert added.returncode == 0, added.stderr
        assert f"SCRAM user {name}" in added.stdout
        auth = kafka_auth(name)  # its password file was just created
        assert set(await list_topics(bootstrap, **auth)) == {
            topics.DECISION_REQUESTS,
            topics.WORKFLOW_REQUESTS,
        }
        with pytest.raises(TopicAuthorizationFailedError):
            await read_some(bootstrap, topics.DECISION_EVENTS, None, **auth)
    finally:
        removed = await asyncio.to_thread(kafka_sh, "user", "--remove", name)
    assert removed.returncode == 0, removed.stderr
    assert "SCRAM user deleted, 4 ACLs deleted" in removed.stdout
    with pytest.raises(SaslAuthenticationFailed):  # revoked at once
        await create_conn(*host_port(bootstrap), **auth)
    bad = await asyncio.to_thread(kafka_sh, "user", "tasks")
    assert bad.returncode != 0 and "agency-" in bad.stderr
