"""Two checks every form post of the link and comment pages passes: where the form was sent from,
and who the client is.

**Origin (CSRF).** The pages have no account — the link (or, for citizens, nothing) is the
credential — so a page on another site could otherwise make a visitor's browser post an opinion,
a moderation or a comment. Every POST must name one of notify's own public origins
(``PUBLIC_BASE_URL``, plus ``PAGES_EXTRA_ORIGINS``) in ``Origin`` or, when a browser sends no
``Origin``, in ``Referer``. A mismatch (including ``Origin: null``) or neither header is a 403 page
and a log line with who / what / why; nothing is read from the form and nothing changes. The pages
send ``Referrer-Policy: same-origin`` so that the browser names our origin on our own forms and
tells nobody else the address (which carries the token).

**Client address.** The comment limit counts per address. ``X-Forwarded-For`` is believed only when
the direct peer is one of ``TRUSTED_PROXIES``; then the client is the right-most address of the
chain that is not itself a trusted proxy. Otherwise the socket peer is the client, whatever the
headers say (``python -m services.notify`` runs uvicorn with ``proxy_headers=False`` so the peer is
the real socket peer).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from fastapi import Request

from services.notify.settings import origin_of

log = logging.getLogger("notify.pages.guard")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

TITLE_VI = "Yêu cầu không hợp lệ"
MESSAGE_VI = "Yêu cầu không hợp lệ: nguồn gửi biểu mẫu không khớp."


@dataclass(frozen=True, slots=True)
class CrossOrigin:
    """A refused form post: the page shows ``title_vi`` / ``message_vi`` with status 403."""

    why: str
    presented: str
    status: int = 403
    code: str = "cross_origin"
    title_vi: str = TITLE_VI
    message_vi: str = (
        MESSAGE_VI + " Nội dung chưa được ghi nhận. Vui lòng mở lại đường dẫn trong thông báo "
        "(hoặc trang góp ý) và gửi lại từ chính trang đó."
    )


def check_origin(request: Request, allowed: Collection[str]) -> CrossOrigin | None:
    """``None`` if the post names an allowed origin; else why not (``origin_mismatch``,
    ``referer_mismatch`` or ``origin_missing``)."""
    origin = request.headers.get("origin")
    if origin is not None:
        got = origin_of(origin) if origin.strip().lower() != "null" else ""
        return None if got and got in allowed else CrossOrigin("origin_mismatch", got or origin.strip()[:100])
    referer = request.headers.get("referer")
    if referer:
        got = origin_of(referer)
        return None if got and got in allowed else CrossOrigin("referer_mismatch", got or "(unreadable)")
    return CrossOrigin("origin_missing", "")


def log_refusal(request: Request, refusal: CrossOrigin, who: str, what: str, **extra: str) -> None:
    """One warning line: who (client address, and the link's unit when known), what (method and
    route template — never the token), why, and the origin presented (origin only, no path)."""
    log.warning(
        "form post refused: origin does not match",
        extra={"who": who, "what": what, "why": refusal.why, "origin": refusal.presented, **extra},
    )


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    """The client's address: the socket peer, or — behind a trusted proxy — from X-Forwarded-For."""
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _within(peer, trusted):
        return peer
    chain = [
        part.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for part in header.split(",")
        if part.strip()
    ]
    client = peer
    for hop in reversed(chain):
        if _parse(hop) is None:
            break  # unreadable: stop at the last hop a trusted proxy vouched for
        client = hop
        if not _within(hop, trusted):
            break
    return client


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(text: str, networks: Sequence[Network]) -> bool:
    ip = _parse(text)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)
