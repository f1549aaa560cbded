"""What every handler of notify is given: its settings, the org copy's answers, the stores, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from services.notify.domain.templates import Renderer
from services.notify.recipients import Recipients
from services.notify.settings import NotifySettings
from services.notify.stores.ports import NotifyStores
from shared.reliability.emit import Emitter


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Notify:
    """The application layer's dependencies (ports and plain values; no PyMongo, no Kafka).

    ``on_delivery`` wakes the delivery worker after a delivery is stored, ``on_outbox`` the relay
    after an envelope is."""

    settings: NotifySettings
    recipients: Recipients
    stores: NotifyStores
    emitter: Emitter
    now: Callable[[], datetime]
    renderer: Renderer = field(default_factory=Renderer)
    on_delivery: Callable[[], None] = _nothing
    on_outbox: Callable[[], None] = _nothing

    def public_url(self, decision_id: str) -> str:
        """The public comment page of a decision."""
        return f"{self.base_url}/gop-y/{quote(decision_id, safe='')}"

    @property
    def base_url(self) -> str:
        return self.settings.public_base_url.rstrip("/")
