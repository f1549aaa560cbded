"""Sign-in through the provincial identity provider (OpenID Connect, authorization code + PKCE).

``GET /dang-nhap/oidc`` sends the browser to the provider with ``state``, ``nonce`` and a PKCE
``S256`` challenge; ``GET /dang-nhap/oidc/callback`` exchanges the code (client secret + PKCE
verifier), validates the ID token — signature against the provider's published keys, ``iss`` =
``OIDC_ISSUER``, ``aud`` contains (and ``azp``, if any, is) ``OIDC_CLIENT_ID``, ``nonce``, ``exp`` and
``iat`` with a small clock leeway, ``at_hash`` — and hands an :class:`OidcIdentity` to the caller's
``on_identity``, which decides who that is in the registry and opens the session. Everything else
is refused with a Vietnamese page: 400 for a callback this browser did not start (no, expired,
forged or mismatching state), 401 when the provider or the token says no. The log says why (a
reason code, the provider's error code); codes, tokens and e-mail addresses are never logged.

Why no SessionMiddleware: Authlib's Starlette client keeps state in ``request.session``, but org
has sessions of its own (``services/org/signin/sessions.py``). So the router uses Authlib's client
for discovery, the authorization URL, the token request and the ID-token checks, and keeps the
little it must remember between the two requests (state, nonce, PKCE verifier, ``next``) in one
short-lived cookie of its own, signed with ``OIDC_STATE_KEY`` (itsdangerous, HMAC-SHA256, 10 min),
``HttpOnly``, ``SameSite=Lax`` (sent on the provider's top-level redirect back), ``Secure`` when the
redirect URL is https, and scoped to the callback path. The app needs no middleware.

Configuration (:class:`OidcSettings`): ``OIDC_ISSUER`` (unset or empty: OIDC sign-in is off),
``OIDC_CLIENT_ID`` (``danvan-org``), ``OIDC_CLIENT_SECRET``, ``OIDC_REDIRECT_URL``
(``http://127.0.0.1:8001/dang-nhap/oidc/callback``), ``OIDC_STATE_KEY``. Outside production the
client secret and the state key default to ``.cache/secrets/oidc/{client_secret,state_key}``
(``python -m scripts.secrets ensure``, the same files the local provider ``infra/oidc.sh`` is
configured from); in production they must come from the environment (:meth:`OidcSettings.problems`).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.security.local_secrets import production, read_local

log = logging.getLogger("services.org.signin.oidc")
# Authlib logs the PKCE verifier at DEBUG ("Using code_verifier: ..."): never let it through, whatever
# LOG_LEVEL says.
if logging.getLogger("authlib").level < logging.INFO:  # NOTSET included
    logging.getLogger("authlib").setLevel(logging.INFO)

START_PATH = "/dang-nhap/oidc"
CALLBACK_PATH = "/dang-nhap/oidc/callback"
COOKIE = "dv_oidc"
"""The sign-in state cookie (state, nonce, PKCE verifier, next): signed, 10 minutes, callback path."""
STATE_SALT = "dv-oidc-state/1"
"""itsdangerous salt of the state cookie (a cookie signed for anything else never verifies here)."""
_ASYMMETRIC_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
"""ID-token algorithms accepted, whatever the discovery document says (never ``none``, never HMAC)."""


def _local(name: str) -> SecretStr | None:
    value = read_local(name)  # None in production
    return SecretStr(value) if value else None


class OidcSettings(BaseSettings):
    """The provincial identity provider, from the environment (OIDC off when ``OIDC_ISSUER`` is unset)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", env_file=None, populate_by_name=True)

    issuer: str | None = Field(
        default=None,
        alias="OIDC_ISSUER",
        description="the provider's issuer URL, exactly as its ID tokens' iss; unset/empty = OIDC off",
    )
    client_id: str = Field(default="danvan-org", alias="OIDC_CLIENT_ID", min_length=1)
    client_secret: SecretStr | None = Field(
        default_factory=lambda: _local("oidc/client_secret"),
        alias="OIDC_CLIENT_SECRET",
        description="the client secret; locally .cache/secrets/oidc/client_secret (never in production)",
    )
    redirect_url: str = Field(
        default=f"http://127.0.0.1:8001{CALLBACK_PATH}",
        alias="OIDC_REDIRECT_URL",
        description=f"the public URL of {CALLBACK_PATH}, as registered with the provider",
    )
    state_key: SecretStr | None = Field(
        default_factory=lambda: _local("oidc/state_key"),
        alias="OIDC_STATE_KEY",
        description="signs the sign-in state cookie; locally .cache/secrets/oidc/state_key",
    )
    scopes: str = Field(default="openid email profile", alias="OIDC_SCOPES")
    provider_name_vi: str = Field(default="Cổng định danh tỉnh", alias="OIDC_PROVIDER_NAME")
    state_ttl_seconds: int = Field(default=600, ge=60, le=3600, alias="OIDC_STATE_TTL_SECONDS")
    leeway_seconds: int = Field(default=60, ge=0, le=300, alias="OIDC_CLOCK_LEEWAY_SECONDS")
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=60, alias="OIDC_HTTP_TIMEOUT_SECONDS")

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.issuer.strip())

    @property
    def discovery_url(self) -> str:
        return f"{(self.issuer or '').strip().rstrip('/')}/.well-known/openid-configuration"

    def problems(self, *, in_production: bool | None = None) -> list[str]:
        """What keeps OIDC sign-in from working safely (empty when it is off or fine)."""
        if not self.enabled:
            return []
        prod = production() if in_production is None else in_production
        out: list[str] = []
        secret = self.client_secret.get_secret_value() if self.client_secret else ""
        key = self.state_key.get_secret_value() if self.state_key else ""
        if not secret:
            out.append("OIDC_CLIENT_SECRET is not set")
        if len(key) < 32:
            out.append("OIDC_STATE_KEY must be set, at least 32 characters")
        if "openid" not in self.scopes.split():
            out.append("OIDC_SCOPES must contain openid")
        if urlsplit(self.redirect_url).path != CALLBACK_PATH:
            out.append(f"OIDC_REDIRECT_URL must end in {CALLBACK_PATH}")
        if prod:
            for name, url in (("OIDC_ISSUER", self.issuer or ""), ("OIDC_REDIRECT_URL", self.redirect_url)):
                if urlsplit(url.strip()).scheme != "https":
                    out.append(f"{name} must be https in production")
        return out


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in (from the validated ID token)."""

    subject: str
    """``sub``: the provider's stable id of the person (unique per issuer)."""
    email: str | None
    """``email`` as the provider sent it (``None`` if it sent none)."""
    email_verified: bool
    """``email_verified`` is exactly ``true``."""
    name: str | None
    """``name`` (else ``preferred_username``), for display only."""
    issuer: str
    """``iss`` (= ``OIDC_ISSUER``)."""


OnIdentity = Callable[[Request, OidcIdentity], Awaitable[Response]]

_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Không đăng nhập được — Hệ thống phối hợp công tác dân vận</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
.loi{{color:#a00;font-weight:600}}small{{color:#555}}</style></head>
<body><main><h1>Không đăng nhập được qua {provider}</h1>
<p class="loi">{message}</p>
<p><a href="/dang-nhap">Quay lại trang đăng nhập</a></p>
<p><small>Mã lỗi: {code}</small></p>
</main></body></html>"""

_ERROR_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _safe_code(value: object) -> str:
    """A provider's error code for the log, or ``?`` (never free text that could carry anything)."""
    text = str(value or "")
    return text if _ERROR_CODE_RE.match(text) else "?"


def _transport_error(exc: BaseException) -> bool:
    """The provider could not be reached (httpx's errors, or httpx2's should Authlib pick that up)."""
    return isinstance(exc, httpx.HTTPError) or type(exc).__module__.split(".")[0] in (
        "httpx",
        "httpx2",
        "httpcore",
    )


def make_oidc_router(
    settings: OidcSettings,
    on_identity: OnIdentity,
    *,
    public: Callable[[str], Any] | None = None,
) -> APIRouter:
    """The two OIDC routes. ``on_identity`` gets the validated identity and returns the response
    (it should open the session and redirect); ``request.state.oidc_next`` holds the ``next`` the
    sign-in started with (unchecked: make it safe before redirecting there). ``public``: the app's
    rule factory for routes anyone may call (``Access.public``), so each route carries its rule."""

    router = APIRouter()
    provider = settings.provider_name_vi
    cookie_path = urlsplit(settings.redirect_url).path or CALLBACK_PATH
    secure_cookie = urlsplit(settings.redirect_url).scheme == "https"
    problems = settings.problems()
    if settings.enabled and problems:
        log.error("OIDC sign-in is configured but cannot work: %s", "; ".join(problems))
    usable = settings.enabled and not problems
    issuer = (settings.issuer or "").strip()

    serializer: URLSafeTimedSerializer | None = None
    client: Any = None
    if usable:
        assert settings.state_key is not None and settings.client_secret is not None
        serializer = URLSafeTimedSerializer(
            settings.state_key.get_secret_value(),
            salt=STATE_SALT,
            signer_kwargs={"digest_method": hashlib.sha256},
        )
        oauth = OAuth()
        client = oauth.register(
            name="province",
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            server_metadata_url=settings.discovery_url,
            client_kwargs={
                "scope": settings.scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                "timeout": settings.http_timeout_seconds,
            },
        )

    def deps(reason: str) -> list[Any]:
        return [public(reason)] if public is not None else []

    def page(status: int, code: str, message: str) -> HTMLResponse:
        body = _PAGE.format(
            provider=html.escape(provider), message=html.escape(message), code=html.escape(code)
        )
        resp = HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
        resp.delete_cookie(COOKIE, path=cookie_path, secure=secure_cookie, httponly=True, samesite="lax")
        return resp

    def refuse(status: int, code: str, message: str, detail: str = "") -> HTMLResponse:
        log.warning("OIDC sign-in refused (%s): %s%s", status, code, f" — {detail}" if detail else "")
        return page(status, code, message)

    def unavailable() -> HTMLResponse | None:
        if not settings.enabled:
            return page(404, "oidc_disabled", f"Đăng nhập qua {provider} chưa được bật trên hệ thống này.")
        if not usable:
            return page(503, "oidc_misconfigured", f"Đăng nhập qua {provider} chưa được cấu hình đầy đủ.")
        return None

    async def metadata() -> Mapping[str, Any]:
        """The provider's discovery document, checked: it must name our issuer; only asymmetric
        ID-token algorithms are kept (Authlib reads them from here)."""
        data = await client.load_server_metadata()
        if data.get("issuer") != issuer:
            client.server_metadata.pop("_loaded_at", None)  # read it again next time
            raise ValueError("the discovery document names another issuer")
        algs = [
            a for a in data.get("id_token_signing_alg_values_supported") or ["RS256"] if a in _ASYMMETRIC_ALGS
        ]
        if not algs:
            raise ValueError("the provider signs ID tokens with no algorithm we accept")
        client.server_metadata["id_token_signing_alg_values_supported"] = algs
        return dict(data)

    @router.get(START_PATH, response_class=HTMLResponse, dependencies=deps("starts OIDC sign-in"))
    async def start(request: Request, next: str = "") -> Response:
        if (off := unavailable()) is not None:
            return off
        assert serializer is not None
        try:
            await metadata()
            rv = await client.create_authorization_url(settings.redirect_url)
        except Exception as exc:  # unreachable, not JSON, another issuer (Authlib may use httpx or httpx2)
            log.error("OIDC provider unusable at %s: %s", settings.discovery_url, type(exc).__name__)
            return page(
                502, "provider_unreachable", f"Không kết nối được với {provider}. Vui lòng thử lại sau."
            )
        state = {"s": rv["state"], "n": rv["nonce"], "v": rv["code_verifier"], "x": next[:2000]}
        resp = RedirectResponse(str(rv["url"]), status_code=302, headers={"Cache-Control": "no-store"})
        resp.set_cookie(
            COOKIE,
            serializer.dumps(state),
            max_age=settings.state_ttl_seconds,
            path=cookie_path,
            secure=secure_cookie,
            httponly=True,
            samesite="lax",
        )
        return resp

    @router.get(
        CALLBACK_PATH, response_class=HTMLResponse, dependencies=deps("the OIDC provider's redirect back")
    )
    async def callback(request: Request) -> Response:
        if (off := unavailable()) is not None:
            return off
        assert serializer is not None
        q = request.query_params
        again = "Vui lòng đăng nhập lại từ đầu."
        if q.get("error"):
            return refuse(
                401,
                "provider_refused",
                f"{provider} không xác nhận việc đăng nhập. {again}",
                f"provider error {_safe_code(q.get('error'))}",
            )
        raw = request.cookies.get(COOKIE)
        if not raw:
            return refuse(
                400, "no_state", f"Phiên đăng nhập không còn hoặc không bắt đầu từ hệ thống này. {again}"
            )
        try:
            saved = serializer.loads(raw, max_age=settings.state_ttl_seconds)
        except SignatureExpired:
            return refuse(400, "state_expired", f"Phiên đăng nhập đã quá hạn. {again}")
        except BadSignature:
            return refuse(
                400, "state_forged", f"Phiên đăng nhập không hợp lệ. {again}", "bad cookie signature"
            )
        if not isinstance(saved, dict) or not all(
            isinstance(saved.get(k), str) for k in ("s", "n", "v", "x")
        ):
            return refuse(400, "state_forged", f"Phiên đăng nhập không hợp lệ. {again}", "malformed state")
        state = q.get("state") or ""
        if not hmac.compare_digest(state.encode(), saved["s"].encode()):
            return refuse(
                400, "state_mismatch", f"Phiên đăng nhập không khớp. {again}", "state differs from the cookie"
            )
        code = q.get("code") or ""
        if not code:
            return refuse(400, "no_code", f"{provider} không trả về mã xác thực. {again}")
        try:
            await metadata()
            token = await client.fetch_access_token(
                redirect_uri=settings.redirect_url, code=code, code_verifier=saved["v"]
            )
        except Exception as exc:
            if not _transport_error(exc):  # the provider refused the code (OAuthError) or answered nonsense
                return refuse(
                    401,
                    "code_refused",
                    f"{provider} không chấp nhận mã xác thực. {again}",
                    f"token request refused: {type(exc).__name__} {_safe_code(getattr(exc, 'error', ''))}",
                )
            return refuse(
                401,
                "provider_unreachable",
                f"Không kết nối được với {provider}. {again}",
                f"token request failed: {type(exc).__name__}",
            )
        if not isinstance(token, Mapping) or not token.get("id_token"):
            return refuse(401, "no_id_token", f"{provider} không cấp thẻ định danh. {again}")
        options = {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": settings.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": saved["n"]},
        }
        try:
            claims = await client.parse_id_token(
                token, nonce=saved["n"], claims_options=options, leeway=settings.leeway_seconds
            )
        except Exception as exc:  # signature, issuer, audience, nonce, expiry (joserfc errors)
            return refuse(
                401,
                "id_token_invalid",
                f"Thẻ định danh do {provider} cấp không hợp lệ. {again}",
                f"{type(exc).__name__} {_safe_code(getattr(exc, 'error', ''))} claim {_safe_code(getattr(exc, 'claim', ''))}",
            )
        email = claims.get("email")
        name = claims.get("name") or claims.get("preferred_username")
        identity = OidcIdentity(
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and email else None,
            email_verified=claims.get("email_verified") is True,
            name=name if isinstance(name, str) and name else None,
            issuer=str(claims["iss"]),
        )
        log.info(
            "OIDC sign-in: the provider vouched for a person (email_verified=%s)", identity.email_verified
        )
        request.state.oidc_next = saved["x"]
        resp = await on_identity(request, identity)
        resp.delete_cookie(COOKIE, path=cookie_path, secure=secure_cookie, httponly=True, samesite="lax")
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    return router
