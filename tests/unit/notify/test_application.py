"""notify's application layer on in-memory stores: envelope in → stored records and outbox envelopes out.

No broker, no store: the handlers, the pages' writes and the delivery worker run on the fakes of
:mod:`shared.testing`, through the same ``unit_of_work.apply`` as in production. Each behaviour is
also checked redelivered (nothing new) and, where notify refuses something, refused.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from services.notify.channels.base import EmailOut
from services.notify.domain.delivery import AttemptOutcome, DeliveryResult, RetryPolicy
from services.notify.domain.links import AlreadyUsed, NotOnRecord, Revoked, VerifiedLink
from services.notify.domain.opinion import OpinionForm, Stance
from services.notify.domain.public_comment import ModerationForm, Outcome, PublicCommentForm
from services.notify.handlers import Notify, decision_handlers
from services.notify.handlers.pages import Pages
from services.notify.pages.deps import ModerationConflict
from services.notify.recipients import NoRecipient
from services.notify.settings import NotifySettings
from services.notify.worker import DeliveryWorker
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import ReminderDue
from shared.reliability.emit import Emitter
from shared.reliability.errors import ConcurrencyConflict
from shared.store import AggregateStore
from shared.testing.channels import FakeChannel
from shared.testing.notify_stores import in_memory_stores, memory_of
from shared.testing.state_store import InMemoryStateStore
from tests.unit.notify._facts import (
    BOARD,
    DECISION,
    FARMERS,
    FRONT,
    NOW,
    Directory,
    consultation,
    contact,
    drafted,
    env,
    issued,
    opinion,
    override,
    public_opened,
    rejected,
)

BASE = "https://dv.example.vn"


class App:
    """notify's application layer on in-memory stores, and what it wrote."""

    def __init__(self, directory: Directory | None = None) -> None:
        self.stores = in_memory_stores()
        self.woken = 0
        self.n = Notify(
            settings=NotifySettings(PUBLIC_BASE_URL=BASE),
            recipients=directory or Directory(),
            stores=self.stores,
            emitter=Emitter("notify"),
            now=lambda: NOW,
            on_outbox=self._wake,
        )
        self.handlers = decision_handlers(self.n)
        self.pages = Pages(self.n)

    def _wake(self) -> None:
        self.woken += 1

    async def handle(self, *envelopes: Envelope) -> None:
        for e in envelopes:
            await self.handlers[e.type](e, e.event())

    def docs(self, kind: str) -> dict[str, dict[str, Any]]:
        store = {
            "drafts": memory_of(self.stores.drafts),
            "links": memory_of(self.stores.links),
            "deliveries": memory_of(self.stores.deliveries),
        }[kind]
        return store.docs

    def deliveries(self) -> list[dict[str, Any]]:
        return [d["state"] for d in self.docs("deliveries").values()]

    def outbox(self) -> list[str]:
        stores: list[InMemoryStateStore] = [memory_of(self.stores.deliveries)]
        pages = self.stores.pages
        stores += [
            s
            for s in (pages.submissions, pages.public_comments, pages.moderations)
            if isinstance(s, InMemoryStateStore)
        ]
        return [e.type for s in stores for e in s.outbox()]

    def snapshot(self) -> tuple[int, ...]:
        return tuple(
            memory_of(s).saves for s in (self.stores.drafts, self.stores.links, self.stores.deliveries)
        )

    async def opened(self, unit_id: str) -> VerifiedLink:
        """The link mailed to ``unit_id``'s person, as the page verifies it."""
        (url,) = {d["case"]["token"] for d in self.deliveries() if d.get("case") and d["unit_id"] == unit_id}
        record = await self.pages.find_link(url)
        assert record is not None
        return VerifiedLink(claims=record.claims, key_id="opaque", verified_at=NOW)


FORM = OpinionForm(stance=Stance.AGREE, general_comment="Nhất trí.", article_comments=(("a1", "Rõ hơn."),))


# ---------------------------------------------------------------------------- consultation


async def test_a_consultation_stores_the_read_model_one_link_and_one_pending_mail_per_consultee() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()))
    (draft,) = app.docs("drafts").values()
    assert draft["state"]["status"] == "consulting" and draft["state"]["seq"] == 2
    links = [d["state"] for d in app.docs("links").values()]
    assert sorted(s["unit_id"] for s in links) == [FARMERS, FRONT]
    assert all(s["url"].startswith(f"{BASE}/a/") and s["action"] == "opinion" for s in links)
    mails = app.deliveries()
    assert sorted((m["unit_id"], m["channel"], m["status"]) for m in mails) == [
        (FARMERS, "email", "pending"),
        (FRONT, "email", "pending"),
    ]
    assert all(m["case"]["decision_id"] == DECISION for m in mails)
    assert app.outbox() == []  # pending deliveries publish nothing until sent


async def test_the_same_envelopes_redelivered_write_nothing_new() -> None:
    app = App()
    first = [env(drafted()), env(consultation())]
    await app.handle(*first)
    before, docs = app.snapshot(), {k: app.docs(k) for k in ("drafts", "links", "deliveries")}
    await app.handle(*first)
    assert app.snapshot() == before
    assert {k: app.docs(k) for k in ("drafts", "links", "deliveries")} == docs


async def test_a_reminder_reuses_the_link_of_the_consultation() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()))
    reminder = ReminderDue(
        decision_id=DECISION,
        seq=3,
        occurred_at=NOW,
        consultee_unit_id=FRONT,
        round=1,
        deadline=NOW,
        message_vi="Nhắc.",
    )
    await app.handle(env(reminder))
    front = [m for m in app.deliveries() if m["unit_id"] == FRONT]
    assert [m["kind"] for m in front] == ["consultation_requested", "reminder"]
    assert front[0]["case"] == front[1]["case"] and len(app.docs("links")) == 2


async def test_nobody_in_charge_is_a_no_recipient_delivery_published_once() -> None:
    vacant = NoRecipient(FARMERS, "Hội Nông dân tỉnh", "Chức vụ đang khuyết.")
    app = App(
        Directory({FRONT: contact("p-front", FRONT), FARMERS: vacant, BOARD: contact("p-board", BOARD)})
    )
    fact = env(consultation())
    await app.handle(env(drafted()), fact)
    (gap,) = [m for m in app.deliveries() if m["unit_id"] == FARMERS]
    assert (gap["status"], gap["channel"], gap["last_error"]) == (
        "no_recipient",
        "none",
        "Chức vụ đang khuyết.",
    )
    assert app.outbox() == ["notify.delivery_failed"] and app.woken == 1
    await app.handle(fact)
    assert app.outbox() == ["notify.delivery_failed"] and app.woken == 1


async def test_a_person_without_any_channel_is_a_no_recipient_too() -> None:
    app = App(Directory({FRONT: contact("p-front", FRONT, email=False), FARMERS: contact("p-f", FARMERS)}))
    await app.handle(env(drafted()), env(consultation()))
    assert sorted(m["status"] for m in app.deliveries()) == ["no_recipient", "pending"]


async def test_issuance_tells_every_consultee_and_the_synthesiser_with_the_override_reason() -> None:
    app = App()
    await app.handle(
        env(drafted()), env(consultation()), env(override(3)), env(issued(4, with_exception=True))
    )
    notices = [m for m in app.deliveries() if m["kind"] == "issued"]
    assert sorted(m["unit_id"] for m in notices) == [BOARD, FARMERS, FRONT]
    assert all("Cấp bách do thiên tai" in m["rendered"]["text"] for m in notices)


async def test_the_public_comment_window_mails_the_moderation_link_to_the_board() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()), env(public_opened(3)))
    (mail,) = [m for m in app.deliveries() if m["kind"] == "public_comment_moderation"]
    assert mail["unit_id"] == BOARD and mail["case"]["action"] == "moderate"
    assert f"{BASE}/gop-y/{DECISION}" in mail["rendered"]["text"]


# ---------------------------------------------------------------------------- the pages' writes


async def test_an_opinion_is_stored_once_with_its_request_and_a_second_submit_is_refused() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()))
    link = await app.opened(FRONT)
    stored = await app.pages.submit_opinion(link, FORM)
    assert (stored.token_id, stored.decision_version, stored.stance) == (link.token_id, 1, Stance.AGREE)
    assert app.outbox() == ["decision.opinion_submitted"] and app.woken == 1
    with pytest.raises(AlreadyUsed):
        await app.pages.submit_opinion(link, FORM)
    assert app.outbox() == ["decision.opinion_submitted"]
    assert await app.pages.find_submission(link.token_id) == stored


async def test_the_receipt_then_a_refusal_by_the_workflow_reach_the_person() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()))
    link = await app.opened(FRONT)
    await app.pages.submit_opinion(link, FORM)
    refusal = env(rejected(link.token_id))
    await app.handle(env(opinion(3, "op-1", link.token_id)), refusal, refusal)
    kinds = [m["kind"] for m in app.deliveries() if m["person_id"] == "p-front"]
    assert kinds == ["consultation_requested", "opinion_received", "opinion_not_recorded"]


async def test_an_amended_opinion_is_noted_on_the_receipt_of_the_link_it_replaced() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()))
    link = await app.opened(FRONT)
    await app.pages.submit_opinion(link, FORM)
    await app.handle(env(opinion(3, "op-1", link.token_id)), env(opinion(4, "op-2", None, supersedes="op-1")))
    found = await app.pages.find_submission(link.token_id)
    assert found is not None and found.superseded_note and "Đồng chí p-front" in found.superseded_note


async def test_a_link_not_on_record_or_revoked_is_refused() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()))
    link = await app.opened(FRONT)
    await app.pages.link_on_record(link)
    # a well-signed link naming another person than the one it was issued to
    forged = VerifiedLink(claims=replace(link.claims, person_id="p-farmers"), key_id="k1", verified_at=NOW)
    with pytest.raises(NotOnRecord):
        await app.pages.link_on_record(forged)
    assert await app.pages.revoke_link(link.token_id, "lost phone") is not None
    with pytest.raises(Revoked):
        await app.pages.link_on_record(link)
    assert await app.pages.revoke_link("unknown", "x") is None


async def test_a_public_comment_is_stored_with_its_request() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()), env(public_opened(3)))
    draft = await app.pages.load_public_draft(DECISION)
    assert draft is not None and draft.window_open
    receipt = await app.pages.submit_public_comment(
        draft, PublicCommentForm("Nên tăng mức hỗ trợ.", "a1", None)
    )
    assert receipt.reference and receipt.decision_id == DECISION
    assert app.outbox() == ["decision.public_comment_submitted"]


async def test_a_moderation_is_sent_once_and_another_outcome_for_the_same_comment_is_refused() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()), env(public_opened(3)))
    link = await app.opened(BOARD)
    approve = ModerationForm("c1", Outcome.APPROVED, "")
    first = await app.pages.submit_moderation(link, approve)
    again = await app.pages.submit_moderation(link, approve)
    assert not first.duplicate and again.duplicate and again.request_id == first.request_id
    with pytest.raises(ModerationConflict):
        await app.pages.submit_moderation(link, ModerationForm("c1", Outcome.REJECTED, "spam"))
    assert app.outbox() == ["decision.public_comment_moderation_submitted"]


# ---------------------------------------------------------------------------- the delivery worker


def worker(app: App, email: FakeChannel[EmailOut]) -> DeliveryWorker:
    return DeliveryWorker(
        deliveries=app.stores.deliveries,
        emitter=Emitter("notify"),
        email=email,
        sms=None,
        webhook=None,
        policy=RetryPolicy(max_attempts=1),
        digest_window=timedelta(minutes=5),
        now=lambda: NOW + timedelta(seconds=1),
    )


async def test_the_worker_sends_each_pending_mail_once_and_publishes_it_sent() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation()))
    email: FakeChannel[EmailOut] = FakeChannel()
    w = worker(app, email)
    assert await w.run_once() == 2
    assert await w.run_once() == 0  # sent: nothing due any more
    assert sorted(m.to for m in email.sent) == [
        ("p-farmers@kiengiang.example.vn",),
        ("p-front@kiengiang.example.vn",),
    ]
    assert sorted(m["status"] for m in app.deliveries()) == ["sent", "sent"]
    assert app.outbox() == ["notify.delivery_sent", "notify.delivery_sent"]


async def test_a_refused_mail_is_dead_lettered_and_published_failed() -> None:
    app = App()
    await app.handle(env(drafted()), env(consultation(2, FRONT)))
    refused: FakeChannel[EmailOut] = FakeChannel(
        lambda _: DeliveryResult(AttemptOutcome.PERMANENT_FAILURE, "550 no such user")
    )
    assert await worker(app, refused).run_once() == 1
    (mail,) = app.deliveries()
    assert (mail["status"], mail["last_error"]) == ("dead_lettered", "550 no such user")
    assert app.outbox() == ["notify.delivery_failed"]


# ---------------------------------------------------------------------------- the fake itself


async def test_the_in_memory_state_store_keeps_the_store_s_semantics() -> None:
    s: AggregateStore = InMemoryStateStore("things", inbox_size=2)
    assert await s.save("a", expected_version=0, state={"n": 1}, processed="m1") == 1
    with pytest.raises(ConcurrencyConflict):
        await s.save("a", expected_version=0, state={"n": 2})
    with pytest.raises(ConcurrencyConflict):
        await s.save("a", expected_version=2, state={"n": 2})
    loaded = await s.load("a")
    assert loaded is not None and loaded.has_processed("m1")
    await s.save("a", expected_version=1, state={"n": 2}, processed="m2", inbox=loaded.inbox)
    await s.save("a", expected_version=2, state={"n": 3}, processed="m3", inbox=["m1", "m2"])
    last = await s.load("a")
    assert last is not None and last.inbox == ["m2", "m3"] and last.state == {"n": 3}
    assert await s.load("b") is None
