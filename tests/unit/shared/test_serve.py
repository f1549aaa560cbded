"""shared/serve.py: the one way a service process starts."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from shared import serve as serve_module
from shared.runtime import ServiceRuntime
from shared.serve import port_of, serve
from shared.settings import CommonSettings


class _Runtime:
    def __init__(self, host: str) -> None:
        self.settings = CommonSettings.model_validate({"HTTP_HOST": host})


def test_port_from_the_command_line_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "9100")
    assert port_of("org", 8001, None, ["--port", "9200"]) == 9200


def test_port_from_http_port_then_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "9100")
    assert port_of("org", 8001, None, []) == 9100
    monkeypatch.delenv("HTTP_PORT")
    assert port_of("org", 8001, None, []) == 8001


def test_serve_refuses_first_then_builds_and_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []
    app = FastAPI()
    ran: dict[str, Any] = {}

    def refuse(service: str) -> None:
        steps.append(f"refuse:{service}")

    def build() -> tuple[FastAPI, ServiceRuntime]:
        steps.append("build")
        return app, _Runtime("10.0.0.7")  # type: ignore[return-value]

    def run(target: FastAPI, **kwargs: Any) -> None:
        steps.append("run")
        ran.update(kwargs, app=target)

    monkeypatch.setattr(serve_module, "refuse_unsafe_start", refuse)
    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr("sys.argv", ["prog", "--port", "8123"])

    serve("notify", build, default_port=8004, description=None, proxy_headers=False)

    assert steps == ["refuse:notify", "build", "run"]
    assert ran == {"app": app, "host": "10.0.0.7", "port": 8123, "log_config": None, "proxy_headers": False}


def test_serve_believes_proxy_headers_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: dict[str, Any] = {}
    monkeypatch.setattr(serve_module, "refuse_unsafe_start", lambda service: None)
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: ran.update(kwargs))
    monkeypatch.setattr("sys.argv", ["prog"])
    monkeypatch.delenv("HTTP_PORT", raising=False)

    serve("org", lambda: (FastAPI(), _Runtime("127.0.0.1")), default_port=8001, description=None)  # type: ignore[arg-type,return-value]

    assert ran["proxy_headers"] is True
    assert ran["port"] == 8001
