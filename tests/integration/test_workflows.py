"""Complaints, complex situations and coordination plans end to end, against real Kafka and the
real document store: requests published with aiokafka, handled by ``register(...)`` inside a
minimal in-process ServiceRuntime, facts read back from the store and the topic.

(The tasks process wires ``register`` itself; this test builds the runtime in-process so it does
not depend on that wiring.)
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from scripts.secrets import SECRETS_DIR, ensure
from services.tasks.clock import Clock
from services.tasks.domain.calendar import VN_TZ
from services.tasks.domain.complaint import Complaint
from services.tasks.domain.plan import Plan, TaskStatus
from services.tasks.domain.situation import Situation
from services.tasks.workflows.service import WorkflowService, register
from shared.contract import topics
from shared.contract.envelope import Envelope, Event
from shared.contract.events.workflows import (
    ComplaintAnswerSubmitted,
    ComplaintCloseRequested,
    ComplaintKind,
    ComplaintPublicationSubmitted,
    ComplaintReceiptSubmitted,
    ComplaintResolutionSubmitted,
    EscalationReason,
    PlanAdoptionSubmitted,
    PlanItem,
    PlanReportSubmitted,
    ReportRoute,
    SituationEscalationSubmitted,
    SituationKind,
    SituationReportSubmitted,
    SituationWorkingGroupSubmitted,
)
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.projection import seed_events
from shared.orgmodel.replica import OrgReplica
from shared.orgmodel.seed_format import parse_seed
from shared.orgmodel.systems_file import system_events
from shared.runtime import ServiceRuntime
from shared.security.principal import RecordAuthenticator
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID, create_topics
from tests.integration.helpers import AGENCY, kafka_auth, read_all, wait_for
from tests.integration.signing import acting_unit, send_as, system_for

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[2] / "services" / "org" / "seeds" / "kien_giang.yaml"
ensure()
SYSTEMS = SECRETS_DIR / "systems.yaml"


@pytest.fixture(scope="module")
async def wf(settings: CommonSettings) -> AsyncIterator[tuple[WorkflowService, Clock, ServiceRuntime]]:
    await create_topics(settings.kafka_bootstrap, [topics.WORKFLOW_REQUESTS, topics.WORKFLOW_EVENTS])
    s = settings.model_copy(
        update={"db_prefix": f"it_wf_{RUN_ID}_{uuid.uuid4().hex[:4]}", "kafka_username": "tasks"}
    )  # the workflows part of tasks, on Kafka as the tasks principal (its group: tasks-wf-it-…)
    runtime = ServiceRuntime("tasks-wf-test", s)
    replica = OrgReplica()
    for event in seed_events(parse_seed(SEED.read_text(encoding="utf-8"), SEED.name)):
        replica.projection.apply(event)
    for event in system_events(SYSTEMS.read_text(encoding="utf-8"), replica.registry):
        with contextlib.suppress(OrgDomainError):  # systems of units outside this seed are not ours
            replica.projection.apply(event)  # the test systems and their public keys
    clock = Clock(adjustable=True)
    service = register(
        runtime,
        clock,
        replica,
        authenticate=RecordAuthenticator(lambda: replica.registry.systems),
        group=f"tasks-wf-it-{RUN_ID}-{uuid.uuid4().hex[:4]}",
    )
    await runtime.start()
    try:
        yield service, clock, runtime
    finally:
        await runtime.stop()


@pytest.fixture(scope="module")
async def producer(settings: CommonSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **kafka_auth(AGENCY)
    )
    await p.start()
    yield p
    await p.stop()


def uid(prefix: str) -> str:
    return f"{prefix}-{RUN_ID}-{uuid.uuid4().hex[:6]}"


async def send(producer: AIOKafkaProducer, event: Event) -> Envelope:
    """Signed by the test system of the unit the request names (see tests/integration/signing.py)."""
    return await send_as(producer, event, system_for(acting_unit(event, "kg.rg.ubnd")), source="it-agency")


def now() -> datetime:
    return datetime.now(UTC)


async def rejection(runtime: ServiceRuntime, request_id: str) -> dict[str, Any] | None:
    doc = await runtime.db["wf_rejections"].find_one({"_id": request_id})
    return None if doc is None else dict(doc["state"])


async def test_complaint_flow(
    wf: tuple[WorkflowService, Clock, ServiceRuntime], producer: AIOKafkaProducer, settings: CommonSettings
) -> None:
    service, _, runtime = wf
    cid = uid("complaint")
    await send(
        producer,
        ComplaintReceiptSubmitted(
            request_id=uid("rq"),
            complaint_id=cid,
            submitted_at=now(),
            kind=ComplaintKind.COMPLAINT,
            receiving_unit_id="kg.rg.ubnd",
            summary="Khiếu nại bồi thường dự án lấn biển",
            mass=True,
            petitioner_count=25,
        ),
    )

    async def received() -> Complaint | None:
        c = await service.get("complaint", cid)
        return c if isinstance(c, Complaint) and c.shared_with else None

    c = await wait_for(received, what="complaint received and shared")
    shared = {p.unit_id for p in c.shared_with}
    assert {"kg.rg.bdv", "kg.rg.ubkt", "kg.rg.mttq", "kg.rg.cong_doan", "kg.rg.hoi_lhpn"} <= shared
    assert c.mass

    await send(
        producer,
        ComplaintResolutionSubmitted(
            request_id=uid("rq"),
            complaint_id=cid,
            submitted_at=now(),
            decided_by_unit_id="kg.rg.ubnd",
            decision_ref="QĐ 123/QĐ-UBND",
            summary="Giữ nguyên mức bồi thường",
            lawful=True,
            complex=True,
        ),
    )
    early_close = uid("rq")
    await send(
        producer,
        ComplaintCloseRequested(
            request_id=early_close, complaint_id=cid, submitted_at=now(), requested_by="kg.rg.ubnd"
        ),
    )
    rej = await wait_for(lambda: rejection(runtime, early_close), what="close refused")
    assert rej["code"] == "close_requirements_unmet" and "công khai" in rej["message_vi"]

    await send(
        producer,
        ComplaintAnswerSubmitted(
            request_id=uid("rq"),
            complaint_id=cid,
            submitted_at=now(),
            by_unit_id="kg.rg.ubnd",
            answer_ref="CV 45",
        ),
    )
    await send(
        producer,
        ComplaintPublicationSubmitted(
            request_id=uid("rq"),
            complaint_id=cid,
            submitted_at=now(),
            channel="Báo Kiên Giang",
            media_unit_id="kg.bao",
            publication_ref="số 6123",
        ),
    )
    await send(
        producer,
        ComplaintCloseRequested(
            request_id=uid("rq"), complaint_id=cid, submitted_at=now(), requested_by="kg.rg.ubnd"
        ),
    )

    async def closed() -> Complaint | None:
        c = await service.get("complaint", cid)
        return c if isinstance(c, Complaint) and c.status is not None and c.status.value == "closed" else None

    c = await wait_for(closed, what="complaint closed")
    assert c.mobilisation and c.mobilisation[0].assignee.unit_id == "kg.rg.bdv"

    records = await read_all(settings.kafka_bootstrap, topics.WORKFLOW_EVENTS, until=10**9, within=8)
    mine = [Envelope.from_bytes(v) for k, v, _ in records if k == cid.encode()]
    types = [e.type for e in mine]
    for t in (
        "complaint.received",
        "complaint.case_info_shared",
        "complaint.mobilisation_assigned",
        "complaint.citizen_answered",
        "complaint.result_published",
        "complaint.closed",
        "workflow.request_rejected",
    ):
        assert t in types, (t, types)


async def test_unknown_unit_is_refused_in_vietnamese(
    wf: tuple[WorkflowService, Clock, ServiceRuntime], producer: AIOKafkaProducer
) -> None:
    _, _, runtime = wf
    rid = uid("rq")
    await send_as(
        producer,
        ComplaintReceiptSubmitted(
            request_id=rid,
            complaint_id=uid("complaint"),
            submitted_at=now(),
            kind=ComplaintKind.VOTER_PETITION,
            receiving_unit_id="kg.khong_ton_tai",
            summary="Kiến nghị cử tri",
        ),
        system_for("kg.rg.ubnd"),
        source="it-agency",
    )
    rej = await wait_for(lambda: rejection(runtime, rid), what="unknown unit rejected")
    assert rej["code"] == "unknown_unit" and "Không tìm thấy đơn vị" in rej["message_vi"]


async def test_situation_escalates_to_the_named_higher_level(
    wf: tuple[WorkflowService, Clock, ServiceRuntime], producer: AIOKafkaProducer
) -> None:
    service, _, _ = wf
    sid = uid("situation")
    await send(
        producer,
        SituationReportSubmitted(
            request_id=uid("rq"),
            situation_id=sid,
            submitted_at=now(),
            kind=SituationKind.DISASTER,
            reporting_unit_id="kg.rg.phi_thong.ubnd",
            summary="Triều cường gây ngập diện rộng",
        ),
    )
    await send(
        producer,
        SituationEscalationSubmitted(
            request_id=uid("rq"),
            situation_id=sid,
            submitted_at=now(),
            reason=EscalationReason.BEYOND_AUTHORITY,
            reason_vi="Vượt khả năng ứng phó của xã",
            requested_by="kg.rg.phi_thong.ubnd",
        ),
    )
    await send(
        producer,
        SituationWorkingGroupSubmitted(
            request_id=uid("rq"), situation_id=sid, submitted_at=now(), formed_by_unit_id="kg.rg.cap_uy"
        ),
    )

    async def grouped() -> Situation | None:
        s = await service.get("situation", sid)
        return s if isinstance(s, Situation) and s.working_group is not None else None

    s = await wait_for(grouped, what="working group formed")
    assert s.party_committee is not None and s.party_committee.unit_id == "kg.rg.phi_thong.cap_uy"
    assert {p.unit_id for p in s.informed} >= {"kg.rg.phi_thong.khoi_dv", "kg.rg.phi_thong.mttq"}
    assert s.escalation is not None
    assert s.escalation.to_party_committee.unit_id == "kg.rg.cap_uy"
    assert s.escalation.to_peoples_committee.unit_id == "kg.rg.ubnd"
    assert s.working_group is not None
    assert {"kg.rg.ubnd", "kg.rg.bdv"} <= {m.unit_id for m in s.working_group.members}


async def test_plan_routing_and_overdue_timers(
    wf: tuple[WorkflowService, Clock, ServiceRuntime], producer: AIOKafkaProducer
) -> None:
    service, clock, runtime = wf
    pid = uid("plan")
    start = clock.now()
    due = (start + timedelta(days=10)).astimezone(VN_TZ)
    await send(
        producer,
        PlanAdoptionSubmitted(
            request_id=uid("rq"),
            plan_id=pid,
            submitted_at=now(),
            number="415-KH/BDVTU-BCSDUBND",
            title="Kế hoạch phối hợp thực hiện công tác dân vận chính quyền",
            issuer_unit_ids=("kg.bdv", "kg.bcsd_ubnd"),
            items=(
                PlanItem(
                    item_id="II.1.4",
                    title_vi="Giải quyết khiếu nại, tố cáo",
                    assignee_unit_ids=("kg.bcsd_ubnd",),
                    due=due,
                ),
            ),
            routes=(
                ReportRoute(
                    route_id="so-noi-vu",
                    reporter_unit_ids=("kg.so_tttt", "kg.rg.ubnd"),
                    to_unit_id="kg.so_noi_vu",
                ),
                ReportRoute(
                    route_id="phong-dv-cqnn",
                    reporter_unit_ids=("kg.rg.cap_uy",),
                    to_unit_id="kg.bdv.phong_dv_cqnn",
                ),
            ),
            report_due=due + timedelta(days=5),
        ),
    )
    misrouted = uid("rq")
    await send(
        producer,
        PlanReportSubmitted(
            request_id=misrouted,
            plan_id=pid,
            submitted_at=now(),
            reporter_unit_id="kg.rg.cap_uy",
            to_unit_id="kg.so_noi_vu",
            report_ref="BC-1",
        ),
    )
    rej = await wait_for(lambda: rejection(runtime, misrouted), what="misrouted report refused")
    assert rej["code"] == "misrouted_report"

    clock.advance(timedelta(days=30))
    fired = await service.tick_all()
    assert fired >= 4  # 1 task overdue + 3 report overdue
    assert await service.tick_all() == 0  # fire once
    p = await service.get("plan", pid)
    assert isinstance(p, Plan)
    assert p.tasks[("II.1.4", "kg.bcsd_ubnd")].status == TaskStatus.OVERDUE
    history = await service.history("plan", pid)
    assert {f.event_type for f in history} >= {"plan.adopted", "plan.task_overdue", "plan.report_overdue"}
