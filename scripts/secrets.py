"""Development and deployment secrets, generated locally, never committed.

``python -m scripts.secrets ensure`` creates, idempotently, everything the local servers and
services need in ``.cache/secrets/`` (git-ignored, files mode 600):

* ``kafka/<principal>.password`` — SCRAM passwords of the broker principals (:data:`PRINCIPALS`);
* ``keys/<system_id>.jwk`` — private Ed25519 keys (JWK) that sign the requests of the platform
  services and of the demo/test agency systems (:data:`SYSTEMS`);
* ``systems.yaml`` — the public half: each system, the units it acts for and its public key, which
  the org service registers at start (``ORG_SYSTEMS_FILE``) so every service learns the keys from
  ``org.events``;
* ``link_secret``, ``webhook_secret`` — notify's link and webhook secrets;
* ``metrics_token`` — the scrape secret of every service's ``GET /metrics`` (``METRICS_TOKEN``);
* ``keys/sessions.jwk`` — org's session key, which signs the access tokens of signed-in people
  (every service verifies with its public half);
* ``accounts.yaml`` + ``accounts/<username>.password`` — the local accounts of the demo and the tests
  (:data:`ACCOUNTS`, argon2 hashes only in the YAML), loaded by org at start (``ORG_ACCOUNTS_FILE``);
* ``oidc/client_secret``, ``oidc/state_key`` and ``oidc/<email>.password`` — the local OIDC provider
  (``infra/oidc.sh``, Dex): the secret of its one client ``danvan-org``, the key that signs org's
  short-lived sign-in state cookie (``services/org/signin/oidc.py``) and the passwords of the
  provider's test users (:data:`OIDC_USERS`); the provider's config is generated from them at start.

``python -m scripts.secrets env [--compose]`` prints ``KEY=VALUE`` lines (for an env file).
Nothing here has a usable default: a fresh machine gets fresh random secrets.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from joserfc.jwk import OKPKey

REPO = Path(__file__).resolve().parents[1]
SECRETS_DIR = Path(os.environ.get("SECRETS_DIR") or REPO / ".cache" / "secrets")

PRINCIPALS: tuple[str, ...] = (
    "admin",
    "org",
    "tasks",
    "notify",
    "reports",
    "agency-demo",
    "agency-test",
)
"""Kafka principals (SCRAM users). Agency principals may only produce requests."""


TEST_UNITS: tuple[str, ...] = (
    "kg.ubnd",
    "kg.cap_uy",
    "kg.bdv",
    "kg.mttq",
    "kg.cong_doan",
    "kg.doan_thanh_nien",
    "kg.hoi_ccb",
    "kg.hoi_lhpn",
    "kg.hoi_nong_dan",
    "kg.bcsd_ubnd",
    "kg.so_tttt",
    "kg.rg.ubnd",
    "kg.rg.cap_uy",
    "kg.rg.bdv",
    "kg.rg.phi_thong.ubnd",
    "kg.rg.phi_thong.cap_uy",
    "hn.to.ubnd",
    "hn.to.cap_uy",
    "hn.to.bdv",
    "hn.to.kim_bai.cap_uy",
)
"""Units the integration tests send requests for (each gets its own test system and key)."""


@dataclass(frozen=True)
class SystemSpec:
    """An agency system (or platform service) that signs what it publishes."""

    system_id: str
    name_vi: str
    kind: str  # "agency" | "link_gateway" | "platform"
    unit_ids: tuple[str, ...] = ()


SYSTEMS: tuple[SystemSpec, ...] = (
    SystemSpec("notify", "Dịch vụ thông báo (cổng liên kết hành động)", "link_gateway"),
    SystemSpec("org", "Dịch vụ sổ đăng ký tổ chức", "platform"),
    SystemSpec("tasks", "Dịch vụ quy trình", "platform"),
    SystemSpec("reports", "Dịch vụ báo cáo", "platform"),
    # the Kiên Giang demo's agency systems (one per acting body)
    SystemSpec("kg.ubnd.vpdt", "Hệ thống văn phòng điện tử UBND tỉnh Kiên Giang", "agency", ("kg.ubnd",)),
    SystemSpec(
        "kg.bdv.qlvb", "Hệ thống quản lý văn bản Ban Dân vận Tỉnh ủy Kiên Giang", "agency", ("kg.bdv",)
    ),
    SystemSpec("kg.tu.qlvb", "Hệ thống quản lý văn bản Tỉnh ủy Kiên Giang", "agency", ("kg.cap_uy",)),
    # the integration tests: one system per unit they act for ("test.unit.<unit id>"), and a rogue one
    *(
        SystemSpec(f"test.unit.{u}", f"Hệ thống thử nghiệm của đơn vị {u}", "agency", (u,))
        for u in TEST_UNITS
    ),
    SystemSpec("test.rogue", "Hệ thống thử nghiệm không đại diện đơn vị nào", "agency", ()),
)

PLAIN_SECRETS: tuple[str, ...] = ("link_secret", "webhook_secret", "metrics_token")


@dataclass(frozen=True)
class AccountDef:
    """A local account of the demo and the tests, with the roles (role, unit) it is granted."""

    username: str
    person_id: str
    grants: tuple[tuple[str, str], ...]
    full_name: str = ""  # for a person the seeds do not have (operators, auditors)
    oidc_email: str = ""


ALL_ROLES = (
    "registry_admin",
    "drafter",
    "approver",
    "synthesiser",
    "standing_committee",
    "operator",
    "auditor",
)

ACCOUNTS: tuple[AccountDef, ...] = (
    AccountDef("vanhanh", "p.ops.001", (("operator", "*"),), full_name="Tổ vận hành hệ thống"),
    AccountDef("kiemtra", "p.audit.001", (("auditor", "*"),), full_name="Cán bộ kiểm tra, giám sát"),
    AccountDef("quantri", "p.admin.001", (("registry_admin", "*"),), full_name="Quản trị sổ đăng ký"),
    AccountDef("kg.quantri", "p.kg.010", (("registry_admin", "kg.ubnd"),)),
    AccountDef("kg.vanphong", "p.kg.007", (("drafter", "kg.ubnd"),), oidc_email="chanh.vp@kiengiang.test"),
    AccountDef("kg.chutich", "p.kg.005", (("approver", "kg.ubnd"),)),
    AccountDef("kg.bdv", "p.kg.004", (("synthesiser", "kg.bdv"),)),
    AccountDef("kg.thuongtruc", "p.kg.002", (("standing_committee", "kg.cap_uy"),)),
    AccountDef("kg.rg.vanphong", "p.kg.rg.004", (("drafter", "kg.rg.ubnd"),)),
    AccountDef("to.vanphong", "p.to.004", (("drafter", "hn.to.ubnd"), ("approver", "hn.to.ubnd"))),
    AccountDef(
        "test.root", "p.test.root", tuple((r, "*") for r in ALL_ROLES), full_name="Tài khoản kiểm thử"
    ),
)
"""Accounts written to ``accounts.yaml`` (argon2 hashes) with passwords in ``accounts/<name>.password``."""


@dataclass(frozen=True)
class OidcUser:
    """A user of the local OIDC provider (Dex's password database; ``infra/oidc.sh``)."""

    email: str
    name: str
    user_id: str  # the ID token's ``sub`` (stable across restarts)


OIDC_USERS: tuple[OidcUser, ...] = (
    # maps to a registry person: the account kg.vanphong (p.kg.007) has this oidc_email
    OidcUser("chanh.vp@kiengiang.test", "Nguyễn Thị Thu Trang", "kg-chanh-vp-0001"),
    # a real user of the provider whom the registry does not know: signing in must be refused
    OidcUser("outsider@example.test", "Người ngoài hệ thống", "outsider-0001"),
)
"""Users of the local OIDC provider; passwords in ``oidc/<email>.password``."""

OIDC_CLIENT_ID = "danvan-org"


def oidc_password(email: str, root: Path | None = None) -> str:
    return ((root or SECRETS_DIR) / "oidc" / f"{email}.password").read_text(encoding="utf-8").strip()


def _ensure_oidc(root: Path, created: list[str]) -> None:
    names = ["oidc/client_secret", "oidc/state_key", *(f"oidc/{u.email}.password" for u in OIDC_USERS)]
    for name in names:
        path = root / name
        if not path.exists():
            _write(path, secrets.token_urlsafe(32 if name.endswith(".password") else 48) + "\n")
            created.append(name)


def account_password(username: str, root: Path | None = None) -> str:
    return ((root or SECRETS_DIR) / "accounts" / f"{username}.password").read_text(encoding="utf-8").strip()


def _ensure_accounts(root: Path, created: list[str]) -> None:
    from pwdlib import PasswordHash

    hasher = PasswordHash.recommended()
    entries = []
    for acc in ACCOUNTS:
        pw_path = root / "accounts" / f"{acc.username}.password"
        hash_path = root / "accounts" / f"{acc.username}.hash"
        if not pw_path.exists() or not hash_path.exists():
            password = secrets.token_urlsafe(18)
            _write(pw_path, password + "\n")
            _write(hash_path, hasher.hash(password) + "\n")
            created.append(str(pw_path.relative_to(root)))
        entry: dict[str, object] = {
            "username": acc.username,
            "person_id": acc.person_id,
            "password_hash": hash_path.read_text(encoding="utf-8").strip(),
            "grants": [{"role": r, "unit": u, "valid_from": "2020-01-01"} for r, u in acc.grants],
        }
        if acc.full_name:
            entry["full_name"] = acc.full_name
        if acc.oidc_email:
            entry["oidc_email"] = acc.oidc_email
        entries.append(entry)
    text = yaml.safe_dump(
        {"format": "danvan-accounts/1", "accounts": entries}, allow_unicode=True, sort_keys=False
    )
    path = root / "accounts.yaml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        _write(path, text)
        created.append("accounts.yaml")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)


def kafka_password(principal: str, root: Path | None = None) -> str:
    return ((root or SECRETS_DIR) / "kafka" / f"{principal}.password").read_text(encoding="utf-8").strip()


def key_path(system_id: str, root: Path | None = None) -> Path:
    return (root or SECRETS_DIR) / "keys" / f"{system_id}.jwk"


def private_jwk(system_id: str, root: Path | None = None) -> str:
    return key_path(system_id, root).read_text(encoding="utf-8").strip()


def plain_secret(name: str, root: Path | None = None) -> str:
    return ((root or SECRETS_DIR) / name).read_text(encoding="utf-8").strip()


def new_private_jwk() -> dict[str, str]:
    key = OKPKey.generate_key("Ed25519")
    raw = {str(k): str(v) for k, v in key.as_dict(private=True).items()}
    raw["kid"] = key.thumbprint()
    return raw


def public_of(private: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in private.items() if k in ("kty", "crv", "x", "kid")}


def ensure(root: Path | None = None) -> list[str]:
    """Create whatever is missing; returns the names of what was created.

    Several scripts call this at once (``infra/up.sh`` starts the broker and the OIDC provider in
    parallel): an exclusive lock on ``<root>/.lock`` makes the callers take turns, so a password and
    its hash always come from the same caller.
    """
    root = root or SECRETS_DIR
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _ensure_locked(root)
    finally:
        os.close(fd)  # closing releases the lock


def _ensure_locked(root: Path) -> list[str]:
    created: list[str] = []
    for principal in PRINCIPALS:
        path = root / "kafka" / f"{principal}.password"
        if not path.exists():
            _write(path, secrets.token_urlsafe(24) + "\n")
            created.append(str(path.relative_to(root)))
    for name in PLAIN_SECRETS:
        path = root / name
        if not path.exists():
            _write(path, secrets.token_urlsafe(48) + "\n")
            created.append(name)
    session_key = key_path("sessions", root)
    if not session_key.exists():
        _write(session_key, json.dumps(new_private_jwk()) + "\n")
        created.append(str(session_key.relative_to(root)))
    _ensure_accounts(root, created)
    _ensure_oidc(root, created)
    systems = []
    for spec in SYSTEMS:
        path = key_path(spec.system_id, root)
        if not path.exists():
            _write(path, json.dumps(new_private_jwk()) + "\n")
            created.append(str(path.relative_to(root)))
        public = public_of(json.loads(path.read_text(encoding="utf-8")))
        systems.append(
            {
                "system_id": spec.system_id,
                "name_vi": spec.name_vi,
                "kind": spec.kind,
                "unit_ids": list(spec.unit_ids),
                "keys": [public],
            }
        )
    text = yaml.safe_dump(
        {"format": "danvan-systems/1", "systems": systems}, allow_unicode=True, sort_keys=False
    )
    path = root / "systems.yaml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        _write(path, text)
        created.append("systems.yaml")
    return created


def env_lines(root: Path | None = None, *, compose: bool = False) -> list[str]:
    """``KEY=VALUE`` lines; ``compose`` prefixes per-service variables with the service name."""
    root = root or SECRETS_DIR
    lines = [
        f"LINK_SECRET={plain_secret('link_secret', root)}",
        f"WEBHOOK_SECRET={plain_secret('webhook_secret', root)}",
        f"METRICS_TOKEN={plain_secret('metrics_token', root)}",
        f"AUTH_TOKEN_KEY={private_jwk('sessions', root)}",
        f"AUTH_TOKEN_PUBLIC_KEY={json.dumps(public_of(json.loads(private_jwk('sessions', root))))}",
        f"KAFKA_ADMIN_PASSWORD={kafka_password('admin', root)}",
    ]
    for service in ("org", "tasks", "notify", "reports"):
        prefix = service.upper()
        lines.append(f"{prefix}_KAFKA_PASSWORD={kafka_password(service, root)}")
        lines.append(f"{prefix}_SIGNING_KEY={private_jwk(service, root)}")
    for principal in PRINCIPALS:
        if principal.startswith("agency-"):
            name = principal.upper().replace("-", "_")
            lines.append(f"{name}_KAFKA_PASSWORD={kafka_password(principal, root)}")
    if compose:
        accounts = (root / "accounts.yaml").read_text(encoding="utf-8")
        lines.append(f"ORG_ACCOUNTS_YAML={json.dumps(yaml.safe_load(accounts), ensure_ascii=False)}")
        systems = (root / "systems.yaml").read_text(encoding="utf-8")
        lines.append(f"ORG_SYSTEMS_YAML={json.dumps(yaml.safe_load(systems), ensure_ascii=False)}")
    return lines


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "ensure"
    if cmd == "ensure":
        created = ensure()
        for name in created:
            print(f"created {SECRETS_DIR / name}", file=sys.stderr)
        return 0
    if cmd == "env":
        ensure()
        print("\n".join(env_lines(compose="--compose" in argv[1:])))
        return 0
    print("usage: python -m scripts.secrets ensure | env [--compose]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
