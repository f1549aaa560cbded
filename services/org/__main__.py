"""Run the org registry service: ``python -m services.org [--port 8001]``."""

from __future__ import annotations

import argparse
import os

import uvicorn

from services.org.app import OrgSettings, build
from shared.production import refuse_unsafe_start


def main() -> None:
    refuse_unsafe_start("org")  # production: no missing or development secret; before anything connects
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8001")))
    args = parser.parse_args()
    settings = OrgSettings()
    app, _ = build(settings)
    uvicorn.run(app, host=settings.http_host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()
