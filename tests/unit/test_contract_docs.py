"""The published contract documents are generated from the code and must not drift."""

import json

from scripts.asyncapi import render_all
from shared.contract.envelope import registered_events


def test_committed_asyncapi_and_catalog_are_up_to_date() -> None:
    stale = [
        str(p) for p, text in render_all().items() if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"run ./dev asyncapi: {stale}"


def test_every_event_a_service_declares_is_in_the_catalog_and_has_a_schema() -> None:
    docs = render_all()
    catalog = next(text for p, text in docs.items() if p.name == "EVENTS.md")
    schemas: dict[str, object] = {}
    for path, text in docs.items():
        if path.suffix == ".json":
            schemas.update(json.loads(text)["components"]["messages"])
    product_events = [
        c
        for (t, _), c in registered_events().items()
        if t.split(".")[0] in {"org", "decision", "workflow", "complaint", "situation", "plan", "notify"}
    ]
    assert product_events
    for cls in product_events:
        assert f"`{cls.event_type}`" in catalog, cls.event_type
        assert f"{cls.event_type}.v{cls.event_version}" in schemas, cls.event_type


def test_every_product_event_has_a_docstring_for_the_catalog() -> None:
    # the catalog's "meaning" column is the docstring's first paragraph; import the event
    # modules so the check does not depend on which tests ran before
    import shared.contract.events.decisions
    import shared.contract.events.notify
    import shared.contract.events.org
    import shared.contract.events.workflows  # noqa: F401

    product = {"org", "decision", "workflow", "complaint", "situation", "plan", "notify"}
    undocumented = sorted(
        f"{t}.v{v} ({c.__name__})"
        for (t, v), c in registered_events().items()
        if t.split(".")[0] in product and not (c.__doc__ or "").strip()
    )
    assert undocumented == [], f"add a docstring (it is the catalog's meaning): {undocumented}"
