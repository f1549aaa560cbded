"""A send that never completes is abandoned and the producer replaced (not a relay stopped for ever)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.reliability.faults import is_infrastructure
from shared.reliability.publisher import Publisher


class FakeProducer:
    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.started = self.stopped = False
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = []

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send_and_wait(self, topic: str, value: bytes, *, key: bytes | None, headers: Any) -> None:
        if self.hang:
            await asyncio.Event().wait()  # what the wedged idempotent producer did
        self.sent.append((topic, value, key, headers))


async def test_a_hung_send_times_out_as_an_outage_and_the_next_send_uses_a_new_producer() -> None:
    made: list[FakeProducer] = []

    def make() -> Any:
        made.append(FakeProducer(hang=not made))  # the first one hangs
        return made[-1]

    p = Publisher(make, send_timeout=0.05)
    await p.start()
    with pytest.raises(TimeoutError) as caught:
        await p.send("t", b"v", key=b"k", headers={"dv-event-id": "e1"})
    assert is_infrastructure(caught.value)  # the relay pauses and retries; nothing is isolated
    assert p.replaced == 1
    await p.send("t", b"v", key=b"k", headers={"dv-event-id": "e1"})
    assert len(made) == 2 and made[1].sent and made[1].sent[0][0] == "t"
    assert ("dv-event-id", b"e1") in made[1].sent[0][3]
    await p.stop()
    assert made[0].stopped and made[1].stopped


async def test_sends_that_complete_keep_one_producer() -> None:
    made: list[FakeProducer] = []

    def make() -> Any:
        made.append(FakeProducer(hang=False))
        return made[-1]

    p = Publisher(make, send_timeout=1)
    for i in range(3):
        await p.send("t", str(i).encode(), key=None, headers={})
    assert len(made) == 1 and len(made[0].sent) == 3 and p.replaced == 0
