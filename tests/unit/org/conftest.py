"""Shared fixtures: the seed documents shipped in ``services/org/seeds``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.orgmodel.hierarchy import Hierarchy, NewLocality
from shared.orgmodel.policy import ConsultationPolicy
from shared.orgmodel.registry import OrgRegistry
from shared.orgmodel.seed_format import parse_policy, parse_seed
from shared.orgmodel.seed_loading import build_registry
from shared.orgmodel.seed_specs import Seed
from shared.orgmodel.units import DEFAULT_LEVELS

SEEDS = Path(__file__).resolve().parents[3] / "services" / "org" / "seeds"
D0 = date(2020, 1, 1)


def read(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def kg_seed() -> Seed:
    return parse_seed(read("kien_giang.yaml"), "kien_giang.yaml")


@pytest.fixture(scope="session")
def to_seed() -> Seed:
    return parse_seed(read("thanh_oai.yaml"), "thanh_oai.yaml")


@pytest.fixture(scope="session")
def policies() -> list[ConsultationPolicy]:
    return parse_policy(read("policy_v1.yaml"), "policy_v1.yaml")


@pytest.fixture
def registry(kg_seed: Seed, to_seed: Seed, policies: list[ConsultationPolicy]) -> OrgRegistry:
    """A fresh registry with both seeds and the policy (function scope: tests may mutate it)."""
    return build_registry([kg_seed, to_seed], policies)


def small_hierarchy() -> Hierarchy:
    """Province P with district D and commune C; a few units."""
    h = Hierarchy()
    for lv in DEFAULT_LEVELS:
        h.define_level(lv)
    h.register_locality(NewLocality("P", "Tỉnh P", "province"), D0)
    h.register_locality(NewLocality("D", "Huyện D", "district", "P"), D0)
    h.register_locality(NewLocality("C", "Xã C", "commune", "D"), D0)
    return h
