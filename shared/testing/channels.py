"""A fake channel for notify's delivery worker: records what it was asked to send, answers as told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from services.notify.domain.delivery import AttemptOutcome, DeliveryResult

Out = TypeVar("Out")


class FakeChannel(Generic[Out]):
    """Implements :class:`services.notify.worker.Sender`: every message is kept in ``sent``; the
    answer is ``answer(message)`` (default: accepted)."""

    def __init__(self, answer: Callable[[Out], DeliveryResult] | None = None) -> None:
        self.sent: list[Out] = []
        self.answer = answer or (lambda _: DeliveryResult(AttemptOutcome.SENT, "250 accepted"))

    async def send(self, out: Out) -> DeliveryResult:
        self.sent.append(out)
        return self.answer(out)
