"""Opaque links: the token carries nothing; what it grants is the stored record, opened here.

Through the pages too: single use, expiry (with the receipt of what was submitted), revocation,
and a signed link of the former format beside an opaque one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.notify.domain.links import (
    Action,
    Expired,
    LinkClaims,
    Malformed,
    NotOnRecord,
    Revoked,
    WrongRecipient,
)
from services.notify.domain.opaque_links import (
    LinkRecord,
    check_shape,
    is_signed,
    new_token,
    open_record,
    token_digest,
)
from services.notify.pages import PagesDeps, build_pages_router
from tests.unit.notify.test_pages import GOOD_FORM, KEY, NOW, ORIGIN, Fakes, token

TOKEN = "T" * 16 + "o" * 16


def claims(**kw: object) -> LinkClaims:
    args: dict[str, object] = dict(
        token_id="tid-" + "x" * 28,
        recipient_unit_id="u-mttq",
        recipient_role="fatherland_front",
        person_id="p-1",
        decision_id="dec-42",
        action=Action.GIVE_OPINION,
        expires_at=NOW + timedelta(days=5),
    )
    args.update(kw)
    return LinkClaims(**args)  # type: ignore[arg-type]


def test_a_new_token_is_192_random_url_safe_bits_and_tells_nothing() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", t) for t in tokens)
    assert not any(is_signed(t) for t in tokens)
    assert is_signed(token())
    assert token_digest(TOKEN) != TOKEN and len(token_digest(TOKEN)) == 64


@pytest.mark.parametrize("bad", ["", "abc", TOKEN[:-1], TOKEN + "x", "T" * 31 + "=", "T" * 31 + "é"])
def test_a_token_of_the_wrong_shape_is_malformed(bad: str) -> None:
    with pytest.raises(Malformed):
        check_shape(bad)


def test_open_record_grants_what_was_stored() -> None:
    link = open_record(LinkRecord(claims()), NOW, expect_action=Action.GIVE_OPINION)
    assert link.claims == claims() and link.single_use


def test_open_record_refusals() -> None:
    with pytest.raises(NotOnRecord):
        open_record(None, NOW)
    with pytest.raises(Expired) as expired:
        open_record(LinkRecord(claims(expires_at=NOW)), NOW)
    assert expired.value.claims == claims(expires_at=NOW)  # the page can still show the receipt
    with pytest.raises(Revoked):
        open_record(LinkRecord(claims(), revoked=True), NOW)
    with pytest.raises(WrongRecipient):
        open_record(LinkRecord(claims()), NOW, expect_action=Action.MODERATE_PUBLIC_COMMENTS)
    with pytest.raises(WrongRecipient):
        open_record(LinkRecord(claims()), NOW, expect_decision_id="dec-43")
    with pytest.raises(ValueError):
        open_record(LinkRecord(claims()), NOW.replace(tzinfo=None))


# ---------------------------------------------------------------- through the pages


class StoredLinks(Fakes):
    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, LinkRecord] = {TOKEN: LinkRecord(claims())}
        self.now = NOW

    async def find_link(self, tok: str) -> LinkRecord | None:
        return self.records.get(tok)


@pytest.fixture
def links() -> StoredLinks:
    return StoredLinks()


@pytest.fixture
def client(links: StoredLinks) -> TestClient:
    deps = PagesDeps(
        load_draft=links.load_draft,
        find_submission=links.find_submission,
        submit_opinion=links.submit_opinion,
        secret_keys={"k1": KEY.secret},
        now=lambda: links.now,
        link_on_record=links.link_on_record,
        allowed_origins=frozenset({ORIGIN}),
        find_link=links.find_link,
    )
    app = FastAPI()
    app.include_router(build_pages_router(deps))
    return TestClient(app, raise_server_exceptions=False, headers={"Origin": ORIGIN})


def test_an_opaque_link_shows_the_form_accepts_once_then_shows_what_was_submitted(
    client: TestClient, links: StoredLinks
) -> None:
    r = client.get(f"/a/{TOKEN}")
    assert r.status_code == 200 and '<form method="post"' in r.text
    assert client.post(f"/a/{TOKEN}", data=GOOD_FORM).status_code == 200
    assert links.submissions[claims().token_id].recipient_unit_id == "u-mttq"
    again = client.post(f"/a/{TOKEN}", data={**GOOD_FORM, "stance": "disagree"})
    assert again.status_code == 409 and links.submit_calls == 1
    view = client.get(f"/a/{TOKEN}")
    assert view.status_code == 200 and "<form" not in view.text and "nguồn kinh phí" in view.text


def test_an_expired_opaque_link_refuses_but_keeps_the_receipt(client: TestClient, links: StoredLinks) -> None:
    assert client.post(f"/a/{TOKEN}", data=GOOD_FORM).status_code == 200
    links.now = NOW + timedelta(days=6)
    assert client.post(f"/a/{TOKEN}", data=GOOD_FORM).status_code == 410
    receipt = client.get(f"/a/{TOKEN}")
    assert receipt.status_code == 200 and "nguồn kinh phí" in receipt.text
    links.submissions.clear()
    assert client.get(f"/a/{TOKEN}").status_code == 410


@pytest.mark.parametrize(
    ("record", "path", "status"),
    [
        (None, "Z" * 32, 403),  # well shaped, never issued
        (None, TOKEN[:20], 400),  # cut short when copied
        (LinkRecord(claims(), revoked=True), TOKEN, 410),
        (LinkRecord(claims(action=Action.MODERATE_PUBLIC_COMMENTS)), TOKEN, 403),
    ],
)
def test_opaque_link_refusals_on_the_page(
    client: TestClient, links: StoredLinks, record: LinkRecord | None, path: str, status: int
) -> None:
    if record is not None:
        links.records[TOKEN] = record
    assert client.get(f"/a/{path}").status_code == status
    assert client.post(f"/a/{path}", data=GOOD_FORM).status_code == status
    assert links.submit_calls == 0


def test_a_signed_link_sent_before_still_works_beside_opaque_ones(
    client: TestClient, links: StoredLinks
) -> None:
    signed = token()
    assert client.get(f"/a/{signed}").status_code == 200
    assert client.post(f"/a/{signed}", data=GOOD_FORM).status_code == 200
    assert client.get(f"/a/{TOKEN}").status_code == 200  # an opaque one, another token id
    expired = token(expires_at=NOW - timedelta(seconds=1))
    assert client.get(f"/a/{expired}").status_code == 410


def test_a_store_failure_while_looking_up_is_a_503_page(links: StoredLinks) -> None:
    async def down(tok: str) -> LinkRecord | None:
        raise ConnectionError("store down")

    deps = PagesDeps(
        load_draft=links.load_draft,
        find_submission=links.find_submission,
        submit_opinion=links.submit_opinion,
        secret_keys={"k1": KEY.secret},
        now=lambda: NOW,
        link_on_record=links.link_on_record,
        allowed_origins=frozenset({ORIGIN}),
        find_link=down,
    )
    app = FastAPI()
    app.include_router(build_pages_router(deps))
    r = TestClient(app, raise_server_exceptions=False).get(f"/a/{TOKEN}")
    assert r.status_code == 503 and "tạm thời" in r.text
