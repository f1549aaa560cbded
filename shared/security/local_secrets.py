"""Secrets generated on a development machine (``python -m scripts.secrets ensure``).

Why a fallback at all: ``./dev`` and the tests start services without copying secrets into every
environment; outside production a service reads what it needs from ``.cache/secrets/`` (git-ignored,
mode 600). In production (``APP_ENV=production``) this fallback is never used: secrets come from the
environment or nothing starts.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def secrets_dir() -> Path:
    return Path(os.environ.get("SECRETS_DIR") or REPO / ".cache" / "secrets")


def production() -> bool:
    return os.environ.get("APP_ENV", "development").strip().lower() == "production"


def read_local(name: str) -> str | None:
    """The content of ``<secrets dir>/<name>`` outside production, else ``None``."""
    if production():
        return None
    path = secrets_dir() / name
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
