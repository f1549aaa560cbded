"""Every route of every service declares who may call it, and refuses everyone else.

Built from each app's own route table, so a new endpoint without a rule fails here. For every
route: anonymous → 401 (API) or a redirect to the sign-in page (pages); a forged or expired token →
the same; a signed-in person without the role → 403; a cookie-authenticated POST from another
origin → 403. Public routes are listed below with the reason they are public; adding one means
adding it here, deliberately. (Object-level rules — which unit may read which decision — need data
and are tested on the real stack: tests/integration/test_sign_in.py.)

The apps are built but not started: no Kafka, no database; every refusal happens before a handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey

from shared.access.audit import MemoryAuditLog
from shared.access.guard import COOKIE, Guard, Rule
from shared.access.roles import ALL_UNITS, Grant, Role
from shared.access.tokens import issue

KEY = OKPKey.generate_key("Ed25519")
PUBLIC = OKPKey.import_key(KEY.as_dict(private=False))
OTHER_KEY = OKPKey.generate_key("Ed25519")

PUBLIC_ROUTES: dict[str, set[tuple[str, str]]] = {
    "org": {
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/dang-nhap"),
        ("POST", "/dang-nhap"),
        ("POST", "/dang-xuat"),
        ("POST", "/api/session"),
        ("POST", "/api/session/refresh"),
        ("DELETE", "/api/session"),
        ("GET", "/dang-nhap/oidc"),
        ("GET", "/dang-nhap/oidc/callback"),
    },
    "tasks": {("GET", "/health"), ("GET", "/ready")},
    "notify": {
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/a/{token}"),
        ("POST", "/a/{token}"),
        ("GET", "/gop-y/{decision_id}"),
        ("POST", "/gop-y/{decision_id}"),
        ("GET", "/kiem-duyet/{token}"),
        ("POST", "/kiem-duyet/{token}"),
    },
    "reports": {("GET", "/health"), ("GET", "/ready")},
}
# FastAPI's own documentation routes (no data): Swagger UI, ReDoc, the OpenAPI document.
DOC_ROUTES = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


def _build(service: str) -> FastAPI:
    if service == "org":
        from services.org.app import build as build_org

        return build_org()[0]
    if service == "tasks":
        from services.tasks.app import build as build_tasks

        return build_tasks()[0]
    if service == "notify":
        from services.notify.app import build as build_notify

        return build_notify()[0]
    from services.reports.app import build as build_reports

    return build_reports()[0]


@pytest.fixture(scope="module", params=["org", "tasks", "notify", "reports"])
def app(request: pytest.FixtureRequest) -> Iterator[tuple[str, FastAPI]]:
    application = _build(request.param)
    access = application.state.access
    access.key = PUBLIC
    access.audit = MemoryAuditLog()
    yield request.param, application


class Entry:
    """One route as the app serves it (routers' own dependencies included)."""

    def __init__(self, path: str, methods: set[str], dependant: Any) -> None:
        self.path, self.methods, self.dependant = path, methods, dependant


def _entries(application: FastAPI) -> Iterator[Entry]:
    # FastAPI ≥ 0.16x keeps included routers lazily; its route contexts carry the effective
    # dependant (the router's ``dependencies=`` merged with the route's).
    from fastapi.routing import _iter_routes_with_context

    for route, ctx in _iter_routes_with_context(application.routes):
        if ctx is not None and ctx.dependant is not None:
            yield Entry(ctx.path or getattr(route, "path", ""), set(ctx.methods), ctx.dependant)
        elif isinstance(route, APIRoute):
            yield Entry(route.path, set(route.methods), route.dependant)
        else:
            assert getattr(route, "path", "") in DOC_ROUTES, f"unexpected non-API route {route}"


def _guards(dependant: Any) -> list[Guard]:
    found: list[Guard] = []

    def walk(d: Any) -> None:
        for sub in d.dependencies:
            if isinstance(sub.call, Guard):
                found.append(sub.call)
            walk(sub)

    walk(dependant)
    return found


def _routes(application: FastAPI) -> list[tuple[str, Entry, Rule]]:
    out = []
    for entry in _entries(application):
        guards = _guards(entry.dependant)
        assert len(guards) == 1, f"{entry.methods} {entry.path}: {len(guards)} access rules (need exactly 1)"
        for method in sorted(entry.methods):
            out.append((method, entry, guards[0].rule))
    assert out
    return out


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def _token(*grants: Grant, key: OKPKey = KEY, now: datetime | None = None) -> str:
    return issue(key, subject="p.test", name="Thử", session_id="s", method="password", grants=grants, now=now)


NOBODY = _token()  # signed in, no role at all


def test_every_route_has_one_rule_and_the_public_ones_are_the_listed_ones(app: tuple[str, FastAPI]) -> None:
    service, application = app
    public = {(m, r.path) for m, r, rule in _routes(application) if rule.public}
    listed = {(m, p) for m, p in PUBLIC_ROUTES[service]}
    assert public <= listed, f"public routes not in the list: {public - listed}"
    present = {(m, r.path) for m, r, _ in _routes(application)}
    assert listed & present == public


def test_anonymous_and_bad_tokens_are_refused_on_every_non_public_route(app: tuple[str, FastAPI]) -> None:
    _, application = app
    client = TestClient(application, raise_server_exceptions=False)
    expired = _token(
        Grant(Role.AUDITOR, ALL_UNITS, date(2020, 1, 1)), now=datetime.now(UTC) - timedelta(hours=1)
    )
    forged = _token(*(Grant(r, ALL_UNITS, date(2020, 1, 1)) for r in Role), key=OTHER_KEY)
    checked = 0
    for method, route, rule in _routes(application):
        if rule.public:
            continue
        for headers in (
            {},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": "Basic dGVzdDp0ZXN0"},
        ):
            r = client.request(method, _url(route.path), headers=headers, follow_redirects=False)
            if rule.page:
                assert r.status_code == 303 and "/dang-nhap?next=" in r.headers["location"], (
                    method,
                    route.path,
                )
            else:
                assert r.status_code == 401, (method, route.path, headers, r.status_code, r.text)
                assert r.json()["code"] in {"unauthenticated", "token_expired", "token_invalid"}
            checked += 1
    assert checked > 0


def test_a_person_without_the_role_is_refused_on_every_role_route(app: tuple[str, FastAPI]) -> None:
    _, application = app
    client = TestClient(application, raise_server_exceptions=False)
    for method, route, rule in _routes(application):
        if not rule.roles:
            continue
        # every role except the ones the route accepts, platform-wide
        others = [Grant(r, ALL_UNITS, date(2020, 1, 1)) for r in Role if r not in rule.roles]
        for token in (NOBODY, _token(*others)):
            r = client.request(method, _url(route.path), headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, (method, route.path, r.status_code, r.text)
            assert r.json()["code"] == "missing_role"


def test_a_cookie_authenticated_post_from_another_origin_is_refused(app: tuple[str, FastAPI]) -> None:
    _, application = app
    token = _token(*(Grant(r, ALL_UNITS, date(2020, 1, 1)) for r in Role))
    for method, route, rule in _routes(application):
        if rule.public or method in {"GET", "HEAD"}:
            continue
        for origin in ({"Origin": "https://evil.example"}, {}):
            client = TestClient(application, raise_server_exceptions=False, cookies={COOKIE: token})
            r = client.request(method, _url(route.path), headers=origin)
            assert r.status_code == 403 and r.json()["code"] == "cross_origin", (method, route.path, r.text)


def test_refusals_are_audited_with_who_what_why(app: tuple[str, FastAPI]) -> None:
    _, application = app
    client = TestClient(application, raise_server_exceptions=False)
    client.get("/api/audit", headers={"Authorization": f"Bearer {NOBODY}"})
    docs = application.state.access.audit.docs
    last = docs[-1]
    assert (last["who"], last["what"], last["why"], last["outcome"]) == (
        "p.test",
        "GET /api/audit",
        "missing_role",
        "refused",
    )
