"""A consultee opens the e-mailed link on a phone-sized real browser and gives an opinion once.

Real headless Chromium (``/usr/bin/chromium``; install with ``tests/browser/ensure_chromium.sh``)
driven by Playwright, against the notify app on uvicorn, with the e-mail delivered over real
SMTP to the local sink. The back button and a re-submit must show the receipt, never record a
second opinion.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.integration.helpers import wait_for
from tests.integration.test_notify_service import (
    CONSULTEES,
    decision_events,
    link_of,
    mails_with,
    opinion_requests,
    publish,
    publish_org,
    running_notify,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / ".cache" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Fail (never skip): a browser test that silently does not run proves nothing."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: run tests/browser/ensure_chromium.sh")
    SHOTS.mkdir(parents=True, exist_ok=True)


async def test_phone_user_submits_once_and_resubmit_shows_receipt(tmp_path: Path) -> None:
    require_chromium()
    async with running_notify(tmp_path) as h:
        await publish_org(h)
        decision_id = f"it-browser-{uuid.uuid4().hex[:12]}"
        title = f"Quyết định hỗ trợ hộ nghèo bị ảnh hưởng thiên tai ({decision_id})"
        await publish(h.settings.kafka_bootstrap, decision_events(decision_id, title, with_vacant=False))

        async def mail() -> list[object] | None:
            found = mails_with(h.mail_dir, decision_id)
            return found if len(found) >= len(CONSULTEES) else None

        await wait_for(mail, 60, "consultation e-mails in the SMTP sink")
        link = link_of(sorted(mails_with(h.mail_dir, decision_id), key=lambda m: str(m["To"]))[0])

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                context = await browser.new_context(
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=2,
                    is_mobile=True,
                    has_touch=True,
                )
                page = await context.new_page()
                resp = await page.goto(link)
                assert resp is not None and resp.status == 200
                assert await page.locator("h1").first.inner_text() == f"Góp ý dự thảo: {title}"
                await page.screenshot(path=str(SHOTS / "opinion_form_390.png"), full_page=True)
                # a second tab with the same form, left open (double submit / forwarded mail)
                stale = await context.new_page()
                await stale.goto(link)

                await page.get_by_label("Đồng ý có sửa đổi, bổ sung").check()
                await page.locator("textarea[name='article_comment__d1']").fill(
                    "Đề nghị quy định rõ mức hỗ trợ cho từng nhóm hộ."
                )
                await page.get_by_role("button", name="Gửi ý kiến").click()
                await page.wait_for_load_state()
                heading = await page.locator("h1").first.inner_text()
                assert heading == "Đã gửi ý kiến thành công"
                assert "Đề nghị quy định rõ mức hỗ trợ" in await page.content()
                await page.screenshot(path=str(SHOTS / "opinion_submitted_390.png"), full_page=True)

                # back: the page is not cached (no-store), the browser re-opens the link → receipt
                await page.go_back()
                await page.wait_for_load_state()
                back_text = await page.content()
                assert "Ý kiến đã được gửi" in back_text and "Gửi ý kiến</button>" not in back_text

                # the stale tab submits again → the receipt of the first opinion, nothing recorded
                await stale.get_by_label("Không đồng ý").check()
                await stale.locator("textarea[name='general_comment']").fill("Gửi lần hai")
                async with stale.expect_response(lambda r: r.request.method == "POST") as posted:
                    await stale.get_by_role("button", name="Gửi ý kiến").click()
                assert (await posted.value).status == 409
                await stale.wait_for_load_state()
                text = await stale.content()
                assert "Ý kiến đã được gửi" in text and "Đề nghị quy định rõ mức hỗ trợ" in text
                assert "Gửi lần hai" not in text
                await stale.screenshot(path=str(SHOTS / "opinion_resubmit_390.png"), full_page=True)

                # a reload of the link shows the receipt too
                again = await page.goto(link)
                assert again is not None and again.status == 200
                assert "Ý kiến đã được gửi trước đó" in await page.content()
            finally:
                await browser.close()

        await asyncio.sleep(1.0)
        subs = await wait_for(
            lambda: opinion_requests(h.settings.kafka_bootstrap, decision_id),
            30,
            "opinion_submitted on Kafka",
        )
        assert len(subs) == 1
        assert subs[0].payload["stance"] == "agree_with_amendments"
