"""HTTP error responses every service gives, in Vietnamese with a stable code.

Why: people read these errors (operators, integrators of agency systems), and
FastAPI's defaults are English and shaped differently per error. Every refusal
is ``{"code": ..., "message": <Vietnamese>, ...}``; an unexpected error is
logged with its trace id and answered 500 without leaking internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("shared.http")

_STATUS_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa xác thực.",
    403: "Không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy tài nguyên được yêu cầu.",
    405: "Phương thức không được hỗ trợ cho địa chỉ này.",
    409: "Yêu cầu xung đột với trạng thái hiện tại.",
    410: "Tài nguyên không còn hiệu lực.",
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


def install_error_handlers(app: FastAPI) -> None:
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
