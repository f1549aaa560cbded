"""The catch-up gate opens exactly when every partition reached its start-up end offset."""

from shared.reliability.catchup import CatchUp


def test_opens_when_all_partitions_reach_their_targets() -> None:
    gate = CatchUp("org.events", "g")
    gate.targets = {0: 10, 2: 3}
    gate._check()
    assert not gate.is_open
    gate.observe(0, 9)  # offset 9 is the 10th record
    assert not gate.is_open
    gate.observe(1, 100)  # a partition with nothing to catch up does not matter
    gate.observe(2, 1)
    assert not gate.is_open
    gate.observe(2, 2)
    assert gate.is_open


def test_empty_topic_or_already_committed_group_is_open_at_once() -> None:
    gate = CatchUp("org.events", "g")
    gate._check()
    assert gate.is_open
