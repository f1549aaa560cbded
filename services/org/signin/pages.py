"""Sign-in for staff and operators: the Vietnamese sign-in page, the API session, sign-out.

``GET /dang-nhap`` shows the form — or, for a browser whose ``dv_session`` is still alive, issues a
fresh access token (``dv_access`` cookie) and returns to ``next`` at once: that is how a page of any
service renews a token that expired after 10 minutes. ``POST /api/session`` is the same for scripts
and agency front ends (JSON in, bearer token out). Every refusal is logged and audited; passwords
and tokens never are.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc.jwk import OKPKey
from pydantic import BaseModel, Field

from services.org.signin.accounts import Account, AccountStore, check_password
from services.org.signin.sessions import COOKIE as SESSION_COOKIE
from services.org.signin.sessions import SessionStore
from shared.access.audit import AuditEntry
from shared.access.guard import COOKIE as ACCESS_COOKIE
from shared.access.guard import Access, client_of, today_vn
from shared.access.roles import Identity
from shared.access.tokens import DEFAULT_TTL, issue
from shared.orgmodel.registry import OrgRegistry

_FORM = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đăng nhập — Hệ thống phối hợp công tác dân vận</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin-top:1rem}}input{{width:100%;padding:.5rem;font-size:1rem}}
button{{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}}.loi{{color:#a00;font-weight:600}}</style></head>
<body><main><h1>Đăng nhập</h1>
<p>Hệ thống phối hợp lấy ý kiến và công tác dân vận — dành cho cán bộ, công chức có tài khoản.</p>
{error}
<form method="post" action="/dang-nhap">
<input type="hidden" name="next" value="{next}">
<label for="username">Tên đăng nhập</label><input id="username" name="username" autocomplete="username" required maxlength="64">
<label for="password">Mật khẩu</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<button type="submit">Đăng nhập</button>
</form>{oidc}
<p><small>Người được mời góp ý qua đường liên kết trong thư không cần đăng nhập.</small></p>
</main></body></html>"""


class SessionRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


def _now() -> datetime:
    return datetime.now(UTC)


class SignIn:
    """What the sign-in routes share (also used by the OIDC callback)."""

    def __init__(
        self,
        *,
        accounts: AccountStore,
        sessions: SessionStore,
        registry: Callable[[], OrgRegistry],
        key: OKPKey | None,
        access: Access,
        secure_cookies: bool,
        oidc_enabled: bool = False,
    ) -> None:
        self.accounts = accounts
        self.sessions = sessions
        self.registry = registry
        self.key = key
        self.access = access
        self.secure = secure_cookies
        self.oidc_enabled = oidc_enabled

    # -- tokens --------------------------------------------------------------------------
    def token_for(self, person_id: str, sid: str, method: str) -> str:
        if self.key is None:
            raise RuntimeError("the session key is not configured (AUTH_TOKEN_KEY)")
        reg = self.registry()
        try:
            name = reg.people.person(person_id).full_name
        except Exception:
            name = person_id
        grants = reg.access.in_force(person_id, today_vn())
        return issue(self.key, subject=person_id, name=name, session_id=sid, method=method, grants=grants)

    def safe_next(self, target: str) -> str:
        """Only the platform's own pages (no open redirect)."""
        if target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
        parts = urlsplit(target)
        origin = f"{parts.scheme}://{parts.netloc}"
        return target if origin in self.access.allowed_origins else "/dang-nhap/xong"

    def set_cookies(self, response: Response, sid: str | None, token: str) -> None:
        common: dict[str, Any] = {"httponly": True, "samesite": "lax", "secure": self.secure, "path": "/"}
        response.set_cookie(ACCESS_COOKIE, token, max_age=int(DEFAULT_TTL.total_seconds()), **common)
        if sid is not None:
            response.set_cookie(SESSION_COOKIE, sid, **common)

    async def audit(self, request: Request, kind: str, who: str, why: str, outcome: str) -> None:
        await self.access.audit.record(
            AuditEntry(
                "org",
                kind,
                who,
                f"{request.method} {request.url.path}",
                why,
                outcome,
                client=client_of(request),
            )
        )

    async def password_sign_in(
        self, request: Request, username: str, password: str
    ) -> tuple[Account | None, str, int, str]:
        """(account, refusal code, status, Vietnamese message); the account only on success."""
        now = _now()
        who = username[:64]
        if await self.sessions.blocked(client_of(request), now):
            await self.audit(request, "refusal", who, "too_many_attempts", "refused")
            return (
                None,
                "too_many_attempts",
                429,
                "Quá nhiều lần đăng nhập từ địa chỉ này; vui lòng thử lại sau 15 phút.",
            )
        account = await self.accounts.get(username)
        if account is not None and account.locked(now):
            check_password(None, password)
            await self.audit(request, "refusal", who, "account_locked", "refused")
            return None, "account_locked", 423, "Tài khoản tạm khóa 15 phút do nhập sai mật khẩu nhiều lần."
        if account is None or account.disabled or not check_password(account, password):
            await self.sessions.failed(client_of(request), now)
            if account is not None:
                await self.accounts.failed(username, now)
            await self.audit(request, "refusal", who, "bad_credentials", "refused")
            return None, "bad_credentials", 401, "Tên đăng nhập hoặc mật khẩu không đúng."
        await self.accounts.succeeded(username)
        return account, "", 200, ""

    async def open_session(self, request: Request, account: Account, method: str) -> tuple[str, str]:
        sid, _ = await self.sessions.open(account.person_id, account.username, method, _now())
        await self.audit(request, "sign_in", account.person_id, method, "accepted")
        return sid, self.token_for(account.person_id, sid, method)

    def form(self, next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
        err = f'<p class="loi" role="alert">{html.escape(error)}</p>' if error else ""
        oidc = (
            f'<p><a href="/dang-nhap/oidc?next={html.escape(next_url, quote=True)}">'
            "Đăng nhập bằng tài khoản định danh của tỉnh</a></p>"
            if self.oidc_enabled
            else ""
        )
        body = _FORM.format(error=err, next=html.escape(next_url, quote=True), oidc=oidc)
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def make_signin_router(signin: SignIn) -> APIRouter:
    router = APIRouter(tags=["sign-in"])
    access = signin.access

    @router.get("/dang-nhap", response_class=HTMLResponse, dependencies=[access.public("the sign-in page")])
    async def show(request: Request, next: str = "/dang-nhap/xong") -> Response:
        target = signin.safe_next(next)
        sid = request.cookies.get(SESSION_COOKIE, "")
        session = await signin.sessions.touch(sid, _now()) if sid else None
        if session is not None and signin.key is not None:
            response = RedirectResponse(target, status_code=303)
            signin.set_cookies(response, None, signin.token_for(session.person_id, sid, session.method))
            return response
        return signin.form(target)

    @router.post("/dang-nhap", response_class=HTMLResponse, dependencies=[access.public("the sign-in form")])
    async def submit(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username", ""))[:64]
        password = str(form.get("password", ""))[:256]
        target = signin.safe_next(str(form.get("next", "/dang-nhap/xong")))
        if request.headers.get("origin", "").rstrip("/") not in access.allowed_origins:
            await signin.audit(request, "refusal", username or "anonymous", "cross_origin", "refused")
            return signin.form(target, "Yêu cầu không hợp lệ: nguồn gửi biểu mẫu không khớp.", 403)
        account, _, status, message = await signin.password_sign_in(request, username, password)
        if account is None:
            return signin.form(target, message, status)
        sid, token = await signin.open_session(request, account, "password")
        response = RedirectResponse(target, status_code=303)
        signin.set_cookies(response, sid, token)
        return response

    @router.get("/dang-nhap/xong", response_class=HTMLResponse)
    async def done(identity: Identity = access.signed_in(page=True)) -> HTMLResponse:
        roles = sorted({f"{g.role.label_vi} — {g.unit_id}" for g in identity.grants}) or [
            "(chưa được giao vai trò nào)"
        ]
        items = "".join(f"<li>{html.escape(r)}</li>" for r in roles)
        return HTMLResponse(
            f"<!doctype html><html lang='vi'><meta charset='utf-8'><title>Đã đăng nhập</title><main>"
            f"<h1>Xin chào, {html.escape(identity.name)}</h1><p>Vai trò của bạn:</p><ul>{items}</ul>"
            "<form method='post' action='/dang-xuat'><button>Đăng xuất</button></form></main>"
        )

    @router.post("/dang-xuat", dependencies=[access.public("signing out needs only the session cookie")])
    async def sign_out(request: Request) -> Response:
        if request.headers.get("origin", "").rstrip("/") not in access.allowed_origins:
            await signin.audit(request, "refusal", "anonymous", "cross_origin", "refused")
            return HTMLResponse("Yêu cầu không hợp lệ: nguồn gửi biểu mẫu không khớp.", status_code=403)
        sid = request.cookies.get(SESSION_COOKIE, "")
        if sid:
            session = await signin.sessions.touch(sid, _now())
            await signin.sessions.close(sid)
            if session is not None:
                await signin.audit(request, "sign_out", session.person_id, "", "accepted")
        response = RedirectResponse("/dang-nhap", status_code=303)
        response.delete_cookie(ACCESS_COOKIE, path="/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.post("/api/session", dependencies=[access.public("exchanging a password for a token")])
    async def api_session(request: Request, body: SessionRequest) -> JSONResponse:
        account, code, status, message = await signin.password_sign_in(request, body.username, body.password)
        if account is None:
            return JSONResponse({"code": code, "message": message}, status_code=status)
        sid, token = await signin.open_session(request, account, "password")
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(DEFAULT_TTL.total_seconds()),
                "refresh_token": sid,
            },
            headers={"Cache-Control": "no-store"},
        )

    @router.post("/api/session/refresh", dependencies=[access.public("renewing a token from a live session")])
    async def api_refresh(request: Request, body: RefreshRequest) -> JSONResponse:
        session = await signin.sessions.touch(body.refresh_token, _now())
        if session is None:
            await signin.audit(request, "refusal", "anonymous", "session_ended", "refused")
            return JSONResponse(
                {"code": "session_ended", "message": "Phiên đăng nhập đã kết thúc; vui lòng đăng nhập lại."},
                status_code=401,
            )
        token = signin.token_for(session.person_id, body.refresh_token, session.method)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": int(DEFAULT_TTL.total_seconds())},
            headers={"Cache-Control": "no-store"},
        )

    @router.delete(
        "/api/session", dependencies=[access.public("ending a session needs only its refresh token")]
    )
    async def api_sign_out(request: Request, body: RefreshRequest) -> dict[str, Any]:
        ended = await signin.sessions.close(body.refresh_token)
        return {"ended": ended}

    @router.get("/api/session/me")
    async def me(identity: Identity = access.signed_in()) -> dict[str, Any]:
        return {
            "person_id": identity.subject,
            "name": identity.name,
            "method": identity.method,
            "grants": [
                {
                    "role": g.role.value,
                    "unit_id": g.unit_id,
                    "valid_from": g.valid_from.isoformat(),
                    "valid_to": g.valid_to.isoformat() if g.valid_to else None,
                }
                for g in identity.grants
            ],
        }

    return router


def oidc_handler(signin: SignIn) -> Callable[[Request, Any], Awaitable[Response]]:
    """What the OIDC callback does with a verified identity: the account whose ``oidc_email`` is the
    provider's *verified* e-mail gets a session; anyone else is refused (logged and audited)."""

    async def on_identity(request: Request, identity: Any) -> Response:
        email = (identity.email or "").lower() if identity.email_verified else ""
        account = await signin.accounts.by_oidc_email(email) if email else None
        if account is None or account.disabled:
            await signin.audit(request, "refusal", f"oidc:{identity.subject[:64]}", "no_account", "refused")
            return signin.form(
                "/dang-nhap/xong",
                "Tài khoản định danh này chưa được liên kết với cán bộ nào trong hệ thống "
                "(liên hệ quản trị sổ đăng ký).",
                403,
            )
        sid, token = await signin.open_session(request, account, "oidc")
        target = signin.safe_next(str(getattr(request.state, "oidc_next", "") or "/dang-nhap/xong"))
        response = RedirectResponse(target, status_code=303)
        signin.set_cookies(response, sid, token)
        return response

    return on_identity
