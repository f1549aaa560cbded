"""How every service process starts: ``python -m services.<name> [--port N]``.

The same four steps in each service: refuse an unsafe production start before anything
connects, read ``--port`` (default ``HTTP_PORT``, else the service's own port), build the
app, then serve it with uvicorn on ``HTTP_HOST`` and the service's own logging.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

import uvicorn
from fastapi import FastAPI

from shared.production import refuse_unsafe_start
from shared.runtime import ServiceRuntime

Build = Callable[[], tuple[FastAPI, ServiceRuntime]]
"""A service's ``build``: its app and runtime, from settings read from the environment."""


def port_of(
    service: str, default_port: int, description: str | None, argv: Sequence[str] | None = None
) -> int:
    """``--port`` from the command line; without it ``HTTP_PORT``, else ``default_port``."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}", description=description)
    parser.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", str(default_port))))
    port: int = parser.parse_args(argv).port
    return port


def serve(
    service: str,
    build: Build,
    *,
    default_port: int,
    description: str | None,
    proxy_headers: bool = True,
) -> None:
    """Run ``service`` until it is stopped (``proxy_headers``: whether uvicorn believes X-Forwarded-*)."""
    refuse_unsafe_start(service)  # production: no missing or development secret; before anything connects
    port = port_of(service, default_port, description)
    app, runtime = build()
    uvicorn.run(app, host=runtime.settings.http_host, port=port, log_config=None, proxy_headers=proxy_headers)
