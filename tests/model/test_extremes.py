"""Extreme conditions whose outcome is known without running the model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import EnsembleResult, compare, run_ensemble
from sim.scenario import Scenario

SEED = 31337


def no_money_at_all(make_scenario: Callable[..., Scenario]) -> Scenario:
    """No grants, no subscriptions, no reserves, no overdraft, nobody in post."""
    return make_scenario(
        finance={"grants": [], "subscription_gbp_per_year": 0.0, "opening_reserves_gbp": 0.0},
        hosting={"deficit_tolerance_gbp": 0.0, "in_kind_support_gbp_per_year": 0.0},
        workforce={role: {"initial_fte": 0} for role in ("delivery", "engagement", "leadership")},
    )


@pytest.mark.parametrize("name", ["la_hosted", "independent_company", "big_bang"])
def test_zero_resignation_rate_means_no_leavers(
    name: str, las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """With a zero resignation rate nobody ever leaves, whatever the workload or funding signal."""
    scenario = shipped_scenario(
        name,
        "workforce.resignation_rate_per_year=0",
        "workforce.funding_uncertainty_uplift=10",
        "workforce.workload_sensitivity=10",
    )
    result = run_ensemble(scenario, las, 50, SEED)
    assert result.metrics["leavers"].max() == 0
    assert (result.kpis["leavers_total"] == 0).all()


def test_no_income_closes_the_coe(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """With no income, reserves or overdraft the CoE is closed by the end of the horizon."""
    result = run_ensemble(no_money_at_all(make_scenario), las, 50, SEED)
    assert (result.metrics["operating"][:, -1] == 0).all()
    assert (result.metrics["income_total_gbp"] == 0).all()


def test_no_income_means_no_hires(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """With no income and no reserves the CoE never hires anyone."""
    result = run_ensemble(no_money_at_all(make_scenario), las, 50, SEED)
    assert result.metrics["hires"].max() == 0


@pytest.mark.parametrize(
    "name", ["la_hosted", "government_hosted", "independent_company", "big_bang"]
)
def test_unlimited_reserves_never_close(
    name: str, las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """With reserves far above any possible cumulative deficit the CoE never closes for money
    (a government host closes otherwise only when a spending review stops its budget, so none
    does here). A department may not keep reserves (annuality, docs/model.md §5.11), so here it
    is allowed to; closure of a Centre that stops working (§5.10) is off: it is not money."""
    # 1e10 is the schema's maximum opening reserve: ~1000× ten years of the largest cost base.
    scenario = shipped_scenario(name, "finance.opening_reserves_gbp=1e10",
                                "events.spending_review.stop_prob=0",
                                "hosting.reserves_rule=none",
                                "hosting.nonviable_closure_months=600")
    result = run_ensemble(scenario, las, 50, SEED)
    assert (result.metrics["operating"] == 1).all()
    assert np.isnan(result.kpis["closure_month"]).all()


def test_big_bang_fails_more_launches_than_gall_when_capacity_is_scarce(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """With two delivery posts, a launch attempt fails more often when everything is built at
    once than under Gall's law (§4.4: concurrency raises the chance). Per attempt, because
    the scarce team finishes fewer builds at all under a big bang. Members' support and
    onboarding are switched off, so the two posts build (§4.1)."""
    scarce = ("workforce.delivery.establishment_fte=2",
              "market.support_delivery_fte_per_member=0",
              "market.onboarding_fte_months_per_join=0")
    gall, big_bang = compare(
        [shipped_scenario("gall", *scarce), shipped_scenario("big_bang", *scarce)], las, 200, SEED
    )
    def failure_share(result: EnsembleResult) -> float:
        failed = result.metrics["failed_launches"].sum()
        return float(failed / (failed + result.metrics["launches"].sum()))

    assert failure_share(big_bang) > failure_share(gall)


def test_staff_leave_ahead_of_a_grant_cliff(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Resignations in the 12 months before the grant ends exceed those of a no-cliff control."""
    cliff_scenario = shipped_scenario("la_hosted")
    end = cliff_scenario.finance.grants[0].end_month
    window = cliff_scenario.workforce.funding_uncertainty_window_months
    assert window == 12
    control_scenario = shipped_scenario("la_hosted", "finance.grants[0].end_month=1000")
    cliff, control = compare([cliff_scenario, control_scenario], las, 300, SEED)
    before = slice(0, end - window)
    # Common random numbers: until the uncertainty window opens, the two runs are identical.
    np.testing.assert_array_equal(
        cliff.metrics["leavers"][:, before], control.metrics["leavers"][:, before]
    )
    in_window = slice(end - window, end)
    assert (
        cliff.metrics["leavers"][:, in_window].sum()
        > control.metrics["leavers"][:, in_window].sum()
    )
