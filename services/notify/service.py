"""notify's application layer as one object: the handlers of decision facts and the pages' reads
and writes, over the stores.

Thin on purpose: the rules live in the pure domain (links, templates, delivery states, the read
model's :func:`services.notify.readmodel.apply`) and in the org domain (who is in charge); the
handlers (:mod:`services.notify.handlers`) only look things up, render and save; the stores
(:mod:`services.notify.stores`) hold every query. This class only wires them together for the
runtime (:mod:`services.notify.app`) and for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from services.notify.domain.opaque_links import LinkRecord
from services.notify.domain.templates import Renderer
from services.notify.handlers import Notify, decision_handlers
from services.notify.handlers.decisions import on_escalated, on_reminder_due
from services.notify.handlers.outbound import NO_RECIPIENT, IssuedLink, ensure_link, opinion_link
from services.notify.handlers.pages import Pages
from services.notify.handlers.public_comment import on_contact_changed
from services.notify.recipients import Recipients
from services.notify.settings import NotifySettings
from services.notify.stores.ports import NotifyStores
from shared.contract.envelope import Envelope, Event
from shared.contract.events.decisions import Escalated, ReminderDue
from shared.reliability.consumer import Handler
from shared.reliability.emit import Emitter
from shared.store import AggregateStore

__all__ = ["NO_RECIPIENT", "IssuedLink", "NotifyService"]


class NotifyService:
    def __init__(
        self,
        *,
        settings: NotifySettings,
        recipients: Recipients,
        stores: NotifyStores,
        emitter: Emitter,
        now: Callable[[], datetime],
        on_delivery: Callable[[], None] = lambda: None,
        on_outbox: Callable[[], None] = lambda: None,
        renderer: Renderer | None = None,
    ) -> None:
        self.n = Notify(
            settings=settings,
            recipients=recipients,
            stores=stores,
            emitter=emitter,
            now=now,
            renderer=renderer or Renderer(),
            on_delivery=on_delivery,
            on_outbox=on_outbox,
        )
        self.settings = settings
        self.recipients = recipients
        self.now = now
        self.pages = Pages(self.n)
        self.on_contact_changed = partial(on_contact_changed, self.n)
        self.ensure_link = partial(ensure_link, self.n)
        self._opinion_link = partial(opinion_link, self.n)

    @property
    def links(self) -> AggregateStore:
        """The links' documents (for operators' tools and tests; handlers use the link store)."""
        return self.n.stores.links.aggregates

    @property
    def deliveries(self) -> AggregateStore:
        return self.n.stores.deliveries.aggregates

    def handlers(self) -> dict[str, Handler]:
        return decision_handlers(self.n)

    async def on_reminder_due(self, env: Envelope, e: Event) -> None:
        assert isinstance(e, ReminderDue)
        await on_reminder_due(self.n, env, e)

    async def on_escalated(self, env: Envelope, e: Event) -> None:
        assert isinstance(e, Escalated)
        await on_escalated(self.n, env, e)

    async def find_link(self, token: str) -> LinkRecord | None:
        return await self.pages.find_link(token)

    async def revoke_link(self, token_id: str, reason: str) -> dict[str, Any] | None:
        return await self.pages.revoke_link(token_id, reason)
