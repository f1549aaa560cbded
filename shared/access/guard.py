"""Default deny on every HTTP route: each route declares who may call it, refusals are logged and audited.

Every route of every service has exactly one *rule* among its dependencies — ``access.require(roles…)``,
``access.signed_in()``, ``access.public(reason)`` or ``access.metrics()`` (``GET /metrics``: an
``operator`` token, or the scrape secret ``METRICS_TOKEN`` a Prometheus server sends as a bearer); the route-table test
(tests/unit/security/test_route_table.py) fails for a route without one. Object-level rules (which
decision a unit may see) are checked in the handler with :meth:`Access.check`, against the unit
hierarchy of the service's own replica of the org registry.

Credentials: ``Authorization: Bearer <access token>`` (scripts, agency front ends) or the
``dv_access`` cookie set by org's sign-in page (browsers). A cookie-authenticated POST must come
from one of the platform's own origins (``Origin`` header) — the CSRF defence.
"""

from __future__ import annotations

import hmac
import html
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, NoReturn
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc.jwk import OKPKey

from shared.access.audit import AuditEntry, AuditLog
from shared.access.roles import Ancestors, Identity, Role, no_ancestors
from shared.access.tokens import TokenRefused, load_verifier_key, verify

log = logging.getLogger("shared.access")

COOKIE = "dv_access"
VN = timezone(timedelta(hours=7))
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def today_vn() -> date:
    return datetime.now(VN).date()


@dataclass(frozen=True)
class Rule:
    """What a route needs: any of ``roles`` (empty with ``signed_in``: any signed-in person), or nothing
    (``public`` names why). ``page``: a browser page (sign-in redirect, HTML refusals). ``scrape``: the
    scrape secret (``METRICS_TOKEN``) is accepted as a bearer too."""

    roles: frozenset[Role] = frozenset()
    signed_in: bool = True
    public: str = ""
    page: bool = False
    scrape: bool = False

    def describe(self) -> str:
        if self.public:
            return f"public: {self.public}"
        rule = "signed in" if not self.roles else "roles: " + ", ".join(sorted(self.roles))
        return f"{rule} or the scrape secret" if self.scrape else rule


class Refused(Exception):
    def __init__(self, status: int, code: str, message_vi: str, *, page: bool, location: str = "") -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message_vi = message_vi
        self.page = page
        self.location = location


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


class Guard:
    """The FastAPI dependency of one rule; returns the caller's identity (``None`` on public routes)."""

    def __init__(self, access: Access, rule: Rule) -> None:
        self.access = access
        self.rule = rule

    async def __call__(self, request: Request) -> Identity | None:
        if self.rule.public:
            return None
        if self.rule.scrape and self.access.is_scraper(request):
            return None
        identity, why = self.access.authenticate(request)
        if identity is None:
            if self.rule.page:
                target = f"{self.access.login_url}?next={quote(str(request.url), safe='')}"
                await self.access.audit_refusal(request, None, why, status=303)
                raise Refused(303, why, "Vui lòng đăng nhập.", page=True, location=target)
            await self.access.refuse(
                request,
                None,
                401,
                why,
                "Cần đăng nhập: gửi mã truy cập (Authorization: Bearer …) do trang đăng nhập cấp.",
                page=False,
            )
        assert identity is not None
        if request.method not in SAFE_METHODS and getattr(request.state, "dv_via_cookie", False):
            origin = request.headers.get("origin", "")
            if origin not in self.access.allowed_origins:
                await self.access.refuse(
                    request,
                    identity,
                    403,
                    "cross_origin",
                    "Yêu cầu không hợp lệ: nguồn gửi không khớp với hệ thống (chống giả mạo yêu cầu).",
                    page=self.rule.page,
                )
        if self.rule.roles and not identity.has_role(self.rule.roles, today_vn()):
            wanted = ", ".join(r.label_vi for r in sorted(self.rule.roles))
            await self.access.refuse(
                request,
                identity,
                403,
                "missing_role",
                f"Tài khoản không có vai trò cần thiết cho thao tác này ({wanted}).",
                page=self.rule.page,
            )
        return identity


class Access:
    """One per service: verifies tokens, owns the rules, logs and audits refusals."""

    def __init__(
        self,
        service: str,
        *,
        audit: AuditLog,
        ancestors: Ancestors = no_ancestors,
        key: OKPKey | None = None,
        load_key: bool = True,
        login_url: str = "http://127.0.0.1:8001/dang-nhap",
        allowed_origins: Iterable[str] = (),
        scrape_token: str | None = None,
    ) -> None:
        self.service = service
        self.scrape_token = scrape_token
        """The secret a metrics scraper sends as ``Authorization: Bearer …`` (None: operators only)."""
        self.audit = audit
        self.ancestors = ancestors
        self.key = key if key is not None or not load_key else load_verifier_key()
        self.login_url = login_url
        self.allowed_origins = frozenset(o.rstrip("/") for o in allowed_origins)

    # -- rules ------------------------------------------------------------------------------
    def require(self, *roles: Role, page: bool = False) -> Any:
        return Depends(Guard(self, Rule(roles=frozenset(roles), page=page)))

    def signed_in(self, *, page: bool = False) -> Any:
        return Depends(Guard(self, Rule(page=page)))

    def public(self, reason: str) -> Any:
        return Depends(Guard(self, Rule(signed_in=False, public=reason)))

    def metrics(self) -> Any:
        """``GET /metrics``: an operator, or a scraper presenting the scrape secret."""
        return Depends(Guard(self, Rule(roles=frozenset({Role.OPERATOR}), scrape=True)))

    def is_scraper(self, request: Request) -> bool:
        """The request carries the scrape secret (compared in constant time)."""
        if not self.scrape_token:
            return False
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self.scrape_token.encode()
        )

    # -- identity ---------------------------------------------------------------------------
    def authenticate(self, request: Request) -> tuple[Identity | None, str]:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        via_cookie = False
        if scheme.lower() == "bearer" and presented:
            token = presented.strip()
        elif request.cookies.get(COOKIE):
            token, via_cookie = request.cookies[COOKIE], True
        else:
            return None, "unauthenticated"
        if self.key is None:
            return None, "auth_not_configured"
        try:
            identity = verify(token, self.key)
        except TokenRefused as exc:
            return None, exc.code
        request.state.dv_via_cookie = via_cookie
        request.state.identity = identity
        return identity, ""

    # -- object-level checks ----------------------------------------------------------------
    async def check(self, request: Request, identity: Identity, allowed: bool, what_vi: str) -> None:
        if not allowed:
            await self.refuse(
                request,
                identity,
                403,
                "forbidden_object",
                f"Tài khoản không có quyền xem hoặc thao tác trên {what_vi} của đơn vị khác.",
                page=False,
            )

    def may_read_case(self, identity: Identity, unit_ids: Iterable[str]) -> bool:
        return identity.may_read_case(unit_ids, today_vn(), self.ancestors)

    def covers(self, identity: Identity, roles: Iterable[Role], unit_ids: Iterable[str]) -> bool:
        return identity.covers_any(tuple(roles), unit_ids, today_vn(), self.ancestors)

    # -- refusals and audit -----------------------------------------------------------------
    async def audit_refusal(
        self, request: Request, identity: Identity | None, why: str, *, status: int
    ) -> None:
        who = identity.subject if identity else "anonymous"
        what = f"{request.method} {request.url.path}"
        log.warning(
            "request refused",
            extra={"who": who, "what": what, "why": why, "status": status, "client": client_of(request)},
        )
        await self.audit.record(
            AuditEntry(
                self.service,
                "refusal",
                who,
                what,
                why,
                "refused",
                client=client_of(request),
                detail={"status": status},
            )
        )

    async def refuse(
        self,
        request: Request,
        identity: Identity | None,
        status: int,
        code: str,
        message_vi: str,
        *,
        page: bool,
    ) -> NoReturn:
        await self.audit_refusal(request, identity, code, status=status)
        raise Refused(status, code, message_vi, page=page)

    async def changed(
        self, request: Request, identity: Identity | None, what: str, why: str = "", **detail: Any
    ) -> None:
        """Record an accepted administrative change (who did what, and their stated reason)."""
        await self.audit.record(
            AuditEntry(
                self.service,
                "change",
                identity.subject if identity else "system",
                what,
                why,
                "accepted",
                client=client_of(request),
                detail=detail,
            )
        )

    # -- wiring -----------------------------------------------------------------------------
    def install(self, app: FastAPI) -> None:
        """The refusal handler and ``GET /api/audit`` (auditors)."""

        @app.exception_handler(Refused)
        async def _refused(_: Request, exc: Refused) -> Response:
            if exc.location:
                return RedirectResponse(exc.location, status_code=303)
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            if exc.page:
                body = (
                    "<!doctype html><html lang='vi'><meta charset='utf-8'><title>Không có quyền</title>"
                    f"<main><h1>Không thể truy cập</h1><p>{html.escape(exc.message_vi)}</p>"
                    f"<p><a href='{html.escape(self.login_url)}'>Đăng nhập bằng tài khoản khác</a></p></main>"
                )
                return HTMLResponse(body, status_code=exc.status, headers=headers)
            return JSONResponse(
                {"code": exc.code, "message": exc.message_vi}, status_code=exc.status, headers=headers
            )

        @app.get("/api/audit", tags=["audit"])
        async def audit_entries(
            kind: str | None = None,
            who: str | None = None,
            limit: int = 200,
            _: Identity = self.require(Role.AUDITOR),
        ) -> list[dict[str, Any]]:
            """The service's audit log, newest first (auditors only)."""
            return await self.audit.entries(kind=kind, who=who, limit=limit)


def access_for(
    service: str, settings: Any, audit: AuditLog, *, ancestors: Ancestors = no_ancestors
) -> Access:
    """The service's :class:`Access` from its settings (``shared.settings.CommonSettings``)."""
    return Access(
        service,
        audit=audit,
        ancestors=ancestors,
        login_url=settings.auth_login_url,
        allowed_origins=settings.allowed_origins(),
        scrape_token=settings.metrics_secret(),
    )
