"""The public comment page and the moderation page, through FastAPI's TestClient with fakes."""

from __future__ import annotations

import base64
import ipaddress
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.notify.domain.links import Action, SigningKey, VerifiedLink, issue_link
from services.notify.domain.public_comment import (
    ARTICLE_FIELD,
    AUTHOR_FIELD,
    HONEYPOT_FIELD,
    TEXT_FIELD,
    ModerationForm,
    Outcome,
    PublicCommentForm,
    moderation_request_id,
    reference_code,
)
from services.notify.pages import (
    Article,
    CommentReceipt,
    ModerationConflict,
    ModerationReceipt,
    ModerationView,
    PublicCommentDeps,
    PublicCommentView,
    PublicDraft,
    build_public_comment_router,
)
from services.notify.rate_limit import MemoryCommentLimiter

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
KEY = SigningKey("k1", b"k" * 32)
DRAFT = PublicDraft(
    decision_id="dec-42",
    title="Quyết định về bồi thường khi thu hồi đất",
    issuer_name="UBND tỉnh Kiên Giang",
    version=1,
    articles=(
        Article("d1", "Điều 1. Phạm vi điều chỉnh", "Quy định mức <bồi thường>..."),
        Article("d2", "Điều 2. Đối tượng áp dụng", "Hộ gia đình có đất bị thu hồi."),
    ),
    closes_at=datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
    window_open=True,
    status="consulting",
    synthesiser_unit_id="kg.bdv",
)
GOOD = {TEXT_FIELD: "Đề nghị nâng mức hỗ trợ tái định cư.", ARTICLE_FIELD: "d2", AUTHOR_FIELD: "Trần Văn B"}


class Fakes:
    def __init__(self) -> None:
        self.drafts: dict[str, PublicDraft] = {DRAFT.decision_id: DRAFT}
        self.comments: list[tuple[PublicDraft, PublicCommentForm]] = []
        self.recorded: list[PublicCommentView] = [
            PublicCommentView("dec-42:pc:1", "Nên bổ sung <hộ thuê nhà>.", "d1", None, NOW),
            PublicCommentView("dec-42:pc:2", "Quảng cáo bán hàng", None, "x", NOW),
        ]
        self.moderations: dict[str, ModerationForm] = {}
        self.moderation_calls = 0
        self.fail = False

    async def load_public_draft(self, decision_id: str) -> PublicDraft | None:
        if self.fail:
            raise ConnectionError("store down")
        return self.drafts.get(decision_id)

    async def submit_public_comment(self, draft: PublicDraft, form: PublicCommentForm) -> CommentReceipt:
        self.comments.append((draft, form))
        rid = f"{len(self.comments):020d}"
        return CommentReceipt(
            rid, reference_code(rid), draft.decision_id, form.text, form.article_id, form.author_ref, NOW
        )

    async def load_moderation(self, decision_id: str) -> ModerationView | None:
        draft = self.drafts.get(decision_id)
        if draft is None:
            return None
        views = []
        for c in self.recorded:
            m = self.moderations.get(c.comment_id)
            views.append(replace(c, sent_outcome=m.outcome, sent_reason=m.reason) if m else c)
        return ModerationView(draft, tuple(views))

    async def link_on_record(self, link: VerifiedLink) -> None:
        if link.token_id in getattr(self, "unrecorded", set()):
            from services.notify.domain.links import NotOnRecord

            raise NotOnRecord("forged")

    async def submit_moderation(self, link: VerifiedLink, form: ModerationForm) -> ModerationReceipt:
        self.moderation_calls += 1
        rid = moderation_request_id(form.comment_id, form.outcome)
        prev = self.moderations.get(form.comment_id)
        if prev is not None:
            if prev.outcome is form.outcome:
                return ModerationReceipt(form.comment_id, form.outcome, rid, duplicate=True)
            raise ModerationConflict(form.comment_id)
        self.moderations[form.comment_id] = form
        return ModerationReceipt(form.comment_id, form.outcome, rid)


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


ORIGIN = "http://testserver"
"""The pages' own origin in these tests (TestClient's base URL): every form post names it."""


def make_client(
    fakes: Fakes,
    *,
    peer: tuple[str, int] = ("testclient", 50000),
    trusted: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    limiter: MemoryCommentLimiter | None = None,
) -> TestClient:
    deps = PublicCommentDeps(
        load_public_draft=fakes.load_public_draft,
        submit_public_comment=fakes.submit_public_comment,
        load_moderation=fakes.load_moderation,
        submit_moderation=fakes.submit_moderation,
        secret_keys={"k1": KEY.secret},
        now=lambda: NOW,
        rate_limiter=limiter or MemoryCommentLimiter(3, timedelta(minutes=10)),
        link_on_record=fakes.link_on_record,
        allowed_origins=frozenset({ORIGIN}),
        trusted_proxies=tuple(ipaddress.ip_network(t) for t in trusted),
    )
    app = FastAPI()
    app.include_router(build_public_comment_router(deps))
    return TestClient(
        app,
        raise_server_exceptions=False,
        client=peer,
        headers={"Origin": ORIGIN} if headers is None else headers,
    )


@pytest.fixture
def client(fakes: Fakes) -> TestClient:
    return make_client(fakes)


def mod_token(**kw: object) -> str:
    args: dict[str, object] = dict(
        key=KEY,
        recipient_unit_id="kg.bdv",
        recipient_role="truong_ban",
        person_id="p-bdv",
        decision_id="dec-42",
        action=Action.MODERATE_PUBLIC_COMMENTS,
        expires_at=NOW + timedelta(days=18),
    )
    args.update(kw)
    return issue_link(**args).token  # type: ignore[arg-type]


def _strict_html(r: object) -> None:
    resp = r  # type: ignore[assignment]
    assert resp.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    assert resp.headers["referrer-policy"] == "same-origin"  # type: ignore[attr-defined]
    assert "default-src 'none'" in resp.headers["content-security-policy"]  # type: ignore[attr-defined]
    assert '<html lang="vi">' in resp.text and "<script" not in resp.text  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- citizen page


def test_public_page_shows_draft_window_and_form(client: TestClient) -> None:
    r = client.get("/gop-y/dec-42")
    assert r.status_code == 200
    _strict_html(r)
    html = r.text
    assert "Điều 1. Phạm vi điều chỉnh" in html and "Hộ gia đình có đất bị thu hồi." in html
    assert "&lt;bồi thường&gt;" in html
    assert "Thời hạn góp ý: đến 17:00 ngày 05/12/2026 (thứ Bảy)" in html
    assert f'name="{TEXT_FIELD}"' in html and 'maxlength="4000"' in html
    assert '<option value="">Góp ý chung cho toàn bộ dự thảo</option>' in html
    assert f'name="{HONEYPOT_FIELD}"' in html and 'tabindex="-1"' in html and 'aria-hidden="true"' in html
    assert f'<label class="block" for="f-{TEXT_FIELD}">' in html
    assert "http://" not in html and "https://" not in html


def test_post_stores_comment_and_shows_receipt(client: TestClient, fakes: Fakes) -> None:
    r = client.post("/gop-y/dec-42", data=GOOD)
    assert r.status_code == 200, r.text
    _strict_html(r)
    assert "Đã nhận góp ý của Quý vị" in r.text
    assert "GY-00000-00000-00000-00001" in r.text
    assert "Điều 2. Đối tượng áp dụng" in r.text and "Đề nghị nâng mức hỗ trợ tái định cư." in r.text
    ((draft, form),) = fakes.comments
    assert draft.decision_id == "dec-42"
    assert form == PublicCommentForm("Đề nghị nâng mức hỗ trợ tái định cư.", "d2", "Trần Văn B")


def test_empty_text_reshows_form_422_in_vietnamese(client: TestClient, fakes: Fakes) -> None:
    r = client.post("/gop-y/dec-42", data={**GOOD, TEXT_FIELD: "   "})
    assert r.status_code == 422
    assert "Chưa gửi được góp ý, vui lòng kiểm tra lại" in r.text
    assert "Vui lòng nhập nội dung góp ý." in r.text
    assert f'<a href="#f-{TEXT_FIELD}">' in r.text
    assert 'value="Trần Văn B"' in r.text  # what was typed is kept
    assert '<option value="d2" selected>' in r.text
    assert not fakes.comments


def test_too_long_text_is_422(client: TestClient, fakes: Fakes) -> None:
    r = client.post("/gop-y/dec-42", data={TEXT_FIELD: "x" * 4001})
    assert r.status_code == 422 and "vượt quá giới hạn 4000 ký tự" in r.text
    assert not fakes.comments


def test_honeypot_filled_is_refused(client: TestClient, fakes: Fakes) -> None:
    r = client.post("/gop-y/dec-42", data={**GOOD, HONEYPOT_FIELD: "http://spam.example"})
    assert r.status_code == 400
    _strict_html(r)
    assert "Không ghi nhận được góp ý" in r.text
    assert not fakes.comments


def test_rate_limit_per_address_is_429(client: TestClient, fakes: Fakes) -> None:
    for _ in range(3):
        assert client.post("/gop-y/dec-42", data=GOOD).status_code == 200
    r = client.post("/gop-y/dec-42", data=GOOD)
    assert r.status_code == 429 and "Gửi quá nhiều góp ý" in r.text
    assert r.headers["retry-after"] == "600"
    assert len(fakes.comments) == 3


def test_forged_x_forwarded_for_does_not_reset_the_limit(fakes: Fakes) -> None:
    c = make_client(fakes, peer=("198.51.100.7", 40000))
    for i in range(3):
        r = c.post("/gop-y/dec-42", data=GOOD, headers={"X-Forwarded-For": f"10.9.8.{i}"})
        assert r.status_code == 200
    r = c.post("/gop-y/dec-42", data=GOOD, headers={"X-Forwarded-For": "10.9.8.200"})
    assert r.status_code == 429  # the socket peer counts: no proxy is trusted
    assert len(fakes.comments) == 3


def test_behind_a_trusted_proxy_the_forwarded_client_counts(fakes: Fakes) -> None:
    c = make_client(fakes, peer=("10.0.0.2", 40000), trusted=("10.0.0.0/24",))
    for _ in range(3):
        assert (
            c.post("/gop-y/dec-42", data=GOOD, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 200
        )
    assert c.post("/gop-y/dec-42", data=GOOD, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    # another citizen behind the same proxy is not limited ...
    assert c.post("/gop-y/dec-42", data=GOOD, headers={"X-Forwarded-For": "203.0.113.6"}).status_code == 200
    # ... and a client-supplied left-most entry does not help: the proxy appends the real peer
    forged = c.post("/gop-y/dec-42", data=GOOD, headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.5"})
    assert forged.status_code == 429


def test_a_failed_store_gives_the_slot_back(fakes: Fakes) -> None:
    limiter = MemoryCommentLimiter(1, timedelta(minutes=10))
    c = make_client(fakes, limiter=limiter)

    async def down(draft: PublicDraft, form: PublicCommentForm) -> CommentReceipt:
        raise ConnectionError("store down")

    good = fakes.submit_public_comment
    fakes.submit_public_comment = down  # type: ignore[method-assign]
    c2 = make_client(fakes, limiter=limiter)
    assert c2.post("/gop-y/dec-42", data=GOOD).status_code == 503
    fakes.submit_public_comment = good  # type: ignore[method-assign]
    assert make_client(fakes, limiter=limiter).post("/gop-y/dec-42", data=GOOD).status_code == 200
    assert c.post("/gop-y/dec-42", data=GOOD).status_code == 429


CROSS_ORIGIN_CASES = [
    pytest.param({"Origin": "https://evil.example"}, "origin_mismatch", id="other-origin"),
    pytest.param({"Origin": "null"}, "origin_mismatch", id="null-origin"),
    pytest.param({"Origin": "http://testserver.evil.example"}, "origin_mismatch", id="look-alike"),
    pytest.param({"Referer": "https://evil.example/gop-y/dec-42"}, "referer_mismatch", id="other-referer"),
    pytest.param({}, "origin_missing", id="neither"),
]


@pytest.mark.parametrize(("headers", "why"), CROSS_ORIGIN_CASES)
def test_cross_origin_or_unattributed_comment_is_refused_and_changes_nothing(
    fakes: Fakes, headers: dict[str, str], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = MemoryCommentLimiter(3, timedelta(minutes=10))
    c = make_client(fakes, headers=headers, limiter=limiter)
    r = c.post("/gop-y/dec-42", data=GOOD)
    assert r.status_code == 403
    _strict_html(r)
    assert "Yêu cầu không hợp lệ: nguồn gửi biểu mẫu không khớp." in r.text
    assert not fakes.comments and not limiter.counts
    line = next(rec for rec in caplog.records if rec.getMessage().startswith("form post refused"))
    assert line.why == why and line.what == "POST /gop-y/{decision_id}" and line.who == "testclient"  # type: ignore[attr-defined]


def test_referer_of_our_own_page_is_accepted_without_origin(fakes: Fakes) -> None:
    c = make_client(fakes, headers={"Referer": f"{ORIGIN}/gop-y/dec-42"})
    assert c.post("/gop-y/dec-42", data=GOOD).status_code == 200
    assert len(fakes.comments) == 1


@pytest.mark.parametrize(("headers", "why"), CROSS_ORIGIN_CASES)
def test_cross_origin_moderation_is_refused_and_changes_nothing(
    fakes: Fakes, headers: dict[str, str], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    t = mod_token()
    r = make_client(fakes, headers=headers).post(
        f"/kiem-duyet/{t}", data={"comment_id": "dec-42:pc:1", "outcome": "approved"}
    )
    assert r.status_code == 403
    _strict_html(r)
    assert "Yêu cầu không hợp lệ: nguồn gửi biểu mẫu không khớp." in r.text
    assert fakes.moderation_calls == 0 and not fakes.moderations
    line = next(rec for rec in caplog.records if rec.getMessage().startswith("form post refused"))
    assert line.why == why and line.what == "POST /kiem-duyet/{token}"  # type: ignore[attr-defined]
    assert line.who.startswith("kg.bdv/p-bdv from ")  # type: ignore[attr-defined]
    assert t not in caplog.text


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    ("change", "decision_id", "status", "phrase"),
    [
        ({}, "dec-unknown", 404, "Không tìm thấy dự thảo"),
        ({"closes_at": None, "window_open": False}, "dec-42", 404, "Dự thảo không lấy ý kiến nhân dân"),
        ({"window_open": False}, "dec-42", 410, "Đã hết thời hạn lấy ý kiến nhân dân"),
        ({"closes_at": NOW}, "dec-42", 410, "Đã hết thời hạn lấy ý kiến nhân dân"),  # closed by the clock
        ({"status": "issued"}, "dec-42", 410, "Đã hết thời hạn lấy ý kiến nhân dân"),
        ({"status": "withdrawn"}, "dec-42", 410, "Dự thảo đã được rút"),
    ],
)
def test_public_refusals(
    client: TestClient,
    fakes: Fakes,
    method: str,
    change: dict[str, object],
    decision_id: str,
    status: int,
    phrase: str,
) -> None:
    fakes.drafts["dec-42"] = replace(DRAFT, **change)  # type: ignore[arg-type]
    url = f"/gop-y/{decision_id}"
    r = client.get(url) if method == "get" else client.post(url, data=GOOD)
    assert r.status_code == status
    _strict_html(r)
    assert phrase in r.text
    assert not fakes.comments


def test_store_down_is_503_not_500(client: TestClient, fakes: Fakes) -> None:
    fakes.fail = True
    r = client.get("/gop-y/dec-42")
    assert r.status_code == 503 and "Hệ thống tạm thời gián đoạn" in r.text


def test_too_many_fields_is_400(client: TestClient) -> None:
    r = client.post("/gop-y/dec-42", data={**GOOD, **{f"f{i}": "x" for i in range(40)}})
    assert r.status_code == 400 and "Không đọc được nội dung gửi" in r.text


# ----------------------------------------------------------------------------- moderation page


def test_moderation_page_lists_comments_with_forms(client: TestClient) -> None:
    r = client.get(f"/kiem-duyet/{mod_token()}")
    assert r.status_code == 200
    _strict_html(r)
    html = r.text
    assert "Kiểm duyệt góp ý của nhân dân" in html
    assert "Nên bổ sung &lt;hộ thuê nhà&gt;." in html and "Quảng cáo bán hàng" in html
    assert "Góp ý số 1 – Điều 1. Phạm vi điều chỉnh" in html
    assert html.count('value="approved"') == 2 and html.count('value="rejected"') == 2
    assert "chờ kiểm duyệt: 2" in html


def test_approve_then_double_click_sends_once(client: TestClient, fakes: Fakes) -> None:
    t = mod_token()
    form = {"comment_id": "dec-42:pc:1", "outcome": "approved"}
    r = client.post(f"/kiem-duyet/{t}", data=form)
    assert r.status_code == 200, r.text
    assert "Đã gửi kết quả kiểm duyệt “Chấp nhận” cho góp ý dec-42:pc:1." in r.text
    assert "đang chờ hệ thống ghi nhận" in r.text
    again = client.post(f"/kiem-duyet/{t}", data=form)
    assert again.status_code == 200 and "đã được gửi trước đó" in again.text
    assert list(fakes.moderations) == ["dec-42:pc:1"]
    assert fakes.moderations["dec-42:pc:1"].outcome is Outcome.APPROVED


def test_reject_requires_reason(client: TestClient, fakes: Fakes) -> None:
    t = mod_token()
    r = client.post(
        f"/kiem-duyet/{t}", data={"comment_id": "dec-42:pc:2", "outcome": "rejected", "reason": ""}
    )
    assert r.status_code == 422 and "Không chấp nhận góp ý phải nêu lý do." in r.text
    assert not fakes.moderations
    ok = client.post(
        f"/kiem-duyet/{t}", data={"comment_id": "dec-42:pc:2", "outcome": "rejected", "reason": "Quảng cáo"}
    )
    assert ok.status_code == 200 and "Không chấp nhận" in ok.text
    assert fakes.moderations["dec-42:pc:2"].reason == "Quảng cáo"


def test_other_outcome_after_moderation_is_409(client: TestClient, fakes: Fakes) -> None:
    t = mod_token()
    client.post(f"/kiem-duyet/{t}", data={"comment_id": "dec-42:pc:1", "outcome": "approved"})
    r = client.post(
        f"/kiem-duyet/{t}", data={"comment_id": "dec-42:pc:1", "outcome": "rejected", "reason": "x"}
    )
    assert r.status_code == 409 and "đã được kiểm duyệt" in r.text
    fakes.recorded[1] = replace(fakes.recorded[1], outcome=Outcome.APPROVED)
    r = client.post(
        f"/kiem-duyet/{t}", data={"comment_id": "dec-42:pc:2", "outcome": "rejected", "reason": "x"}
    )
    assert r.status_code == 409
    assert fakes.moderation_calls == 1


def test_moderated_fact_shown_as_final(client: TestClient, fakes: Fakes) -> None:
    fakes.recorded[1] = replace(fakes.recorded[1], outcome=Outcome.REJECTED, reason="Nội dung quảng cáo")
    r = client.get(f"/kiem-duyet/{mod_token()}")
    assert "Đã kiểm duyệt: Không chấp nhận</strong>. Lý do: Nội dung quảng cáo" in r.text
    assert r.text.count('value="rejected"') == 1  # only the pending comment keeps its forms
    assert "không chấp nhận: 1" in r.text


def _tamper(t: str) -> str:
    v, kid, body, sig = t.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["d"] = "dec-other"
    return ".".join([v, kid, base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode(), sig])


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    ("make", "status", "phrase"),
    [
        (lambda: _tamper(mod_token()), 403, "Liên kết đã bị thay đổi"),
        (lambda: mod_token(expires_at=NOW - timedelta(seconds=1)), 410, "Liên kết đã hết hạn"),
        (lambda: mod_token(action=Action.GIVE_OPINION), 403, "Liên kết không dành cho nội dung này"),
        (lambda: mod_token(recipient_unit_id="kg.mttq"), 403, "Liên kết không dành cho nội dung này"),
        (lambda: mod_token(decision_id="dec-unknown"), 404, "Không tìm thấy dự thảo"),
        (lambda: "dv1.k1.abc", 400, "Liên kết không đúng định dạng"),
    ],
)
def test_moderation_link_refusals(
    client: TestClient, fakes: Fakes, method: str, make: object, status: int, phrase: str
) -> None:
    t = make()  # type: ignore[operator]
    url = f"/kiem-duyet/{t}"
    r = (
        client.get(url)
        if method == "get"
        else client.post(url, data={"comment_id": "dec-42:pc:1", "outcome": "approved"})
    )
    assert r.status_code == status
    _strict_html(r)
    assert phrase in r.text
    assert not fakes.moderations
