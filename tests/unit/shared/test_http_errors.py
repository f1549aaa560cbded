"""Refusals over HTTP are Vietnamese, with a stable code, whatever raised them."""

from datetime import date

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from shared.http import install_error_handlers


def make() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/units")
    async def units(on: date, limit: int = 10) -> dict[str, str]:
        return {"on": on.isoformat()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/gone")
    async def gone() -> None:
        raise HTTPException(404)

    @app.get("/typed")
    async def typed() -> None:
        raise HTTPException(409, detail={"code": "already_issued", "message": "Văn bản đã được ban hành."})

    return TestClient(app, raise_server_exceptions=False)


def test_validation_errors_name_the_field_in_vietnamese() -> None:
    r = make().get("/units", params={"on": "23/11/2026", "limit": "x"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_request"
    assert {e["field"] for e in body["errors"]} == {"on", "limit"}
    assert "ngày không đúng định dạng" in body["message"] and "phải là số nguyên" in body["message"]


def test_missing_parameter() -> None:
    r = make().get("/units")
    assert r.status_code == 422 and "thiếu trường bắt buộc" in r.json()["message"]


def test_unexpected_error_is_500_without_internals() -> None:
    r = make().get("/boom")
    assert r.status_code == 500
    assert r.json() == {"code": "internal_error", "message": "Lỗi hệ thống; sự cố đã được ghi nhận để xử lý."}
    assert "secret" not in r.text


def test_plain_and_typed_http_errors() -> None:
    c = make()
    assert c.get("/gone").json() == {"code": "http_404", "message": "Không tìm thấy tài nguyên được yêu cầu."}
    assert c.get("/nowhere").json()["message"] == "Không tìm thấy tài nguyên được yêu cầu."
    assert c.get("/typed").json() == {"code": "already_issued", "message": "Văn bản đã được ban hành."}
