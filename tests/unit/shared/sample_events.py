"""Event types used only by the tests of the shared primitives."""

from typing import ClassVar

from shared.contract.envelope import Event


class SampleHappened(Event):
    event_type: ClassVar[str] = "test.sample_happened"
    topic: ClassVar[str] = "test.samples"
    subject_field: ClassVar[str] = "sample_id"

    sample_id: str
    amount: int
