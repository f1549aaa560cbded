"""Run the reports service: ``python -m services.reports [--port N]``."""

from __future__ import annotations

from services.reports.app import build
from shared.serve import serve


def main() -> None:
    serve(
        "reports", build, default_port=8003, description="Reports service: read models and operators' console"
    )


if __name__ == "__main__":
    main()
