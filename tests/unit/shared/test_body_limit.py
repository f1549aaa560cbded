"""Every service refuses a request body over HTTP_MAX_BODY_BYTES with 413 (shared/http.py BodyLimit)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi import Body, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from shared.http import BodyLimit, install_error_handlers

LIMIT = 1000
TOO_LARGE = {"code": "body_too_large", "message": "Nội dung yêu cầu quá lớn (tối đa 1 000 byte)."}


def make(limit: int | None = LIMIT) -> tuple[TestClient, list[str]]:
    app = FastAPI()
    install_error_handlers(app, max_body_bytes=limit)
    handled: list[str] = []

    @app.post("/text")
    async def text(body: str = Body(media_type="text/plain")) -> dict[str, int]:
        handled.append("text")
        return {"chars": len(body)}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        handled.append("raw")
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size}

    return TestClient(app, raise_server_exceptions=False), handled


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("path", ["/text", "/raw"])
def test_small_bodies_pass(path: str) -> None:
    client, handled = make()
    r = client.post(path, content=b"x" * LIMIT, headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text
    assert handled == [path.strip("/")]
    r = client.post(path, content=chunks(LIMIT), headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/text", "/raw"])
def test_a_declared_content_length_over_the_limit_is_413_before_any_handler(path: str) -> None:
    client, handled = make()
    r = client.post(path, content=b"x" * (LIMIT + 1), headers={"content-type": "text/plain"})
    assert r.status_code == 413
    assert r.json() == TOO_LARGE
    assert handled == []


@pytest.mark.parametrize("path", ["/text", "/raw"])
def test_a_chunked_body_over_the_limit_is_413(path: str) -> None:
    client, _ = make()
    r = client.post(path, content=chunks(LIMIT + 100), headers={"content-type": "text/plain"})
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert r.json() == TOO_LARGE


def test_the_default_limit_is_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_MAX_BODY_BYTES", "2048")
    client, _ = make(limit=None)
    assert client.post("/text", content=b"x" * 2048).status_code == 200
    r = client.post("/text", content=b"x" * 2049)
    assert r.status_code == 413 and "2 048 byte" in r.json()["message"]


def test_gets_without_body_are_untouched() -> None:
    app = FastAPI()
    install_error_handlers(app, max_body_bytes=LIMIT)

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"ok": "yes"}

    assert TestClient(app).get("/ping").json() == {"ok": "yes"}


# ------------------------------------------------- pure ASGI, without FastAPI's exception handlers


async def _call(app: BodyLimit, messages: list[Message], headers: list[tuple[bytes, bytes]]) -> list[Message]:
    sent: list[Message] = []
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await app(scope, receive, send)
    return sent


async def _reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
    total = 0
    while True:
        message = await receive()
        total += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(total).encode()})


def test_plain_asgi_streamed_body_over_the_limit_is_answered_by_the_middleware() -> None:
    app = BodyLimit(_reads_everything, max_body_bytes=LIMIT)
    body: list[Message] = [{"type": "http.request", "body": b"x" * 400, "more_body": True} for _ in range(3)]
    sent = asyncio.run(_call(app, body, [(b"transfer-encoding", b"chunked")]))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == TOO_LARGE

    ok: list[Message] = [
        {"type": "http.request", "body": b"x" * 500, "more_body": True},
        {"type": "http.request", "body": b"x" * 500},
    ]
    sent = asyncio.run(_call(app, ok, []))
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"1000"


def test_plain_asgi_declared_length_is_refused_without_calling_the_app() -> None:
    called: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append(True)

    sent = asyncio.run(_call(BodyLimit(app, max_body_bytes=LIMIT), [], [(b"content-length", b"1001")]))
    assert sent[0]["status"] == 413 and called == []
    assert (b"content-type", b"application/json") in sent[0]["headers"]


def test_websockets_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def drop(message: Message) -> None:
        return None

    asyncio.run(BodyLimit(app, max_body_bytes=1)({"type": "websocket", "headers": []}, nothing, drop))
    assert seen == ["websocket"]
