"""Public comment (lấy ý kiến nhân dân) through the notify service, against the real broker and store.

The notify app runs in-process on uvicorn (its own database and consumer group, starting at the end
of the shared topics). Facts of one unique decision go onto ``tasks.decisions`` as the workflow
would publish them; a citizen's comment posted on ``/gop-y/{id}`` must reach
``tasks.decision-requests`` as ``decision.public_comment_submitted``; the Dân vận board's
moderation link (e-mailed when the window opens) must publish
``decision.public_comment_moderation_submitted`` exactly once after a double click; the window's
closing fact turns the page into a 410.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.contract.envelope import Envelope
from shared.contract.events.decisions import (
    Article,
    ConsultationRequested,
    ConsultationRequirement,
    ConsulteeSpec,
    DecisionDrafted,
    DecisionFlag,
    DocType,
    ModerationOutcome,
    PublicCommentClosed,
    PublicCommentModerated,
    PublicCommentOpened,
    PublicCommentRecorded,
)
from shared.contract.topics import DECISION_REQUESTS
from tests.integration.helpers import wait_for
from tests.integration.test_notify_service import (
    Harness,
    mails_with,
    publish,
    publish_org,
    running_notify,
    topic_envelopes,
)

pytestmark = pytest.mark.integration

MODERATION_LINK_RE = re.compile(r"https?://[^\s\"'<>]+/kiem-duyet/[A-Za-z0-9._-]+")


def _requests_of(decision_id: str, event_type: str) -> object:
    def pred(env: Envelope) -> bool:
        return env.type == event_type and env.subject == decision_id

    return pred


async def open_for_comment(h: Harness, decision_id: str) -> None:
    """Publish the facts of one decision whose public comment window is open for a week."""
    bootstrap = h.settings.kafka_bootstrap
    title = f"Quyết định bồi thường khi thu hồi đất ({decision_id})"
    now = datetime.now(UTC)
    closes_at = now + timedelta(days=7)
    await publish(
        bootstrap,
        [
            DecisionDrafted(
                decision_id=decision_id,
                seq=1,
                occurred_at=now,
                issuer_unit_id="kg.ubnd",
                doc_type=DocType.DECISION,
                title=title,
                flags=(DecisionFlag.AFFECTS_MANY_CITIZENS,),
                articles=(
                    Article(article_id="d1", text="Điều 1. Phạm vi điều chỉnh\nMức bồi thường về đất."),
                    Article(
                        article_id="d2", text="Điều 2. Đối tượng áp dụng\nHộ gia đình có đất bị thu hồi."
                    ),
                ),
            ),
            ConsultationRequested(
                decision_id=decision_id,
                seq=2,
                occurred_at=now,
                draft_version=1,
                requirement=ConsultationRequirement(
                    consultees=(
                        ConsulteeSpec(unit_id="kg.bdv", kind="dan_van_board"),
                        ConsulteeSpec(unit_id="kg.mttq", kind="fatherland_front"),
                    ),
                    deadline=now + timedelta(days=10),
                    public_comment_required=True,
                    public_comment_closes_at=closes_at,
                    synthesiser_unit_id="kg.bdv",
                    escalation_unit_id="kg.cap_uy",
                    policy_id="consultation-policy",
                    policy_version="1",
                ),
            ),
            PublicCommentOpened(
                decision_id=decision_id, seq=3, occurred_at=now, draft_version=1, closes_at=closes_at
            ),
        ],
    )


async def test_citizen_comment_and_moderation_reach_kafka(tmp_path: Path) -> None:
    async with (
        running_notify(tmp_path) as h,
        httpx.AsyncClient(timeout=20, headers={"Origin": h.base_url}) as http,  # posts from the pages
    ):
        await publish_org(h)
        bootstrap = h.settings.kafka_bootstrap
        decision_id = f"it-pc-{uuid.uuid4().hex[:12]}"
        await open_for_comment(h, decision_id)
        public_url = f"{h.base_url}/gop-y/{decision_id}"

        async def page_open() -> httpx.Response | None:
            r = await http.get(public_url)
            return r if r.status_code == 200 else None

        page = await wait_for(page_open, 60, "the public comment page to open")
        assert "Điều 2. Đối tượng áp dụng" in page.text and "Thời hạn góp ý: đến" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")

        # the Dân vận board's person in charge is e-mailed the moderation link
        async def moderation_mail() -> str | None:
            for m in mails_with(h.mail_dir, decision_id):
                if "Góp ý của nhân dân cần kiểm duyệt" in str(m["Subject"]):
                    body = m.get_body(preferencelist=("plain",))
                    assert body is not None
                    found = MODERATION_LINK_RE.findall(body.get_content())
                    assert public_url in body.get_content()
                    return str(found[0]) if found else None
            return None

        moderation_url = await wait_for(moderation_mail, 60, "the moderation e-mail")
        assert moderation_url.startswith(h.base_url + "/kiem-duyet/")

        # a robot is refused; an empty comment is re-shown; a real one is stored with its request
        robot = await http.post(public_url, data={"noi_dung": "mua ngay", "website": "http://spam"})
        assert robot.status_code == 400
        empty = await http.post(public_url, data={"noi_dung": " "})
        assert empty.status_code == 422 and "Vui lòng nhập nội dung góp ý." in empty.text
        text = "Đề nghị bổ sung hỗ trợ tái định cư cho hộ thuê nhà."
        posted = await http.post(
            public_url, data={"noi_dung": text, "dieu": "d2", "nguoi_gop_y": "Trần Văn B"}
        )
        assert posted.status_code == 200, posted.text
        ref = re.search(r"GY-[0-9A-F-]+", posted.text)
        assert ref is not None

        submitted = await wait_for(
            lambda: topic_envelopes(
                bootstrap, DECISION_REQUESTS, _requests_of(decision_id, "decision.public_comment_submitted")
            ),
            30,
            "decision.public_comment_submitted on Kafka",
        )
        assert len(submitted) == 1, [e.payload for e in submitted]
        payload = submitted[0].payload
        assert payload["text"] == text and payload["article_id"] == "d2" and payload["channel"] == "web"
        assert payload["author_ref"] == "Trần Văn B"
        request_id = payload["request_id"]
        assert ref.group(0).replace("-", "")[2:] == request_id.upper()
        stored = await h.runtime.public_comments.load(request_id)
        assert stored is not None and stored.state["text"] == text

        # the workflow records it; the moderation page lists it; a double click sends one request
        comment_id = f"{decision_id}:pc:1"
        await publish(
            bootstrap,
            [
                PublicCommentRecorded(
                    decision_id=decision_id,
                    seq=4,
                    occurred_at=datetime.now(UTC),
                    command_id=request_id,
                    comment_id=comment_id,
                    text=text,
                    article_id="d2",
                    author_ref="Trần Văn B",
                    draft_version=1,
                )
            ],
        )

        async def listed() -> httpx.Response | None:
            r = await http.get(moderation_url)
            return r if r.status_code == 200 and comment_id in r.text else None

        mod_page = await wait_for(listed, 30, "the comment on the moderation page")
        assert text in mod_page.text and "chờ kiểm duyệt: 1" in mod_page.text

        tampered = moderation_url[:-2] + ("AA" if not moderation_url.endswith("AA") else "BB")
        assert (await http.get(tampered)).status_code in (400, 403)

        form = {"comment_id": comment_id, "outcome": "approved"}
        # from another site (or naming no origin): refused, nothing sent
        forged = await http.post(moderation_url, data=form, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403 and "nguồn gửi biểu mẫu không khớp" in forged.text
        async with httpx.AsyncClient(timeout=20) as no_origin:
            assert (await no_origin.post(moderation_url, data=form)).status_code == 403
        assert await h.runtime.moderations.load(comment_id) is None
        first = await http.post(moderation_url, data=form)
        assert first.status_code == 200, first.text
        second = await http.post(moderation_url, data=form)
        assert second.status_code == 200 and "đã được gửi trước đó" in second.text

        moderations = await wait_for(
            lambda: topic_envelopes(
                bootstrap,
                DECISION_REQUESTS,
                _requests_of(decision_id, "decision.public_comment_moderation_submitted"),
            ),
            30,
            "decision.public_comment_moderation_submitted on Kafka",
        )
        assert len(moderations) == 1, [e.payload for e in moderations]
        mp = moderations[0].payload
        assert mp["comment_id"] == comment_id and mp["outcome"] == "approved"
        assert mp["request_id"] == f"{comment_id}:moderation:approved"
        assert mp["moderator_id"]

        # the workflow's moderation fact is shown; the closing fact closes the public page (410)
        await publish(
            bootstrap,
            [
                PublicCommentModerated(
                    decision_id=decision_id,
                    seq=5,
                    occurred_at=datetime.now(UTC),
                    command_id=mp["request_id"],
                    comment_id=comment_id,
                    outcome=ModerationOutcome.APPROVED,
                    moderator_id=mp["moderator_id"],
                ),
                PublicCommentClosed(
                    decision_id=decision_id,
                    seq=6,
                    occurred_at=datetime.now(UTC),
                    approved_count=1,
                    rejected_count=0,
                    pending_count=0,
                ),
            ],
        )

        async def closed() -> bool:
            return (await http.get(public_url)).status_code == 410

        await wait_for(closed, 30, "the public page to close")
        gone = await http.post(public_url, data={"noi_dung": "muộn"})
        assert gone.status_code == 410 and "Đã hết thời hạn lấy ý kiến nhân dân" in gone.text
        final = await http.get(moderation_url)
        assert final.status_code == 200 and "Đã kiểm duyệt: Chấp nhận" in final.text

        unknown = await http.get(f"{h.base_url}/gop-y/it-pc-unknown-{uuid.uuid4().hex[:8]}")
        assert unknown.status_code == 404 and "Không tìm thấy dự thảo" in unknown.text


async def test_comment_limit_holds_for_simultaneous_posts_and_ignores_forged_forwarding(
    tmp_path: Path,
) -> None:
    """20 simultaneous posts from one address: exactly PUBLIC_COMMENT_RATE_LIMIT (5) are stored,
    whatever X-Forwarded-For each one claims (no proxy is trusted); the counter is the document
    store's, so a 21st post with yet another forged header is still refused."""
    async with (
        running_notify(tmp_path) as h,
        httpx.AsyncClient(timeout=60, headers={"Origin": h.base_url}) as http,
    ):
        await publish_org(h)
        decision_id = f"it-pc-limit-{uuid.uuid4().hex[:10]}"
        await open_for_comment(h, decision_id)
        public_url = f"{h.base_url}/gop-y/{decision_id}"

        async def page_open() -> bool:
            return (await http.get(public_url)).status_code == 200

        await wait_for(page_open, 60, "the public comment page to open")
        assert h.settings.public_comment_rate_limit == 5

        async def post(i: int) -> int:
            r = await http.post(
                public_url,
                data={"noi_dung": f"Góp ý số {i} về mức bồi thường."},
                headers={"X-Forwarded-For": f"10.77.{i}.{i}"},
            )
            return r.status_code

        statuses = await asyncio.gather(*(post(i) for i in range(20)))
        assert sorted(statuses) == [200] * 5 + [429] * 15, statuses
        stored = await h.runtime.public_comments.collection.count_documents({"decision_id": decision_id})
        assert stored == 5
        again = await http.post(
            public_url, data={"noi_dung": "Thêm một góp ý."}, headers={"X-Forwarded-For": "198.51.100.99"}
        )
        assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
        counters = [d async for d in h.runtime.comment_limiter.collection.find({})]
        assert len(counters) == 1 and counters[0]["n"] == 5
        assert "127.0.0.1" not in str(counters)  # the address is kept only as an HMAC
