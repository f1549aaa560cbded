"""Open the token of an action-link page: an opaque token (looked up in notify's links) or a
signed one of the former format (verified with the link keys, then checked against the record)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

from services.notify.domain.links import Action, VerifiedLink, verify
from services.notify.domain.opaque_links import LinkRecord, check_shape, is_signed, open_record

T = TypeVar("T")
Call = Callable[..., Awaitable[Any]]


async def no_link(token: str) -> LinkRecord | None:
    """The default lookup: no opaque link is known (pages wired for signed links only)."""
    return None


async def _direct(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await fn(*args)


class LinkSource(Protocol):
    """What opening a link needs from a page's wiring (:class:`~services.notify.pages.deps.PagesDeps`
    and :class:`~services.notify.pages.deps.PublicCommentDeps` both provide it)."""

    @property
    def now(self) -> Callable[[], datetime]: ...

    @property
    def secret_keys(self) -> Mapping[str, bytes]: ...

    @property
    def link_on_record(self) -> Callable[[VerifiedLink], Awaitable[None]]: ...

    @property
    def find_link(self) -> Callable[[str], Awaitable[LinkRecord | None]]: ...


async def resolve_link(
    token: str,
    source: LinkSource,
    *,
    expect_action: Action,
    call: Call = _direct,
) -> VerifiedLink:
    """The verified link behind ``token`` or the precise :class:`~services.notify.domain.links.LinkError`.

    ``call`` wraps the store look-ups (the pages turn a store failure into a 503 page)."""
    now = source.now()
    if is_signed(token):
        link = verify(token, now, source.secret_keys, expect_action=expect_action)
        await call(source.link_on_record, link)
        return link
    check_shape(token)
    record: LinkRecord | None = await call(source.find_link, token)
    return open_record(record, now, expect_action=expect_action)
