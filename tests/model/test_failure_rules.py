"""The hosts' failure rules: a company is insolvent at its first negative cash balance; a
department closes only when a spending review stops its budget; a council cuts first and
closes past a second threshold or after too long in deficit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.model import EventKind
from sim.scenario import Scenario

SEED = 1618


def first(mask: np.ndarray) -> np.ndarray:
    """First True month per replicate, NaN where none."""
    return np.where(mask.any(axis=1), np.argmax(mask, axis=1).astype(float), np.nan)


def test_a_company_closes_at_its_first_negative_balance(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """insolvency: closure month = first month-end with reserves below £0; never negative before."""
    scenario = shipped_scenario("independent_company", "finance.grants=[]",
                                "finance.opening_reserves_gbp=300000")
    result = run_ensemble(scenario, las, 100, SEED)
    m = result.metrics
    closure = result.kpis["closure_month"]
    assert not np.isnan(closure).any(), "with no grant every company runs out of cash"
    np.testing.assert_array_equal(closure, first(m["reserves_gbp"] < 0))
    assert (m["reserves_gbp"][m["operating"] == 1] >= 0).all()
    assert (m["host_cut"] == 0).all(), "a company is never cut: it is insolvent"


def test_a_department_closes_only_when_a_review_stops_its_budget(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """spending_review: closures fall on review months, in about stop_prob of replicates each
    (with the closure of a Centre that stops working, closure after a sustained overspend and
    the weight of its record switched off: §5.10, §5.11 and §7.4 are tested apart)."""
    scenario = shipped_scenario("government_hosted", "hosting.nonviable_closure_months=600",
                                "hosting.max_deficit_months=600",
                                "events.funding_case.value_elasticity=0",
                                "events.funding_case.reach_elasticity=0")
    n = 400
    result = run_ensemble(scenario, las, n, SEED)
    closure = result.kpis["closure_month"]
    reviews = [e.month for e in result.events if e.kind == EventKind.SPENDING_REVIEW]
    assert set(closure[~np.isnan(closure)]) <= set(reviews)
    stop = scenario.events.spending_review.stop_prob
    share = (closure == reviews[0]).mean()
    assert abs(share - stop) < 4 * np.sqrt(stop * (1 - stop) / n)


def test_a_department_closes_on_cash_only_after_a_sustained_overspend(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Deep in deficit and never stopped by a review: a department cuts at once (its tolerance
    is £0) and closes when it has been overspent at max_deficit_months month ends in a row
    (an eligible-spend grant pays no surplus to recover with); allowed longer than the horizon,
    it keeps operating."""
    overspent = ("finance.opening_reserves_gbp=-1000000", "events.spending_review.stop_prob=0",
                 "hosting.nonviable_closure_months=600")
    scenario = shipped_scenario("government_hosted", *overspent)
    limit = scenario.hosting.max_deficit_months
    result = run_ensemble(scenario, las, 50, SEED)
    assert (result.kpis["host_cut_month"] == 0).all()
    np.testing.assert_array_equal(result.kpis["closure_month"], limit - 1)
    patient = shipped_scenario("government_hosted", *overspent, "hosting.max_deficit_months=600")
    result = run_ensemble(patient, las, 50, SEED)
    assert (result.metrics["operating"] == 1).all()
    assert (result.kpis["host_cut_month"] == 0).all()


def test_a_council_host_cuts_before_it_closes(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """deficit_tolerance: a cut at the first month-end below −tolerance, closure only later."""
    # No income at all: no grant, no subscriptions, no commissions.
    scenario = shipped_scenario("la_hosted", "finance.grants=[]",
                                "finance.opening_reserves_gbp=50000",
                                "finance.subscription_gbp_per_year=0",
                                "finance.subscription_bands=[]",
                                "finance.commissions.rate_per_year=0")
    host = scenario.hosting
    result = run_ensemble(scenario, las, 100, SEED)
    m, k = result.metrics, result.kpis
    reserves = m["reserves_gbp"]
    cut, closure = k["host_cut_month"], k["closure_month"]
    assert not np.isnan(closure).any()
    np.testing.assert_array_equal(cut, first(reserves < -host.deficit_tolerance_gbp))
    assert (cut < closure).all(), "the host cuts before it closes"
    # Closure: past closure_deficit_gbp, or after max_deficit_months month-ends beyond tolerance.
    beyond = reserves < -host.deficit_tolerance_gbp
    run = np.zeros(len(cut))
    long_deficit = np.zeros_like(beyond)
    for t in range(beyond.shape[1]):
        run = np.where(beyond[:, t], run + 1, 0)
        long_deficit[:, t] = run >= host.max_deficit_months
    expected = np.fmin(first(reserves < -host.closure_deficit_gbp), first(long_deficit))
    np.testing.assert_array_equal(closure, expected)


def test_a_cut_is_lifted_once_reserves_recover(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """host_cut is never in force at a month-end with reserves at or above £0, and cut
    redundancies come only with a cut (a Centre that closes at a month end reports no cut
    in force then: it is closed)."""
    result = run_ensemble(shipped_scenario("la_hosted"), las, 100, SEED)
    m = result.metrics
    assert (m["host_cut"][m["reserves_gbp"] >= 0] == 0).all()
    open_at_end = m["operating"] == 1
    assert (m["cut_redundancies"][(m["host_cut"] == 0) & open_at_end] == 0).all()
