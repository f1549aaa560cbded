"""The pages behind action links (no account): read a draft by article and give an opinion; the
public comment pages (lấy ý kiến nhân dân) and the Dân vận board's moderation page."""

from services.notify.pages.deps import (
    Article,
    CommentReceipt,
    DraftView,
    ModerationConflict,
    ModerationReceipt,
    ModerationView,
    PagesDeps,
    PublicCommentDeps,
    PublicCommentView,
    PublicDraft,
    Submission,
)
from services.notify.pages.public_comment import build_public_comment_router
from services.notify.pages.router import build_pages_router

__all__ = [
    "Article",
    "CommentReceipt",
    "DraftView",
    "ModerationConflict",
    "ModerationReceipt",
    "ModerationView",
    "PagesDeps",
    "PublicCommentDeps",
    "PublicCommentView",
    "PublicDraft",
    "Submission",
    "build_pages_router",
    "build_public_comment_router",
]
