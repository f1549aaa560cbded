"""Run the tasks service: ``python -m services.tasks [--port 8002]``."""

from __future__ import annotations

import argparse
import os

import uvicorn

from services.tasks.app import TasksSettings, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8002")))
    args = parser.parse_args()
    settings = TasksSettings()
    app, _ = build(settings)
    uvicorn.run(app, host=settings.http_host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()
