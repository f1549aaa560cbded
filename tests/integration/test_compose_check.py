"""`infra/compose-check.sh`: docker-compose.yml is refused without its env file and valid with one.

Needs no broker, only the docker client (the compose plugin is fetched into .cache/tools once).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")
def test_compose_config_fails_without_the_env_file_and_passes_with_it() -> None:
    res = subprocess.run(
        ["bash", str(REPO / "infra" / "compose-check.sh")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "without an env file: refused as it must be (required variable" in out
    assert "with an env file: docker-compose.yml is valid" in out
