"""Subscriptions invoiced each April, paid after the payment lag, and written off when an LA
leaves first (docs/model.md §5.6): the rule on hand-made states against closed forms, and
whole runs against conservation, extremes and reproducibility."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import run_ensemble
from sim.model import Parameters, compile_parameters, finance
from sim.model.codes import FailureRule, Ladder
from sim.model.finance import subscriptions_accrued
from sim.model.host import free_reserves
from sim.model.state import BatchState, MonthFlows, initial_state
from sim.scenario import Scenario, scenario_from_dict

R = 3
SEED = 4242
MEMBERS = np.arange(10)
"""The LAs that are members in the hand-made states."""


def make(las: LAPopulation, lag: int = 1, **finance_terms: Any
         ) -> tuple[BatchState, Parameters, RandomStreams]:
    """A state at month 0 (April 2026) with LAs 0–9 members, members paying from month 0, no
    grant, and the banded prices of three sizes; the host's reserves rule is off."""
    scenario = scenario_from_dict({
        "time": {"start": "2026-04", "horizon_months": 36},
        "finance": {"grants": [], "subscriptions_from_month": 0, "opening_reserves_gbp": 1e6,
                    "invoice_payment_months": lag,
                    "subscription_bands": [
                        {"name": "small", "min_child_population": 0, "price_gbp_per_year": 5000.0},
                        {"name": "medium", "min_child_population": 50_000,
                         "price_gbp_per_year": 7500.0},
                        {"name": "large", "min_child_population": 150_000,
                         "price_gbp_per_year": 11_000.0}],
                    **finance_terms},
        "hosting": {"reserves_rule": "none"}}, "<test>")
    params = compile_parameters(scenario, las, R)
    streams = RandomStreams(1, partition(R))
    state = initial_state(params, las, streams)
    state.ladder[:] = Ladder.AWARE
    state.ladder[:, MEMBERS] = Ladder.MEMBER
    state.champions[:, MEMBERS] = 1
    state.counts.changed()
    return state, params, streams


def run_months(state: BatchState, params: Parameters, streams: RandomStreams, months: range,
               change: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """The money rules alone (no uptake, staff or events) over ``months``: ``change(month)``
    edits the ladder before the month's money moves. Returns float[R, T] of the month's
    subscriptions received, invoiced and written off, and the reserves."""
    out = {k: np.zeros((R, len(months))) for k in ("cash", "invoiced", "bad", "reserves",
                                                   "net", "grant", "spend")}
    for t, month in enumerate(months):
        if change is not None:
            change(month)
            state.counts.changed()
        state.flows = MonthFlows.zeros(R)
        before = state.reserves.copy()
        state.substep = 0
        finance.note_income_due(state, params, streams.at(month), month)
        finance.pay_and_collect(state, params, streams.at(month), month)
        out["cash"][:, t] = state.flows.income["subscriptions"]
        out["invoiced"][:, t] = state.flows.subscriptions_invoiced_gbp
        out["bad"][:, t] = state.flows.bad_debts_gbp
        out["reserves"][:, t] = state.reserves
        out["grant"][:, t] = state.flows.income["grant"]
        out["spend"][:, t] = sum(state.flows.costs[c] for c in finance.GRANT_ELIGIBLE_COSTS)
        income = sum(state.flows.income.values())
        costs = sum(state.flows.costs.values())
        out["net"][:, t] = state.reserves - before - (income - costs)
    return out


def prices(params: Parameters, las: list[int] | np.ndarray) -> float:
    return float(params.prices_gbp_per_year[0, las].sum())


# ---------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_a_fixed_membership_pays_its_annual_prices_once_a_year_after_the_lag(
    las: LAPopulation, lag: int
) -> None:
    """Ten members all year, no lapses: each April they are invoiced Σ annual prices, the cash
    arrives whole in month April + lag (not spread over the year), so each fiscal year's cash
    = Σ invoices = Σ annual prices; nothing is written off; money is conserved exactly."""
    state, params, streams = make(las, lag)
    out = run_months(state, params, streams, range(24))
    annual = prices(params, MEMBERS)
    assert annual == pytest.approx(float(np.sum([5000.0 if c < 50_000 else 7500.0
                                                 if c < 150_000 else 11_000.0
                                                 for c in las.child_population[MEMBERS]])))
    expected_invoiced = np.zeros(24)
    expected_invoiced[[0, 12]] = annual
    expected_cash = np.zeros(24)
    expected_cash[[lag, 12 + lag]] = annual
    np.testing.assert_array_equal(out["invoiced"], np.tile(expected_invoiced, (R, 1)))
    np.testing.assert_array_equal(out["cash"], np.tile(expected_cash, (R, 1)))
    assert (out["cash"][:, :12].sum(axis=1) == annual).all()
    assert (out["bad"] == 0).all()
    np.testing.assert_allclose(out["net"], 0.0, atol=1e-6)
    # The run rate planning reads is unchanged: the members' annual prices ÷ 12.
    assert state.income_due["subscriptions"] == pytest.approx(np.full(R, annual / 12))


def test_a_member_that_lapses_before_paying_is_exactly_a_bad_debt(las: LAPopulation) -> None:
    """Invoiced in April with a three-month lag, LA 0 lapses in June: its whole invoice is
    written off in June, and in July the others pay theirs; nothing more is lost."""
    state, params, streams = make(las, lag=3)

    def lapse(month: int) -> None:
        if month == 2:
            state.ladder[:, 0] = Ladder.LAPSED
            state.champions[:, 0] = 0

    out = run_months(state, params, streams, range(12), lapse)
    gone, rest = prices(params, [0]), prices(params, MEMBERS[1:])
    assert (out["bad"][:, 2] == gone).all() and out["bad"].sum() == R * gone
    assert (out["cash"][:, 3] == rest).all() and out["cash"].sum() == R * rest
    np.testing.assert_allclose(out["net"], 0.0, atol=1e-6)


def test_a_member_that_leaves_after_paying_owes_nothing(las: LAPopulation) -> None:
    """The same lapse after the invoice is paid (lag 1, lapse in June) writes nothing off."""
    state, params, streams = make(las, lag=1)

    def lapse(month: int) -> None:
        if month == 2:
            state.ladder[:, 0] = Ladder.LAPSED

    out = run_months(state, params, streams, range(12), lapse)
    assert out["bad"].sum() == 0
    assert (out["cash"][:, 1] == prices(params, MEMBERS)).all()


@pytest.mark.parametrize("k", [0, 5, 11])
def test_a_joiner_in_month_k_pays_the_months_left_of_the_year(las: LAPopulation,
                                                                 k: int) -> None:
    """An LA joining in month k of the fiscal year (0 = April) is invoiced then for (12 − k) ÷
    12 of its price (to the penny), paid after the lag; next April it is invoiced in full."""
    state, params, streams = make(las, lag=1)
    joiner = 20

    def join(month: int) -> None:
        if month == k:
            state.ladder[:, joiner] = Ladder.MEMBER

    out = run_months(state, params, streams, range(14), join)
    price = prices(params, [joiner])
    part = round(price * (12 - k) / 12, 2)
    expected = prices(params, MEMBERS) * (k == 0) + part
    assert (out["invoiced"][:, k] == expected).all()
    assert (out["cash"][:, k + 1] == expected).all()
    assert (out["invoiced"][:, 12] == prices(params, MEMBERS) + price).all()


def test_a_share_of_bad_debt_is_written_off_from_every_invoice(las: LAPopulation) -> None:
    """finance.bad_debt_share = 0.1: each invoice pays 90% when it falls due and 10% is written
    off then, to the penny; cash + bad debts = invoices."""
    state, params, streams = make(las, lag=1, bad_debt_share=0.1)
    out = run_months(state, params, streams, range(12))
    annual = prices(params, MEMBERS)
    each = params.prices_gbp_per_year[0, MEMBERS]
    assert out["cash"][:, 1] == pytest.approx(np.full(R, np.round(each * 0.9, 2).sum()),
                                              abs=1e-6)
    np.testing.assert_allclose(out["cash"].sum(axis=1) + out["bad"].sum(axis=1), annual,
                               atol=1e-6)
    assert out["bad"][:, 1] == pytest.approx(np.full(R, annual * 0.1), abs=0.05)


def test_a_centre_without_members_or_price_raises_no_invoice(las: LAPopulation) -> None:
    """No member LA: no invoice; members at a zero price: no invoice and no cash."""
    state, params, streams = make(las)
    state.ladder[:] = Ladder.AWARE
    state.counts.changed()
    out = run_months(state, params, streams, range(14))
    assert out["invoiced"].sum() == 0 and out["cash"].sum() == 0 and out["bad"].sum() == 0
    state, params, streams = make(las, subscription_bands=[], subscription_gbp_per_year=0.0)
    out = run_months(state, params, streams, range(14))
    assert out["invoiced"].sum() == 0 and out["cash"].sum() == 0 and out["bad"].sum() == 0


def test_closure_writes_off_what_members_still_owe(las: LAPopulation) -> None:
    """The host closes the Centre in June with invoices unpaid (lag 3): all are bad debts."""
    from sim.model.host import close

    state, params, streams = make(las, lag=3)
    run_months(state, params, streams, range(2))
    state.flows = MonthFlows.zeros(R)
    close(state, np.array([True, False, False]))
    assert state.flows.bad_debts_gbp[0] == prices(params, MEMBERS)
    assert (state.flows.bad_debts_gbp[1:] == 0).all()
    assert state.invoices.outstanding()[0] == 0
    assert (state.invoices.outstanding()[1:] == prices(params, MEMBERS)).all()
    assert (state.flows.subscription_refunds_gbp == 0).all()  # nothing was paid to refund


def test_closure_refunds_what_members_paid_for_the_months_after_it(las: LAPopulation) -> None:
    """Paid in May (lag 1), closed at the end of June: each member gets back 9/12 of its year
    (July–March), as negative subscriptions income; a council pays it even in deficit, an
    insolvent company cannot (and a company with £100 refunds £100); nothing is written off."""
    from sim.model.host import close

    state, params, streams = make(las, lag=1)
    run_months(state, params, streams, range(3))
    state.flows = MonthFlows.zeros(R)
    state.reserves[:] = [-1.0, 100.0, -1.0]
    rule = np.array(state.hosting.failure_rule)
    rule[1:] = FailureRule.INSOLVENCY
    state.hosting = replace(state.hosting, failure_rule=rule)
    before = state.reserves.copy()
    close(state, np.array([True, True, True]))
    refund = round(prices(params, MEMBERS) * 9 / 12, 2)
    np.testing.assert_allclose(state.flows.subscription_refunds_gbp, [refund, 100.0, 0.0],
                               atol=0.011)
    np.testing.assert_allclose(state.reserves, before - state.flows.subscription_refunds_gbp)
    np.testing.assert_array_equal(state.flows.income["subscriptions"],
                                  -state.flows.subscription_refunds_gbp)
    assert (state.flows.bad_debts_gbp == 0).all()


def test_free_reserves_hold_back_subscriptions_paid_for_months_to_come(
    las: LAPopulation,
) -> None:
    """The money rules plan on free reserves: cash + what members owe − what they paid for
    months still to come. April, before invoicing: nothing either way; after the April
    invoices (lag 3), the owed year and the unearned year cancel; in June, with the year paid
    (lag 1), 10/12 of it is held back; in March, 1/12."""
    state, params, streams = make(las, lag=3)
    annual = prices(params, MEMBERS)
    assert (subscriptions_accrued(state, params, 0) == 0).all()
    run_months(state, params, streams, range(1))
    assert subscriptions_accrued(state, params, 0) == pytest.approx(np.zeros(R), abs=1e-6)
    state, params, streams = make(las, lag=1)
    run_months(state, params, streams, range(2))
    assert subscriptions_accrued(state, params, 2) == pytest.approx(np.full(R, -annual * 10 / 12))
    assert subscriptions_accrued(state, params, 11) == pytest.approx(np.full(R, -annual / 12))
    assert (free_reserves(state, params, 2) == state.reserves
            + subscriptions_accrued(state, params, 2)).all()


def test_an_offsetting_grant_deducts_subscriptions_over_the_months_they_pay_for(
    las: LAPopulation,
) -> None:
    """An eligible-spend grant whose earned income offsets it pays the month's eligible spend
    less the subscriptions earned in the month: nothing in April (not yet paid), two months'
    worth (April and May) when the year's payment arrives in May, then a twelfth a month; an
    LA that leaves in October after paying hands the Centre the rest of its year at once
    (its October included), and the others' twelfths go on."""
    grant = {"name": "g", "amount_gbp_per_year": 5e6, "start_month": 0, "end_month": 60,
             "basis": "eligible_spend", "earned_income": "offsets"}
    state, params, streams = make(las, lag=1, grants=[grant])

    def leave(month: int) -> None:
        if month == 6:
            state.ladder[:, 0] = Ladder.LAPSED

    out = run_months(state, params, streams, range(12), leave)
    annual, first = prices(params, MEMBERS), prices(params, [0])
    earned = np.full(12, annual / 12)
    earned[0], earned[1] = 0.0, annual * 2 / 12
    earned[6] += first * 5 / 12  # October: its months November–March, paid, now earned
    earned[7:] = (annual - first) / 12
    deducted = out["spend"] - out["grant"]
    # Each LA's share is earned in whole pennies: within half a penny per LA each month, and
    # exactly the year's payments over the year.
    np.testing.assert_allclose(deducted, np.tile(earned, (R, 1)), atol=0.005 * len(MEMBERS))
    np.testing.assert_allclose(deducted.sum(axis=1), annual, atol=1e-6)
    assert (out["spend"] > annual / 4).all()  # the offset never exceeded the spend


# ---------------------------------------------------------------------------- whole runs


@pytest.fixture(scope="module")
def lag_run(las: LAPopulation, shipped_scenario: Callable[..., Scenario]) -> Any:
    """la_hosted with two sub-steps a month and a two-month payment lag."""
    return run_ensemble(shipped_scenario("la_hosted", "finance.invoice_payment_months=2",
                                         "time.substeps_per_month=2"), las, 40, SEED)


def test_whole_runs_conserve_money_and_account_for_every_invoice(lag_run: Any) -> None:
    """Reserves = opening + Σ income − Σ costs to the half-penny; per run, Σ invoiced = Σ cash
    received (net of refunds at closure) + Σ refunded + Σ written off + what is still owed at
    the end, and what is owed at the end is
    at most the invoices of the last two months (the lag); LAs did leave owing."""
    m, scenario = lag_run.metrics, lag_run.scenario
    expected = (scenario.finance.opening_reserves_gbp + np.cumsum(m["income_total_gbp"], axis=1)
                - np.cumsum(m["costs_total_gbp"], axis=1))
    np.testing.assert_allclose(m["reserves_gbp"], expected, rtol=0, atol=0.005)
    invoiced = m["subscriptions_invoiced_gbp"].sum(axis=1)
    settled = (m["income_subscriptions_gbp"].sum(axis=1) + m["bad_debts_gbp"].sum(axis=1)
               + m["subscription_refunds_gbp"].sum(axis=1))
    owed = invoiced - settled
    assert (owed >= -0.01).all()
    assert (owed <= m["subscriptions_invoiced_gbp"][:, -2:].sum(axis=1) + 0.01).all()
    assert (m["bad_debts_gbp"].sum(axis=1) > 0).mean() > 0.5
    np.testing.assert_allclose(lag_run.kpis["bad_debts_total_gbp"],
                               m["bad_debts_gbp"].sum(axis=1))
    pence = m["bad_debts_gbp"] * 100
    np.testing.assert_allclose(pence, np.round(pence), atol=1e-6)


def test_same_seed_same_invoices(las: LAPopulation, shipped_scenario: Callable[..., Scenario],
                                 lag_run: Any) -> None:
    """The same seed gives the same invoices, cash and bad debts, bit for bit."""
    again = run_ensemble(shipped_scenario("la_hosted", "finance.invoice_payment_months=2",
                                          "time.substeps_per_month=2"), las, 40, SEED)
    for name in ("subscriptions_invoiced_gbp", "income_subscriptions_gbp", "bad_debts_gbp",
                 "reserves_gbp"):
        np.testing.assert_array_equal(again.metrics[name], lag_run.metrics[name], err_msg=name)


def test_a_free_offer_invoices_nothing(las: LAPopulation,
                                       shipped_scenario: Callable[..., Scenario]) -> None:
    """A zero price: members, but no invoice, no cash, no bad debt."""
    result = run_ensemble(shipped_scenario("la_hosted", "finance.subscription_gbp_per_year=0",
                                           "finance.subscription_bands=[]"), las, 20, SEED)
    m = result.metrics
    assert m["members"].max() > 0
    for name in ("subscriptions_invoiced_gbp", "income_subscriptions_gbp", "bad_debts_gbp"):
        assert m[name].sum() == 0, name


def test_a_years_invoices_paid_in_may_are_not_a_break_even(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Break-even reads subscriptions as earned, not as paid: in the May a year's invoices are
    paid, cash subscriptions alone exceed the month's costs in many runs, yet such a month is
    never the break-even month unless the earned income covers the costs too."""
    result = run_ensemble(shipped_scenario("independent_company"), las, 60, SEED)
    m, month = result.metrics, result.kpis["breakeven_month"]
    costs = m["costs_total_gbp"]
    earned = m["subscriptions_earned_gbp"] + m["income_commissions_gbp"]
    cash = m["income_subscriptions_gbp"] + m["income_commissions_gbp"]
    lump = (cash >= costs) & (earned < costs) & (costs > 0) & (m["operating"] == 1)
    assert lump.any()  # the May lumps the old definition took for break-even
    rows = np.flatnonzero(~np.isnan(month))
    for r in rows:
        assert earned[r, int(month[r])] >= costs[r, int(month[r])]
    for r, t in zip(*np.nonzero(lump), strict=True):
        assert np.isnan(month[r]) or month[r] != t
