"""Run the tasks service: ``python -m services.tasks [--port 8002]``."""

from __future__ import annotations

from services.tasks.app import build
from shared.serve import serve


def main() -> None:
    serve("tasks", build, default_port=8002, description=__doc__)


if __name__ == "__main__":
    main()
