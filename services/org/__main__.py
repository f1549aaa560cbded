"""Run the org registry service: ``python -m services.org [--port 8001]``."""

from __future__ import annotations

from services.org.app import build
from shared.serve import serve


def main() -> None:
    serve("org", build, default_port=8001, description=__doc__)


if __name__ == "__main__":
    main()
