"""Sign-in through the real local OIDC provider (Dex) into the real org service: the verified
e-mail of the provider maps to an account (``oidc_email``), which gets a session and its roles; a
provider user without an account is refused, audited.
Named ``test_zz_…`` to run after the other integration modules: each org this module starts
publishes a whole registry to the shared ``org.events`` topic, which every later module's replicas
would have to read before they are "caught up".
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from scripts.secrets import oidc_password
from tests.integration.conftest import RUN_ID
from tests.integration.services import Proc, run_services
from tests.integration.signing import sign_in
from tests.integration.test_oidc_signin import (
    APP,
    APP_PORT,
    CALLBACK_PATH,
    ISSUER,
    OUTSIDER,
    STAFF,
    sign_in_at_provider,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def org() -> Iterator[Proc]:
    env = {
        "DB_PREFIX": f"it_oidc_{RUN_ID}",
        "OIDC_ISSUER": ISSUER,
        "OIDC_REDIRECT_URL": f"{APP}{CALLBACK_PATH}",
        "AUTH_ALLOWED_ORIGINS": APP,
    }
    with run_services(["org"], env, ports={"org": APP_PORT}) as procs:
        yield procs["org"]


async def test_provider_sign_in_opens_an_org_session_with_the_accounts_roles(org: Proc) -> None:
    async with httpx.AsyncClient(timeout=15) as browser:
        form = await browser.get(f"{org.url}/dang-nhap")
        assert "/dang-nhap/oidc" in form.text  # the page offers the provincial identity provider
        callback = await sign_in_at_provider(browser, STAFF, oidc_password(STAFF))
        done = await browser.get(callback)
        assert done.status_code == 303, done.text
        assert browser.cookies.get("dv_session") and browser.cookies.get("dv_access")
        hello = await browser.get(f"{org.url}/dang-nhap/xong")
        assert hello.status_code == 200 and "Nguyễn Thị Thu Trang" in hello.text
        assert "cơ quan soạn thảo — kg.ubnd" in hello.text


async def test_a_provider_user_without_an_account_is_refused_and_audited(org: Proc) -> None:
    async with httpx.AsyncClient(timeout=15) as browser:
        callback = await sign_in_at_provider(browser, OUTSIDER, oidc_password(OUTSIDER))
        refused = await browser.get(callback)
        assert refused.status_code == 403 and "chưa được liên kết" in refused.text
        assert not browser.cookies.get("dv_session")
    auditor = await sign_in(org.url, "kiemtra")
    async with httpx.AsyncClient(timeout=15) as c:
        audit = (await c.get(f"{org.url}/api/audit", params={"kind": "refusal"}, headers=auditor)).json()
    assert any(e["why"] == "no_account" and e["who"].startswith("oidc:") for e in audit)
