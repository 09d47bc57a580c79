"""A staff mutual as a community interest company (docs/model.md §7.7): dividends capped at
35% of distributable profits and paid only from a surplus above the reserves target, nothing
else leaves it, employee ownership lowers resignations, and trusts fund it less than a charity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import run_ensemble
from sim.model import cic, compile_parameters
from sim.model.events import host_change
from sim.model.parameters import CicParameters
from sim.model.reserves import running_costs
from sim.model.state import initial_state
from sim.scenario import Scenario, load_scenario
from sim.scenario.errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def scenario(*overrides: str) -> Scenario:
    return load_scenario(SCENARIO_DIR / "staff_mutual_cic.toml", overrides=list(overrides))


@pytest.mark.parametrize(("reserves", "start", "target", "payout", "expected"), [
    (300000.0, 200000.0, 150000.0, 0.35, 35000.0),   # the year's surplus, all above target
    (300000.0, 200000.0, 150000.0, 1.00, 35000.0),   # the cap binds
    (300000.0, 200000.0, 150000.0, 0.20, 20000.0),   # the board pays less than the cap
    (300000.0, 200000.0, 250000.0, 0.35, 17500.0),   # only the surplus above the target
    (180000.0, 200000.0, 50000.0, 0.35, 0.0),        # a loss year: nothing
    (100000.0, 0.0, 150000.0, 0.35, 0.0),            # below the target: nothing
    (1000.03, 1000.0, 0.0, 0.35, 0.01),              # whole pennies, rounded down
])
def test_dividend_is_capped_and_paid_from_surplus_above_target(
        reserves: float, start: float, target: float, payout: float, expected: float) -> None:
    """dividend = min(payout, 0.35) × max(min(reserves − year start, reserves − target), 0)."""
    rules = CicParameters(dividend_cap_share=0.35, dividend_payout_share=payout)
    paid = cic.dividend_gbp(np.array([reserves]), np.array([start]), np.array([target]), rules)
    assert paid[0] == pytest.approx(expected, abs=1e-9)


def test_paying_the_dividend_moves_exactly_its_amount(las: LAPopulation) -> None:
    """After the spin-out, an April dividend leaves the reserves as a cost line of its own, to
    the penny, and the next year starts from what is left."""
    params = compile_parameters(scenario(), las, 3)
    streams = RandomStreams(2, partition(3))
    state = initial_state(params, las, streams)
    host_change(0, state, params, streams.at(30), 30)
    cic.set_up(state, params, streams.at(30), 30)
    state.reserves[:] = [100000.0, 400000.0, 50000.0]
    state.form_state["cic"].year_start_gbp[:] = [0.0, 300000.0, 80000.0]
    target = 3.0 * running_costs(state, params)
    before = state.reserves.copy()
    cic.pay_dividend(state, params, streams.at(36), 36)
    expected = np.floor(np.round(0.35 * np.maximum(np.minimum(
        before - [0.0, 300000.0, 80000.0], before - target), 0) * 100, 6)) / 100
    np.testing.assert_allclose(state.flows.costs["dividend"], expected, atol=1e-9)
    np.testing.assert_allclose(state.reserves, before - expected, atol=1e-9)
    assert expected[2] == 0.0 and expected[1] > 0
    np.testing.assert_allclose(state.form_state["cic"].year_start_gbp, state.reserves)


def test_employee_ownership_and_trust_grants_change_the_cics_terms(las: LAPopulation) -> None:
    """The CIC host resigns at 0.85 × (1 − 0.15 × 1) and raises half a charity's £40,000; the
    council before it is unchanged."""
    params = compile_parameters(scenario(), las, 2)
    council, mutual = params.hosting.hosts
    np.testing.assert_allclose(council.resignation_multiplier, 1.0)
    np.testing.assert_allclose(mutual.resignation_multiplier, 0.85 * 0.85)
    np.testing.assert_allclose(mutual.charitable_income_gbp_per_year, 20000.0)
    off = compile_parameters(scenario("host_changes[0].hosting.cic.enabled=false"), las, 2)
    np.testing.assert_allclose(off.hosting.hosts[1].resignation_multiplier, 0.85)


def test_dividends_fall_only_in_april_after_the_spin_out_within_the_cap(
        las: LAPopulation) -> None:
    """With host support large enough to make surpluses: dividends are paid only in Aprils
    after the change of host, each at most 35% of the year's rise in reserves, and the money
    identity holds to the penny."""
    sc = scenario("host_changes[0].hosting.in_kind_support_gbp_per_year=900000.0")
    result = run_ensemble(sc, las, 20, 3)
    m = result.metrics
    paid = m["costs_dividend_gbp"]
    months = np.arange(paid.shape[1])
    assert paid.sum() > 0
    assert (paid[:, (months % 12 != 0) | (months <= 30)] == 0).all()
    reserves = m["reserves_gbp"]
    start = reserves[:, 29].copy()
    for t in range(36, paid.shape[1], 12):
        assert (paid[:, t] <= 0.35 * np.maximum(reserves[:, t - 1] - start, 0) + 0.005).all()
        start = reserves[:, t - 1] - paid[:, t]
    expected = (sc.finance.opening_reserves_gbp + np.cumsum(m["income_total_gbp"], axis=1)
                - np.cumsum(m["costs_total_gbp"], axis=1))
    np.testing.assert_allclose(reserves, expected, rtol=0, atol=0.005)
    provision = m["costs_total_gbp"] - m["costs_surrender_gbp"] - paid
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = m["value_delivered_gbp"] / provision
    np.testing.assert_allclose(m["benefit_cost_ratio"], np.where(provision > 0, ratio, np.nan),
                               rtol=1e-12, equal_nan=True)


def test_a_cic_is_a_company() -> None:
    """The CIC rules on a council host are refused."""
    with pytest.raises(ScenarioError, match="cic"):
        scenario("hosting.cic.enabled=true")
