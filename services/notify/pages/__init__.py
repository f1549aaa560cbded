"""The pages behind action links (no account): read a draft by article and give an opinion."""

from services.notify.pages.deps import Article, DraftView, PagesDeps, Submission
from services.notify.pages.router import build_pages_router

__all__ = ["Article", "DraftView", "PagesDeps", "Submission", "build_pages_router"]
