"""Shared fixtures: the LA population, scenario builders and the shipped scenario files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from sim.data import LAPopulation, load_la_population
from sim.model import Parameters, compile_parameters
from sim.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = ROOT / "scenarios"
SHIPPED = ("la_hosted", "government_hosted", "independent_company", "big_bang")
"""The shipped scenarios the model-level checks run on."""
INSTANT_UPTAKE: dict[str, Any] = {
    "initial_aware_share": 1.0, "evaluation_start_months": 0.0, "free_approval_months": 0.0,
    "free_approval_pass_prob": 1.0, "approval_threshold_gbp": 1e9, "renewal_prob": 1.0,
    "renewal_reputation_sensitivity": 0.0, "renewal_budget_pressure_sensitivity": 0.0,
    "renewal_goodwill_gbp_per_year": 1e6, "champion_turnover_multiplier": 0.0,
    "contribution_rate_per_year": 0.0}
"""Uptake settings under which every LA is aware, approves at once and never lapses, so the
paying members are exactly the LAs whose willingness to pay reaches their price (docs/model.md
§2.10)."""


def build_scenario(**sections: Mapping[str, Any]) -> Scenario:
    """A validated scenario from schema defaults plus nested section dicts, e.g.
    ``build_scenario(time={"horizon_months": 24}, finance={"grants": []})``."""
    return scenario_from_dict(dict(sections), "<test>")


def shipped(name: str, *overrides: str) -> Scenario:
    """A shipped scenario file (``scenarios/<name>.toml``) with ``key.path=value`` overrides."""
    return load_scenario(SCENARIO_DIR / f"{name}.toml", overrides=list(overrides))


@pytest.fixture(scope="session")
def las() -> LAPopulation:
    """The 153 English LAs from the package data."""
    return load_la_population()


@pytest.fixture(scope="session")
def make_scenario() -> Callable[..., Scenario]:
    """Builder: schema defaults plus nested section overrides."""
    return build_scenario


@pytest.fixture(scope="session")
def shipped_scenario() -> Callable[..., Scenario]:
    """Loader: a shipped scenario file by stem, with ``--set``-style overrides."""
    return shipped


@pytest.fixture(scope="session")
def compiled(las: LAPopulation) -> Callable[..., Parameters]:
    """Compiler: the parameter record of a scenario (schema defaults plus nested section
    overrides) for ``replicates`` replicates, e.g. ``compiled(uptake={"q_per_year": 0.5})``."""
    def compile_(replicates: int = 1, **sections: Mapping[str, Any]) -> Parameters:
        return compile_parameters(build_scenario(**sections), las, replicates)
    return compile_


@pytest.fixture
def umask_022() -> Iterator[None]:
    """Run with umask 022 (the usual one), restoring the caller's afterwards."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)
