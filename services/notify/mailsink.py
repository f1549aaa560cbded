"""A local SMTP sink for development and the demo: every message becomes an ``.eml`` file.

``python -m services.notify.mailsink --port 1025 --dir .cache/mail``

Why: the demo and the tests must "click" the links in real e-mails, sent over real SMTP by the
same channel code as in production, without a mail server. One line per mail is printed
(recipient and subject) so an operator watching the terminal sees the flow.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import re
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class EmlWriter:
    """aiosmtpd handler: write each DATA to ``<dir>/<time>-<n>-<rcpt>.eml``."""

    def __init__(self, directory: Path, *, quiet: bool = False) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        rcpt = _SAFE.sub("_", ",".join(envelope.rcpt_tos))[:80]
        path = self.directory / f"{time.time_ns()}-{self.count:05d}-{rcpt}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see a half-written file
        if not self.quiet:
            msg = email.message_from_bytes(data, policy=email.policy.default)
            print(
                f"[mailsink] → {', '.join(envelope.rcpt_tos)} | {msg.get('Subject', '')} | {path.name}",
                flush=True,
            )
        return "250 Message accepted for delivery"


def start_sink(
    directory: Path, *, host: str = "127.0.0.1", port: int = 1025, quiet: bool = False
) -> Controller:
    """Start the sink in a background thread (tests use this); call ``.stop()`` to end it."""
    controller = Controller(EmlWriter(directory, quiet=quiet), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.notify.mailsink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default=".cache/mail")
    args = parser.parse_args(argv)
    controller = start_sink(Path(args.dir), host=args.host, port=args.port)
    print(f"[mailsink] listening on {args.host}:{args.port}, writing to {args.dir}", flush=True)

    async def forever() -> Any:
        await asyncio.Event().wait()

    try:
        asyncio.run(forever())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
