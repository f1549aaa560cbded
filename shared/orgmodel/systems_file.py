"""The ``danvan-systems/1`` file: agency systems and their public keys, as org events.

Why a file: a fresh installation must know the platform services' and agency systems' keys before
anything is signed; ``python -m scripts.secrets ensure`` writes it on a development machine and an
operator writes it for a deployment. :func:`system_events` returns only what the registry does not
know yet, so loading the same file twice appends nothing. Revocations are org changes
(``org.agency_key_revoked`` through the admin API), never a file edit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import yaml

from shared.contract.events.org import AgencyKeyRegistered, AgencySystemRegistered, OrgEvent, PublicJwk
from shared.orgmodel.errors import SeedFormatError
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_yaml import refusing_unsafe
from shared.safe_input import load_yaml

FORMAT = "danvan-systems/1"
DEFAULT_VALID_FROM = date(2020, 1, 1)


def system_events(
    text: str, registry: OrgRegistry, source: str = "systems.yaml", registry_id: str = "vn"
) -> list[OrgEvent]:
    try:
        with refusing_unsafe(source):
            doc = load_yaml(text)
    except yaml.YAMLError as exc:
        raise SeedFormatError(f"không đọc được YAML: {exc}", path=source, code="bad_yaml") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SeedFormatError(f"cần dòng 'format: {FORMAT}'.", path=source, code="bad_format")
    events: list[OrgEvent] = []
    known = registry.systems
    for raw in doc.get("systems") or []:
        try:
            sid = str(raw["system_id"])
            since = raw.get("valid_from") or DEFAULT_VALID_FROM
            if known.get(sid) is None:
                events.append(
                    AgencySystemRegistered(
                        registry_id=registry_id,
                        system_id=sid,
                        name_vi=str(raw.get("name_vi") or sid),
                        kind=raw.get("kind", "agency"),
                        unit_ids=tuple(str(u) for u in raw.get("unit_ids") or ()),
                        valid_from=since,
                    )
                )
            for jwk in raw.get("keys") or []:
                key = PublicJwk.model_validate(jwk)
                if known.key(key.kid) is None:
                    events.append(
                        AgencyKeyRegistered(
                            registry_id=registry_id,
                            system_id=sid,
                            key=key,
                            valid_from=datetime.combine(since, datetime.min.time(), UTC),
                        )
                    )
        except (KeyError, TypeError, ValueError) as exc:
            raise SeedFormatError(f"hệ thống không hợp lệ: {exc}", path=source, code="bad_system") from exc
    return events
