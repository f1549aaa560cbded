"""A change of a person's e-mail / phone / webhook is told to the old addresses (masked new values):
what counts as a change, the masks, and the handler's order (read the old addresses, store the
notice, then update the org copy) and its refusals. The deliveries themselves:
tests/integration/test_notify_service.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.notify.domain.contact_change import (
    ContactChange,
    Contacts,
    contact_changes,
    mask_email,
    mask_phone,
    mask_url,
)
from services.notify.org_changes import contact_change_handler
from shared.contract.envelope import Envelope
from shared.contract.events.org import PersonRegistered, PersonUpdated
from shared.orgmodel.replica import OrgReplica
from shared.reliability.errors import PermanentError

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
OLD = Contacts("cnanh@kiengiang.example.vn", "0912 345 678", "https://edoc.kiengiang.example.vn/hook")


def test_masks_show_enough_to_recognise_not_to_learn() -> None:
    assert mask_email("attacker@example.test") == "a***@e***.test"
    assert mask_email("x@localhost") == "x***@l***"
    assert mask_phone("+84 912 345 678") == "********678"
    assert mask_phone("12") == "***12"
    assert mask_url("https://hooks.evil.example/a/b?token=dv1.x") == "https://h***.example/…"
    assert mask_url("http://127.0.0.1:9/x") == "http://1***/…"


def test_only_real_changes_count() -> None:
    assert contact_changes(OLD, OLD) == ()
    same = Contacts("CNAnh@KienGiang.example.vn ", "0912.345.678", "https://edoc.kiengiang.example.vn/hook")
    assert contact_changes(OLD, same) == ()  # case of an e-mail, grouping of a phone
    changes = contact_changes(OLD, Contacts("attacker@example.test", None, OLD.webhook_url))
    assert changes == (
        ContactChange("email", "Thư điện tử", "a***@e***.test"),
        ContactChange("phone", "Số điện thoại", None),
    )
    added = contact_changes(Contacts("a@b.vn"), Contacts("a@b.vn", webhook_url="https://x.example/h"))
    assert added[0].added and added[0].text_vi.endswith("được bổ sung mới là https://x***.example/…")


# ------------------------------------------------------------------------------ the handler


@dataclass
class FakeService:
    """Records what the handler asks notify to send, and what the copy held at that moment."""

    replica: OrgReplica
    now_value: datetime = NOW
    calls: list[dict[str, Any]] = field(default_factory=list)
    settings: Any = field(default_factory=lambda: SimpleNamespace(contact_change_notice_max_age_hours=72.0))
    fail: bool = False

    def now(self) -> datetime:
        return self.now_value

    async def on_contact_changed(
        self, env: Envelope, person_id: str, name: str, before: Contacts, changes: Any, at: datetime
    ) -> None:
        if self.fail:
            raise ConnectionError("store down")
        copy_then = self.replica.registry.people.person(person_id).contacts.email
        self.calls.append(
            {"env": env.id, "before": before, "changes": changes, "at": at, "copy_then": copy_then}
        )


def make() -> tuple[OrgReplica, FakeService, Any]:
    replica = OrgReplica()
    replica.projection.apply(
        PersonRegistered(
            person_id="p.kg.009",
            full_name="Châu Ngọc Ánh",
            email=OLD.email,
            phone=OLD.phone,
            webhook_url=OLD.webhook_url,
        )
    )
    service = FakeService(replica)
    return replica, service, contact_change_handler(replica, service)  # type: ignore[arg-type]


def update(occurred_at: datetime = NOW, **contacts: str | None) -> Envelope:
    values: dict[str, Any] = {
        "email": OLD.email,
        "phone": OLD.phone,
        "webhook_url": OLD.webhook_url,
        **contacts,
    }
    event = PersonUpdated(person_id="p.kg.009", full_name="Châu Ngọc Ánh", **values)
    return Envelope.wrap(event, source="org", occurred_at=occurred_at)


async def test_the_old_addresses_are_read_and_the_notice_stored_before_the_copy_changes() -> None:
    replica, service, handle = make()
    env = update(email="attacker@example.test")
    await handle(env, env.event())
    assert len(service.calls) == 1
    call = service.calls[0]
    assert call["before"] == OLD and call["copy_then"] == OLD.email  # the copy still had the old address
    assert [c.field for c in call["changes"]] == ["email"] and call["at"] == NOW
    assert replica.registry.people.person("p.kg.009").contacts.email == "attacker@example.test"
    await handle(env, env.event())  # redelivered after it was applied: no second notice
    assert len(service.calls) == 1


async def test_a_failure_to_store_the_notice_leaves_the_copy_unchanged_for_the_retry() -> None:
    replica, service, handle = make()
    env = update(phone="0987 654 321")
    service.fail = True
    with pytest.raises(ConnectionError):
        await handle(env, env.event())
    assert replica.registry.people.person("p.kg.009").contacts.phone == OLD.phone
    service.fail = False
    await handle(env, env.event())  # the consumer's retry
    assert service.calls[0]["before"].phone == OLD.phone


async def test_no_notice_without_a_contact_change_for_an_old_change_or_for_a_refused_event() -> None:
    replica, service, handle = make()
    same = update()
    await handle(same, same.event())  # the same values again (e.g. an administrator's confirmation)
    old = update(NOW - timedelta(days=30), email="new@kiengiang.example.vn")
    await handle(old, old.event())  # replayed history
    assert service.calls == []
    assert replica.registry.people.person("p.kg.009").contacts.email == "new@kiengiang.example.vn"
    unknown = Envelope.wrap(PersonUpdated(person_id="p.nobody", full_name="X", email="a@b.vn"), source="org")
    with pytest.raises(PermanentError):
        await handle(unknown, unknown.event())  # the copy dead-letters it; nothing was sent
    invalid = update(email="not-an-address")
    with pytest.raises(PermanentError):
        await handle(invalid, invalid.event())
    assert service.calls == []


async def test_a_new_notify_replaying_history_writes_to_nobody() -> None:
    replica, service, _ = make()
    replaying = True
    handle = contact_change_handler(replica, service, replaying=lambda: replaying)  # type: ignore[arg-type]
    history = update(email="earlier@kiengiang.example.vn")
    await handle(history, history.event())
    assert (
        service.calls == []
        and replica.registry.people.person("p.kg.009").contacts.email == "earlier@kiengiang.example.vn"
    )
    replaying = False  # caught up: what happens from now on is confirmed
    live = update(email="attacker@example.test")
    await handle(live, live.event())
    assert len(service.calls) == 1 and service.calls[0]["before"].email == "earlier@kiengiang.example.vn"
