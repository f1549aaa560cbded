"""``scripts.secrets ensure`` run by several scripts at once still pairs every password with its hash.

``infra/up.sh`` starts the broker and the OIDC provider in parallel and both call ``ensure`` on a
fresh checkout; before the lock, CI signed in with a password whose hash another caller had written.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import yaml
from pwdlib import PasswordHash

from scripts import secrets


def _ensure(root: str, go: Any) -> None:
    go.wait()
    secrets.ensure(Path(root))


def test_concurrent_callers_leave_each_password_matching_its_hash(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_ensure, args=(str(tmp_path), go)) for _ in range(4)]
    for p in procs:
        p.start()
    go.set()  # all at once, as the broker's and the provider's start scripts do
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    doc = yaml.safe_load((tmp_path / "accounts.yaml").read_text(encoding="utf-8"))
    hasher = PasswordHash.recommended()
    by_name = {a["username"]: a["password_hash"] for a in doc["accounts"]}
    assert set(by_name) == {a.username for a in secrets.ACCOUNTS}
    for username, hashed in by_name.items():
        assert hasher.verify(secrets.account_password(username, tmp_path), hashed), username
    assert secrets.ensure(tmp_path) == []  # and a later call creates nothing
