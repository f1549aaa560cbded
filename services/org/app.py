"""HTTP API of the org registry (queries and administration) and its Kafka side.

Queries answer "as of a date" (``on``, default today in Vietnam): history stays
queryable after merges and re-parenting. Administration accepts changes as
proposed org events (or YAML/CSV imports); they are validated against the whole
registry and refused with a precise Vietnamese message (HTTP 400/409/422).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.org.authorization import scope_of
from services.org.contract import DESCRIPTION
from services.org.service import OrgChangeRefused, OrgService, Registry
from services.org.signin.accounts import MongoAccountStore, bootstrap_events, parse_accounts
from services.org.signin.oidc import OidcSettings, make_oidc_router
from services.org.signin.pages import SignIn, make_signin_router, oidc_handler
from services.org.signin.sessions import SessionStore
from shared.access.audit import MongoAuditLog
from shared.access.guard import access_for, today_vn
from shared.access.roles import Identity, Role
from shared.access.tokens import load_issuer_key
from shared.contract.envelope import MalformedEvent, event_class
from shared.contract.events.org import OrgEvent
from shared.orgmodel.errors import OrgDomainError, SeedFormatError, UnsafeDocument
from shared.orgmodel.people import KIEN_GIANG_357, THANH_OAI_05
from shared.orgmodel.policy import DocumentFlags, DocumentType
from shared.orgmodel.replica import unit_ancestors
from shared.orgmodel.units import UnitKind
from shared.runtime import ServiceRuntime
from shared.security.local_secrets import production, secrets_dir
from shared.service_app import service_app
from shared.settings import CommonSettings

VN = timezone(timedelta(hours=7))


class OrgSettings(CommonSettings):
    seeds: str = Field(
        default="kien_giang,thanh_oai,policy_v1",
        alias="ORG_SEEDS",
        description="bundled seeds loaded once at start-up (empty: none)",
    )
    systems_file: str | None = Field(
        default=None,
        alias="ORG_SYSTEMS_FILE",
        description="danvan-systems/1 YAML of agency systems and public keys registered at start-up "
        "(development default: the generated .cache/secrets/systems.yaml)",
    )
    systems_yaml: str | None = Field(
        default=None, alias="ORG_SYSTEMS_YAML", description="the same content inline (compose)"
    )

    accounts_file: str | None = Field(
        default=None,
        alias="ORG_ACCOUNTS_FILE",
        description="danvan-accounts/1 YAML of local accounts (argon2 hashes) and their grants, loaded at "
        "start-up (development default: the generated .cache/secrets/accounts.yaml)",
    )

    accounts_yaml: str | None = Field(
        default=None, alias="ORG_ACCOUNTS_YAML", description="the same content inline (compose)"
    )

    def accounts_source(self) -> tuple[str, str] | None:
        return _bootstrap_source(self.accounts_yaml, "ORG_ACCOUNTS_YAML", self.accounts_file, "accounts.yaml")

    def systems_source(self) -> tuple[str, str] | None:
        return _bootstrap_source(self.systems_yaml, "ORG_SYSTEMS_YAML", self.systems_file, "systems.yaml")


def _bootstrap_source(
    inline: str | None, inline_name: str, file: str | None, generated: str
) -> tuple[str, str] | None:
    """A bootstrap document and where it came from: inline, else the file, else (development
    machine only) the generated ``.cache/secrets/<generated>``; None when there is none."""
    if inline:
        return inline, inline_name
    path = Path(file) if file else None
    if path is None and not production():
        path = secrets_dir() / generated
    if path is not None and path.exists():
        return path.read_text(encoding="utf-8"), str(path)
    return None


class ProposedEvent(BaseModel):
    type: str
    version: int = 1
    payload: dict[str, Any]


class ChangeRequest(BaseModel):
    request_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=200)
    events: list[ProposedEvent] = Field(min_length=1, max_length=500)
    reason: str = Field(default="", max_length=2000, description="why (kept in the audit log)")


@dataclass(frozen=True)
class DocumentRoute:
    """An import route: a YAML or CSV document in the body, appended as the org events it stands for."""

    path: str
    name: str
    media_type: str
    source: str
    """The document's name in refusals (``import.yaml (dòng 3): …``)."""
    audit: str
    """The audit log's action."""
    to_events: Callable[[str, str], list[OrgEvent]]
    doc: str | None = None


def _today() -> date:
    return datetime.now(VN).date()


def _json(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _json(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _obj(value: Any) -> dict[str, Any]:
    out = _json(value)
    assert isinstance(out, dict)
    return out


def _refusal(status: int, code: str, message_vi: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message_vi, **extra})


def build(settings: OrgSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or OrgSettings()
    runtime = ServiceRuntime("org", settings)
    registries = runtime.event_store("registries", new=Registry, restore=Registry.restore)
    service = OrgService(registries, runtime.store("registry_labels"), runtime.emitter)
    audit = MongoAuditLog(runtime.db["audit"])
    access = access_for("org", settings, audit, ancestors=unit_ancestors(lambda: service.registry))
    accounts = MongoAccountStore(runtime.db["accounts"])
    oidc_settings = OidcSettings()
    signin = SignIn(
        accounts=accounts,
        sessions=SessionStore(runtime.db["sessions"], runtime.db["signin_throttle"]),
        registry=lambda: service.registry,
        key=load_issuer_key(),
        access=access,
        secure_cookies=settings.production,
        oidc_enabled=oidc_settings.enabled,
    )

    @runtime.on_start
    async def load_registry() -> None:
        await service.load()
        for name in [s.strip() for s in settings.seeds.split(",") if s.strip()]:
            await service.load_seed(name)
        source = settings.systems_source()
        if source is not None:
            await service.load_systems(*source)
        accounts_source = settings.accounts_source()
        if accounts_source is not None:
            specs = parse_accounts(*accounts_source)
            reg = service.registry
            events = bootstrap_events(specs, set(reg.people.persons), set(reg.access.records))
            if events:
                await service.change(f"accounts:{uuid.uuid4()}", events)
            for spec in specs:
                await accounts.upsert(spec)

    app = service_app(
        title="Org registry — sổ đăng ký tổ chức",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=runtime.lifespan,
        access=access,
    )
    app.include_router(make_signin_router(signin))
    if oidc_settings.enabled:
        app.include_router(make_oidc_router(oidc_settings, oidc_handler(signin), public=access.public))

    @app.exception_handler(OrgDomainError)
    async def _domain_error(_: Request, exc: OrgDomainError) -> JSONResponse:
        status = (
            404 if exc.code in {"unknown_reference", "unknown_unit", "unknown_person", "not_active"} else 400
        )
        return _refusal(status, exc.code, exc.message_vi, details=_json(dict(exc.details)))

    @app.exception_handler(OrgChangeRefused)
    async def _refused(_: Request, exc: OrgChangeRefused) -> JSONResponse:
        return _refusal(409, exc.error.code, exc.error.message_vi, event_index=exc.index)

    @app.exception_handler(SeedFormatError)
    async def _seed_error(_: Request, exc: SeedFormatError) -> JSONResponse:
        return _refusal(422, exc.code, exc.message_vi)

    @app.exception_handler(UnsafeDocument)
    async def _unsafe_document(_: Request, exc: UnsafeDocument) -> JSONResponse:
        """Over a safety limit of shared/safe_input.py: 413 when too large, else 422."""
        return _refusal(exc.status, exc.code, exc.message_vi)

    runtime.install_ready(app, [access.public("readiness probe; reasons only")])
    runtime.install_metrics(app, [access.metrics()])

    @app.get("/health", dependencies=[access.public("liveness probe; counts only")])
    async def health() -> dict[str, Any]:
        return {
            **runtime.health(),
            "registry_version": service.version,
            "outbox_pending": await runtime.outbox_pending(),
        }

    # -------------------------------------------------------------- queries
    @app.get("/api/units", dependencies=[access.signed_in()])
    async def list_units(
        locality: str | None = None, kind: str | None = None, on: date | None = None
    ) -> list[dict[str, Any]]:
        when = on or _today()
        h = service.registry.hierarchy
        k = UnitKind.parse(kind) if kind else None
        if locality:
            return [_json(u) for u in h.units_at(locality, when, k)]
        found = [h.find_unit(uid, when) for uid in sorted(h.units)]
        return [_json(u) for u in found if u is not None and (k is None or u.kind == k)]

    @app.get("/api/units/{unit_id}", dependencies=[access.signed_in()])
    async def get_unit(unit_id: str, on: date | None = None) -> dict[str, Any]:
        when = on or _today()
        h = service.registry.hierarchy
        unit = h.unit_at(unit_id, when)
        return {
            **_json(unit),
            "parent": _json(h.parent_of(unit_id, when)),
            "children": [_json(c) for c in h.children_of(unit_id, when)],
        }

    @app.get("/api/units/{unit_id}/counterpart", dependencies=[access.signed_in()])
    async def counterpart(
        unit_id: str, kind: Annotated[list[str], Query()], on: date | None = None
    ) -> list[dict[str, Any]]:
        """Same-level units of a kind: "who was the Dân vận board of X on date D"."""
        kinds = [UnitKind.parse(k) for k in kind]
        return [_json(u) for u in service.registry.hierarchy.counterparts(unit_id, kinds, on or _today())]

    @app.get("/api/units/{unit_id}/in-charge", dependencies=[access.signed_in()])
    async def in_charge(
        unit_id: str, on: date | None = None, rules: str = "kien_giang_357"
    ) -> dict[str, Any]:
        """The person in charge of dân vận work (cán bộ phụ trách công tác dân vận) — §8."""
        rulebook = THANH_OAI_05 if rules == "thanh_oai_05" else KIEN_GIANG_357
        return _obj(service.registry.people.dan_van_in_charge(unit_id, on or _today(), rulebook))

    @app.get("/api/systems/{system_id}", dependencies=[access.require(Role.OPERATOR, Role.REGISTRY_ADMIN)])
    async def system(system_id: str, on: date | None = None) -> dict[str, Any]:
        """An agency system: the units it acts for on ``on`` and its keys (public halves only)."""
        found = service.registry.systems.get(system_id)
        if found is None:
            raise HTTPException(
                404, detail={"code": "unknown_system", "message": f"Chưa đăng ký hệ thống «{system_id}»."}
            )
        return {
            "system_id": found.system_id,
            "name_vi": found.name_vi,
            "kind": found.kind,
            "unit_ids": list(found.unit_ids_on(on or _today())),
            "keys": [
                {
                    "kid": k.kid,
                    "valid_from": k.valid_from.isoformat(),
                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                }
                for k in found.keys.values()
            ],
        }

    @app.get("/api/people/{person_id}")
    async def person(
        person_id: str, on: date | None = None, identity: Identity = access.signed_in()
    ) -> dict[str, Any]:
        """A person and their positions; contact channels only for a registry administrator of one
        of the person's units (people's contact data is personal data)."""
        people = service.registry.people
        positions = people.positions_of(person_id, on or _today())
        body = {**_json(people.person(person_id)), "positions": [_json(a) for a in positions]}
        units = [a.unit_id for a in people.positions_of(person_id, _today())]
        if not (
            identity.platform_wide({Role.REGISTRY_ADMIN}, today_vn())
            or access.covers(identity, {Role.REGISTRY_ADMIN}, units)
        ):
            body.pop("contacts", None)
            body["contacts_hidden"] = True
        return body

    @app.get("/api/consultation", dependencies=[access.signed_in()])
    async def consultation(
        issuer: str,
        doc_type: str,
        flags: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI query default
        on: date | None = None,
    ) -> dict[str, Any]:
        """Who must be consulted before ``issuer`` issues ``doc_type`` with ``flags`` on ``on``."""
        allowed = {"touches_peoples_rights", "touches_many_citizens", "on_dan_van_work"}
        bad = [f for f in flags if f not in allowed]
        if bad:
            raise HTTPException(
                422, detail={"code": "unknown_flag", "message": f"Cờ không hợp lệ: {', '.join(bad)}."}
            )
        answer = service.registry.required_consultation(
            issuer, DocumentType.parse(doc_type), DocumentFlags(**dict.fromkeys(flags, True)), on or _today()
        )
        return _obj(answer)

    # -------------------------------------------------------------- administration
    @app.post("/api/changes", status_code=201)
    async def submit_change(
        change: ChangeRequest, request: Request, identity: Identity = access.require(Role.REGISTRY_ADMIN)
    ) -> dict[str, Any]:
        """Append org events (unit registered/changed/merged, person assigned, delegation…)."""
        events: list[OrgEvent] = []
        for i, proposed in enumerate(change.events):
            try:
                cls = event_class(proposed.type, proposed.version)
                ev = cls.model_validate(proposed.payload)
            except (MalformedEvent, ValueError) as exc:
                raise HTTPException(
                    422,
                    detail={
                        "code": "invalid_event",
                        "message": f"Sự kiện thứ {i + 1} không hợp lệ: {exc}",
                        "event_index": i,
                    },
                ) from exc
            if not isinstance(ev, OrgEvent):
                raise HTTPException(
                    422,
                    detail={
                        "code": "not_an_org_event",
                        "message": f"Sự kiện thứ {i + 1} ({proposed.type}) không phải sự kiện của sổ đăng ký tổ chức.",
                    },
                )
            events.append(ev)
        await _authorise_change(request, identity, events)
        appended = await service.change(change.request_id, events)
        await access.changed(
            request,
            identity,
            "org.change",
            change.reason,
            request_id=change.request_id,
            events=",".join(e.event_type for e in events),
            appended=appended,
        )
        return {"request_id": change.request_id, "appended": appended, "registry_version": service.version}

    async def _authorise_change(request: Request, identity: Identity, events: list[OrgEvent]) -> None:
        scope = scope_of(events, service.registry, _today())
        if identity.platform_wide({Role.REGISTRY_ADMIN}, today_vn()):
            return
        if scope.registry_wide:
            await access.refuse(
                request,
                identity,
                403,
                "registry_wide_change",
                "Thay đổi này thuộc phạm vi toàn sổ đăng ký ("
                + ", ".join(sorted(set(scope.registry_wide)))
                + ") — cần quản trị sổ đăng ký toàn hệ thống.",
                page=False,
            )
        outside = sorted(u for u in scope.units if not access.covers(identity, {Role.REGISTRY_ADMIN}, [u]))
        if outside:
            await access.refuse(
                request,
                identity,
                403,
                "outside_scope",
                f"Tài khoản chỉ được quản trị đơn vị thuộc phạm vi được giao; ngoài phạm vi: {', '.join(outside)}.",
                page=False,
            )

    async def _import(
        request: Request, identity: Identity, what: str, rid: str, events: list[OrgEvent]
    ) -> int:
        await _authorise_change(request, identity, events)
        appended = await service.change(rid, events)
        await access.changed(request, identity, what, "", request_id=rid, appended=appended)
        return appended

    def document_route(route: DocumentRoute) -> None:
        """``POST route.path``: the document in the body, turned into org events and appended."""

        async def endpoint(
            request: Request,
            body: str = Body(media_type=route.media_type),
            request_id: str | None = None,
            identity: Identity = access.require(Role.REGISTRY_ADMIN),
        ) -> dict[str, Any]:
            rid = request_id or str(uuid.uuid4())
            events = route.to_events(body, route.source)
            return {"request_id": rid, "appended": await _import(request, identity, route.audit, rid, events)}

        app.post(route.path, status_code=201, name=route.name, description=route.doc)(endpoint)

    for route in (
        DocumentRoute(
            "/api/import/yaml",
            "import_yaml",
            "application/yaml",
            "import.yaml",
            "org.import_yaml",
            service.yaml_events,
            "Bulk import in the seed format (services/org/seeds/README.md).",
        ),
        DocumentRoute(
            "/api/import/units.csv",
            "import_csv",
            "text/csv",
            "units.csv",
            "org.import_csv",
            service.csv_events,
        ),
        DocumentRoute(
            "/api/policies",
            "publish_policy",
            "application/yaml",
            "policy.yaml",
            "org.publish_policy",
            service.policy_yaml_events,
            "Publish a new consultation policy version (YAML, see seeds/policy_v1.yaml); only a\n"
            "platform-wide registry administrator may.",
        ),
    ):
        document_route(route)

    app.state.service = service
    app.state.runtime = runtime
    app.state.access = access
    return app, runtime
