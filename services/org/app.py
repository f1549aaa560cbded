"""HTTP API of the org registry (queries and administration) and its Kafka side.

Queries answer "as of a date" (``on``, default today in Vietnam): history stays
queryable after merges and re-parenting. Administration accepts changes as
proposed org events (or YAML/CSV imports); they are validated against the whole
registry and refused with a precise Vietnamese message (HTTP 400/409/422).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.org.contract import DESCRIPTION
from services.org.domain.errors import OrgDomainError, SeedFormatError
from services.org.domain.people import KIEN_GIANG_357, THANH_OAI_05
from services.org.domain.policy import DocumentFlags, DocumentType
from services.org.domain.units import UnitKind
from services.org.service import OrgChangeRefused, OrgService
from shared.contract.envelope import MalformedEvent, event_class
from shared.contract.events.org import OrgEvent
from shared.http import install_error_handlers
from shared.runtime import ServiceRuntime
from shared.security.admin import require_admin
from shared.security.local_secrets import production, secrets_dir
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

    def systems_source(self) -> tuple[str, str] | None:
        if self.systems_yaml:
            return self.systems_yaml, "ORG_SYSTEMS_YAML"
        path = Path(self.systems_file) if self.systems_file else None
        if path is None and not production():
            path = secrets_dir() / "systems.yaml"
        if path is not None and path.exists():
            return path.read_text(encoding="utf-8"), str(path)
        return None


class ProposedEvent(BaseModel):
    type: str
    version: int = 1
    payload: dict[str, Any]


class ChangeRequest(BaseModel):
    request_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    events: list[ProposedEvent] = Field(min_length=1)


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
    service = OrgService(runtime.store("registries"), runtime.emitter, on_saved=runtime.relay.wake)

    @runtime.on_start
    async def load_registry() -> None:
        await service.load()
        for name in [s.strip() for s in settings.seeds.split(",") if s.strip()]:
            await service.load_seed(name)
        source = settings.systems_source()
        if source is not None:
            await service.load_systems(*source)

    app = FastAPI(
        title="Org registry — sổ đăng ký tổ chức",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=runtime.lifespan,
    )

    install_error_handlers(app)

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

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            **runtime.health(),
            "registry_version": service.version,
            "outbox_pending": await runtime.outbox_pending(),
        }

    # -------------------------------------------------------------- queries
    @app.get("/api/units")
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

    @app.get("/api/units/{unit_id}")
    async def get_unit(unit_id: str, on: date | None = None) -> dict[str, Any]:
        when = on or _today()
        h = service.registry.hierarchy
        unit = h.unit_at(unit_id, when)
        return {
            **_json(unit),
            "parent": _json(h.parent_of(unit_id, when)),
            "children": [_json(c) for c in h.children_of(unit_id, when)],
        }

    @app.get("/api/units/{unit_id}/counterpart")
    async def counterpart(
        unit_id: str, kind: Annotated[list[str], Query()], on: date | None = None
    ) -> list[dict[str, Any]]:
        """Same-level units of a kind: "who was the Dân vận board of X on date D"."""
        kinds = [UnitKind.parse(k) for k in kind]
        return [_json(u) for u in service.registry.hierarchy.counterparts(unit_id, kinds, on or _today())]

    @app.get("/api/units/{unit_id}/in-charge")
    async def in_charge(
        unit_id: str, on: date | None = None, rules: str = "kien_giang_357"
    ) -> dict[str, Any]:
        """The person in charge of dân vận work (cán bộ phụ trách công tác dân vận) — §8."""
        rulebook = THANH_OAI_05 if rules == "thanh_oai_05" else KIEN_GIANG_357
        return _obj(service.registry.people.dan_van_in_charge(unit_id, on or _today(), rulebook))

    @app.get("/api/systems/{system_id}")
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
    async def person(person_id: str, on: date | None = None) -> dict[str, Any]:
        people = service.registry.people
        return {
            **_json(people.person(person_id)),
            "positions": [_json(a) for a in people.positions_of(person_id, on or _today())],
        }

    @app.get("/api/consultation")
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
    @app.post("/api/changes", status_code=201, dependencies=[Depends(require_admin)])
    async def submit_change(change: ChangeRequest) -> dict[str, Any]:
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
        appended = await service.change(change.request_id, events)
        return {"request_id": change.request_id, "appended": appended, "registry_version": service.version}

    @app.post("/api/import/yaml", status_code=201, dependencies=[Depends(require_admin)])
    async def import_yaml(
        body: Annotated[str, Body(media_type="application/yaml")], request_id: str | None = None
    ) -> dict[str, Any]:
        """Bulk import in the seed format (services/org/seeds/README.md)."""
        rid = request_id or str(uuid.uuid4())
        return {"request_id": rid, "appended": await service.import_yaml(rid, body, "import.yaml")}

    @app.post("/api/import/units.csv", status_code=201, dependencies=[Depends(require_admin)])
    async def import_csv(
        body: Annotated[str, Body(media_type="text/csv")], request_id: str | None = None
    ) -> dict[str, Any]:
        rid = request_id or str(uuid.uuid4())
        return {"request_id": rid, "appended": await service.import_units_csv(rid, body, "units.csv")}

    @app.post("/api/policies", status_code=201, dependencies=[Depends(require_admin)])
    async def publish_policy(
        body: Annotated[str, Body(media_type="application/yaml")], request_id: str | None = None
    ) -> dict[str, Any]:
        """Publish a new consultation policy version (YAML, see seeds/policy_v1.yaml)."""
        rid = request_id or str(uuid.uuid4())
        return {"request_id": rid, "appended": await service.publish_policy_yaml(rid, body, "policy.yaml")}

    app.state.service = service
    app.state.runtime = runtime
    return app, runtime
