"""Run the tasks service: ``python -m services.tasks [--port 8002]``."""

from __future__ import annotations

import argparse
import os

import uvicorn

from services.tasks.app import TasksSettings, build
from shared.production import refuse_unsafe_start


def main() -> None:
    refuse_unsafe_start("tasks")  # production: no missing or development secret; before anything connects
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8002")))
    args = parser.parse_args()
    settings = TasksSettings()
    app, _ = build(settings)
    uvicorn.run(app, host=settings.http_host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()
