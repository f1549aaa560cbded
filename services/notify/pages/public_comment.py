"""Public comment pages (lấy ý kiến nhân dân) and the Dân vận board's moderation page.

* ``GET/POST /gop-y/{decision_id}`` — public, no account: a citizen reads the draft by article and
  comments while the window is open. The post is validated (text ≤ 4000 characters, an optional
  article and name / contact), refused if the hidden honeypot field is filled, limited per client
  address (a slot taken atomically in the document store before the comment is stored, see
  :mod:`services.notify.rate_limit`), then stored with its ``decision.public_comment_submitted``
  request in one atomic write and answered with a receipt carrying a reference code. The client
  address only keys the limit (as an HMAC, never in clear). Behind a reverse proxy, list the proxy
  in ``TRUSTED_PROXIES`` so the address is the citizen's (``X-Forwarded-For``), not the proxy's; from
  anyone else ``X-Forwarded-For`` is ignored (:mod:`services.notify.pages.guard`).
* ``GET/POST /kiem-duyet/{token}`` — behind a signed, reusable link
  (:attr:`~services.notify.domain.links.Action.MODERATE_PUBLIC_COMMENTS`) issued to the person in
  charge of the synthesiser unit for one decision: lists the recorded comments with a plain form per
  comment to approve or reject (a reason is required to reject); each post sends
  ``decision.public_comment_moderation_submitted`` (request id deterministic per (comment, outcome)).

Every POST must come from notify's own origin (``Origin``, else ``Referer``): otherwise 403 with
"Yêu cầu không hợp lệ: nguồn gửi biểu mẫu không khớp." and nothing is read or recorded.

Same style as the action-link pages: server-rendered, no JavaScript, Vietnamese, strict headers,
and every failure a Vietnamese page with its 4xx status (unknown or non-public draft 404, window
closed 410, robot 400, too many posts 429, store down 503) — never a 500.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from services.notify.domain.links import Action, LinkError, VerifiedLink, WrongRecipient
from services.notify.domain.opinion import FieldError
from services.notify.domain.public_comment import (
    ARTICLE_FIELD,
    AUTHOR_FIELD,
    COMMENT_ID_FIELD,
    HONEYPOT_FIELD,
    MAX_AUTHOR_REF,
    MAX_COMMENT_TEXT,
    MAX_REJECT_REASON,
    OUTCOME_FIELD,
    REASON_FIELD,
    TEXT_FIELD,
    CommentInvalid,
    HoneypotFilled,
    Outcome,
    validate_moderation,
    validate_public_comment,
)
from services.notify.pages.deps import (
    ModerationConflict,
    ModerationView,
    PublicCommentDeps,
    PublicDraft,
)
from services.notify.pages.guard import CrossOrigin, check_origin, client_address, log_refusal
from services.notify.pages.resolve import resolve_link
from services.notify.pages.router import page_environment, render_page

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_DECISION_ID = 200


class PageError(Exception):
    """A refusal shown as a Vietnamese page with ``status`` (same shape as :class:`LinkError`)."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "page_error"
    title_vi: ClassVar[str] = "Không thực hiện được yêu cầu"
    message_vi: ClassVar[str] = "Không thực hiện được yêu cầu."


class DecisionUnknown(PageError):
    status = 404
    code = "decision_not_found"
    title_vi = "Không tìm thấy dự thảo"
    message_vi = (
        "Không tìm thấy dự thảo văn bản theo địa chỉ này. Vui lòng kiểm tra lại đường dẫn "
        "được công bố trên cổng thông tin của cơ quan soạn thảo."
    )


class NotPublic(PageError):
    status = 404
    code = "not_open_for_public_comment"
    title_vi = "Dự thảo không lấy ý kiến nhân dân"
    message_vi = (
        "Dự thảo này không được công bố để lấy ý kiến nhân dân (hoặc chưa đến thời gian lấy ý kiến). "
        "Vui lòng kiểm tra lại đường dẫn."
    )


class WindowClosed(PageError):
    status = 410
    code = "public_comment_closed"
    title_vi = "Đã hết thời hạn lấy ý kiến nhân dân"
    message_vi = (
        "Thời hạn lấy ý kiến nhân dân đối với dự thảo này đã kết thúc; hệ thống không nhận thêm góp ý. "
        "Cảm ơn Quý vị đã quan tâm."
    )


class DraftWithdrawn(PageError):
    status = 410
    code = "decision_withdrawn"
    title_vi = "Dự thảo đã được rút"
    message_vi = "Cơ quan soạn thảo đã rút dự thảo này; hệ thống không nhận góp ý."


class RobotSuspected(PageError):
    status = 400
    code = "refused"
    title_vi = "Không ghi nhận được góp ý"
    message_vi = (
        "Hệ thống không ghi nhận góp ý này vì biểu mẫu có ô ẩn đã bị điền (thường do phần mềm tự động). "
        "Nếu Quý vị gửi góp ý thật, vui lòng mở lại trang, nhập nội dung và gửi lại."
    )


class TooMany(PageError):
    status = 429
    code = "rate_limited"
    title_vi = "Gửi quá nhiều góp ý trong thời gian ngắn"
    message_vi = (
        "Từ địa chỉ mạng này đã có nhiều góp ý được gửi trong thời gian ngắn. "
        "Góp ý vừa rồi chưa được ghi nhận; vui lòng thử lại sau ít phút."
    )


class Unavailable(PageError):
    status = 503
    code = "unavailable"
    title_vi = "Hệ thống tạm thời gián đoạn"
    message_vi = "Hệ thống tạm thời chưa xử lý được yêu cầu. Nội dung chưa được ghi nhận; vui lòng thử lại sau ít phút."


class BadForm(PageError):
    status = 400
    code = "bad_form"
    title_vi = "Không đọc được nội dung gửi"
    message_vi = (
        "Không đọc được nội dung biểu mẫu đã gửi (có thể quá nhiều trường hoặc sai định dạng). "
        "Nội dung chưa được ghi nhận; vui lòng mở lại trang và gửi lại."
    )


class ModerationDraftMissing(PageError):
    status = 404
    code = "draft_not_found"
    title_vi = "Không tìm thấy dự thảo"
    message_vi = (
        "Không tìm thấy dự thảo gắn với liên kết kiểm duyệt này, hoặc dự thảo không lấy ý kiến nhân dân."
    )


class AlreadyModerated(PageError):
    status = 409
    code = "already_moderated"
    title_vi = "Góp ý đã được kiểm duyệt"
    message_vi = "Góp ý này đã được kiểm duyệt với kết quả khác; kết quả đã gửi không thay đổi."


def _environment() -> jinja2.Environment:
    return page_environment(
        ARTICLE_FIELD=ARTICLE_FIELD,
        AUTHOR_FIELD=AUTHOR_FIELD,
        TEXT_FIELD=TEXT_FIELD,
        HONEYPOT_FIELD=HONEYPOT_FIELD,
        COMMENT_ID_FIELD=COMMENT_ID_FIELD,
        OUTCOME_FIELD=OUTCOME_FIELD,
        REASON_FIELD=REASON_FIELD,
        MAX_COMMENT_TEXT=MAX_COMMENT_TEXT,
        MAX_AUTHOR_REF=MAX_AUTHOR_REF,
        MAX_REJECT_REASON=MAX_REJECT_REASON,
    )


def build_public_comment_router(deps: PublicCommentDeps) -> APIRouter:
    """The router to include in the notify app beside :func:`build_pages_router`."""
    env = _environment()
    router = APIRouter(tags=["public comment pages"])

    def page(name: str, status: int, headers: Mapping[str, str] | None = None, **ctx: Any) -> HTMLResponse:
        return render_page(env, name, status, headers, **ctx)

    def public_error(
        err: PageError | CrossOrigin,
        draft: PublicDraft | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        return page("public_error.html", err.status, headers, error=err, draft=draft)

    def link_error(err: LinkError | PageError | CrossOrigin) -> HTMLResponse:
        return page(
            "error.html", err.status, error=err, submission=None, draft=None, headings={}, stance_label=""
        )

    async def call(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await fn(*args)
        except (PageError, LinkError, ModerationConflict):
            raise
        except Exception as exc:
            log.exception("public comment page dependency failed")
            raise Unavailable(type(exc).__name__) from exc

    async def open_draft(decision_id: str) -> PublicDraft:
        """The draft if its public comment window is open now, else the precise refusal."""
        if not decision_id or len(decision_id) > MAX_DECISION_ID:
            raise DecisionUnknown(decision_id[:MAX_DECISION_ID])
        draft = await call(deps.load_public_draft, decision_id)
        if draft is None:
            raise DecisionUnknown(decision_id)
        if draft.status == "withdrawn":
            raise DraftWithdrawn(decision_id)
        if draft.closes_at is None:
            raise NotPublic(decision_id)
        if not draft.window_open or deps.now() >= draft.closes_at or draft.status == "issued":
            raise WindowClosed(decision_id)
        return draft

    def form_page(
        draft: PublicDraft,
        *,
        status: int = 200,
        errors: tuple[FieldError, ...] = (),
        values: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        return page(
            "public_form.html",
            status,
            draft=draft,
            errors=errors,
            error_by_field={e.field: e.message_vi for e in errors},
            values=values or {},
        )

    @router.get("/gop-y/{decision_id}", response_class=HTMLResponse)
    async def show_public(decision_id: str) -> HTMLResponse:
        try:
            return form_page(await open_draft(decision_id))
        except PageError as err:
            draft = None
            if isinstance(err, WindowClosed):
                draft = await _quiet(deps.load_public_draft, decision_id)
            return public_error(err, draft)

    def too_many(draft: PublicDraft, client: str, wait: timedelta) -> HTMLResponse:
        seconds = max(1, math.ceil(wait.total_seconds()))
        log.info(
            "public comment refused: rate limit",
            extra={"who": client, "what": f"POST /gop-y/{draft.decision_id}", "why": "rate_limited"},
        )
        return public_error(TooMany(client), draft, {"Retry-After": str(seconds)})

    @router.post("/gop-y/{decision_id}", response_class=HTMLResponse)
    async def submit_public(decision_id: str, request: Request) -> HTMLResponse:
        client = client_address(request, deps.trusted_proxies)
        refusal = check_origin(request, deps.allowed_origins)
        if refusal is not None:
            log_refusal(request, refusal, client, "POST /gop-y/{decision_id}", decision_id=decision_id[:200])
            return public_error(refusal)
        try:
            draft = await open_draft(decision_id)
            async with request.form(max_files=0, max_fields=16) as form:
                raw = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
            now = deps.now()
            try:
                comment = validate_public_comment(raw, [a.article_id for a in draft.articles])
            except HoneypotFilled:
                # a robot's post takes a slot of its address too
                wait = await call(deps.rate_limiter.acquire, client, now)
                if wait is not None:
                    return too_many(draft, client, wait)
                log.info("public comment refused: honeypot filled", extra={"decision_id": decision_id})
                return public_error(RobotSuspected(), draft)
            except CommentInvalid as invalid:
                return form_page(draft, status=422, errors=invalid.errors, values=raw)
            # the slot is taken before the comment is stored: atomic, so concurrent posts cannot overrun
            wait = await call(deps.rate_limiter.acquire, client, now)
            if wait is not None:
                return too_many(draft, client, wait)
            try:
                receipt = await call(deps.submit_public_comment, draft, comment)
            except PageError:
                await _quiet_release(deps, client, now)  # not stored: give the slot back
                raise
            return page(
                "public_receipt.html",
                200,
                draft=draft,
                receipt=receipt,
                headings={a.article_id: a.heading for a in draft.articles},
                back_url=f"/gop-y/{draft.decision_id}",
            )
        except PageError as err:
            return public_error(err)
        except (MultiPartException, StarletteHTTPException) as exc:
            log.info("bad public comment form body: %s", exc)
            return public_error(BadForm(str(exc)))

    # ------------------------------------------------------------------ moderation

    async def open_link(token: str) -> VerifiedLink:
        return await resolve_link(token, deps, expect_action=Action.MODERATE_PUBLIC_COMMENTS, call=call)

    async def moderation_view(token: str) -> tuple[ModerationView, VerifiedLink]:
        link = await open_link(token)
        view = await call(deps.load_moderation, link.claims.decision_id)
        if view is None or view.draft.closes_at is None or view.draft.status == "withdrawn":
            raise ModerationDraftMissing(link.claims.decision_id)
        if view.draft.decision_id != link.claims.decision_id or (
            view.draft.synthesiser_unit_id is not None
            and view.draft.synthesiser_unit_id != link.claims.recipient_unit_id
        ):
            raise WrongRecipient("moderation link is not for this decision's synthesiser unit")
        return view, link

    def moderation_page(
        view: ModerationView,
        *,
        status: int = 200,
        notice: str | None = None,
        error_notice: str | None = None,
        errors: Mapping[str, Mapping[str, str]] | None = None,
    ) -> HTMLResponse:
        draft = view.draft
        comments = view.comments
        approved = sum(1 for c in comments if c.outcome is Outcome.APPROVED)
        rejected = sum(1 for c in comments if c.outcome is Outcome.REJECTED)
        window_open = bool(draft.window_open and draft.closes_at and deps.now() < draft.closes_at)
        return page(
            "moderation.html",
            status,
            draft=draft,
            comments=comments,
            counts={
                "total": len(comments),
                "approved": approved,
                "rejected": rejected,
                "pending": len(comments) - approved - rejected,
            },
            window_open=window_open,
            can_moderate=draft.status != "issued",
            headings={a.article_id: a.heading for a in draft.articles},
            notice=notice,
            error_notice=error_notice,
            errors_by_comment=errors or {},
        )

    @router.get("/kiem-duyet/{token}", response_class=HTMLResponse)
    async def show_moderation(token: str) -> HTMLResponse:
        try:
            view, _ = await moderation_view(token)
            return moderation_page(view)
        except (LinkError, PageError) as err:
            return link_error(err)

    @router.post("/kiem-duyet/{token}", response_class=HTMLResponse)
    async def submit_moderation(token: str, request: Request) -> HTMLResponse:
        refusal = check_origin(request, deps.allowed_origins)
        if refusal is not None:
            who = client_address(request, deps.trusted_proxies)
            where: dict[str, str] = {}
            try:  # name the link's unit in the log when the token is genuine (never the token itself)
                claims = (await open_link(token)).claims
                who, where = (
                    f"{claims.recipient_unit_id}/{claims.person_id} from {who}",
                    {"decision_id": claims.decision_id},
                )
            except (LinkError, PageError):
                pass
            log_refusal(request, refusal, who, "POST /kiem-duyet/{token}", **where)
            return link_error(refusal)
        try:
            view, link = await moderation_view(token)
            async with request.form(max_files=0, max_fields=8) as form:
                raw = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
            if view.draft.status == "issued":
                return moderation_page(
                    view, status=409, error_notice="Văn bản đã được ban hành; không còn kiểm duyệt góp ý."
                )
            try:
                decision = validate_moderation(raw, [c.comment_id for c in view.comments])
            except CommentInvalid as invalid:
                cid = raw.get(COMMENT_ID_FIELD, "")
                return moderation_page(
                    view,
                    status=422,
                    error_notice="Chưa gửi được kết quả kiểm duyệt: "
                    + "; ".join(e.message_vi for e in invalid.errors),
                    errors={cid: {e.field: e.message_vi for e in invalid.errors}},
                )
            current = next(c for c in view.comments if c.comment_id == decision.comment_id)
            earlier = current.outcome or current.sent_outcome
            if earlier is not None and earlier is not decision.outcome:
                return moderation_page(view, status=409, error_notice=AlreadyModerated.message_vi)
            try:
                receipt = await call(deps.submit_moderation, link, decision)
            except ModerationConflict:
                refreshed, _ = await moderation_view(token)
                return moderation_page(refreshed, status=409, error_notice=AlreadyModerated.message_vi)
            refreshed, _ = await moderation_view(token)
            label = receipt.outcome.label_vi
            notice = (
                f"Kết quả “{label}” cho góp ý {receipt.comment_id} đã được gửi trước đó; không gửi lại."
                if receipt.duplicate
                else f"Đã gửi kết quả kiểm duyệt “{label}” cho góp ý {receipt.comment_id}."
            )
            return moderation_page(refreshed, notice=notice)
        except (LinkError, PageError) as err:
            return link_error(err)
        except (MultiPartException, StarletteHTTPException) as exc:
            log.info("bad moderation form body: %s", exc)
            return link_error(BadForm(str(exc)))

    return router


async def _quiet_release(deps: PublicCommentDeps, client: str, now: datetime) -> None:
    try:
        await deps.rate_limiter.release(client, now)
    except Exception:
        log.warning("could not give back a comment limit slot", exc_info=True)


async def _quiet(fn: Callable[[str], Awaitable[T]], arg: str) -> T | None:
    """Best effort (for decorating an error page): a failure here must not turn a 410 into a 500."""
    try:
        return await fn(arg)
    except Exception:
        log.warning("could not load draft for the error page", exc_info=True)
        return None
