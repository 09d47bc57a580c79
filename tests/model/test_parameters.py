"""The compiled parameter record: every field of the replicate shape or a constant, values
written by key path, and the scenario's own values when nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.model import PER_REPLICATE_PATHS, Parameters, compile_parameters, is_per_replicate
from sim.model.parameters import (
    FinanceParameters,
    HostParameters,
    UptakeParameters,
    WorkforceParameters,
    compact,
)
from sim.scenario import Scenario


def test_per_replicate_fields_hold_one_value_per_replicate(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Every per-replicate field is float64[R] holding the scenario's value; hosts' fields
    are all [R]; constants are plain numbers."""
    scenario = shipped_scenario("la_hosted_then_spinout")
    params = compile_parameters(scenario, las, 7)
    for cls, record, section in ((UptakeParameters, params.uptake, scenario.uptake),
                                 (WorkforceParameters, params.workforce, scenario.workforce),
                                 (FinanceParameters, params.finance, scenario.finance)):
        for f in fields(cls):
            value = getattr(record, f.name)
            if f.metadata.get("per_replicate"):
                assert value.shape == (7,) and value.dtype == float, f.name
                given = getattr(section, f.name)  # unset (None) is NaN in every replicate
                assert (np.isnan(value).all() if given is None else (value == given).all()), f.name
            elif isinstance(value, float | int) and hasattr(section, f.name):
                assert value == getattr(section, f.name), f.name
    for index, hosting in enumerate((scenario.hosting, scenario.host_changes[0].hosting)):
        host = params.hosting.hosts[index]
        for f in fields(HostParameters):
            assert getattr(host, f.name).shape[0] == 7, f.name
        assert (host.pension_rate == hosting.pension_rate).all()
    assert params.hosting.models == ("la_hosted", "independent_company")
    assert params.prices_gbp_per_year.shape == (7, las.count)


def test_the_per_replicate_paths_are_the_marked_fields() -> None:
    """PER_REPLICATE_PATHS is derived from the record, so it names only real fields."""
    assert "uptake.q_per_year" in PER_REPLICATE_PATHS
    assert "hosting.recruitment_delay_months" in PER_REPLICATE_PATHS
    assert is_per_replicate("finance.subscription_bands[2].price_gbp_per_year")
    assert is_per_replicate("finance.grants[1].end_month")
    assert not is_per_replicate("uptake.peer_weight_region")
    assert not is_per_replicate("host_changes[0].hosting.recruitment_delay_months")
    for path in PER_REPLICATE_PATHS:
        section, _, name = path.replace("[*]", "").partition(".")
        assert section in {f.name for f in fields(Parameters)}, path


def test_values_are_written_by_key_path(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Sweeps and parameter draws write into the record: per replicate where allowed, one
    value for the batch elsewhere (hosts, roles, services and bands by their scenario paths);
    derived values (prices, running costs) follow what was written."""
    scenario = shipped_scenario("la_hosted_then_spinout")
    values = {"uptake.q_per_year": np.array([0.1, 0.2, 0.3]),
              "finance.subscription_bands[1].price_gbp_per_year": np.array([1e3, 2e3, 3e3]),
              "hosting.overhead_recharge_rate": np.array([0.0, 0.5, 1.0]),
              "host_changes[0].hosting.pension_rate": 0.05,
              "workforce.engagement.salary_gbp_per_year": 10_000.0,
              "portfolio.services[2].complexity": 0.9,
              "uptake.peer_weight_region": 0.1}
    params = compile_parameters(scenario, las, 3, values)
    np.testing.assert_array_equal(params.uptake.q_per_year, [0.1, 0.2, 0.3])
    assert params.uptake.peer_weight_region == 0.1
    assert (params.hosting.hosts[1].pension_rate == 0.05).all()
    assert params.workforce.salary_gbp_per_year[1] == 10_000.0
    assert params.portfolio.services.complexity[2] == 0.9
    medium = (las.child_population >= 50_000) & (las.child_population < 150_000)
    np.testing.assert_array_equal(params.prices_gbp_per_year[:, medium],
                                  np.array([[1e3], [2e3], [3e3]]) * np.ones(medium.sum()))
    plain = compile_parameters(scenario, las, 3)
    per_head = params.hosting.hosts[0].cost_per_head_gbp_per_month
    usual = plain.hosting.hosts[0].cost_per_head_gbp_per_month
    assert per_head[0, 0] < usual[0, 0] < per_head[2, 0]
    assert per_head[0, 1] < usual[0, 1]


def test_a_wrong_length_or_unknown_value_is_refused(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    scenario = shipped_scenario("la_hosted")
    with pytest.raises(ValueError):
        compile_parameters(scenario, las, 3, {"uptake.q_per_year": np.array([0.1, 0.2])})
    with pytest.raises(ValueError, match="not a model parameter"):
        compile_parameters(scenario, las, 3, {"finance.grants[5].end_month": 12.0})


def test_compact_keeps_one_row_only_when_all_rows_agree() -> None:
    same = np.broadcast_to(np.array([2.0, 3.0]), (4, 2))
    assert compact(same).shape == (1, 2)
    assert compact(np.full(5, 0.3)).shape == (1,)
    differ = np.array([0.1, 0.2])
    assert compact(differ) is differ
