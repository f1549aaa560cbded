"""Publishing requests as a registered agency system would: signed with its key (dv-signature).

The keys are the ones ``python -m scripts.secrets ensure`` generated in ``.cache/secrets/keys``; the
org service registers their public halves at start (``systems.yaml``), so tasks learns them from
``org.events``. ``system_for(unit)`` is the test system acting for that unit.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from aiokafka import AIOKafkaProducer

from scripts.secrets import ensure, private_jwk
from shared.access.roles import Grant, Role
from shared.access.tokens import issue, load_issuer_key
from shared.contract.envelope import Envelope, Event
from shared.security.signing import SIGNATURE_HEADER, SigningKey, sign


def system_for(unit_id: str) -> str:
    return f"test.unit.{unit_id}"


@cache
def signing_key(system_id: str) -> SigningKey:
    ensure()
    return SigningKey.from_jwk(system_id, private_jwk(system_id))


def signed_headers(
    value: bytes, system_id: str | None, *, signed_at: datetime | None = None
) -> list[tuple[str, bytes]]:
    headers = [("content-type", b"application/json")]
    if system_id is not None:
        headers.append((SIGNATURE_HEADER, sign(signing_key(system_id), value, now=signed_at).encode()))
    return headers


async def send_as(
    producer: AIOKafkaProducer,
    event: Event,
    system_id: str | None,
    *,
    signed_at: datetime | None = None,
    source: str = "agency-test",
    envelope: Envelope | None = None,
) -> Envelope:
    """Publish ``event`` (or a given envelope) signed by ``system_id`` (``None``: unsigned)."""
    env = envelope or Envelope.wrap(event, source=source)
    value = env.to_bytes()
    await producer.send_and_wait(
        env.topic,
        value,
        key=env.subject.encode(),
        headers=signed_headers(value, system_id, signed_at=signed_at),
    )
    return env


UNIT_FIELDS = (
    "issuer_unit_id",
    "consultee_unit_id",
    "by_unit_id",
    "receiving_unit_id",
    "decided_by_unit_id",
    "reporting_unit_id",
    "formed_by_unit_id",
    "reporter_unit_id",
    "unit_id",
    "issuer_unit_ids",
)


def acting_unit(event: Event, default: str) -> str:
    """The unit a request is made for (the field tasks checks), else ``default`` (the issuer)."""
    for name in UNIT_FIELDS:
        value = getattr(event, name, None)
        if isinstance(value, tuple) and value:
            return str(value[0])
        if isinstance(value, str):
            return value
    return default


def admin_headers() -> dict[str, str]:
    """A bearer token of the test account ``test.root`` (every role, platform-wide).

    Minted directly with the machine's development session key (``.cache/secrets/keys/sessions.jwk``)
    so tests of one service need not run org; the sign-in itself is tested through org in
    tests/integration/test_sign_in.py.
    """
    return token_headers("p.test.root", "Tài khoản kiểm thử", tuple((r, "*") for r in Role))


def token_headers(person_id: str, name: str, grants: tuple[tuple[Role | str, str], ...]) -> dict[str, str]:
    """A bearer token for ``person_id`` holding ``grants`` (role, unit), minted with the dev key."""
    ensure()
    key = load_issuer_key()
    assert key is not None, "no development session key (python -m scripts.secrets ensure)"
    token = issue(
        key,
        subject=person_id,
        name=name,
        session_id="test",
        method="password",
        grants=tuple(Grant(Role(r), u, date(2020, 1, 1)) for r, u in grants),
    )
    return {"Authorization": f"Bearer {token}"}


async def sign_in(org_url: str, username: str) -> dict[str, str]:
    """Sign in through org's ``POST /api/session`` with the account's generated password."""
    import httpx

    from scripts.secrets import account_password

    async with httpx.AsyncClient(timeout=20) as c:
        r = await c.post(
            f"{org_url}/api/session", json={"username": username, "password": account_password(username)}
        )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
