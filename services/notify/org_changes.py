"""``org.person_updated`` in notify: confirm a contact change to the old addresses, then update the copy.

Order (why): the old addresses exist only in notify's org copy, and only until the event is
applied. So the handler reads them first, stores the notice deliveries (ids derived from the
envelope id: a retry writes nothing twice), and only then hands the event to the replica. A crash
in between redelivers the event to a copy that still has the old addresses, and the notice is
found already stored. Every process keeps its own copy and reads the whole topic at each start, so
the same notice is computed by every instance and again after a restart: the ids make it one
delivery. A redelivery within one process after its copy applied it writes nothing.

Nothing is written when the event would be refused by the copy anyway (unknown person, invalid
contact: the replica dead-letters it), when no e-mail / phone / webhook changed (a name change or
a repeat of the same values), while a *new* notify (its database had never seen a start) reads the
registry's history up to where the topic ended at start (``replaying()``: those changes happened
before this notify existed; a restarted notify does confirm the changes it missed while down), or when the change is older than ``CONTACT_CHANGE_NOTICE_MAX_AGE_HOURS``
(nobody should be written to about a change made months ago).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from services.notify.domain.contact_change import Contacts, contact_changes
from shared.contract.envelope import Envelope, Event
from shared.contract.events.org import PersonUpdated
from shared.orgmodel.errors import OrgDomainError
from shared.orgmodel.positions import ContactChannels
from shared.orgmodel.replica import OrgReplica
from shared.reliability.consumer import Handler

if TYPE_CHECKING:
    from services.notify.service import NotifyService

log = logging.getLogger("notify.org_changes")


def contact_change_handler(
    replica: OrgReplica, service: NotifyService, replaying: Callable[[], bool] = lambda: False
) -> Handler:
    """The ``org.person_updated`` handler of notify's org consumer (wraps ``replica.on_event``).
    ``replaying()`` is true while a new notify reads the history that preceded it."""

    async def handle(env: Envelope, event: Event) -> None:
        if isinstance(event, PersonUpdated) and not replaying():
            await _notice(replica, service, env, event)
        await replica.on_event(env, event)

    return handle


async def _notice(replica: OrgReplica, service: NotifyService, env: Envelope, e: PersonUpdated) -> None:
    people = replica.registry.people
    person = people.persons.get(e.person_id)
    if person is None:
        return  # the copy will refuse it (unknown person): nothing to confirm
    try:
        ContactChannels(e.email, e.phone, e.webhook_url)
    except OrgDomainError:
        return  # the copy will refuse it (invalid contact)
    if replica.has_applied(env.id):
        return  # redelivered after it was applied
    old = person.contacts
    before = Contacts(old.email, old.phone, old.webhook_url)
    changes = contact_changes(before, Contacts(e.email, e.phone, e.webhook_url))
    if not changes:
        return
    age = service.now() - env.occurred_at
    limit = timedelta(hours=service.settings.contact_change_notice_max_age_hours)
    if age > limit:
        log.info(
            "contact change too old to confirm",
            extra={"who": e.person_id, "what": env.id, "why": f"older than {limit}"},
        )
        return
    await service.on_contact_changed(env, e.person_id, person.full_name, before, changes, env.occurred_at)
