"""Where notify may post webhooks: a per-agency allow-list of hosts, and no private addresses.

Why: a person's webhook address is registry data that an administrator (or whoever took over an
administrator's session) can change. Without a check, changing it to ``http://127.0.0.1:…`` or an
address inside the platform's network made notify post a live action link — a credential — to an
arbitrary listener (server-side request forgery plus credential leak). So a webhook target must

* be on the allow-list of the recipient's unit (``NOTIFY_WEBHOOK_ALLOW``; ``*`` lists hosts any
  unit may use). Nothing is allowed by default;
* resolve (``getaddrinfo``, at send time) only to public addresses: loopback, private, link-local,
  shared (CGNAT), reserved, documentation, multicast and unspecified addresses are refused unless
  ``NOTIFY_WEBHOOK_ALLOW_PRIVATE`` is set (a development machine or a test with a local listener).

The request then goes to the vetted address itself (the host name kept for ``Host`` and TLS SNI),
so a DNS answer that changes between the check and the connection (DNS rebinding) cannot move it.

A refusal is a *permanent* delivery failure with the reason (no retry: the address will not become
acceptable by waiting), recorded and published like any other dead-lettered delivery.

Allow-list formats (one setting):

* ``kg.cong_doan=hooks.ldld.kiengiang.gov.vn,*.qlvb.kiengiang.gov.vn;*=edoc.kiengiang.gov.vn``
* or JSON: ``{"kg.cong_doan": ["hooks.ldld.kiengiang.gov.vn"], "*": ["edoc.kiengiang.gov.vn"]}``

A host entry is a name or an IP address, optionally ``:port`` (then only that port), or
``*.domain`` (any name below ``domain``, not ``domain`` itself). Names compare case-insensitively.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

ANY_UNIT = "*"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetConfigError(ValueError):
    """``NOTIFY_WEBHOOK_ALLOW`` cannot be read."""


@dataclass(frozen=True, slots=True)
class HostPattern:
    host: str
    """Lower-case name or IP text; for a wildcard, the domain below which names match."""
    port: int | None = None
    wildcard: bool = False

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        raw = text.strip().lower().rstrip(".")
        if not raw or "/" in raw or "@" in raw or any(c.isspace() for c in raw):
            raise TargetConfigError(f"not a host: {text!r}")
        port: int | None = None
        if raw.startswith("["):  # [v6] or [v6]:port
            end = raw.find("]")
            if end < 0:
                raise TargetConfigError(f"not a host: {text!r}")
            host, rest = raw[1:end], raw[end + 1 :]
            if rest:
                if not rest.startswith(":"):
                    raise TargetConfigError(f"not a host: {text!r}")
                port = _port(rest[1:], text)
        elif raw.count(":") == 1:
            host, _, p = raw.partition(":")
            port = _port(p, text)
        else:
            host = raw  # a name, an IPv4 address, or a bare IPv6 address
        wildcard = host.startswith("*.")
        if wildcard:
            host = host[2:]
        if not host or "*" in host:
            raise TargetConfigError(f"not a host: {text!r}")
        return cls(host=host, port=port, wildcard=wildcard)

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        h = host.lower().rstrip(".")
        if self.wildcard:
            return h.endswith("." + self.host)
        return h == self.host

    def __str__(self) -> str:
        h = ("*." if self.wildcard else "") + (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{h}:{self.port}" if self.port is not None else h


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TargetConfigError(f"bad port in {whole!r}")
    return int(text)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a target was refused: ``code`` for machines, ``reason`` for operators (no path, no query)."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class WebhookTargets:
    """The allow-list per unit id (``*``: any unit) and whether private addresses are accepted."""

    allow: Mapping[str, tuple[HostPattern, ...]] = field(default_factory=dict)
    allow_private: bool = False

    @classmethod
    def parse(cls, text: str, *, allow_private: bool = False) -> WebhookTargets:
        """Read ``NOTIFY_WEBHOOK_ALLOW`` (JSON object or ``unit=h1,h2;unit2=h3``); empty: nothing."""
        text = text.strip()
        pairs: list[tuple[str, Iterable[str]]] = []
        if not text:
            return cls({}, allow_private)
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TargetConfigError(f"NOTIFY_WEBHOOK_ALLOW is not valid JSON: {exc}") from exc
            if not isinstance(data, dict):
                raise TargetConfigError("NOTIFY_WEBHOOK_ALLOW JSON must be an object unit → hosts")
            for unit, hosts in data.items():
                if isinstance(hosts, str):
                    hosts = [h for h in hosts.split(",") if h.strip()]
                if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
                    raise TargetConfigError(f"hosts of unit {unit!r} must be a list of strings")
                pairs.append((str(unit), hosts))
        else:
            for item in filter(None, (p.strip() for p in text.split(";"))):
                unit, sep, hosts_text = item.partition("=")
                if not sep:
                    raise TargetConfigError(
                        f"expected 'unit=host1,host2' in NOTIFY_WEBHOOK_ALLOW, got {item!r}"
                    )
                pairs.append((unit, [h for h in hosts_text.split(",") if h.strip()]))
        allow: dict[str, tuple[HostPattern, ...]] = {}
        for unit, hosts in pairs:
            unit = unit.strip()
            if not unit:
                raise TargetConfigError("empty unit id in NOTIFY_WEBHOOK_ALLOW")
            allow[unit] = (*allow.get(unit, ()), *(HostPattern.parse(h) for h in hosts))
        return cls(allow, allow_private)

    def host_allowed(self, unit_ids: Iterable[str], host: str, port: int) -> Refusal | None:
        """``None`` if ``host:port`` is on the list of *every* unit in ``unit_ids`` (or of ``*``)."""
        anyone = self.allow.get(ANY_UNIT, ())
        units = [u for u in unit_ids if u] or [""]
        for unit in units:
            patterns = (*self.allow.get(unit, ()), *anyone) if unit else anyone
            if not any(p.matches(host, port) for p in patterns):
                who = f"đơn vị {unit}" if unit else "người nhận không gắn với đơn vị nào"
                return Refusal(
                    "host_not_allowed",
                    f"webhook target refused: host {host} (port {port}) is not on the webhook allow-list "
                    f"(NOTIFY_WEBHOOK_ALLOW) for {who}",
                )
        return None

    def address_allowed(self, host: str, addresses: Iterable[str]) -> Refusal | None:
        """``None`` if every resolved address may be contacted (public, or private allowed)."""
        found = list(addresses)
        if not found:
            return Refusal("unresolvable", f"webhook target refused: host {host} resolved to no address")
        if self.allow_private:
            return None
        for text in found:
            try:
                ip = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                return Refusal("bad_address", f"webhook target refused: host {host} resolved to {text!r}")
            if not is_public(ip):
                return Refusal(
                    "private_address",
                    f"webhook target refused: host {host} resolves to the non-public address {ip} "
                    "(loopback, private, link-local or reserved; NOTIFY_WEBHOOK_ALLOW_PRIVATE is off)",
                )
        return None


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address (IPv4-mapped / 6to4-embedded IPv4 judged as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return is_public(embedded)
        if ip.teredo is not None:
            return False
    return bool(ip.is_global) and not ip.is_multicast and not ip.is_unspecified


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (TCP), via the event loop's ``getaddrinfo``."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        addr = str(sockaddr[0])
        if addr not in seen:
            seen.append(addr)
    return seen
