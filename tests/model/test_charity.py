"""A charity on a multi-year grant (docs/model.md §7.8): unpaid trustees' expenses in its
governance, and the VAT it recovers apportioned by last year's business share of its income."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from verdict_helpers import NO_EARNED_MONEY, assert_never_viable_and_closed_by_year_5

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import run_ensemble
from sim.model import charity, compile_parameters
from sim.model.state import initial_state
from sim.scenario import Scenario, load_scenario
from sim.scenario.errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def scenario(*overrides: str) -> Scenario:
    return load_scenario(SCENARIO_DIR / "charity_multi_year_grant.toml", overrides=list(overrides))


def test_trustees_expenses_are_governance(las: LAPopulation) -> None:
    """Governance is the host's £60,000 plus nine trustees × £1,000."""
    params = compile_parameters(scenario(), las, 2)
    np.testing.assert_allclose(params.hosting.hosts[0].governance_gbp_per_year, 69000.0)


@pytest.mark.parametrize(("business", "income", "share"), [
    (30.0, 100.0, 0.3), (0.0, 0.0, 0.0), (50.0, 50.0, 1.0), (0.0, 80.0, 0.0)])
def test_the_years_vat_share_is_last_years_business_share(las: LAPopulation, business: float,
                                                         income: float, share: float) -> None:
    """April: the share is business ÷ all income of the year just ended (0 with no income),
    and the tally starts afresh."""
    params = compile_parameters(scenario(), las, 2)
    streams = RandomStreams(1, partition(2))
    state = initial_state(params, las, streams)
    charity.set_up(state, params, streams.at(0), 0)
    book = state.form_state["charity"]
    book.business_gbp[:], book.income_gbp[:] = business, income
    charity.set_vat_share(state, params, streams.at(12), 12)
    np.testing.assert_allclose(book.vat_share, share)
    assert (book.business_gbp == 0).all() and (book.income_gbp == 0).all()


def test_recovered_vat_leaves_the_vat_line_for_the_reserves(las: LAPopulation) -> None:
    """With a share of 0.4, £1,000.01 of VAT becomes £600.01 and the reserves rise £400.00."""
    params = compile_parameters(scenario(), las, 2)
    streams = RandomStreams(1, partition(2))
    state = initial_state(params, las, streams)
    charity.set_up(state, params, streams.at(0), 0)
    state.form_state["charity"].vat_share[:] = 0.4
    state.flows.costs["vat"][:] = 1000.01
    before = state.reserves.copy()
    charity.recover_vat(state, params, streams.at(5), 5)
    np.testing.assert_allclose(state.flows.costs["vat"], 600.01, atol=1e-9)
    np.testing.assert_allclose(state.reserves - before, 400.0, atol=1e-9)


def test_in_a_run_vat_is_the_unrecovered_share_and_money_is_conserved(las: LAPopulation) -> None:
    """In every operating month the VAT line is non-pay × 20% × (1 − the year's share) to the
    penny, the share is 0 in the first year and the money identity holds; without
    apportionment the VAT line is the company's full 20%."""
    sc = scenario()
    m = run_ensemble(sc, las, 20, 9).metrics
    share, non_pay, vat = m["charity_vat_share"], m["costs_non_pay_gbp"], m["costs_vat_gbp"]
    assert (share[:, :12] == 0).all() and share[:, 24:].max() > 0
    full = np.round(non_pay * 0.2, 2)
    np.testing.assert_allclose(vat, full - np.round(full * share, 2), atol=0.011)
    expected = (sc.finance.opening_reserves_gbp + np.cumsum(m["income_total_gbp"], axis=1)
                - np.cumsum(m["costs_total_gbp"], axis=1))
    np.testing.assert_allclose(m["reserves_gbp"], expected, rtol=0, atol=0.005)
    off = run_ensemble(scenario("hosting.charity.vat_apportionment=false"), las, 20, 9).metrics
    np.testing.assert_allclose(off["costs_vat_gbp"], np.round(off["costs_non_pay_gbp"] * 0.2, 2),
                               atol=0.011)


def test_no_money_closes_the_charity(las: LAPopulation) -> None:
    """Extreme: no grant, no trust income, no reserves, free to LAs → never viable, closed."""
    sc = scenario(*NO_EARNED_MONEY, "finance.grants=[]",
                  "hosting.charitable_income_gbp_per_year=0.0")
    assert_never_viable_and_closed_by_year_5(run_ensemble(sc, las, 20, 5).metrics)


def test_only_a_charitable_form_with_three_trustees_can_be_a_charity() -> None:
    """A council cannot be a charity; a board needs at least three trustees."""
    with pytest.raises(ScenarioError, match="charity"):
        load_scenario(SCENARIO_DIR / "la_hosted.toml", overrides=["hosting.charity.enabled=true"])
    with pytest.raises(ScenarioError, match="trustees"):
        scenario("hosting.charity.trustees=2")
