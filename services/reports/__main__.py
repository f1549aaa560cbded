"""Run the reports service: ``python -m services.reports [--port N]``."""

from __future__ import annotations

import argparse
import os

import uvicorn

from services.reports.app import build
from services.reports.settings import ReportsSettings
from shared.production import refuse_unsafe_start


def main() -> None:
    refuse_unsafe_start("reports")  # production: no missing or development secret; before anything connects
    ap = argparse.ArgumentParser(description="Reports service: read models and operators' console")
    ap.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8003")))
    args = ap.parse_args()
    settings = ReportsSettings()
    app, _runtime = build(settings)
    uvicorn.run(app, host=settings.http_host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()
