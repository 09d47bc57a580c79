"""The paying market, the staff that services need and the cost of vacancies, on whole runs:
extreme conditions, a closed-form limit of the market ceiling, and the direction of the
resignation rate's effect on reserves under common random numbers (docs/model.md §2.10, §3.5,
§4.1, §4.9)."""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import compare, run_ensemble
from sim.scenario import Scenario
from tests.conftest import INSTANT_UPTAKE

SEED = 20260401
NOBODY_IN_POST = [f"workforce.{role}.{field}=0" for role in ("delivery", "engagement",
                                                                "leadership")
                  for field in ("initial_fte", "establishment_fte")]


def test_everyone_aware_and_instant_approval_converge_to_the_ceiling(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """With every LA aware, evaluation and approval instant and certain, renewal certain and no
    churn, paying members are at once exactly the LAs whose willingness to pay is at least
    their price (market_las), and their mean is the closed form Σ_i (1 − Φ(ln(p_i ÷ M) ÷ σ))."""
    median, sigma = 6000.0, 0.5
    bands = [{"name": "small", "min_child_population": 0, "price_gbp_per_year": 4000.0},
             {"name": "medium", "min_child_population": 50_000, "price_gbp_per_year": 7000.0},
             {"name": "large", "min_child_population": 150_000, "price_gbp_per_year": 10_000.0}]
    scenario = make_scenario(
        time={"horizon_months": 24},
        market={"wtp_median_gbp_per_year": median, "wtp_sigma": sigma},
        uptake=INSTANT_UPTAKE,
        finance={"subscriptions_from_month": 0, "subscription_bands": bands,
                 "opening_reserves_gbp": 1e9})
    replicates = 400
    m = run_ensemble(scenario, las, replicates, SEED).metrics
    np.testing.assert_array_equal(m["members"], m["market_las"])  # every month, every replicate
    price = np.select([las.child_population >= 150_000, las.child_population >= 50_000],
                      [10_000.0, 7000.0], 4000.0)
    willing = np.array([1 - NormalDist().cdf(np.log(p / median) / sigma) for p in price])
    expected = willing.sum()
    standard_error = np.sqrt((willing * (1 - willing)).sum() / replicates)
    assert abs(m["market_las"][:, 0].mean() - expected) < 4 * standard_error
    assert 0 < expected < las.count


def test_no_market_means_no_paying_member(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A willingness to pay of 0 everywhere (a market ceiling of 0): members during the free
    years, none once they pay (the first April renewal at a price lapses them all), and no
    subscription income ever."""
    result = run_ensemble(shipped_scenario("la_hosted", "market.wtp_median_gbp_per_year=0"),
                          las, 50, SEED)
    m = result.metrics
    paying_from = result.scenario.finance.subscriptions_from_month
    assert m["members"][:, :paying_from].max() > 0
    assert m["members"][:, paying_from:].max() == 0
    assert m["income_subscriptions_gbp"].max() == 0
    assert (m["market_las"] == 0).all()


@pytest.mark.parametrize("price", [50_000.0, 1e6])
def test_a_price_far_above_the_value_delivered_gets_no_paying_member(
    price: float, las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Bands priced above the £30,000 a year that all 13 services are worth to a member: no LA
    pays (once members pay, from month 24), so no subscription income and no reserves built
    on it."""
    bands = ("finance.subscription_bands=[{name='all', min_child_population=0, "
             f"price_gbp_per_year={price}}}]")
    m = run_ensemble(shipped_scenario("la_hosted", bands), las, 100, SEED).metrics
    assert m["income_subscriptions_gbp"].sum() == 0
    assert m["members"][:, 24:].max() == 0
    assert m["market_las"].max() <= 1


@pytest.mark.parametrize("name", ["la_hosted", "government_hosted", "independent_company"])
def test_a_team_of_nobody_runs_no_service_and_delivers_no_value(
    name: str, las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """No staff in any role: volunteers have nobody to work with, so no service is ever built
    or live and no value is delivered, whatever the members."""
    m = run_ensemble(shipped_scenario(name, *NOBODY_IN_POST), las, 50, SEED).metrics
    assert m["members"].max() > 0  # LAs still sign up (a free offer, word of mouth)
    assert m["live_services"].max() == 0
    assert m["value_delivered_gbp"].max() == 0
    assert m["vacancy_cover_fte"].max() == 0  # no posts, nothing to cover


def test_a_team_that_leaves_takes_its_services_with_it(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A government unit whose budget is not renewed after the grant: it cuts every post
    (cut share 1), the staff leave at the end of their notice and nobody replaces them. Its
    live services degrade and are retired, so none is live 11 months after the last delivery
    staff member left and the value delivered falls to 0 (an unstaffed service falls below
    the 0.5 floor within ln 2 ÷ 0.15 = 4.6 months and is retired 6 months later)."""
    scenario = shipped_scenario("government_hosted", "time.horizon_months=72",
                                "finance.core_budget_gbp_per_year=0", "hosting.cut_share=1",
                                "hosting.max_deficit_months=600",
                                "hosting.nonviable_closure_months=600")
    m = run_ensemble(scenario, las, 40, SEED).metrics
    delivery = m["staff_delivery_fte"] + m["vacancy_cover_fte"]
    assert m["live_services"].max(axis=1).min() > 0  # services were running before the cut
    for r in range(delivery.shape[0]):
        staffed = np.flatnonzero(delivery[r] > 0)
        gone = staffed[-1] + 1  # first month end with no delivery staff, for good
        assert gone + 11 < delivery.shape[1]
        assert m["operating"][r, -1] == 1  # overspend, not working: tolerated
        assert m["live_services"][r, gone + 11:].max() == 0
        assert m["value_delivered_gbp"][r, gone + 11:].max() == 0


def _reserves_by_resignation_rate(name: str, rates: list[float], las: LAPopulation,
                                  shipped_scenario: Callable[..., Scenario], replicates: int,
                                  *overrides: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean year-10 and mean lowest reserves for each resignation rate, under common random
    numbers (one seed for all)."""
    scenarios = [shipped_scenario(name, *overrides, f"workforce.resignation_rate_per_year={rate}")
                 for rate in rates]
    results = compare(scenarios, las, replicates, SEED)  # common random numbers
    year10 = np.array([r.metrics["reserves_gbp"][:, 119].mean() for r in results])
    lowest = np.array([r.kpis["min_reserves_gbp"].mean() for r in results])
    return year10, lowest


def test_more_resignations_never_raise_reserves_of_a_funded_coe(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """With a grant that never ends (no cliff; £650,000 a year, below the full team's cost, so
    reserves do fall) and no redundancies, raising the resignation rate under common random
    numbers lowers mean reserves at year 10 and the mean lowest reserves: a vacated post
    costs cover at a premium and a recruitment fee, and its work is done at a new starter's
    pace. (Without the cost of vacancies both rose with the resignation rate here: each
    vacancy saved a salary.)"""
    year10, lowest = _reserves_by_resignation_rate(
        "no_cliff", [0.07, 0.1467, 0.3, 0.6], las, shipped_scenario, 100,
        "finance.grants[0].amount_gbp_per_year=650000", "finance.opening_reserves_gbp=2e6",
        "workforce.redundancy_trigger_months=0")
    assert (np.diff(year10) < 0).all(), year10
    assert (np.diff(lowest) <= 0).all(), lowest


def test_more_resignations_do_not_raise_year_10_reserves_after_the_cliff(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """After the cliff too, year-10 reserves of the council-hosted CoE do not rise with the
    resignation rate (the lowest reserves can: staff who resign before a cut save its notice
    and redundancy pay, a true effect, docs/model.md §3.5). Every LA is made willing to pay, so
    the CoE runs after the cliff (at the shipped market ceiling most close, and a closed CoE's
    reserves no longer move). The team is fixed: a team planned on secured income spends
    reserves above its target on posts whatever the turnover (§3.6), which would hide the cost
    of a vacancy this test is about. So is the pension strain of redundancies switched off: a
    member who resigns is not made redundant at 55+ later, so more resignations save strain
    (docs/model.md §6.1), another true effect that would hide this one. The host never closes
    it: with subscriptions paid a year ahead (§5.6) when a council closes depends on where in
    the year its cash stands, and the reserves a closure freezes would measure that, not the
    cost of vacancies."""
    year10, _ = _reserves_by_resignation_rate("la_hosted", [0.1467, 0.6, 1.2], las,
                                              shipped_scenario, 100,
                                              "market.wtp_median_gbp_per_year=1e7",
                                              "workforce.team_policy=fixed",
                                              "workforce.pension_strain_years_of_pay=0",
                                              "hosting.max_deficit_months=600",
                                              "hosting.closure_deficit_gbp=1e9",
                                              "hosting.nonviable_closure_months=600")
    assert (np.diff(year10) <= 0).all(), year10
