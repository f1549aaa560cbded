"""The issuance gate end to end: real org and tasks processes, real Kafka and store.

An agency system drafts a decision of the Kiên Giang provincial People's
Committee touching people's rights; the consultees come from the org policy.
Issuance is refused — naming exactly who is missing — until every consultee
has given an opinion, the consultation is closed and the board has synthesised;
duplicate and racing requests change nothing; an unknown issuer is refused
with a Vietnamese reason; the decision's hash chain verifies.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import (
    ActingAs,
    Article,
    ArticleComment,
    ConsultationCloseRequested,
    DecisionFlag,
    DocType,
    DraftSubmitted,
    IssuanceRequested,
    OpinionSubmitted,
    Stance,
    SynthesisSubmitted,
)
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import AGENCY, kafka_auth, org_replica_ready, wait_for
from tests.integration.services import Proc, run_services
from tests.integration.signing import acting_unit, admin_headers, send_as, system_for

pytestmark = pytest.mark.integration

KG_CONSULTEES = {
    "kg.bdv",
    "kg.mttq",
    "kg.cong_doan",
    "kg.doan_thanh_nien",
    "kg.hoi_ccb",
    "kg.hoi_lhpn",
    "kg.hoi_nong_dan",
}


@pytest.fixture(scope="module")
def services(settings: CommonSettings) -> Iterator[dict[str, Proc]]:
    env = {
        "DB_PREFIX": f"it_flow_{RUN_ID}",
        "GROUP_SUFFIX": f"-it-{RUN_ID}",
        "DEMO_MODE": "1",
        "TICK_SECONDS": "0.5",
        "TASKS_PARK_SECONDS": "3",
        "CHAIN_SWEEP_SECONDS": "2",
    }
    with run_services(["org", "tasks"], env) as procs:
        yield procs


@pytest.fixture
async def producer(settings: CommonSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **kafka_auth(AGENCY)
    )
    await p.start()
    yield p
    await p.stop()


async def send(producer: AIOKafkaProducer, event: Event) -> Envelope:
    """Signed by the test system of the unit the request is made for (the issuer by default)."""
    return await send_as(producer, event, system_for(acting_unit(event, "kg.ubnd")))


def now() -> datetime:
    return datetime.now(UTC)


async def get_json(url: str) -> Any:
    async with httpx.AsyncClient(timeout=5, headers=admin_headers()) as c:
        r = await c.get(url)
        return r.json() if r.status_code == 200 else None


async def history(tasks: Proc, decision_id: str) -> list[dict[str, Any]]:
    return await get_json(f"{tasks.url}/api/decisions/{decision_id}/history") or []


async def wait_fact(tasks: Proc, decision_id: str, fact_type: str, count: int = 1) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]] | None:
        facts = [f for f in await history(tasks, decision_id) if f["type"] == fact_type]
        return facts if len(facts) >= count else None

    result: list[dict[str, Any]] = await wait_for(
        found, within=180, what=f"{fact_type} x{count} on {decision_id}"
    )
    return result


async def wait_rejected(consumer: Any, decision_id: str, within: float) -> dict[str, Any]:
    """The payload of the next ``decision.request_rejected`` about ``decision_id`` the consumer reads."""

    async def rejected() -> dict[str, Any] | None:
        batch = await consumer.getmany(timeout_ms=500)
        for records in batch.values():
            for r in records:
                env = Envelope.from_bytes(r.value)
                if env.subject == decision_id and env.type == "decision.request_rejected":
                    return env.payload
        return None

    payload: dict[str, Any] = await wait_for(
        rejected, within=within, what=f"request_rejected of {decision_id}"
    )
    return payload


async def in_charge(org: Proc, unit_id: str) -> str:
    data = await get_json(f"{org.url}/api/units/{unit_id}/in-charge")
    assert data and data["person_id"], f"no person in charge of {unit_id}"
    return str(data["person_id"])


def opinion(
    decision_id: str, unit_id: str, person_id: str, request_id: str | None = None
) -> OpinionSubmitted:
    return OpinionSubmitted(
        request_id=request_id or f"op-{uuid.uuid4().hex}",
        decision_id=decision_id,
        submitted_at=now(),
        consultee_unit_id=unit_id,  # from the consultee's own signed system, so no link id
        person_id=person_id,
        acting_as=ActingAs.HOLDER,
        stance=Stance.AGREE_WITH_AMENDMENTS,
        comments=(ArticleComment(article_id="d1", text="Đề nghị làm rõ mức hỗ trợ tái định cư."),),
        draft_version=1,
    )


async def test_issuance_is_refused_until_the_rule_is_met(
    services: dict[str, Proc], producer: AIOKafkaProducer
) -> None:
    org, tasks = services["org"], services["tasks"]
    await org_replica_ready(org.url, f"{tasks.url}/health", CommonSettings().kafka_bootstrap)
    did = f"kg-qd-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    await send(
        producer,
        DraftSubmitted(
            request_id=f"draft-{did}",
            decision_id=did,
            submitted_at=now(),
            issuer_unit_id="kg.ubnd",
            submitted_by="agency:ubnd-kg",
            doc_type=DocType.DECISION,
            title="Quyết định về bồi thường, hỗ trợ tái định cư dự án mở rộng cảng Rạch Giá",
            flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
            articles=(
                Article(article_id="d1", text="Mức hỗ trợ."),
                Article(article_id="d2", text="Thời hạn bàn giao."),
            ),
        ),
    )
    requested = await wait_fact(tasks, did, "decision.consultation_requested")
    consultees = {c["unit_id"] for c in requested[0]["requirement"]["consultees"]}
    assert consultees == KG_CONSULTEES  # from the policy, not from the drafter
    assert "357-QĐ/TU" in " ".join(requested[0]["requirement"]["citations"])

    await send(
        producer,
        IssuanceRequested(
            request_id=f"iss1-{did}", decision_id=did, submitted_at=now(), requested_by="agency"
        ),
    )
    refused = await wait_fact(tasks, did, "decision.issuance_refused")
    assert set(refused[0]["missing_consultee_unit_ids"]) == KG_CONSULTEES

    people = {u: await in_charge(org, u) for u in sorted(KG_CONSULTEES)}
    first_six = sorted(KG_CONSULTEES - {"kg.hoi_nong_dan"})
    for unit in first_six:
        op = opinion(did, unit, people[unit])
        await send(producer, op)
        await send(producer, op)  # duplicate delivery
    await wait_fact(tasks, did, "decision.opinion_recorded", count=6)

    await send(
        producer,
        IssuanceRequested(
            request_id=f"iss2-{did}", decision_id=did, submitted_at=now(), requested_by="agency"
        ),
    )
    refused = await wait_fact(tasks, did, "decision.issuance_refused", count=2)
    assert refused[1]["missing_consultee_unit_ids"] == ["kg.hoi_nong_dan"]  # exactly the one missing
    assert any("Hội Nông dân" in m["message_vi"] for m in refused[1]["missing"])

    await send(producer, opinion(did, "kg.hoi_nong_dan", people["kg.hoi_nong_dan"]))
    await wait_fact(tasks, did, "decision.opinion_recorded", count=7)
    await send(
        producer,
        ConsultationCloseRequested(
            request_id=f"close-{did}", decision_id=did, submitted_at=now(), requested_by="agency"
        ),
    )
    await wait_fact(tasks, did, "decision.consultation_closed")
    bdv_head = people["kg.bdv"]
    await send(
        producer,
        SynthesisSubmitted(
            request_id=f"syn-{did}",
            decision_id=did,
            submitted_at=now(),
            by_unit_id="kg.bdv",
            by_person_id=bdv_head,
            summary="Các cơ quan, đoàn thể nhất trí; đề nghị làm rõ mức hỗ trợ tái định cư.",
        ),
    )
    await wait_fact(tasks, did, "decision.synthesised")
    # two racing issuance requests: one issues, the other is refused by the state machine, never a double issue
    await asyncio.gather(
        send(
            producer,
            IssuanceRequested(
                request_id=f"iss3-{did}", decision_id=did, submitted_at=now(), requested_by="a"
            ),
        ),
        send(
            producer,
            IssuanceRequested(
                request_id=f"iss4-{did}", decision_id=did, submitted_at=now(), requested_by="b"
            ),
        ),
    )
    issued = await wait_fact(tasks, did, "decision.issued")
    await asyncio.sleep(1.5)
    facts = await history(tasks, did)
    assert [f["type"] for f in facts].count("decision.issued") == 1
    assert [f["type"] for f in facts].count("decision.opinion_recorded") == 7  # duplicates ignored
    assert issued[0]["with_exception"] is False
    assert any(f["type"] == "decision.coordination_tasks_created" for f in facts)

    verdict = await get_json(f"{tasks.url}/api/decisions/{did}/verify")
    assert verdict["ok"] is True and verdict["checked"] == len(facts)
    for _ in range(40):  # the timer instance's periodic sweep verified every stored chain, none broken
        sweep = (await get_json(f"{tasks.url}/health"))["chain_sweep"]
        if sweep["last_at"] is not None:
            break
        await asyncio.sleep(0.5)
    assert sweep["last_at"] is not None and sweep["broken"] == 0


async def test_unknown_issuer_is_refused_in_vietnamese(
    services: dict[str, Proc], producer: AIOKafkaProducer, settings: CommonSettings
) -> None:
    tasks = services["tasks"]
    await org_replica_ready(services["org"].url, f"{tasks.url}/health", CommonSettings().kafka_bootstrap)
    did = f"bad-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    await send_as(  # the UBND's own system, drafting for a unit that does not exist
        producer,
        DraftSubmitted(
            request_id=f"draft-{did}",
            decision_id=did,
            submitted_at=now(),
            issuer_unit_id="kg.khong_ton_tai",
            submitted_by="agency",
            doc_type=DocType.DECISION,
            title="Thử",
            flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
            articles=(Article(article_id="d1", text="x"),),
        ),
        system_for("kg.ubnd"),
    )
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        "tasks.decisions",
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        **kafka_auth(),
    )
    await consumer.start()
    try:
        payload = await wait_rejected(consumer, did, within=180)
    finally:
        await consumer.stop()
    assert payload["request_id"] == f"draft-{did}"
    assert payload["code"] in {"unknown_unit", "unknown_reference"}
    assert "kg.khong_ton_tai" in payload["message_vi"]
    assert await get_json(f"{tasks.url}/api/decisions/{did}") is None  # nothing stored


async def test_revision_reopens_only_consultees_whose_commented_articles_changed(
    services: dict[str, Proc], producer: AIOKafkaProducer
) -> None:
    org, tasks = services["org"], services["tasks"]
    await org_replica_ready(services["org"].url, f"{tasks.url}/health", CommonSettings().kafka_bootstrap)
    did = f"kg-rev-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    articles = (
        Article(article_id="d1", text="Mức hỗ trợ."),
        Article(article_id="d2", text="Thời hạn bàn giao."),
    )
    await send(
        producer,
        DraftSubmitted(
            request_id=f"draft-{did}",
            decision_id=did,
            submitted_at=now(),
            issuer_unit_id="kg.ubnd",
            submitted_by="agency",
            doc_type=DocType.DECISION,
            title="Quyết định sửa đổi",
            flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
            articles=articles,
        ),
    )
    await wait_fact(tasks, did, "decision.consultation_requested")
    await send(producer, opinion(did, "kg.mttq", await in_charge(org, "kg.mttq")))  # comments on d1
    await wait_fact(tasks, did, "decision.opinion_recorded")
    from shared.contract.events.decisions import RevisionSubmitted

    await send(
        producer,
        RevisionSubmitted(
            request_id=f"rev-{did}",
            decision_id=did,
            submitted_at=now(),
            submitted_by="agency",
            articles=(Article(article_id="d1", text="Mức hỗ trợ: 80 triệu đồng/hộ."), articles[1]),
        ),
    )
    revised = (await wait_fact(tasks, did, "decision.revised"))[0]
    assert revised["version"] == 2
    assert revised["changed_article_ids"] == ["d1"]
    assert revised["reopened_consultee_unit_ids"] == ["kg.mttq"]
    assert revised["reconsultation_deadline"] is not None


def early_opinion(did: str, person_id: str) -> OpinionSubmitted:
    return OpinionSubmitted(
        request_id=f"op-early-{did}",
        decision_id=did,
        submitted_at=now(),
        consultee_unit_id="kg.mttq",
        person_id=person_id,
        acting_as=ActingAs.HOLDER,
        stance=Stance.AGREE,
        draft_version=1,
    )


async def test_an_opinion_that_arrives_before_its_draft_waits_and_is_recorded_after_it(
    services: dict[str, Proc], producer: AIOKafkaProducer
) -> None:
    tasks = services["tasks"]
    await org_replica_ready(services["org"].url, f"{tasks.url}/health", CommonSettings().kafka_bootstrap)
    did = f"kg-early-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    front = await in_charge(services["org"], "kg.mttq")
    await send(producer, early_opinion(did, front))  # signed by the Front's own system, before any draft
    await asyncio.sleep(1.5)
    assert await get_json(f"{tasks.url}/api/decisions/{did}") is None
    await send(
        producer,
        DraftSubmitted(
            request_id=f"draft-{did}",
            decision_id=did,
            submitted_at=now(),
            issuer_unit_id="kg.ubnd",
            submitted_by="agency",
            doc_type=DocType.DECISION,
            title="Quyết định đến sau ý kiến",
            flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
            articles=(Article(article_id="d1", text="Điều 1."),),
        ),
    )
    [opinion] = await wait_fact(tasks, did, "decision.opinion_recorded")
    assert opinion["consultee_unit_id"] == "kg.mttq" and opinion["command_id"] == f"op-early-{did}"
    rejected = [f for f in await history(tasks, did) if f["type"] == "decision.request_rejected"]
    assert rejected == []


async def test_a_request_whose_draft_never_comes_is_refused_after_waiting(
    services: dict[str, Proc], producer: AIOKafkaProducer, settings: CommonSettings
) -> None:
    from aiokafka import AIOKafkaConsumer

    tasks = services["tasks"]
    await org_replica_ready(services["org"].url, f"{tasks.url}/health", CommonSettings().kafka_bootstrap)
    did = f"kg-never-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    consumer = AIOKafkaConsumer(
        "tasks.decisions",
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="latest",
        **kafka_auth(),
    )
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=1000)  # positioned at the end before sending
        sent_at = now()
        await send(producer, early_opinion(did, await in_charge(services["org"], "kg.mttq")))

        payload = await wait_rejected(consumer, did, within=60)
    finally:
        await consumer.stop()
    assert payload["code"] == "unknown_decision" and did in payload["message_vi"]
    assert (now() - sent_at).total_seconds() >= 3  # it waited TASKS_PARK_SECONDS first
