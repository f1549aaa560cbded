"""The FastAPI app every service starts from.

Why one place: whatever a service serves, its app answers errors in Vietnamese with a stable
code and refuses requests its caller may not make (:mod:`shared.http`, :mod:`shared.access`),
both installed before any route; a service only adds its own routes to the app it gets here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from fastapi import FastAPI

from shared.access.guard import Access
from shared.http import install_error_handlers

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def service_app(
    *,
    title: str,
    lifespan: Lifespan,
    access: Access,
    description: str = "",
    version: str = "0.1.0",
) -> FastAPI:
    """The app with the Vietnamese error handlers, the body limit and ``access`` installed
    (``description`` and ``version`` default to FastAPI's own)."""
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_error_handlers(app)
    access.install(app)
    return app
