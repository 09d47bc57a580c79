"""External events: spending reviews, the general election and national programmes fire on
their months and draw with the stated probabilities; the demand multiplier follows its
closed-form recursion."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import poisson

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.model import EventKind
from sim.model.external import (
    core_budget_at_risk,
    demand_boost,
    poisson_from_uniform,
    review_months,
    spending_review,
)
from sim.scenario import Scenario
from sim.scenario.schema import NationalProgrammes, SpendingReview

SEED = 2718


def grid(n: int) -> np.ndarray:
    """n evenly spaced uniforms: exact frequencies instead of sampling noise."""
    return (np.arange(n) + 0.5) / n


# ---------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize("mean", [0.05, 0.5, 2.0])
def test_poisson_by_inversion_has_the_poisson_pmf(mean: float) -> None:
    """Over an even grid of uniforms each count k has frequency pmf(k) (to the grid spacing)."""
    n, cap = 100_000, 12
    counts = poisson_from_uniform(np.full(n, mean), grid(n), cap)
    frequency = np.bincount(counts, minlength=cap + 1) / n
    np.testing.assert_allclose(frequency[:cap], poisson.pmf(np.arange(cap), mean), atol=2 / n)


def test_spending_review_cuts_and_stops_in_the_stated_shares() -> None:
    """stop_prob of budgets stop, cut_prob are cut by cut_share, the rest unchanged; £0 stays £0."""
    review = SpendingReview(cut_prob=0.3, cut_share=0.2, stop_prob=0.1)
    n = 1000
    budget = np.full(n, 500_000.0)
    new, cut, stopped = spending_review(budget, review, grid(n))
    assert stopped.sum() == 100 and cut.sum() == 300
    assert (new[stopped] == 0).all()
    np.testing.assert_allclose(new[cut], 400_000.0)
    assert (new[~cut & ~stopped] == 500_000.0).all()
    zero, cut0, stop0 = spending_review(np.zeros(n), review, grid(n))
    assert (zero == 0).all() and not cut0.any() and not stop0.any()


def test_review_months_and_the_budget_at_risk_window() -> None:
    """Reviews fall every period from the first; the budget is at risk only in the window
    before one."""
    review = SpendingReview(first_month=36, period_months=36, cut_prob=0.3, cut_share=0.2,
                            stop_prob=0.1)
    assert review_months(review, 120) == [36, 72, 108]
    core = np.full(2, 12_000.0)
    expected = 12_000.0 * (0.1 + 0.3 * 0.2)
    assert (core_budget_at_risk(core, 23, review, 12) == 0).all()  # review at 36 > 23 + 12
    np.testing.assert_allclose(core_budget_at_risk(core, 24, review, 12), expected)
    np.testing.assert_allclose(core_budget_at_risk(core, 35, review, 12), expected)
    np.testing.assert_allclose(core_budget_at_risk(core, 36, review, 12), 0.0)  # next is 72
    np.testing.assert_allclose(core_budget_at_risk(core, 60, review, 12), expected)


def test_demand_boost_fades_exponentially() -> None:
    """One programme at month 0 and none after: boost(m) = uplift × exp(−m / duration)."""
    programmes = NationalProgrammes(rate_per_year=1.0, demand_uplift=0.25, duration_months=18.0)
    boost = demand_boost(np.zeros(1), np.ones(1), programmes)
    path = [boost[0]]
    for _ in range(40):
        boost = demand_boost(boost, np.zeros(1), programmes)
        path.append(boost[0])
    np.testing.assert_allclose(path, 0.25 * np.exp(-np.arange(41) / 18.0), rtol=1e-12)


# ---------------------------------------------------------------------------- in the model


def test_spending_reviews_and_election_fire_on_their_months(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """The events log shows reviews at 36, 72, 108 and the election at 37 (government host)."""
    result = run_ensemble(shipped_scenario("government_hosted"), las, 5, SEED)
    log = result.events
    assert [e.month for e in log if e.kind == EventKind.SPENDING_REVIEW] == [36, 72, 108]
    assert [e.month for e in log if e.kind == EventKind.ELECTION] == [37]


def test_no_spending_review_without_a_core_budget(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A scenario with no core budget logs no spending review; an election past the horizon none."""
    result = run_ensemble(shipped_scenario("la_hosted", "events.election.month=500"), las, 5, SEED)
    assert not any(e.kind in (EventKind.SPENDING_REVIEW, EventKind.ELECTION)
                   for e in result.events)


def test_election_changes_policy_in_its_share_and_cuts_the_core_budget(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """policy_change share ≈ policy_change_prob (binomial, 4 sd); a change scales the budget.
    No unit closes: it keeps its ample reserves (no annuality) and is not closed for not
    working."""
    scenario = shipped_scenario("government_hosted", "events.election.policy_change_prob=0.4",
                                "events.spending_review.stop_prob=0",
                                "events.spending_review.cut_prob=0",
                                "finance.opening_reserves_gbp=1e10",
                                "hosting.reserves_rule=none",
                                "hosting.nonviable_closure_months=600")
    n = 400
    result = run_ensemble(scenario, las, n, SEED)
    changed = result.kpis["policy_change"] == 1
    assert abs(changed.mean() - 0.4) < 4 * np.sqrt(0.4 * 0.6 / n)
    budget = result.metrics["core_budget_gbp_per_year"]
    multiplier = scenario.events.election.core_budget_multiplier
    np.testing.assert_allclose(budget[changed, 37], 700_000.0 * multiplier)
    np.testing.assert_allclose(budget[~changed, 37], 700_000.0)
    assert (result.metrics["policy_changed"][:, :37] == 0).all()


def test_national_programmes_arrive_at_their_rate_and_drive_demand(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Arrivals average rate ÷ 12 a month (Poisson, 4 sd) and demand follows the fade recursion."""
    scenario = shipped_scenario("la_hosted", "events.election.policy_change_prob=0",
                                "events.national_programmes.rate_per_year=1.2")
    n = 200
    result = run_ensemble(scenario, las, n, SEED)
    arrivals = result.metrics["national_programmes"]
    expected = 1.2 / 12 * arrivals.size
    assert abs(arrivals.sum() - expected) < 4 * np.sqrt(expected)
    programmes = scenario.events.national_programmes
    boost = result.metrics["demand_multiplier"] - 1.0
    previous = np.concatenate([np.zeros((n, 1)), boost[:, :-1]], axis=1)
    np.testing.assert_allclose(
        boost,
        previous * np.exp(-1 / programmes.duration_months) + arrivals * programmes.demand_uplift,
        rtol=0, atol=1e-12)
    assert (result.metrics["demand_multiplier"] >= 1).all()
