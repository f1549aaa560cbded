"""A minimal service built on the shared primitives, for crash tests.

Run as a subprocess: it consumes ``it.samples.<run>``, adds each sample's
amount to a counter aggregate (state + outbox + processed mark in one write)
and, when ``CRASH_AFTER_EFFECT=1``, kills itself with ``os._exit`` right after
the effect is stored and *before* the offset is committed — the worst moment.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import ClassVar

from shared.contract.envelope import Envelope, Event
from shared.reliability.unit_of_work import Change, apply
from shared.runtime import ServiceRuntime
from shared.store import Stored

RUN_ID = os.environ["IT_RUN_ID"]


class SampleAdded(Event):
    """A sample to count (test only)."""

    event_type: ClassVar[str] = "it.sample_added"
    topic: ClassVar[str] = f"it.samples.{RUN_ID}"
    subject_field: ClassVar[str] = "counter_id"

    counter_id: str
    amount: int


class SampleCounted(Event):
    """Emitted through the outbox for each counted sample (test only)."""

    event_type: ClassVar[str] = "it.sample_counted"
    topic: ClassVar[str] = f"it.counted.{RUN_ID}"
    subject_field: ClassVar[str] = "counter_id"

    counter_id: str
    total: int


async def main() -> None:
    runtime = ServiceRuntime("crashy")
    counters = runtime.store("counters")
    crash = os.environ.get("CRASH_AFTER_EFFECT") == "1"

    async def on_sample(env: Envelope, event: Event) -> None:
        assert isinstance(event, SampleAdded)

        def decide(current: Stored | None) -> Change:
            total = (current.state["total"] if current else 0) + event.amount
            out = runtime.emitter.wrap(SampleCounted(counter_id=event.counter_id, total=total), env)
            return Change(state={"total": total}, outbox=[out])

        await apply(counters, event.counter_id, env.id, decide, on_saved=runtime.relay.wake)
        if crash:
            os._exit(3)

    runtime.subscribe(SampleAdded.topic, {SampleAdded.event_type: on_sample}, group=f"crashy-{RUN_ID}")
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main())
