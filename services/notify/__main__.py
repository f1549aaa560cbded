"""``python -m services.notify [--port N]`` — run the notify service (HTTP pages + consumers + worker)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from services.notify.app import build
from shared.production import refuse_unsafe_start

PROXY_HEADERS = False
"""uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (its default FORWARDED_ALLOW_IPS)
and hand the pages a forged client address; the pages read it themselves, only from TRUSTED_PROXIES
(services/notify/pages/guard.py)."""


def main() -> None:
    refuse_unsafe_start("notify")  # production: no missing or development secret; before anything connects
    parser = argparse.ArgumentParser(prog="python -m services.notify", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8004")))
    args = parser.parse_args()
    app, runtime = build()
    uvicorn.run(
        app, host=runtime.settings.http_host, port=args.port, log_config=None, proxy_headers=PROXY_HEADERS
    )


if __name__ == "__main__":
    main()
