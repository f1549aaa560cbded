"""Bearer-token guard for the administrative HTTP endpoints of every service.

Why: until staff sign-in exists, registry changes, key registration, policy publication, requeues and
link revocation must not be open to anyone on the network. The token is ``ADMIN_TOKEN`` (from the
environment; on a development machine ``.cache/secrets/admin_token``). A refusal is answered 401/403
in Vietnamese and logged with who (client address), what (method and path) and why — never the token.
"""

from __future__ import annotations

import hmac
import logging
import os

from fastapi import HTTPException, Request

from shared.security.local_secrets import read_local

log = logging.getLogger("shared.security.admin")


def admin_token() -> str | None:
    return os.environ.get("ADMIN_TOKEN") or read_local("admin_token")


async def require_admin(request: Request) -> str:
    """FastAPI dependency: the caller presents ``Authorization: Bearer <ADMIN_TOKEN>``."""
    expected = admin_token()
    who = request.client.host if request.client else "?"
    what = f"{request.method} {request.url.path}"
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if expected is None:
        log.warning("admin request refused", extra={"who": who, "what": what, "why": "no_admin_token"})
        raise HTTPException(
            503,
            detail={
                "code": "admin_disabled",
                "message": "Chức năng quản trị chưa được cấu hình (thiếu ADMIN_TOKEN).",
            },
        )
    if scheme.lower() != "bearer" or not presented:
        log.warning("admin request refused", extra={"who": who, "what": what, "why": "unauthenticated"})
        raise HTTPException(
            401,
            detail={
                "code": "unauthenticated",
                "message": "Thao tác quản trị cần mã xác thực (Authorization: Bearer …).",
            },
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        log.warning("admin request refused", extra={"who": who, "what": what, "why": "bad_token"})
        raise HTTPException(403, detail={"code": "forbidden", "message": "Mã xác thực quản trị không đúng."})
    log.info("admin request accepted", extra={"who": who, "what": what})
    return "admin"
