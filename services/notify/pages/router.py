"""FastAPI router for the pages behind action links: ``GET/POST /a/{token}``.

Why server-rendered HTML without JavaScript: recipients open links on old phones, through
office proxies, often from a commune. The page must work everywhere, be accessible (labels,
fieldset/legend, high contrast, large tap targets) and load nothing from outside — the token is
in the URL, so no third-party request may ever see it (``Referrer-Policy: same-origin``: only our
own pages get the address, strict CSP, no external assets).

A form post must come from one of notify's own origins (``Origin``, else ``Referer``;
:mod:`services.notify.pages.guard`): otherwise 403 and nothing is read or recorded.

Every way a link can be wrong ends on a Vietnamese page with the matching 4xx status, never a
500: malformed 400, tampered / wrong recipient 403, unknown key / unknown draft 404, replay 409,
expired 410. A used link (GET or POST) shows what was submitted and never records twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from services.notify.domain.links import (
    Action,
    AlreadyUsed,
    Expired,
    LinkError,
    UseDecision,
    VerifiedLink,
    WrongRecipient,
    single_use_rule,
)
from services.notify.domain.opinion import (
    GENERAL_FIELD,
    MAX_ARTICLE_COMMENT,
    MAX_GENERAL_COMMENT,
    STANCE_FIELD,
    STANCE_LABELS_VI,
    FieldError,
    OpinionInvalid,
    article_field,
    validate_opinion,
)
from services.notify.domain.vi_time import format_deadline
from services.notify.pages.deps import DraftView, PagesDeps, Submission
from services.notify.pages.guard import CrossOrigin, check_origin, client_address, log_refusal
from services.notify.pages.resolve import resolve_link
from shared.templating import strict_environment

log = logging.getLogger(__name__)

PAGES_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

SECURITY_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    # same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with our own
    # form posts, and the Origin check (pages.guard) could not tell them from a forged post.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

T = TypeVar("T")


class _DraftMissing(LinkError):
    status = 404
    code = "draft_not_found"
    title_vi = "Không tìm thấy dự thảo"
    message_vi = (
        "Không tìm thấy dự thảo gắn với liên kết này; dự thảo có thể đã được thu hồi. "
        "Vui lòng liên hệ cơ quan chủ trì soạn thảo."
    )


class _Unavailable(LinkError):
    status = 503
    code = "unavailable"
    title_vi = "Hệ thống tạm thời gián đoạn"
    message_vi = (
        "Hệ thống tạm thời chưa xử lý được yêu cầu. Ý kiến của đồng chí chưa được ghi nhận; "
        "vui lòng thử lại sau ít phút."
    )


class _BadForm(LinkError):
    status = 400
    code = "bad_form"
    title_vi = "Không đọc được nội dung gửi"
    message_vi = (
        "Không đọc được nội dung biểu mẫu đã gửi (có thể quá nhiều trường hoặc sai định dạng). "
        "Ý kiến chưa được ghi nhận; vui lòng mở lại liên kết và gửi lại."
    )


def page_environment(**page_globals: Any) -> jinja2.Environment:
    """The pages' templates (autoescaped, strict), the ``deadline`` filter and ``page_globals``."""
    env = strict_environment(PAGES_TEMPLATE_DIR, autoescape=True)
    env.filters["deadline"] = format_deadline
    env.globals.update(page_globals)
    return env


def render_page(
    env: jinja2.Environment, name: str, status: int, headers: Mapping[str, str] | None = None, /, **ctx: Any
) -> HTMLResponse:
    """Template ``name`` rendered with ``ctx``, sent with :data:`SECURITY_HEADERS` (and ``headers``
    on top of them): how every page of the link and comment routers answers."""
    html = env.get_template(name).render(**ctx)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def _environment() -> jinja2.Environment:
    return page_environment(
        article_field=article_field,
        stance_labels=STANCE_LABELS_VI,
        STANCE_FIELD=STANCE_FIELD,
        GENERAL_FIELD=GENERAL_FIELD,
        MAX_ARTICLE_COMMENT=MAX_ARTICLE_COMMENT,
        MAX_GENERAL_COMMENT=MAX_GENERAL_COMMENT,
    )


def build_pages_router(deps: PagesDeps) -> APIRouter:
    """The router to include in the notify service's FastAPI app (``app.include_router(...)``)."""
    env = _environment()
    router = APIRouter(tags=["action-link pages"])

    def page(name: str, status: int, **ctx: Any) -> HTMLResponse:
        return render_page(env, name, status, None, **ctx)

    def error_page(
        err: LinkError, submission: Submission | None = None, draft: DraftView | None = None
    ) -> HTMLResponse:
        headings = {a.article_id: a.heading for a in draft.articles} if draft else {}
        label = STANCE_LABELS_VI[submission.stance] if submission else ""
        return page(
            "error.html",
            err.status,
            error=err,
            submission=submission,
            draft=draft,
            headings=headings,
            stance_label=label,
        )

    async def call(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await fn(*args)
        except LinkError:
            raise
        except Exception as exc:
            log.exception("action-link page dependency failed")
            raise _Unavailable(type(exc).__name__) from exc

    def submitted_page(
        submission: Submission, draft: DraftView | None, *, status: int, replay: bool, note: str | None = None
    ) -> HTMLResponse:
        headings = {a.article_id: a.heading for a in draft.articles} if draft else {}
        return page(
            "submitted.html",
            status,
            submission=submission,
            draft=draft,
            headings=headings,
            replay=replay,
            note=note,
            stance_label=STANCE_LABELS_VI[submission.stance],
        )

    def form_page(
        token: str,
        draft: DraftView,
        *,
        status: int = 200,
        errors: tuple[FieldError, ...] = (),
        values: Mapping[str, str] | None = None,
        notice: str | None = None,
    ) -> HTMLResponse:
        return page(
            "form.html",
            status,
            token=token,
            draft=draft,
            errors=errors,
            error_by_field={e.field: e.message_vi for e in errors},
            values=values or {},
            notice=notice,
        )

    async def open_link(token: str) -> VerifiedLink:
        return await resolve_link(token, deps, expect_action=Action.GIVE_OPINION, call=call)

    async def load(link: VerifiedLink) -> DraftView:
        draft = await call(deps.load_draft, link.claims.decision_id)
        if draft is None:
            raise _DraftMissing(link.claims.decision_id)
        if draft.decision_id != link.claims.decision_id:
            raise WrongRecipient("draft id differs from token")
        return draft

    async def expired_receipt(err: Expired) -> HTMLResponse:
        """An expired link still shows what was submitted with it (a receipt), never the form."""
        if err.claims is not None:
            sub = await call(deps.find_submission, err.claims.token_id)
            if sub is not None:
                draft = await call(deps.load_draft, err.claims.decision_id)
                return submitted_page(sub, draft, status=200, replay=True)
        return error_page(err)

    async def used_before(
        link: VerifiedLink, *, wants_submit: bool
    ) -> tuple[Submission, DraftView | None] | None:
        """What was submitted with a used single-use link (and its draft), ``None`` if it may be used."""
        existing = await call(deps.find_submission, link.token_id)
        decision = single_use_rule(link, already_submitted=existing is not None, wants_submit=wants_submit)
        if decision is UseDecision.SHOW_SUBMITTED and existing is not None:
            return existing, await call(deps.load_draft, link.claims.decision_id)
        return None

    @router.get("/a/{token}", response_class=HTMLResponse)
    async def show_link(token: str) -> HTMLResponse:
        try:
            link = await open_link(token)
            seen = await used_before(link, wants_submit=False)
            if seen is not None:
                return submitted_page(*seen, status=200, replay=True)
            return form_page(token, await load(link))
        except Expired as err:
            try:
                return await expired_receipt(err)
            except LinkError as inner:
                return error_page(inner)
        except LinkError as err:
            return error_page(err)

    async def cross_origin(request: Request, token: str, refusal: CrossOrigin) -> HTMLResponse:
        who = client_address(request, deps.trusted_proxies)
        where: dict[str, str] = {}
        try:  # name the link's unit and decision in the log when the token is genuine (never the token)
            claims = (await open_link(token)).claims
            who, where = (
                f"{claims.recipient_unit_id}/{claims.person_id} from {who}",
                {"decision_id": claims.decision_id},
            )
        except LinkError:
            pass
        log_refusal(request, refusal, who, "POST /a/{token}", **where)
        return page(
            "error.html",
            refusal.status,
            error=refusal,
            submission=None,
            draft=None,
            headings={},
            stance_label="",
        )

    @router.post("/a/{token}", response_class=HTMLResponse)
    async def submit_link(token: str, request: Request) -> HTMLResponse:
        refusal = check_origin(request, deps.allowed_origins)
        if refusal is not None:
            return await cross_origin(request, token, refusal)
        try:
            link = await open_link(token)
            seen = await used_before(link, wants_submit=True)
            if seen is not None:
                return error_page(AlreadyUsed(token_id=link.token_id), *seen)
            draft = await load(link)
            async with request.form(max_files=0, max_fields=len(draft.articles) + 16) as form:
                raw = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
            try:
                opinion = validate_opinion(raw, [a.article_id for a in draft.articles])
            except OpinionInvalid as invalid:
                return form_page(token, draft, status=422, errors=invalid.errors, values=raw)
            if opinion.draft_version is not None and opinion.draft_version != draft.version:
                notice = (
                    f"Dự thảo vừa được cập nhật từ phiên bản {opinion.draft_version} lên phiên bản "
                    f"{draft.version}. Ý kiến chưa được gửi; vui lòng đọc lại dự thảo và gửi lại ý kiến."
                )
                return form_page(token, draft, status=409, values=raw, notice=notice)
            try:
                stored = await call(deps.submit_opinion, link, opinion)
            except AlreadyUsed as used:
                replayed = await call(deps.find_submission, link.token_id)
                return error_page(used, replayed, draft)
            return submitted_page(stored, draft, status=200, replay=False)
        except Expired as err:
            return error_page(err)
        except LinkError as err:
            return error_page(err)
        except (MultiPartException, StarletteHTTPException) as exc:
            # Unparsable or over-limit form bodies: a 400 page, not a 500.
            log.info("bad form body: %s", exc)
            return error_page(_BadForm(str(exc)))

    return router
