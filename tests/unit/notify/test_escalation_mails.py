"""One escalation mail per (person, decision, escalation step), with the wording of the role they have.

Measured before: the head of a unit who is also its person in charge of dân vận work received two
mails a second apart for one escalation, the leader's one telling him it "was reported to" the head
of the unit — himself. Also the opaque links the service issues (``/a/<token>``, claims in the store).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.domain.links import Action, SigningKey, issue_link
from services.notify.domain.opaque_links import token_digest
from services.notify.domain.templates import DecisionRef, OverdueEscalated, Recipient, Renderer
from services.notify.recipients import Contact, NoRecipient, Recipients
from services.notify.service import NotifyService
from services.notify.settings import NotifySettings
from shared.contract.envelope import Envelope
from shared.contract.events.decisions import Escalated, ReminderDue
from shared.reliability.emit import Emitter
from shared.testing.notify_stores import in_memory_stores
from tests.unit.notify._memory_store import docs_of

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
UNIT = "kg.hoi_nong_dan"
BASE = "https://dv.example.vn"


def contact(person_id: str, name: str, role: str) -> Contact:
    return Contact(
        person_id=person_id,
        name=name,
        unit_id=UNIT,
        unit_name="Hội Nông dân tỉnh",
        role=role,
        acting_as_substitute=False,
        email=f"{person_id}@hnd.example.vn",
        phone=None,
        webhook_url=None,
    )


HEAD = contact("p-head", "Trần Văn Chủ", "chu_tich")
DEPUTY = contact("p-deputy", "Lê Thị Phó", "pho_chu_tich")


class FakeRecipients(Recipients):
    def __init__(self, in_charge: Contact | NoRecipient, leaders: list[Contact | NoRecipient]) -> None:
        self._in_charge = in_charge
        self._leaders = leaders

    def unit_name(self, unit_id: str, at: datetime) -> str:
        return {UNIT: "Hội Nông dân tỉnh", "kg.tinh_uy": "Tỉnh ủy Kiên Giang"}.get(unit_id, unit_id)

    def in_charge(self, unit_id: str, at: datetime) -> Contact | NoRecipient:
        return self._in_charge

    def escalation(self, unit_id: str, role: str, at: datetime) -> list[Contact | NoRecipient]:
        return list(self._leaders)


def service(in_charge: Contact | NoRecipient, leaders: list[Contact | NoRecipient]) -> NotifyService:
    return NotifyService(
        settings=NotifySettings(PUBLIC_BASE_URL=BASE),
        recipients=FakeRecipients(in_charge, leaders),
        stores=in_memory_stores(),
        emitter=Emitter("notify"),
        now=lambda: NOW,
    )


def escalated(level: int = 1, **kw: Any) -> Envelope:
    fact = Escalated(
        decision_id="dec-42",
        seq=7 + level,
        occurred_at=NOW,
        consultee_unit_id=UNIT,
        round=1,
        level=level,
        deadline=DEADLINE,
        escalate_to_unit_id=UNIT if level == 1 else "kg.tinh_uy",
        escalate_to_kind="organisation" if level == 1 else "party_committee",
        escalate_to_role="head" if level == 1 else "standing_committee",
        message_vi="Quá hạn cho ý kiến.",
        **kw,
    )
    return Envelope.wrap(fact, source="tasks")


async def handle(svc: NotifyService, env: Envelope) -> None:
    await svc.on_escalated(env, env.event())


def mails(svc: NotifyService) -> list[dict[str, Any]]:
    return [d["state"] for d in docs_of(svc.deliveries).values() if d["state"]["channel"] == "email"]


def by_person(svc: NotifyService) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in mails(svc):
        out.setdefault(str(m["person_id"]), []).append(m)
    return out


async def test_a_head_who_is_also_in_charge_gets_one_mail_worded_for_the_leader_with_the_link() -> None:
    svc = service(HEAD, [HEAD])
    await handle(svc, escalated())
    got = by_person(svc)
    assert list(got) == ["p-head"] and len(got["p-head"]) == 1
    text = got["p-head"][0]["rendered"]["text"]
    assert "đã được báo cáo người đứng đầu" not in text  # not told it was reported to himself
    assert "được báo cáo đến đồng chí với tư cách người đứng đầu Hội Nông dân tỉnh" in text
    assert "đồng thời là người phụ trách" in text
    assert f"{BASE}/a/" in text  # he is the one who answers: the link is there
    assert got["p-head"][0]["case"]["unit_id"] == UNIT


async def test_a_head_and_another_person_in_charge_get_one_mail_each_with_their_own_wording() -> None:
    svc = service(DEPUTY, [HEAD])
    await handle(svc, escalated())
    got = by_person(svc)
    assert sorted(got) == ["p-deputy", "p-head"]
    assert [len(v) for v in got.values()] == [1, 1]
    head_text = got["p-head"][0]["rendered"]["text"]
    assert "được báo cáo đến đồng chí" in head_text and f"{BASE}/a/" not in head_text
    assert "case" not in got["p-head"][0]
    deputy_text = got["p-deputy"][0]["rendered"]["text"]
    assert "đã được báo cáo người đứng đầu Hội Nông dân tỉnh" in deputy_text
    assert f"{BASE}/a/" in deputy_text and "báo cáo đến đồng chí" not in deputy_text


async def test_the_same_step_told_twice_writes_no_second_mail_and_the_next_step_writes_one() -> None:
    svc = service(HEAD, [HEAD])
    await handle(svc, escalated())
    await handle(svc, escalated())  # the same step in another envelope (a re-emitted fact)
    assert len(mails(svc)) == 1
    await handle(svc, escalated(level=2))
    assert len(mails(svc)) == 2  # level 2 is another step: one more mail, to the same person here
    assert {m["message_id"].split(":")[4] for m in mails(svc)} == {"1", "2"}


async def test_a_person_listed_twice_among_the_leaders_gets_one_mail() -> None:
    svc = service(DEPUTY, [HEAD, HEAD])
    await handle(svc, escalated(level=2))
    assert sorted(len(v) for v in by_person(svc).values()) == [1, 1]


async def test_nobody_in_charge_still_tells_the_leader_and_records_the_gap() -> None:
    svc = service(NoRecipient(UNIT, "Hội Nông dân tỉnh", "khuyết"), [HEAD])
    await handle(svc, escalated())
    assert list(by_person(svc)) == ["p-head"]
    statuses = [d["state"]["status"] for d in docs_of(svc.deliveries).values()]
    assert statuses.count("no_recipient") == 1


# ---------------------------------------------------------------- opaque links issued by the service


async def test_links_are_opaque_stored_once_and_found_by_their_token() -> None:
    svc = service(DEPUTY, [HEAD])
    first = await svc._opinion_link("dec-42", UNIT, 1, DEPUTY, DEADLINE)
    again = await svc._opinion_link("dec-42", UNIT, 1, DEPUTY, DEADLINE)
    assert first == again  # same URL in every reminder
    token = first.url.rsplit("/a/", 1)[1]
    assert first.url == f"{BASE}/a/{token}" and len(token) == 32 and "." not in token
    assert first.case.token == token and first.case.decision_id == "dec-42" and first.case.unit_id == UNIT
    record = await svc.find_link(token)
    assert record is not None and not record.revoked
    c = record.claims
    assert (c.decision_id, c.recipient_unit_id, c.person_id, c.action) == (
        "dec-42",
        UNIT,
        "p-deputy",
        Action.GIVE_OPINION,
    )
    assert c.expires_at == DEADLINE + timedelta(days=svc.settings.link_grace_days)
    assert c.token_id != token  # the id in events and submissions is not the credential
    stored = next(iter(docs_of(svc.links).values()))
    assert stored["token_hash"] == token_digest(token)  # the look-up key, not the token
    assert await svc.find_link("x" * 32) is None
    await svc.revoke_link(c.token_id, "lost phone")
    revoked = await svc.find_link(token)
    assert revoked is not None and revoked.revoked


async def test_a_signed_link_issued_before_is_reused_as_it_is() -> None:
    svc = service(DEPUTY, [HEAD])
    key = SigningKey("k1", b"k" * 32)
    old = issue_link(
        key=key,
        recipient_unit_id=UNIT,
        recipient_role="pho_chu_tich",
        person_id="p-deputy",
        decision_id="dec-42",
        action=Action.GIVE_OPINION,
        expires_at=DEADLINE,
    )
    await svc.links.save(
        f"dec-42:{UNIT}:1:p-deputy",
        expected_version=0,
        state={
            "token_id": old.token_id,
            "key_id": "k1",
            "url": old.url(BASE),
            "decision_id": "dec-42",
            "unit_id": UNIT,
            "person_id": "p-deputy",
        },
    )
    env = Envelope.wrap(
        ReminderDue(
            decision_id="dec-42",
            seq=5,
            occurred_at=NOW,
            consultee_unit_id=UNIT,
            round=1,
            deadline=DEADLINE,
            message_vi="Nhắc việc.",
        ),
        source="tasks",
    )
    await svc.on_reminder_due(env, env.event())
    (mail,) = mails(svc)
    assert old.url(BASE) in mail["rendered"]["text"]
    assert mail["case"] == {"token": old.token, "decision_id": "dec-42", "unit_id": UNIT, "action": "opinion"}


@pytest.mark.parametrize("action", [Action.MODERATE_PUBLIC_COMMENTS])
async def test_a_moderation_link_is_opaque_under_its_own_path(action: Action) -> None:
    svc = service(DEPUTY, [HEAD])
    link = await svc.ensure_link(
        "dec-42:moderate:kg.bdv:p-deputy",
        action=action,
        decision_id="dec-42",
        unit_id="kg.bdv",
        target=DEPUTY,
        expires_at=DEADLINE,
    )
    token = link.url.rsplit("/kiem-duyet/", 1)[1]
    record = await svc.find_link(token)
    assert record is not None and record.claims.action is action and link.case.action == action.value


def test_the_leader_s_wording_in_every_rendering() -> None:
    ref = DecisionRef("dec-42", "Quyết định hỗ trợ hộ nghèo", "UBND tỉnh Kiên Giang", 1)
    who = Recipient("Trần Văn Chủ", "Hội Nông dân tỉnh")
    m = Renderer().render(
        OverdueEscalated(
            who,
            ref,
            DEADLINE,
            ("Hội Nông dân tỉnh",),
            escalated_to="người đứng đầu Hội Nông dân tỉnh",
            to_leader=True,
        )
    )
    for text in (m.text, m.html or ""):
        assert "báo cáo đến đồng chí với tư cách người đứng đầu Hội Nông dân tỉnh" in text
        assert "đã được báo cáo" not in text
    assert "Báo cáo đồng chí" in m.sms and "Đã báo cáo" not in m.sms
