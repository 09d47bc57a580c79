"""Scenario files: schema, loading, inheritance, overrides, validation."""

from __future__ import annotations

from sim.scenario.errors import ScenarioError, explain_validation_error
from sim.scenario.load import (
    load_scenario,
    parse_override,
    resolved_toml,
    scenario_from_dict,
)
from sim.scenario.schema import Scenario, parameter_rows

__all__ = [
    "Scenario",
    "ScenarioError",
    "explain_validation_error",
    "load_scenario",
    "parameter_rows",
    "parse_override",
    "resolved_toml",
    "scenario_from_dict",
]
