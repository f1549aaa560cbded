"""CSV bulk import of units: ``id,name,kind,level,parent_id,valid_from[,locality_id,function]``.

``locality_id`` may be left empty: the unit then takes the địa bàn of its parent (earlier row or
the registry) when the parent is at the same ``level``; otherwise the row is refused and the
column must be filled. Errors name the line and column. The rows come already checked against
the safety limits (:func:`~shared.orgmodel.seed_format.parse_units_csv`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from shared.orgmodel.errors import OrgDomainError, SeedFormatError
from shared.orgmodel.hierarchy import Hierarchy
from shared.orgmodel.seed_specs import Seed, UnitSpec, Where
from shared.orgmodel.units import UnitKind

CSV_COLUMNS = ("id", "name", "kind", "level", "parent_id", "valid_from")
CSV_OPTIONAL_COLUMNS = ("locality_id", "function")


def units_from_csv(records: Iterator[tuple[int, list[str]]], source: str, registry: Hierarchy | None) -> Seed:
    first = next(records, None)
    fieldnames = first[1] if first is not None else []
    header = tuple(h.strip() for h in fieldnames)
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise SeedFormatError(
            f"thiếu cột bắt buộc: {', '.join(missing)}.", path=source, line=1, code="seed_missing_key"
        )
    unknown = [c for c in header if c not in CSV_COLUMNS + CSV_OPTIONAL_COLUMNS]
    if unknown:
        raise SeedFormatError(
            f"cột không được hỗ trợ: {', '.join(unknown)}.", path=source, line=1, code="seed_unknown_key"
        )
    seed = Seed(source=source)
    located: dict[str, tuple[str, str]] = {}  # unit id -> (locality id, level code)
    for line, record in records:

        def err(
            column: str, message: str, code: str = "seed_invalid_value", line: int = line
        ) -> SeedFormatError:
            return SeedFormatError(message, path=f"{source}:{column}", line=line, code=code)

        values = {k.strip(): v.strip() for k, v in zip(fieldnames, record, strict=False)}
        for col in ("id", "name", "kind", "level", "valid_from"):
            if not values.get(col):
                raise err(col, f"cột “{col}” không được để trống.", "seed_missing_key")
        try:
            kind = UnitKind.parse(values["kind"])
        except OrgDomainError as exc:
            raise err("kind", exc.message_vi, exc.code) from None
        try:
            valid_from = date.fromisoformat(values["valid_from"])
        except ValueError:
            raise err(
                "valid_from", f"“{values['valid_from']}” không phải ngày hợp lệ (YYYY-MM-DD)."
            ) from None
        parent_id = values.get("parent_id") or None
        level = values["level"]
        locality_id = values.get("locality_id") or None
        if locality_id is None:
            parent_loc = located.get(parent_id) if parent_id else None
            if parent_loc is None and parent_id and registry is not None:
                view = registry.find_unit(parent_id, valid_from)
                if view is not None:
                    parent_loc = (view.locality_id, view.level.code)
            if parent_loc is None or parent_loc[1] != level:
                raise err(
                    "locality_id",
                    "không xác định được địa bàn của đơn vị (đơn vị cấp trên không cùng cấp hoặc không có); "
                    "hãy điền cột locality_id.",
                )
            locality_id = parent_loc[0]
        elif registry is not None and registry.has_locality(locality_id):
            actual = registry.localities[locality_id].level_code
            if actual != level:
                raise err(
                    "level", f"cấp “{level}” không khớp với cấp “{actual}” của địa bàn “{locality_id}”."
                )
        located[values["id"]] = (locality_id, level)
        seed.units.append(
            UnitSpec(
                id=values["id"],
                name=values["name"],
                kind=kind,
                locality_id=locality_id,
                parent_id=parent_id,
                function=values.get("function") or None,
                valid_from=valid_from,
                where=Where(f"{source}:{values['id']}", line),
            )
        )
    seed.check_unique_ids()
    return seed
