"""notify's settings for the attacks it refuses: webhook allow-list, private addresses, trusted
proxies and the pages' own origins; and the client address behind (un)trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from services.notify.pages.guard import client_address
from services.notify.settings import NotifySettings, origin_of
from shared.production import UnsafeProductionConfig

SECRET = "l" * 40


def test_defaults_are_safe() -> None:
    s = NotifySettings(LINK_SECRET=SECRET)
    targets = s.webhook_targets()
    assert targets.allow == {} and not targets.allow_private
    assert s.trusted_proxy_networks() == ()
    assert s.page_origins() == frozenset({"http://127.0.0.1:8004"})


def test_bad_values_refuse_to_start() -> None:
    with pytest.raises(ValidationError):
        NotifySettings(LINK_SECRET=SECRET, NOTIFY_WEBHOOK_ALLOW="kg.a")
    with pytest.raises(ValidationError):
        NotifySettings(LINK_SECRET=SECRET, TRUSTED_PROXIES="10.0.0.0/8,proxy.local")


def test_private_webhooks_are_refused_in_production() -> None:
    s = NotifySettings(LINK_SECRET=SECRET, NOTIFY_WEBHOOK_ALLOW_PRIVATE=True, APP_ENV="production")
    with pytest.raises(UnsafeProductionConfig, match="NOTIFY_WEBHOOK_ALLOW_PRIVATE"):
        s.warn_if_insecure()


def test_origins() -> None:
    s = NotifySettings(
        LINK_SECRET=SECRET,
        PUBLIC_BASE_URL="https://DanVan.Example.vn:443/notify/",
        PAGES_EXTRA_ORIGINS="http://localhost:8004, junk",
    )
    assert s.page_origins() == frozenset({"https://danvan.example.vn", "http://localhost:8004"})
    assert origin_of("http://[::1]:8004/a/x") == "http://[::1]:8004"
    assert origin_of("null") == "" and origin_of("ftp://x") == ""


def _request(peer: str, xff: list[str]) -> Request:
    headers = [(b"x-forwarded-for", v.encode()) for v in xff]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 1)})


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "client"),
    [
        ("198.51.100.7", ["10.1.1.1"], (), "198.51.100.7"),  # nobody trusted: the peer
        ("198.51.100.7", ["10.1.1.1"], ("10.0.0.0/8",), "198.51.100.7"),  # the peer is no proxy
        ("10.0.0.2", ["203.0.113.5"], ("10.0.0.0/8",), "203.0.113.5"),
        ("10.0.0.2", ["1.2.3.4, 203.0.113.5"], ("10.0.0.0/8",), "203.0.113.5"),  # forged left part
        ("10.0.0.2", ["203.0.113.5, 10.0.0.3"], ("10.0.0.0/8",), "203.0.113.5"),  # two proxies
        ("10.0.0.2", ["1.2.3.4", "203.0.113.5"], ("10.0.0.0/8",), "203.0.113.5"),  # two headers
        ("10.0.0.2", ["garbage"], ("10.0.0.0/8",), "10.0.0.2"),
        ("10.0.0.2", [], ("10.0.0.0/8",), "10.0.0.2"),
    ],
)
def test_client_address(peer: str, xff: list[str], trusted: tuple[str, ...], client: str) -> None:
    nets = tuple(ipaddress.ip_network(t) for t in trusted)
    assert client_address(_request(peer, xff), nets) == client
