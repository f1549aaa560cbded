"""HTTP error responses every service gives, in Vietnamese with a stable code.

Why: people read these errors (operators, integrators of agency systems), and
FastAPI's defaults are English and shaped differently per error. Every refusal
is ``{"code": ..., "message": <Vietnamese>, ...}``; an unexpected error is
logged with its trace id and answered 500 without leaking internals.

Every service also refuses a request body over ``HTTP_MAX_BODY_BYTES`` (413 ``body_too_large``)
before any handler reads it: by its ``Content-Length`` at once, or by counting the bytes of a
chunked body as they arrive (:class:`BodyLimit`, pure ASGI so that nothing is buffered first).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shared.http")

_STATUS_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa xác thực.",
    403: "Không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy tài nguyên được yêu cầu.",
    405: "Phương thức không được hỗ trợ cho địa chỉ này.",
    409: "Yêu cầu xung đột với trạng thái hiện tại.",
    410: "Tài nguyên không còn hiệu lực.",
    413: "Nội dung yêu cầu quá lớn.",
    422: "Dữ liệu gửi lên không hợp lệ.",
    503: "Dịch vụ tạm thời không sẵn sàng.",
}

_FIELD_ERRORS_VI = {
    "missing": "thiếu trường bắt buộc",
    "date_from_datetime_parsing": "ngày không đúng định dạng YYYY-MM-DD",
    "date_parsing": "ngày không đúng định dạng YYYY-MM-DD",
    "int_parsing": "phải là số nguyên",
    "float_parsing": "phải là số",
    "json_invalid": "JSON không hợp lệ",
    "string_too_short": "không được để trống",
    "enum": "giá trị không thuộc danh sách cho phép",
    "literal_error": "giá trị không thuộc danh sách cho phép",
    "extra_forbidden": "trường không được hỗ trợ",
}


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        out.append(
            {"field": where, "message": _FIELD_ERRORS_VI.get(str(e.get("type")), "giá trị không hợp lệ")}
        )
    return out


def install_error_handlers(app: FastAPI, max_body_bytes: int | None = None) -> None:
    """The Vietnamese error handlers and the request body limit (``max_body_bytes``; default
    ``HTTP_MAX_BODY_BYTES`` of :class:`~shared.settings.CommonSettings`)."""
    install_limits(app, max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        summary = "; ".join(f"{e['field'] or 'yêu cầu'}: {e['message']}" for e in errors[:5])
        return JSONResponse(
            status_code=422,
            content={
                "code": "invalid_request",
                "message": f"Dữ liệu gửi lên không hợp lệ — {summary}.",
                "errors": errors,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if isinstance(detail, dict) and "message" in detail:
            content: dict[str, Any] = {"code": detail.get("code", f"http_{exc.status_code}"), **detail}
        elif isinstance(detail, str) and detail and detail != _default_phrase(exc.status_code):
            content = {"code": f"http_{exc.status_code}", "message": detail}
        else:
            content = {
                "code": f"http_{exc.status_code}",
                "message": _STATUS_VI.get(exc.status_code, "Yêu cầu không thực hiện được."),
            }
        return JSONResponse(
            status_code=exc.status_code, content=content, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"path": request.url.path})
        return JSONResponse(
            status_code=500,
            content={"code": "internal_error", "message": "Lỗi hệ thống; sự cố đã được ghi nhận để xử lý."},
        )


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# ============================================================== request body limit


def install_limits(app: FastAPI, max_body_bytes: int | None = None) -> None:
    if max_body_bytes is None:
        from shared.settings import CommonSettings

        max_body_bytes = CommonSettings().http_max_body_bytes
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes)


def body_too_large(max_body_bytes: int) -> dict[str, str]:
    limit = f"{max_body_bytes:,}".replace(",", " ")
    return {"code": "body_too_large", "message": f"Nội dung yêu cầu quá lớn (tối đa {limit} byte)."}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit.

    An HTTPException so that FastAPI's body reading passes it on (anything else it turns into
    "400 error parsing the body") and the handler above answers it; :class:`BodyLimit` answers
    it itself when it escapes before reaching that handler.
    """

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(status_code=413, detail=body_too_large(max_body_bytes))
        self.max_body_bytes = max_body_bytes


class BodyLimit:
    """Pure-ASGI middleware: refuse HTTP request bodies over ``max_body_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_413(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, max_body_bytes: int) -> None:
    body = json.dumps(body_too_large(max_body_bytes), ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
