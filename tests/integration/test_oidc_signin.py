"""OIDC sign-in (services/org/signin/oidc.py) against the real provider that infra/oidc.sh starts (Dex).

A tiny FastAPI app carries only the OIDC router, on uvicorn on the port the provider has registered
as a redirect URI (``OIDC_TEST_APP_PORT``); its ``on_identity`` answers the identity as JSON. httpx
plays the browser through the real flow: the app's redirect → the provider's login form (Dex's
password database) → the posted e-mail and password → the redirect back → the code exchange and the
ID-token checks in the app. Refusals: a wrong password stays on the provider; a callback whose
``state`` was altered, without the state cookie, or with a forged one is a 400; a replayed code and
an ID token whose nonce is not the one this browser was given are a 401 — and nothing of the codes
or tokens reaches the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import html
import logging
import os
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from itsdangerous import URLSafeTimedSerializer

from scripts.secrets import OIDC_USERS, oidc_password
from services.org.signin.oidc import (
    CALLBACK_PATH,
    COOKIE,
    START_PATH,
    STATE_SALT,
    OidcIdentity,
    OidcSettings,
    make_oidc_router,
)
from shared.redaction import redact

pytestmark = pytest.mark.integration

OIDC_PORT = int(os.environ.get("OIDC_PORT") or 5556)
ISSUER = os.environ.get("OIDC_ISSUER") or f"http://127.0.0.1:{OIDC_PORT}/dex"
APP_PORT = int(os.environ.get("OIDC_TEST_APP_PORT") or 18001)
APP = f"http://127.0.0.1:{APP_PORT}"
STAFF = "chanh.vp@kiengiang.test"
OUTSIDER = "outsider@example.test"


def _settings(**over: object) -> OidcSettings:
    values: dict[str, object] = {"OIDC_ISSUER": ISSUER, "OIDC_REDIRECT_URL": f"{APP}{CALLBACK_PATH}", **over}
    return OidcSettings(**values)


def _app(settings: OidcSettings) -> FastAPI:
    async def on_identity(request: Request, identity: OidcIdentity) -> Response:
        return JSONResponse({**dataclasses.asdict(identity), "next": request.state.oidc_next})

    app = FastAPI()
    app.include_router(make_oidc_router(settings, on_identity))
    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=APP_PORT, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(100):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        assert server.started, f"uvicorn did not start on {APP} (is the port taken?)"
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
def provider() -> str:
    try:
        doc = httpx.get(f"{ISSUER}/.well-known/openid-configuration", timeout=3).json()
    except (httpx.HTTPError, ValueError) as exc:
        pytest.fail(
            f"the OIDC provider is not running at {ISSUER} ({exc!r}): run infra/up.sh (the test command does)"
        )
    assert doc["issuer"] == ISSUER
    return ISSUER


@pytest.fixture
async def app_up(provider: str) -> AsyncIterator[FastAPI]:
    app = _app(_settings())
    async with serving(app):
        yield app


def _is_app(url: str) -> bool:
    return url.startswith(APP + "/")


async def to_login_form(browser: httpx.AsyncClient, next_url: str = "/trang-chu") -> tuple[str, str]:
    """From the app's start route to the provider's login form: (form action URL, form page HTML)."""
    r = await browser.get(f"{APP}{START_PATH}", params={"next": next_url})
    assert r.status_code == 302, r.text
    assert COOKIE in r.cookies, "the start route sets the state cookie"
    auth = r.headers["location"]
    assert auth.startswith(ISSUER + "/auth"), auth
    q = parse_qs(urlsplit(auth).query)
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
    assert q["state"][0] and q["nonce"][0] and q["response_type"] == ["code"]
    assert "openid" in q["scope"][0].split()
    r = await browser.get(auth, follow_redirects=True)
    assert r.status_code == 200, r.text[:500]
    assert str(r.url).startswith(ISSUER), r.url
    m = re.search(r'<form[^>]*method="post"[^>]*action="([^"]+)"', r.text)
    assert m and 'name="login"' in r.text and 'name="password"' in r.text, r.text[:1000]
    return urljoin(str(r.url), html.unescape(m.group(1))), r.text


async def sign_in_at_provider(browser: httpx.AsyncClient, email: str, password: str) -> str:
    """Post the credentials and follow the provider until it sends the browser back to the app;
    returns the app's callback URL (not requested yet)."""
    action, _ = await to_login_form(browser)
    r = await browser.post(action, data={"login": email, "password": password})
    for _ in range(10):
        if r.status_code in (301, 302, 303, 307):
            target = urljoin(str(r.url), r.headers["location"])
            if _is_app(target):
                return target
            r = await browser.get(target)
            continue
        # an approval ("grant access") page, if the provider shows one: approve
        m = re.search(r'<form[^>]*method="post"[^>]*action="([^"]*)"', r.text)
        if r.status_code == 200 and m and 'name="approval"' in r.text:
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', r.text))
            r = await browser.post(
                urljoin(str(r.url), html.unescape(m.group(1)) or str(r.url)),
                data={**fields, "approval": "approve"},
            )
            continue
        raise AssertionError(
            f"the provider did not send the browser back: {r.status_code} {r.url}\n{r.text[:800]}"
        )
    raise AssertionError("too many redirects at the provider")


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """What reached the log: the OIDC router's own lines as they are, everything else (uvicorn's
    access log with the callback URL) as the services' log handlers write it, i.e. redacted."""
    return "\n".join(
        r.getMessage() if r.name == "services.org.signin.oidc" else redact(r.getMessage())
        for r in caplog.records
    )


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q.update(changes)
    return urlunsplit(parts._replace(query=urlencode(q)))


async def test_staff_signs_in_through_the_provider_and_the_app_gets_the_verified_identity(
    app_up: FastAPI,
) -> None:
    async with httpx.AsyncClient(timeout=10) as browser:
        callback = await sign_in_at_provider(browser, STAFF, oidc_password(STAFF))
        assert urlsplit(callback).path == CALLBACK_PATH
        r = await browser.get(callback)
        assert r.status_code == 200, r.text
        who = r.json()
        assert who["email"] == STAFF
        assert who["email_verified"] is True
        assert who["issuer"] == ISSUER
        assert who["subject"]  # Dex: the user id and the connector, encoded
        assert who["name"] == next(u.name for u in OIDC_USERS if u.email == STAFF)
        assert who["next"] == "/trang-chu"
        # the state cookie is spent: the same callback again is not a sign-in
        assert COOKIE not in browser.cookies
        again = await browser.get(callback)
        assert again.status_code == 400 and "Mã lỗi: no_state" in again.text


async def test_a_provider_user_the_registry_does_not_know_still_reaches_on_identity(app_up: FastAPI) -> None:
    # (refusing them is on_identity's decision: org finds no account with that oidc_email)
    async with httpx.AsyncClient(timeout=10) as browser:
        r = await browser.get(await sign_in_at_provider(browser, OUTSIDER, oidc_password(OUTSIDER)))
        assert r.status_code == 200, r.text
        assert r.json()["email"] == OUTSIDER and r.json()["email_verified"] is True


async def test_a_wrong_password_stays_on_the_provider(app_up: FastAPI) -> None:
    async with httpx.AsyncClient(timeout=10) as browser:
        action, _ = await to_login_form(browser)
        r = await browser.post(action, data={"login": STAFF, "password": oidc_password(STAFF) + "x"})
        assert not (
            r.status_code in (301, 302, 303, 307) and _is_app(urljoin(str(r.url), r.headers["location"]))
        )
        assert str(r.url).startswith(ISSUER)
        assert 'name="password"' in r.text  # the login form again
        assert "Invalid" in r.text or "invalid" in r.text


async def test_a_tampered_state_is_refused_400_and_nothing_secret_is_logged(
    app_up: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.org.signin.oidc")
    async with httpx.AsyncClient(timeout=10) as browser:
        callback = await sign_in_at_provider(browser, STAFF, oidc_password(STAFF))
        state = parse_qs(urlsplit(callback).query)["state"][0]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        r = await browser.get(_with_query(callback, state=state[:-1] + ("A" if state[-1] != "A" else "B")))
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("text/html")
        assert 'lang="vi"' in r.text and "Phiên đăng nhập không khớp" in r.text and "state_mismatch" in r.text
    assert "state_mismatch" in caplog.text
    assert code not in logged(caplog) and state not in logged(caplog)


async def test_a_callback_without_or_with_a_forged_state_cookie_is_refused_400(app_up: FastAPI) -> None:
    async with httpx.AsyncClient(timeout=10) as browser:
        callback = await sign_in_at_provider(browser, STAFF, oidc_password(STAFF))
        cookie = browser.cookies[COOKIE]
        browser.cookies.clear()
        async with httpx.AsyncClient(timeout=10) as stranger:  # another browser with the victim's code
            r = await stranger.get(callback)
            assert r.status_code == 400 and "no_state" in r.text
            stranger.cookies.set(
                COOKIE,
                cookie[:-2] + ("xx" if not cookie.endswith("xx") else "yy"),
                domain="127.0.0.1",
                path=CALLBACK_PATH,
            )
            r = await stranger.get(callback)
            assert r.status_code == 400 and "state_forged" in r.text


async def test_a_replayed_code_and_a_wrong_nonce_are_refused_401(
    app_up: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.org.signin.oidc")
    settings = _settings()
    assert settings.state_key is not None
    signer = URLSafeTimedSerializer(
        settings.state_key.get_secret_value(),
        salt=STATE_SALT,
        signer_kwargs={"digest_method": hashlib.sha256},
    )
    async with httpx.AsyncClient(timeout=10) as browser:
        callback = await sign_in_at_provider(browser, STAFF, oidc_password(STAFF))
        saved = signer.loads(browser.cookies[COOKIE])
        # the ID token the provider issues carries the real nonce: a cookie naming another one (with the
        # right state and verifier, signed with the real key) must not accept it
        browser.cookies.set(
            COOKIE, signer.dumps({**saved, "n": "another-nonce"}), domain="127.0.0.1", path=CALLBACK_PATH
        )
        r = await browser.get(callback)
        assert r.status_code == 401, r.text
        assert "id_token_invalid" in r.text and "Thẻ định danh" in r.text
        assert "nonce" in caplog.text
        # the code was spent by that exchange: replaying it with the genuine cookie is refused by the provider
        browser.cookies.set(COOKIE, signer.dumps(saved), domain="127.0.0.1", path=CALLBACK_PATH)
        r = await browser.get(callback)
        assert r.status_code == 401, r.text
        assert "code_refused" in r.text
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert (
        code not in logged(caplog) and saved["v"] not in logged(caplog) and saved["n"] not in logged(caplog)
    )


async def test_the_provider_refusing_is_a_401_page(app_up: FastAPI) -> None:
    async with httpx.AsyncClient(timeout=10) as browser:
        await to_login_form(browser)
        r = await browser.get(f"{APP}{CALLBACK_PATH}", params={"error": "access_denied", "state": "x"})
        assert r.status_code == 401 and "provider_refused" in r.text


async def test_oidc_off_without_an_issuer() -> None:
    app = _app(_settings(OIDC_ISSUER=""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP) as c:
        r = await c.get(START_PATH)
        assert r.status_code == 404 and "chưa được bật" in r.text
        assert (await c.get(CALLBACK_PATH, params={"code": "x", "state": "y"})).status_code == 404
