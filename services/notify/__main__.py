"""``python -m services.notify [--port N]`` — run the notify service (HTTP pages + consumers + worker)."""

from __future__ import annotations

from services.notify.app import build
from shared.serve import serve

PROXY_HEADERS = False
"""uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (its default FORWARDED_ALLOW_IPS)
and hand the pages a forged client address; the pages read it themselves, only from TRUSTED_PROXIES
(services/notify/pages/guard.py)."""


def main() -> None:
    serve("notify", build, default_port=8004, description=__doc__, proxy_headers=PROXY_HEADERS)


if __name__ == "__main__":
    main()
