"""Trusted requests, on the real (SASL) broker and store with the org, tasks and notify processes:
no forged or misattributed message moves a decision, and every refusal says why.

Each attack of the issue is one request published the way a rogue agency system would; the test
reads the refusal (``GET /api/decisions/{id}/rejections``: code, Vietnamese reason, sender) and checks
that the decision's history did not change. Then the legitimate path: an opinion through notify's
link, amended by the consultee's own system — both kept, the latest counts, the link's receipt page
says so.
"""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.notify.domain.links import Action, issue_link
from services.notify.domain.links import SigningKey as LinkKey
from services.notify.settings import NotifySettings
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import (
    ActingAs,
    Article,
    ArticleComment,
    DecisionFlag,
    DecisionRequest,
    DocType,
    DraftSubmitted,
    OpinionSubmitted,
    OverrideRequested,
    Stance,
    SynthesisSubmitted,
)
from shared.reliability.catchup import topic_size
from shared.security.signing import SIGNATURE_HEADER, new_signing_key, sign
from shared.settings import CommonSettings
from tests.integration.conftest import RUN_ID
from tests.integration.helpers import ADMIN, AGENCY, kafka_auth, wait_for
from tests.integration.services import REPO, Proc, free_port, run_services
from tests.integration.signing import admin_headers, send_as, system_for

pytestmark = pytest.mark.integration
LINK = re.compile(r"https?://[^\s\"'<>]+/a/[A-Za-z0-9._~\-]+")


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trusted-mail")


@pytest.fixture(scope="module")
def stack(settings: CommonSettings, mail_dir: Path) -> Iterator[dict[str, Proc]]:
    smtp_port, notify_port = free_port(), free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "services.notify.mailsink", "--port", str(smtp_port), "--dir", str(mail_dir)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "DB_PREFIX": f"it_trust_{RUN_ID}",
        "GROUP_SUFFIX": f"-trust-{RUN_ID}",
        "NOTIFY_CONSUMER_GROUP": f"notify-trust-{RUN_ID}",
        "NOTIFY_DECISIONS_FROM": "latest",
        "SMTP_PORT": str(smtp_port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{notify_port}",
        "DIGEST_WINDOW_SECONDS": "1",
    }
    try:
        with run_services(["org", "tasks", "notify"], env, ports={"notify": notify_port}) as procs:
            yield procs
    finally:
        sink.terminate()
        sink.wait(10)


@pytest.fixture
async def producer(settings: CommonSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **kafka_auth(AGENCY)
    )
    await p.start()
    yield p
    await p.stop()


async def get(url: str) -> Any:
    async with httpx.AsyncClient(timeout=10, headers=admin_headers()) as c:
        r = await c.get(url)
        return r.json() if r.status_code == 200 else None


async def caught_up(stack: dict[str, Proc]) -> None:
    """Wait until tasks and notify have read every org event (systems and keys included)."""
    org = stack["org"]

    async def published() -> bool:
        h = await get(f"{org.url}/health")
        return bool(h and h["registry_version"] >= 1 and h["outbox_pending"] == 0)

    await wait_for(published, within=120, what="org published")
    size = await topic_size(CommonSettings(), "org.events", principal=ADMIN)

    async def read() -> bool:
        t = await get(f"{stack['tasks'].url}/health")
        n = await get(f"{stack['notify'].url}/health")
        return bool(t and n and t["org_position"] >= size and n["org_position"] >= size)

    await wait_for(read, within=120, what=f"tasks and notify read {size} org events")


def draft(did: str, issuer: str = "kg.ubnd") -> DraftSubmitted:
    return DraftSubmitted(
        request_id=f"draft-{did}",
        decision_id=did,
        submitted_at=datetime.now(UTC),
        issuer_unit_id=issuer,
        submitted_by="p.van-thu",
        doc_type=DocType.DECISION,
        title="Quyết định hỗ trợ hộ nghèo",
        flags=(DecisionFlag.AFFECTS_PEOPLE_RIGHTS,),
        articles=(Article(article_id="d1", text="Điều 1. Mức hỗ trợ."),),
    )


async def facts(tasks: Proc, did: str) -> list[dict[str, Any]]:
    return list(await get(f"{tasks.url}/api/decisions/{did}/history") or [])


async def refusal(tasks: Proc, did: str, request_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        for r in await get(f"{tasks.url}/api/decisions/{did}/rejections") or []:
            if r["request_id"] == request_id:
                return dict(r)
        return None

    result: dict[str, Any] = await wait_for(found, within=60, what=f"refusal of {request_id}")
    assert result["message_vi"], "every refusal explains itself in Vietnamese"
    return result


async def refused_without_change(
    tasks: Proc, producer: AIOKafkaProducer, did: str, request: DecisionRequest, system: str | None, **kw: Any
) -> dict[str, Any]:
    before = await facts(tasks, did)
    await send_as(producer, request, system, **kw)
    r = await refusal(tasks, did, request.request_id)
    assert await facts(tasks, did) == before, "a refused request must not change the decision"
    return r


async def drafted(stack: dict[str, Proc], producer: AIOKafkaProducer, issuer: str = "kg.ubnd") -> str:
    did = f"trust-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    await send_as(producer, draft(did, issuer), system_for(issuer))

    async def consulting() -> bool:
        return any(f["type"] == "decision.consultation_requested" for f in await facts(stack["tasks"], did))

    await wait_for(consulting, within=60, what="consultation requested")
    return did


async def test_every_forged_or_misattributed_request_is_refused_with_its_reason(
    stack: dict[str, Proc], producer: AIOKafkaProducer
) -> None:
    await caught_up(stack)
    tasks = stack["tasks"]
    did = await drafted(stack, producer)
    first = (await facts(tasks, did))[0]
    assert first["actor"] == {
        "channel": "agency_system",
        "system_id": "test.unit.kg.ubnd",
        "key_id": first["actor"]["key_id"],
        "unit_id": "kg.ubnd",
        "person_id": "p.van-thu",
    }

    def override(n: str, person: str = "p.kg.001", role: str = "bi_thu") -> OverrideRequested:
        return OverrideRequested(
            request_id=f"ovr-{n}-{did}",
            decision_id=did,
            submitted_at=datetime.now(UTC),
            by_person_id=person,
            role=role,
            reason="Cần ban hành gấp",
        )

    # unsigned
    r = await refused_without_change(tasks, producer, did, override("unsigned"), None)
    assert r["code"] == "unsigned_request" and r["sender_system_id"] is None
    # signed by a key nobody registered
    stranger = new_signing_key("kg.cap_uy.fake")
    env = Envelope.wrap(override("unknown-key"), source="rogue")
    before = await facts(tasks, did)
    await producer.send_and_wait(
        env.topic,
        env.to_bytes(),
        key=env.subject.encode(),
        headers=[(SIGNATURE_HEADER, sign(stranger, env.to_bytes()).encode())],
    )
    assert (await refusal(tasks, did, env.payload["request_id"]))["code"] == "unknown_key"
    assert await facts(tasks, did) == before
    # signed by agency X (the Front's system) for unit Y (the Tỉnh ủy)
    r = await refused_without_change(tasks, producer, did, override("front"), system_for("kg.mttq"))
    assert r["code"] == "system_not_authorised_for_unit" and r["sender_system_id"] == "test.unit.kg.mttq"
    # the party committee's system, but a guessed person who holds no such role there
    r = await refused_without_change(
        tasks, producer, did, override("guessed", "p.kg.999"), system_for("kg.cap_uy")
    )
    assert r["code"] == "role_not_held"
    # a replayed request: validly signed an hour before the broker received it
    r = await refused_without_change(
        tasks,
        producer,
        did,
        override("replayed"),
        system_for("kg.cap_uy"),
        signed_at=datetime.now(UTC) - timedelta(hours=1),
    )
    assert r["code"] == "replayed_request"
    # an opinion naming a link id that notify never issued, from a system that is not notify
    fake = OpinionSubmitted(
        request_id=f"op-fake-{did}",
        decision_id=did,
        submitted_at=datetime.now(UTC),
        link_token_id="a-link-that-does-not-exist",
        consultee_unit_id="kg.mttq",
        person_id="p.kg.020",
        acting_as=ActingAs.HOLDER,
        stance=Stance.AGREE,
        draft_version=1,
    )
    r = await refused_without_change(tasks, producer, did, fake, "test.rogue")
    assert r["code"] == "link_not_issued_here"
    r = await refused_without_change(
        tasks,
        producer,
        did,
        fake.model_copy(update={"request_id": f"op-other-{did}", "link_token_id": None}),
        system_for("kg.ubnd"),
    )
    assert r["code"] == "system_not_authorised_for_unit"
    # a synthesis by anyone but the board the policy named, or by an invented person of the board
    synthesis = SynthesisSubmitted(
        request_id=f"syn-ubnd-{did}",
        decision_id=did,
        submitted_at=datetime.now(UTC),
        by_unit_id="kg.bdv",
        by_person_id="p.kg.003",
        summary="Tổng hợp giả",
    )
    r = await refused_without_change(tasks, producer, did, synthesis, system_for("kg.ubnd"))
    assert r["code"] == "system_not_authorised_for_unit"
    invented = synthesis.model_copy(update={"request_id": f"syn-inv-{did}", "by_person_id": "p.invented"})
    r = await refused_without_change(tasks, producer, did, invented, system_for("kg.bdv"))
    assert r["code"] == "person_not_in_board"

    # the legitimate override, replayed at once with the same envelope: recorded exactly once
    good = override("good", "p.kg.001")
    env = await send_as(producer, good, system_for("kg.cap_uy"))
    await send_as(producer, good, system_for("kg.cap_uy"), envelope=env)

    async def overridden() -> list[dict[str, Any]] | None:
        found = [f for f in await facts(tasks, did) if f["type"] == "decision.override_recorded"]
        return found or None

    [recorded] = await wait_for(overridden, within=60, what="the authorised override")
    assert recorded["actor"]["channel"] == "override" and recorded["actor"]["person_id"] == "p.kg.001"
    assert recorded["actor"]["system_id"] == "test.unit.kg.cap_uy"


async def test_a_commune_secretary_cannot_waive_consultation_on_a_district_decision(
    stack: dict[str, Proc], producer: AIOKafkaProducer
) -> None:
    await caught_up(stack)
    tasks = stack["tasks"]
    did = await drafted(stack, producer, issuer="hn.to.ubnd")  # a Thanh Oai district decision

    def override(n: str, person: str) -> OverrideRequested:
        return OverrideRequested(
            request_id=f"ovr-{n}-{did}",
            decision_id=did,
            submitted_at=datetime.now(UTC),
            by_person_id=person,
            role="pho_bi_thu_thuong_truc",
            reason="Cần ban hành gấp",
        )

    # the Kim Bài standing deputy secretary, from Kim Bài's own system: not the district's party committee
    r = await refused_without_change(
        tasks, producer, did, override("kimbai", "p.to.kb.002"), system_for("hn.to.kim_bai.cap_uy")
    )
    assert r["code"] == "system_not_authorised_for_unit"
    # …and even through the district committee's system: the role is held at another level
    r = await refused_without_change(
        tasks, producer, did, override("kimbai-via-district", "p.to.kb.002"), system_for("hn.to.cap_uy")
    )
    assert r["code"] == "role_not_held"
    assert "cấp ủy cùng cấp" in r["message_vi"]


def mailed_link(mail_dir: Path, did: str, to: str) -> str | None:
    for path in sorted(mail_dir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        if did in text and to in str(msg["To"]):
            found = LINK.search(text, text.index(did))  # in a digest, the link that follows our case
            if found:
                return found.group(0)
    return None


async def test_an_amended_opinion_is_kept_beside_the_first_and_the_link_page_says_so(
    stack: dict[str, Proc], producer: AIOKafkaProducer, mail_dir: Path
) -> None:
    await caught_up(stack)
    tasks, notify, org = stack["tasks"], stack["notify"], stack["org"]
    did = await drafted(stack, producer)
    front_person = (await get(f"{org.url}/api/units/kg.mttq/in-charge"))["person_id"]
    front_email = (await get(f"{org.url}/api/people/{front_person}"))["contacts"]["email"]

    async def link() -> str | None:
        return mailed_link(mail_dir, did, front_email)

    url = await wait_for(link, within=120, what="the Front's link")
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.post(
            url,
            data={"stance": "agree", "general_comment": "Nhất trí.", "draft_version": "1"},
            headers={"Origin": url.split("/a/", 1)[0]},  # posted from the link's own page
        )
        assert r.status_code == 200

        async def opinions(n: int) -> list[dict[str, Any]] | None:
            found = [
                f
                for f in await facts(tasks, did)
                if f["type"] == "decision.opinion_recorded" and f["consultee_unit_id"] == "kg.mttq"
            ]
            return found if len(found) >= n else None

        [first] = await wait_for(lambda: opinions(1), within=60, what="the opinion through the link")
        assert first["actor"]["channel"] == "link" and first["actor"]["system_id"] == "notify"
        assert first["link_token_id"]

        amendment = OpinionSubmitted(
            request_id=f"op-amend-{did}",
            decision_id=did,
            submitted_at=datetime.now(UTC),
            consultee_unit_id="kg.mttq",
            person_id=front_person,
            acting_as=ActingAs.HOLDER,
            stance=Stance.AGREE_WITH_AMENDMENTS,
            comments=(ArticleComment(article_id="d1", text="Đề nghị nâng mức hỗ trợ."),),
            draft_version=1,
        )
        await send_as(producer, amendment, system_for("kg.mttq"))
        both = await wait_for(lambda: opinions(2), within=60, what="the amendment")
        assert both[1]["supersedes_opinion_id"] == first["opinion_id"]
        assert both[1]["actor"]["channel"] == "agency_system"
        state = await get(f"{tasks.url}/api/decisions/{did}")
        front = next(x for x in state["consultees"] if x["unit_id"] == "kg.mttq")
        assert front["opinion_id"] == both[1]["opinion_id"]  # the latest counts

        async def page_says_amended() -> bool:
            page = await c.get(url)
            return page.status_code == 200 and "đã được sửa đổi" in page.text

        await wait_for(page_says_amended, within=60, what="the receipt page mentions the amendment")

        # a link minted with notify's real link secret (as if it leaked) but never issued: refused,
        # and nothing is recorded for it
        settings = NotifySettings()
        minted = issue_link(
            key=LinkKey(settings.link_key_id, settings.link_secret.encode()),
            recipient_unit_id="kg.mttq",
            recipient_role="phu_trach_dan_van",
            person_id=front_person,
            decision_id=did,
            action=Action.GIVE_OPINION,
            expires_at=datetime.now(UTC) + timedelta(days=20),
        )
        forged_url = minted.url(f"{notify.url}")
        forged = await c.get(forged_url)
        assert forged.status_code == 403 and "không do hệ thống cấp" in forged.text
        posted = await c.post(
            forged_url,
            data={"stance": "disagree", "general_comment": "giả", "draft_version": "1"},
            headers={"Origin": notify.url},  # from the page itself: refused because notify never issued it
        )
        assert posted.status_code == 403 and "không do hệ thống cấp" in posted.text

        # an operator revokes the real link: its page answers 410 from then on
        token_id = first["link_token_id"]
        anonymous = await c.post(f"{notify.url}/api/links/{token_id}/revoke")
        assert anonymous.status_code == 401
        revoked = await c.post(f"{notify.url}/api/links/{token_id}/revoke", headers=admin_headers())
        assert revoked.status_code == 200
        assert (await c.get(url)).status_code == 410
    assert len(await opinions(2) or []) == 2  # nothing more was recorded
