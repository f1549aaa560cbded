"""The action-link pages, through FastAPI's TestClient with fake dependencies."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.notify.domain.links import (
    Action,
    AlreadyUsed,
    NotOnRecord,
    Revoked,
    SigningKey,
    VerifiedLink,
    issue_link,
)
from services.notify.domain.opinion import OpinionForm, Stance, article_field
from services.notify.pages import Article, DraftView, PagesDeps, Submission, build_pages_router

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
KEY = SigningKey("k1", b"k" * 32)
DRAFT = DraftView(
    decision_id="dec-42",
    title="Quyết định về hỗ trợ hộ nghèo bị ảnh hưởng bởi thiên tai",
    issuer_name="UBND tỉnh Kiên Giang",
    version=2,
    deadline=datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
    articles=(
        Article("d1", "Điều 1. Phạm vi điều chỉnh", "Quyết định này quy định <mức hỗ trợ>..."),
        Article("d2", "Điều 2. Đối tượng áp dụng", "Hộ nghèo, hộ cận nghèo."),
    ),
    recipient_unit_name="Ủy ban MTTQ Việt Nam tỉnh Kiên Giang",
)


class Fakes:
    def __init__(self) -> None:
        self.drafts = {DRAFT.decision_id: DRAFT}
        self.submissions: dict[str, Submission] = {}
        self.submit_calls = 0
        self.fail_load = False
        self.race = False
        self.unrecorded: set[str] = set()  # token ids notify never issued (forged with the secret)
        self.revoked: set[str] = set()

    async def link_on_record(self, link: VerifiedLink) -> None:
        if link.token_id in self.unrecorded:
            raise NotOnRecord("forged")
        if link.token_id in self.revoked:
            raise Revoked("revoked")

    async def load_draft(self, decision_id: str) -> DraftView | None:
        if self.fail_load:
            raise ConnectionError("store down")
        return self.drafts.get(decision_id)

    async def find_submission(self, token_id: str) -> Submission | None:
        return self.submissions.get(token_id)

    async def submit_opinion(self, link: VerifiedLink, form: OpinionForm) -> Submission:
        self.submit_calls += 1
        if link.token_id in self.submissions:
            raise AlreadyUsed(token_id=link.token_id)
        sub = Submission(
            token_id=link.token_id,
            decision_id=link.claims.decision_id,
            decision_version=form.draft_version or 0,
            recipient_unit_id=link.claims.recipient_unit_id,
            person_id=link.claims.person_id,
            stance=form.stance,
            general_comment=form.general_comment,
            article_comments=form.article_comments,
            submitted_at=NOW,
        )
        self.submissions[link.token_id] = sub
        if self.race:  # the atomic store saw another submission first
            raise AlreadyUsed(token_id=link.token_id)
        return sub


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


ORIGIN = "http://testserver"
"""The pages' own origin in these tests (TestClient's base URL): every form post names it."""


def make_client(fakes: Fakes, headers: dict[str, str] | None = None) -> TestClient:
    deps = PagesDeps(
        load_draft=fakes.load_draft,
        find_submission=fakes.find_submission,
        submit_opinion=fakes.submit_opinion,
        secret_keys={"k1": KEY.secret},
        now=lambda: NOW,
        link_on_record=fakes.link_on_record,
        allowed_origins=frozenset({ORIGIN}),
    )
    app = FastAPI()
    app.include_router(build_pages_router(deps))
    return TestClient(
        app, raise_server_exceptions=False, headers={"Origin": ORIGIN} if headers is None else headers
    )


@pytest.fixture
def client(fakes: Fakes) -> TestClient:
    return make_client(fakes)


def token(**kw: object) -> str:
    args: dict[str, object] = dict(
        key=KEY,
        recipient_unit_id="u-mttq",
        recipient_role="fatherland_front",
        person_id="p-1",
        decision_id="dec-42",
        action=Action.GIVE_OPINION,
        expires_at=NOW + timedelta(days=5),
    )
    args.update(kw)
    return issue_link(**args).token  # type: ignore[arg-type]


GOOD_FORM = {
    "stance": "agree_with_amendments",
    "draft_version": "2",
    article_field("d2"): "Bổ sung đối tượng là hộ mới thoát nghèo.",
    "general_comment": "Đề nghị nêu rõ nguồn kinh phí.",
}


def test_get_shows_draft_by_article_and_accessible_form(client: TestClient) -> None:
    r = client.get(f"/a/{token()}")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="vi">' in html and 'name="viewport"' in html
    assert "Điều 1. Phạm vi điều chỉnh" in html and "Điều 2. Đối tượng áp dụng" in html
    assert "&lt;mức hỗ trợ&gt;" in html  # escaped
    assert "Hạn gửi ý kiến: 17:00 ngày 05/12/2026 (thứ Bảy)" in html
    assert "<fieldset" in html and "<legend>Ý kiến chung đối với dự thảo (bắt buộc)</legend>" in html
    for label in ("Đồng ý", "Đồng ý có sửa đổi, bổ sung", "Không đồng ý"):
        assert f">{label}</label>" in html
    assert html.count("<textarea") == 3
    assert f'<label class="block" for="f-{article_field("d1")}">' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html  # no external assets
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_happy_path_then_replay_shows_submission(client: TestClient, fakes: Fakes) -> None:
    t = token()
    r = client.post(f"/a/{t}", data=GOOD_FORM)
    assert r.status_code == 200, r.text
    assert "Đã gửi ý kiến thành công" in r.text
    assert "Đồng ý có sửa đổi, bổ sung" in r.text
    assert "Ý kiến về Điều 2. Đối tượng áp dụng" in r.text
    assert "Bổ sung đối tượng là hộ mới thoát nghèo." in r.text
    assert "10:00 ngày 01/12/2026 (thứ Ba)" in r.text
    (sub,) = fakes.submissions.values()
    assert sub.decision_version == 2 and sub.article_comments == (
        ("d2", "Bổ sung đối tượng là hộ mới thoát nghèo."),
    )

    again = client.post(f"/a/{t}", data={**GOOD_FORM, "stance": "disagree", "general_comment": "Đổi ý"})
    assert again.status_code == 409
    assert "Ý kiến đã được gửi" in again.text and "Đồng ý có sửa đổi, bổ sung" in again.text
    assert "Đổi ý" not in again.text
    assert fakes.submit_calls == 1  # never a second submission

    view = client.get(f"/a/{t}")
    assert view.status_code == 200
    assert "Ý kiến đã được gửi trước đó" in view.text and "<form" not in view.text
    assert "Bổ sung đối tượng là hộ mới thoát nghèo." in view.text


def test_concurrent_double_submit_shows_stored(client: TestClient, fakes: Fakes) -> None:
    fakes.race = True
    r = client.post(f"/a/{token()}", data=GOOD_FORM)
    assert r.status_code == 409 and "Nội dung đã ghi nhận" in r.text


def test_missing_stance_reshows_form_422_with_vietnamese_error(client: TestClient, fakes: Fakes) -> None:
    form = {k: v for k, v in GOOD_FORM.items() if k != "stance"}
    r = client.post(f"/a/{token()}", data=form)
    assert r.status_code == 422
    assert "Vui lòng chọn ý kiến chung đối với dự thảo." in r.text
    assert "Chưa gửi được ý kiến" in r.text
    assert '<a href="#stance-0">' in r.text and 'id="stance-0"' in r.text
    assert "Bổ sung đối tượng là hộ mới thoát nghèo." in r.text  # typed text is kept
    assert not fakes.submissions


def test_too_long_comment_and_objection_without_reason(client: TestClient) -> None:
    r = client.post(f"/a/{token()}", data={"stance": "agree", article_field("d1"): "x" * 4001})
    assert r.status_code == 422 and "vượt quá giới hạn 4000 ký tự" in r.text
    r = client.post(f"/a/{token()}", data={"stance": "disagree"})
    assert r.status_code == 422 and "lý do không đồng ý" in r.text
    r = client.post(f"/a/{token()}", data={"stance": "disagree", "general_comment": "<b>Không phù hợp</b>"})
    assert r.status_code == 200 and "&lt;b&gt;Không phù hợp&lt;/b&gt;" in r.text


def test_draft_changed_since_form_was_shown(client: TestClient, fakes: Fakes) -> None:
    fakes.drafts["dec-42"] = replace(DRAFT, version=3)
    r = client.post(f"/a/{token()}", data=GOOD_FORM)
    assert r.status_code == 409 and "phiên bản 3" in r.text and "<form" in r.text
    assert not fakes.submissions


def _tamper(t: str) -> str:
    v, kid, body, sig = t.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["d"] = "dec-other"
    return ".".join([v, kid, base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode(), sig])


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    ("make", "status", "phrase"),
    [
        (lambda: _tamper(token()), 403, "Liên kết đã bị thay đổi"),
        (lambda: token(expires_at=NOW - timedelta(seconds=1)), 410, "Liên kết đã hết hạn"),
        (lambda: "dv1.k1.abc", 400, "Liên kết không đúng định dạng"),
        (lambda: token()[:-5], 400, "Liên kết không đúng định dạng"),
        (lambda: token(key=SigningKey("retired", b"r" * 32)), 404, "Không nhận diện được liên kết"),
        (lambda: token(action=Action.VIEW_ISSUED), 403, "Liên kết không dành cho nội dung này"),
        (lambda: token(decision_id="dec-unknown"), 404, "Không tìm thấy dự thảo"),
    ],
)
def test_rejections_render_vietnamese_page(
    client: TestClient, fakes: Fakes, method: str, make: object, status: int, phrase: str
) -> None:
    t = make()  # type: ignore[operator]
    r = client.get(f"/a/{t}") if method == "get" else client.post(f"/a/{t}", data=GOOD_FORM)
    assert r.status_code == status
    assert phrase in r.text and '<html lang="vi">' in r.text
    assert r.headers["content-type"].startswith("text/html")
    assert not fakes.submissions


def test_expired_link_still_shows_receipt_but_never_accepts(client: TestClient, fakes: Fakes) -> None:
    link = issue_link(
        key=KEY,
        recipient_unit_id="u",
        recipient_role="r",
        person_id="p",
        decision_id="dec-42",
        action=Action.GIVE_OPINION,
        expires_at=NOW - timedelta(hours=1),
    )
    fakes.submissions[link.token_id] = Submission(
        link.token_id, "dec-42", 2, "u", "p", Stance.AGREE, "", (), NOW - timedelta(days=1)
    )
    r = client.get(f"/a/{link.token}")
    assert r.status_code == 200 and "Ý kiến đã được gửi trước đó" in r.text and "<form" not in r.text
    assert client.post(f"/a/{link.token}", data=GOOD_FORM).status_code == 410


def test_dependency_failure_is_a_vietnamese_503_not_a_500(client: TestClient, fakes: Fakes) -> None:
    fakes.fail_load = True
    r = client.get(f"/a/{token()}")
    assert r.status_code == 503 and "Hệ thống tạm thời gián đoạn" in r.text


def test_too_many_fields_is_400(client: TestClient) -> None:
    data = {f"f{i}": "x" for i in range(100)}
    r = client.post(f"/a/{token()}", data={**GOOD_FORM, **data})
    assert r.status_code == 400 and "Không đọc được nội dung gửi" in r.text


def _token_id(tok: str) -> str:
    from services.notify.domain.links import verify

    return verify(tok, NOW, {"k1": KEY.secret}).token_id


def test_a_validly_signed_link_that_notify_never_issued_is_refused(client: TestClient, fakes: Fakes) -> None:
    forged = token()
    fakes.unrecorded.add(_token_id(forged))
    for response in (
        client.get(f"/a/{forged}"),
        client.post(f"/a/{forged}", data={"stance": "agree", "draft_version": "2"}),
    ):
        assert response.status_code == 403
        assert "không do hệ thống cấp" in response.text
    assert fakes.submit_calls == 0


def test_a_revoked_link_answers_410_and_records_nothing(client: TestClient, fakes: Fakes) -> None:
    tok = token()
    fakes.revoked.add(_token_id(tok))
    assert client.get(f"/a/{tok}").status_code == 410
    response = client.post(f"/a/{tok}", data={"stance": "agree", "draft_version": "2"})
    assert response.status_code == 410
    assert "thu hồi" in response.text
    assert fakes.submit_calls == 0


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        pytest.param({"Origin": "https://evil.example"}, "origin_mismatch", id="other-origin"),
        pytest.param({"Origin": "null"}, "origin_mismatch", id="null-origin"),
        pytest.param({"Origin": "http://testserver:8080"}, "origin_mismatch", id="other-port"),
        pytest.param({"Origin": "https://testserver"}, "origin_mismatch", id="other-scheme"),
        pytest.param({"Referer": "https://evil.example/a/x"}, "referer_mismatch", id="other-referer"),
        pytest.param({}, "origin_missing", id="neither"),
    ],
)
def test_cross_origin_or_unattributed_opinion_post_is_refused_and_records_nothing(
    fakes: Fakes, headers: dict[str, str], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    t = token()
    r = make_client(fakes, headers).post(f"/a/{t}", data=GOOD_FORM)
    assert r.status_code == 403
    assert "Yêu cầu không hợp lệ: nguồn gửi biểu mẫu không khớp." in r.text
    assert '<html lang="vi">' in r.text and r.headers["cache-control"] == "no-store"
    assert fakes.submit_calls == 0 and not fakes.submissions
    line = next(rec for rec in caplog.records if rec.getMessage().startswith("form post refused"))
    assert line.why == why and line.what == "POST /a/{token}"  # type: ignore[attr-defined]
    assert line.who == "u-mttq/p-1 from testclient" and line.decision_id == "dec-42"  # type: ignore[attr-defined]
    assert t not in caplog.text
    # the link still works from its own page afterwards
    assert make_client(fakes).post(f"/a/{t}", data=GOOD_FORM).status_code == 200


def test_opinion_post_with_our_referer_and_no_origin_is_accepted(fakes: Fakes) -> None:
    t = token()
    r = make_client(fakes, {"Referer": f"{ORIGIN}/a/{t}"}).post(f"/a/{t}", data=GOOD_FORM)
    assert r.status_code == 200 and fakes.submit_calls == 1


def test_a_forged_token_posted_cross_origin_is_refused_without_naming_anyone(
    fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    r = make_client(fakes, {"Origin": "https://evil.example"}).post("/a/not-a-token", data=GOOD_FORM)
    assert r.status_code == 403
    line = next(rec for rec in caplog.records if rec.getMessage().startswith("form post refused"))
    assert line.who == "testclient"  # type: ignore[attr-defined]
