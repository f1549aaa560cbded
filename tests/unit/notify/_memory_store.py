"""The documents behind notify's in-memory stores (:mod:`shared.testing`), for assertions."""

from __future__ import annotations

from typing import Any

from shared.store import AggregateStore
from shared.testing.state_store import InMemoryStateStore


def docs_of(store: AggregateStore) -> dict[str, dict[str, Any]]:
    assert isinstance(store, InMemoryStateStore)
    return store.docs
