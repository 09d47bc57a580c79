"""Nominal pay and prices (docs/model.md §5.13): the indices step each April, every £ the model
spends or earns follows its index, members weigh prices in 2026/27 prices, and real-terms
outputs are nominal ÷ the CPI index. Checked against closed forms and at the extremes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import compare, run_ensemble
from sim.experiments.prices import deflate, is_money
from sim.model import KPIS, METRICS, compile_parameters
from sim.model.finance import monthly_cashflow, running_cost_rates
from sim.model.state import initial_state
from sim.outputs import prices as output_prices
from sim.scenario import Scenario, ScenarioError, load_scenario

SEED = 4242
YEARS = 10

STILL = ("hosting.nonviable_closure_months=600", "hosting.max_deficit_months=600",
         "hosting.reserves_rule=none", "workforce.team_policy=fixed",
         "workforce.resignation_rate_per_year=0", "finance.opening_reserves_gbp=1e9",
         "hosting.deficit_tolerance_gbp=1e9", "hosting.closure_deficit_gbp=1e9",
         *(f"workforce.{role}.{field}={n}" for role, n in
           (("delivery", 6), ("engagement", 2), ("leadership", 2))
           for field in ("establishment_fte", "initial_fte")))
"""A Centre that never closes, never loses or hires anyone and keeps its full team: its staff
and non-pay costs move only with pay and prices."""


def yearly(metric: np.ndarray) -> np.ndarray:
    """Fiscal-year totals (April–March from month 0), float[R, years]."""
    R, T = metric.shape
    return metric[:, :12 * (T // 12)].reshape(R, T // 12, 12).sum(axis=2)


@pytest.fixture(scope="module")
def still(las: LAPopulation, shipped_scenario: Callable[..., Scenario]) -> dict[str, np.ndarray]:
    scenario = shipped_scenario("la_hosted", *STILL, "finance.pay_awards=[0.0, 0.04, 0.03]",
                                "hosting.governance_gbp_per_year=24000",
                                "finance.cpi_rates=[0.0, 0.05, 0.02]")
    return run_ensemble(scenario, las, 20, SEED).metrics


def test_the_indices_compound_each_april_from_the_schedules(still: dict[str, np.ndarray]) -> None:
    """Index of fiscal year k = Π_{j=1..k} (1 + rate_j), the last rate repeated; 1 in the first
    year; constant within a year and the same in every replicate."""
    pay, cpi = still["pay_index"], still["cpi_index"]
    for k in range(YEARS):
        months = slice(12 * k, 12 * k + 12)
        want_pay = 1.04 * 1.03 ** (k - 1) if k else 1.0
        want_cpi = 1.05 * 1.02 ** (k - 1) if k else 1.0
        np.testing.assert_allclose(pay[:, months], want_pay, rtol=1e-12)
        np.testing.assert_allclose(cpi[:, months], want_cpi, rtol=1e-12)
    # Subscription list prices follow CPI by default.
    np.testing.assert_array_equal(still["subscription_price_index"], cpi)


def test_staff_costs_grow_by_the_pay_awards_and_non_pay_by_cpi(
    still: dict[str, np.ndarray]
) -> None:
    """A fixed team with no turnover: staff and overhead costs of fiscal year k are (1 + a)^k
    × year 0's, non-pay, VAT and governance (1 + c)^k × year 0's, to the penny rounding of
    twelve months."""
    assert (still["staff_fte"] == 10).all() and (still["operating"] == 1).all()
    pay = still["pay_index"][:, ::12][:, :YEARS]
    cpi = still["cpi_index"][:, ::12][:, :YEARS]
    for metric, index in (("costs_staff_gbp", pay), ("costs_overhead_gbp", pay),
                          ("costs_non_pay_gbp", cpi), ("costs_governance_gbp", cpi)):
        totals = yearly(still[metric])
        assert totals[:, 0].min() > 0, metric
        np.testing.assert_allclose(totals, totals[:, :1] * index, atol=12 * 0.006 * 10,
                                   err_msg=metric)


def test_running_costs_at_indices_are_the_cash_flow_at_them(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """What the rules price posts at (running_cost_rates) is what the cash flow then pays, for
    any team, at any pay and price index (to the penny rounding of each line)."""
    params = compile_parameters(shipped_scenario("independent_company"), las, 3)
    state = initial_state(params, las, RandomStreams(1, partition(3)))
    team = np.array([[0, 0, 0], [8, 3, 2], [1, 5, 0]], dtype=np.int64)
    for pay_index, cpi_index in ((1.0, 1.0), (1.37, 1.0), (1.0, 1.6), (1.5, 1.21)):
        state.pay_index, state.cpi_index = pay_index, cpi_index
        fixed, per_head = running_cost_rates(state, params)
        cash = monthly_cashflow(params.finance, state.hosting, params.workforce, team, {},
                                np.zeros(3), np.ones(3, dtype=bool), 1.0,
                                pay_index=pay_index, cpi_index=cpi_index)
        np.testing.assert_allclose(fixed + (team * per_head).sum(axis=1), cash.costs_total,
                                   atol=0.05)


def test_a_flat_cash_grant_loses_real_value_by_the_cpi_index(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Grants are paid in cash as awarded: the nominal payment never moves, and in 2026/27
    prices it is the award ÷ the CPI index; real-terms output of every money metric is nominal
    ÷ cpi_index exactly, and its KPIs are those of the deflated metrics."""
    scenario = shipped_scenario("la_hosted", *STILL, "finance.grants[0].basis=fixed",
                                "finance.cpi_rates=[0.0, 0.1]")
    nominal = run_ensemble(scenario, las, 20, SEED)
    real = deflate(nominal)
    grant = nominal.metrics["income_grant_gbp"][:, :36]
    monthly = round(scenario.finance.grants[0].amount_gbp_per_year / 12, 2)
    np.testing.assert_array_equal(grant, monthly)
    cpi = nominal.metrics["cpi_index"]
    np.testing.assert_array_equal(real.metrics["income_grant_gbp"][:, :36], monthly / cpi[:, :36])
    np.testing.assert_allclose(real.metrics["income_grant_gbp"][:, 24], monthly / 1.21)
    for name, values in nominal.metrics.items():
        want = values / cpi if is_money(name) else values
        np.testing.assert_array_equal(real.metrics[name], want, err_msg=name)
    np.testing.assert_array_equal(real.kpis["min_reserves_gbp"],
                                  (nominal.metrics["reserves_gbp"] / cpi).min(axis=1))
    np.testing.assert_array_equal(real.kpis["value_delivered_total_gbp"],
                                  (nominal.metrics["value_delivered_gbp"] / cpi).sum(axis=1))
    np.testing.assert_array_equal(real.kpis["cliff_month"], nominal.kpis["cliff_month"])
    np.testing.assert_array_equal(real.kpis["members_y10"], nominal.kpis["members_y10"])


def test_zero_rates_leave_every_price_where_it_was(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Neutral settings: every index is 1 throughout, a year's costs repeat the year before's
    for a still team, and real terms are the nominal results to the bit."""
    scenario = shipped_scenario("la_hosted", *STILL, "finance.pay_awards=[0.0]",
                                "finance.cpi_rates=[0.0]")
    result = run_ensemble(scenario, las, 20, SEED)
    m = result.metrics
    for index in ("pay_index", "cpi_index", "subscription_price_index"):
        assert (m[index] == 1.0).all(), index
    for metric in ("costs_staff_gbp", "costs_non_pay_gbp", "costs_overhead_gbp"):
        np.testing.assert_array_equal(m[metric][:, 12:], m[metric][:, :-12], err_msg=metric)
    real = deflate(result)
    for name in result.metrics:
        np.testing.assert_array_equal(real.metrics[name], result.metrics[name], err_msg=name)
    for name in result.kpis:
        np.testing.assert_array_equal(real.kpis[name], result.kpis[name], err_msg=name)


def test_pay_awards_above_flat_cash_funding_squeeze_the_team(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Extreme: a department funded by a flat-cash core budget under the secured-income policy.
    Pay awards of 10% a year against flat cash leave fewer funded posts by year 10 than 0%, in
    common random numbers."""
    base = ("workforce.team_policy=secured_income", "hosting.nonviable_closure_months=600",
            "hosting.max_deficit_months=600", "events.spending_review.stop_prob=0",
            "events.spending_review.cut_prob=0", "events.election.policy_change_prob=0",
            "finance.core_budget_gbp_per_year=900000", "finance.cpi_rates=[0.0]")
    flat, awards = compare([
        shipped_scenario("government_hosted", *base, "finance.pay_awards=[0.0]",
                         "meta.name=flat"),
        shipped_scenario("government_hosted", *base, "finance.pay_awards=[0.10]",
                         "meta.name=awards")], las, 40, SEED)
    at_flat = flat.metrics["funded_posts"][:, 119]
    at_awards = awards.metrics["funded_posts"][:, 119]
    assert at_flat.mean() >= 5, "the flat-pay team must be well above zero for the test to bite"
    assert at_awards.mean() < 0.8 * at_flat.mean()
    assert (awards.metrics["pay_index"][:, 119] > 2.3).all()


def test_frozen_list_prices_with_inflation_widen_the_market(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Extreme: list prices frozen in cash (uplift 0) while CPI rises 5% a year: members see a
    real price that falls by 1.05^k, so at least as many LAs are willing to pay in every run,
    more on average, than when prices follow CPI (whose real price, and market, stay put)."""
    base = ("hosting.reserves_rule=none", "finance.cpi_rates=[0.05]", *STILL[:2],
            "finance.opening_reserves_gbp=1e9",
            "finance.subscriptions_from_month=0", "finance.subscription_bands=[]",
            "finance.subscription_gbp_per_year=12000")
    follow, frozen = compare([
        shipped_scenario("independent_company", *base, "meta.name=follow"),
        shipped_scenario("independent_company", *base, "finance.subscription_uplift=0",
                         "meta.name=frozen")], las, 30, SEED)
    open_both = ((follow.metrics["operating"][:, 100] == 1)
                 & (frozen.metrics["operating"][:, 100] == 1))
    assert open_both.sum() >= 5
    market_follow = follow.metrics["market_las"]
    market_frozen = frozen.metrics["market_las"]
    # Following CPI the real price never moves: the market is the first year's (no mergers).
    assert (market_follow[:, 100] == market_follow[:, 0]).all()
    assert (market_frozen[:, 100] >= market_follow[:, 100]).all()
    assert market_frozen[:, 100].mean() > market_follow[:, 100].mean() + 5
    # Frozen nominal prices: each member pays the same cash every year.
    assert (frozen.metrics["subscription_price_index"] == 1.0).all()


def test_the_core_budget_rises_by_its_uplift_between_reviews(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Flat cash by default; with an uplift u the budget is × (1 + u) each April (reviews that
    neither cut nor stop leave it where it is)."""
    base = ("events.spending_review.stop_prob=0", "events.spending_review.cut_prob=0",
            "events.election.policy_change_prob=0", "finance.core_budget_gbp_per_year=600000",
            "finance.core_budget_from_month=0", *STILL[:2])
    flat, uplifted = compare([
        shipped_scenario("government_hosted", *base, "meta.name=flat"),
        shipped_scenario("government_hosted", *base, "finance.core_budget_uplift=0.05",
                         "meta.name=up")], las, 10, SEED)
    alive = (flat.metrics["operating"][:, 59] == 1) & (uplifted.metrics["operating"][:, 59] == 1)
    assert alive.any()
    np.testing.assert_array_equal(flat.metrics["core_budget_gbp_per_year"][alive, :60], 600000.0)
    for k in range(5):
        np.testing.assert_allclose(
            uplifted.metrics["core_budget_gbp_per_year"][alive, 12 * k:12 * k + 12],
            600000.0 * 1.05 ** k, rtol=1e-12)


@pytest.mark.parametrize("override, words", [
    ("finance.pay_awards=[0.03, 2.0]", "item 1 is 2.0"),
    ("finance.cpi_rates=[]", "at least 1"),
    ("finance.subscription_uplift=1.5", "between -0.5 and 1.0"),
    ("finance.subscription_uplift='rpi'", "subscription_uplift"),
    ("finance.core_budget_uplift=-0.9", "core_budget_uplift"),
])
def test_bad_rates_are_refused_with_the_key(override: str, words: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("scenarios/base.toml", [override])
    message = str(caught.value)
    assert words in message and override.split("=")[0].split(".")[-1] in message
    assert "\n" not in message


def test_outputs_label_as_money_what_is_deflated() -> None:
    """The outputs' rule for labelling money is the one that deflates it, on every metric and
    KPI; and the money names are what the docs call £."""
    for name in [*METRICS, *KPIS]:
        assert output_prices.is_money(name) == is_money(name), name
    money = {name for name in METRICS if is_money(name)}
    assert {"reserves_gbp", "income_grant_gbp", "costs_staff_gbp", "value_delivered_gbp",
            "cost_per_member_gbp", "core_budget_gbp_per_year"} <= money
    assert not {"cpi_index", "pay_index", "value_delivered_hours", "benefit_cost_ratio",
                "members"} & money
