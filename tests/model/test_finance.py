"""Finance mechanisms against independent truth: subscriptions by size band, grant tapers and
renewals, commissioned projects, charitable income by legal form, and money conserved to the
penny with every income and cost line and every external event active."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import EnsembleResult, compare, run_ensemble
from sim.model import EventKind
from sim.model.compile import compile_parameters
from sim.model.finance import (
    COST_TYPES,
    INCOME_SOURCES,
    CommissionBook,
    add_commissions,
    charitable_income,
    monthly_cashflow,
)
from sim.scenario import Scenario, ScenarioError, scenario_from_dict
from sim.scenario.schema import Commissions

SEED = 4242


@pytest.fixture(scope="module")
def la_hosted_run(las: LAPopulation, shipped_scenario: Callable[..., Scenario]) -> EnsembleResult:
    """60 replicates of la_hosted.toml, shared by the checks that only read it."""
    return run_ensemble(shipped_scenario("la_hosted"), las, 60, SEED)


def edited(scenario: Scenario, **changes: Any) -> Scenario:
    """A copy of a scenario with whole top-level sections replaced, validated again."""
    data = scenario.model_dump()
    data.pop("extends", None)
    data.update(changes)
    return scenario_from_dict(data, "<test>")


# ---------------------------------------------------------------------------- subscriptions


def test_each_la_pays_its_size_band_price(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """An LA's price is that of the band its child population falls in (base.toml's three bands)."""
    prices = compile_parameters(shipped_scenario("la_hosted"), las, 2).prices_gbp_per_year
    children = las.child_population
    expected = np.where(children < 50_000, 5000.0, np.where(children < 150_000, 7500.0, 11000.0))
    np.testing.assert_array_equal(prices, np.stack([expected, expected]))
    assert (children < 50_000).sum() == 49 and (children >= 150_000).sum() == 15


def test_without_bands_every_member_pays_the_flat_price(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """No bands: every LA pays finance.subscription_gbp_per_year."""
    scenario = make_scenario(finance={"subscription_gbp_per_year": 4321.0})
    assert scenario.finance.subscription_bands == ()
    np.testing.assert_array_equal(compile_parameters(scenario, las, 2).prices_gbp_per_year,
                                  4321.0)


def test_subscription_invoices_are_members_times_band_prices(
    la_hosted_run: EnsembleResult,
) -> None:
    """Each April every member is invoiced for the year at its band's price × the year's
    factor (the list price unless the council's s.93 rule cut it): April's invoices lie
    between members × the cheapest and members × the dearest band; in other months only
    joiners are invoiced, for part of a year. The cash comes a month later (the payment lag)
    and is never more than was invoiced then (docs/model.md §5.6)."""
    result = la_hosted_run
    m = result.metrics
    months = np.arange(m["members"].shape[1])
    paying = months >= result.scenario.finance.subscriptions_from_month
    invoiced, members, factor = m["subscriptions_invoiced_gbp"], m["members"], m["price_factor"]
    april = (paying & (months % 12 == 0))[None, :] & (m["operating"] == 1)  # start 2026-04
    assert april.sum() > 100 and (members[april] > 0).mean() > 0.5
    assert (invoiced[april] >= factor[april] * members[april] * 5000.0 - 0.01).all()
    assert (invoiced[april] <= factor[april] * members[april] * 11000.0 + 0.01).all()
    other = paying[None, :] & ~april & (m["operating"] == 1)
    assert (invoiced[other] <= m["joins"][other] * factor[other] * 11000.0 + 0.01).all()
    assert (invoiced[:, ~paying] == 0).all()
    cash = m["income_subscriptions_gbp"]
    assert (cash[:, 0] == 0).all()
    assert (cash[:, 1:] <= invoiced[:, :-1] + 0.005).all()
    assert cash.sum() > 0
    assert ((factor >= 0) & (factor <= 1)).all()  # a council only ever cuts its price


# ---------------------------------------------------------------------------- grants


def test_grant_taper_follows_the_linear_formula(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """A fixed grant's income is its profile: amount/12 until the taper, amount/12 × (end −
    m)/(taper + 1) in it, then 0."""
    end, taper, amount = 36, 6, 120_000.0
    scenario = make_scenario(
        time={"horizon_months": 48},
        finance={"grants": [{"name": "tapered", "amount_gbp_per_year": amount, "start_month": 0,
                             "end_month": end, "taper_months": taper, "basis": "fixed"}],
                 "opening_reserves_gbp": 1e9},
    )
    result = run_ensemble(scenario, las, 5, SEED)
    months = np.arange(48)
    expected = np.round(amount / 12 * np.clip((end - months) / (taper + 1), 0, 1), 2)
    np.testing.assert_allclose(result.metrics["income_grant_gbp"], np.tile(expected, (5, 1)),
                               rtol=0, atol=1e-9)
    assert expected[end - taper - 1] == 10_000.0 and expected[end - taper] == round(60_000 / 7, 2)
    # The cliff is the first taper month (equal falls: the earliest).
    assert (result.kpis["cliff_month"] == end - taper).all()


def test_certain_renewal_is_the_same_as_no_cliff(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """renewal_prob = 1 past the horizon reproduces no_cliff.toml exactly, month by month,
    under a fixed team: a team planned on secured income does not count an undecided renewal,
    even a certain one, until it is granted (docs/model.md §3.6)."""
    fixed = "workforce.team_policy=fixed"
    renewed = shipped_scenario("la_hosted", "finance.grants[0].renewal_prob=1",
                               "finance.grants[0].renewal_months=200", fixed)
    certain, control = compare([renewed, shipped_scenario("no_cliff", fixed)], las, 100, SEED)
    for name, values in control.metrics.items():
        if name != "grant_renewals":  # the one difference: the renewal itself, at month 36
            np.testing.assert_array_equal(certain.metrics[name], values, err_msg=name)
    assert np.isnan(certain.kpis["cliff_month"]).all()
    assert (certain.kpis["grant_renewals_total"] == 1).all()


def test_no_renewal_means_the_cliff_falls_at_the_end(la_hosted_run: EnsembleResult) -> None:
    """renewal_prob = 0: grant income stops at end_month in every replicate, the cliff month."""
    result = la_hosted_run
    end = result.scenario.finance.grants[0].end_month
    assert result.scenario.finance.grants[0].renewal_prob == 0
    assert (result.kpis["cliff_month"] == end).all()
    assert (result.metrics["income_grant_gbp"][:, end:] == 0).all()
    assert (result.metrics["grant_renewals"] == 0).all()


def test_renewal_share_matches_the_renewal_probability(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """The share of replicates whose contract is renewed is renewal_prob (binomial, 4 sd) when
    the re-tender does not weigh the provider's record (that is tested in
    test_funding_case.py)."""
    scenario = shipped_scenario("commissioned_term", "events.election.policy_change_prob=0",
                                "finance.grants[0].renewal_on_performance=false")
    n = 400
    result = run_ensemble(scenario, las, n, SEED)
    p = scenario.finance.grants[0].renewal_prob
    renewed = result.kpis["grant_renewals_total"]
    assert abs(renewed.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    cliff = result.kpis["cliff_month"]
    assert (cliff[renewed == 0] == 60).all()  # lost re-tender: the cliff at the end of the term
    assert np.isnan(cliff[renewed == 1]).all()  # won: paid to the end of the horizon


# ---------------------------------------------------------------------------- commissions


def test_commission_arrivals_are_poisson_with_the_given_rate() -> None:
    """One month of arrivals over 200,000 replicates: mean and variance both equal the rate."""
    R, rate = 200_000, 0.7
    terms = Commissions(rate_per_year=12 * rate, max_active=12)
    book = CommissionBook.initial(R, terms.max_active)
    u = np.random.default_rng(1).random((R, 1 + terms.max_active))
    won = add_commissions(book, terms, np.full(R, rate), u, np.ones(R, dtype=bool))
    tolerance = 4 * np.sqrt(rate / R)
    assert abs(won.mean() - rate) < tolerance
    assert abs(won.var() - rate) < 4 * np.sqrt(2 * rate**2 / R + rate / R)
    values = book.pay[book.remaining > 0] * terms.duration_months
    assert abs(values.mean() / terms.mean_value_gbp - 1) < 0.02  # lognormal with the stated mean
    np.testing.assert_allclose(book.fte, book.pay / terms.charge_gbp_per_fte_month)


def test_commissions_won_match_the_state_driven_rate(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Σ commissions won equals Σ rate(reputation, members at the month's start) (Poisson, 4 sd)."""
    # A full, stable delivery team, so the CoE always has staff free to take a commission.
    scenario = shipped_scenario("la_hosted", "finance.opening_reserves_gbp=1e10",
                                "finance.commissions.max_active=64",
                                "workforce.delivery.initial_fte=6",
                                "workforce.resignation_rate_per_year=0")
    n = 200
    result = run_ensemble(scenario, las, n, SEED)
    m, terms = result.metrics, scenario.finance.commissions
    reputation = np.concatenate([np.full((n, 1), scenario.portfolio.initial_reputation),
                                 m["reputation"][:, :-1]], axis=1)
    members = np.concatenate([np.zeros((n, 1)), m["members"][:, :-1]], axis=1)
    rate = terms.rate_per_year / 12 * reputation * (1 + terms.member_effect * members / las.count)
    expected = rate.sum()
    won = m["commissions_won"].sum()
    assert abs(won - expected) < 4 * np.sqrt(expected)
    assert (m["commissions_active"] <= 64).all()


def test_commissions_pay_their_value_over_their_duration(la_hosted_run: EnsembleResult) -> None:
    """Each commission runs duration_months; income only while one runs; FTE only with income.
    A Centre closed at a month end (§5.4, §5.10) earned that month's income but holds no
    commission at the end of it, and earns nothing after."""
    result = la_hosted_run
    m = result.metrics
    open_at_end = m["operating"] == 1
    closed_before = np.concatenate([np.zeros((len(open_at_end), 1), dtype=bool),
                                    ~open_at_end[:, :-1]], axis=1)
    income, active = m["income_commissions_gbp"], m["commissions_active"]
    assert (((income > 0) == (active > 0)) | ~open_at_end).all()
    assert (income[closed_before] == 0).all() and (active[~open_at_end] == 0).all()
    assert ((m["commission_fte"] > 0) == (m["commissions_active"] > 0)).all()
    d = result.scenario.finance.commissions.duration_months
    # Running commissions at month t are those won in months t − d + 1 … t.
    won = m["commissions_won"]
    running = np.array([won[:, max(0, t - d + 1):t + 1].sum(axis=1) for t in range(won.shape[1])]).T
    alive = m["operating"] == 1
    np.testing.assert_array_equal(m["commissions_active"][alive], running[alive])


def test_no_commission_without_free_delivery_staff(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A CoE with no delivery staff takes no commission, however high the arrival rate."""
    scenario = shipped_scenario("la_hosted", "workforce.delivery.initial_fte=0",
                                "workforce.delivery.establishment_fte=0",
                                "finance.commissions.rate_per_year=50")
    result = run_ensemble(scenario, las, 20, SEED)
    assert result.metrics["commissions_won"].sum() == 0


def test_a_government_host_takes_no_commissions(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """hosting.commissions_allowed = false: no commission is ever won."""
    result = run_ensemble(shipped_scenario("government_hosted"), las, 30, SEED)
    assert result.metrics["commissions_won"].sum() == 0
    assert result.metrics["income_commissions_gbp"].sum() == 0


# ---------------------------------------------------------------------------- charity


@pytest.mark.parametrize("model", ["la_hosted", "government_hosted"])
def test_councils_and_departments_cannot_take_charitable_income(
    model: str, make_scenario: Callable[..., Scenario]
) -> None:
    """The schema refuses charitable income for a council or a department, naming the rule."""
    with pytest.raises(ScenarioError, match="charitable_income_gbp_per_year must be 0"):
        make_scenario(hosting={"model": model, "charitable_income_gbp_per_year": 1000.0})


def test_cashflow_pays_no_charitable_income_to_a_forbidden_form(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Even an unvalidated council host with charitable income gets £0 of it in the cash flow."""
    params = compile_parameters(shipped_scenario("la_hosted"), las, 3)
    forged = replace(params.hosting.hosts[0], charitable_income_gbp_per_year=np.full(3, 50_000.0))
    staff = np.ones((3, 3), dtype=np.int64)
    cash = monthly_cashflow(params.finance, forged, params.workforce, staff,
                            {"charitable": np.full(3, 1000.0)}, np.zeros(3),
                            np.ones(3, dtype=bool), 1.0)
    assert (cash.income["charitable"] == 0).all()
    assert (charitable_income(forged, np.ones(3)) == 0).all()


def test_charitable_income_averages_its_mean(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A sector-body host's charitable income averages its stated mean (lognormal, mean 1) in
    2026/27 prices (it rises with the CPI index, docs/model.md §5.13)."""
    scenario = shipped_scenario("existing_infrastructure", "finance.opening_reserves_gbp=1e10")
    result = run_ensemble(scenario, las, 200, SEED)
    mean = scenario.hosting.charitable_income_gbp_per_year / 12
    income = result.metrics["income_charitable_gbp"] / result.metrics["cpi_index"]
    assert abs(income.mean() / mean - 1) < 0.05
    # One draw per fiscal year: constant within each April–March year of a replicate.
    assert (np.diff(income[:, 0:12], axis=1) == 0).all()
    assert (income[:, 11] != income[:, 12]).mean() > 0.99


# ---------------------------------------------------------------------------- conservation


@pytest.fixture(scope="module")
def everything_on(las: LAPopulation, shipped_scenario: Callable[..., Scenario]) -> EnsembleResult:
    """A sector-body host with a tapered, renewable grant, a core budget under spending reviews,
    subscriptions by band, busy commissions, charity, a certain policy change at the election,
    national programmes, a spin-out at month 60, and two sub-steps a month."""
    base = shipped_scenario("existing_infrastructure")
    finance = base.finance.model_dump()
    finance["grants"] = [{"name": "tapered", "amount_gbp_per_year": 600_000.0, "start_month": 0,
                          "end_month": 40, "taper_months": 6, "renewal_prob": 0.5,
                          "renewal_months": 24, "max_renewals": 2}]
    finance.update(core_budget_gbp_per_year=300_000.0, core_budget_from_month=24,
                   opening_reserves_gbp=50_000.0)
    finance["commissions"]["rate_per_year"] = 6.0
    events = base.events.model_dump()
    events["election"]["policy_change_prob"] = 1.0
    events["national_programmes"]["rate_per_year"] = 2.0
    change = {"month": 60, "transition_cost_gbp": 50_000.0, "staff_loss_share": 0.2,
              "hosting": {"model": "independent_company", "failure_rule": "insolvency",
                          "deficit_tolerance_gbp": 0.0, "closure_deficit_gbp": 0.0,
                          "charitable_income_gbp_per_year": 20_000.0, "vat_recoverable": False}}
    scenario = edited(base, finance=finance, events=events, host_changes=[change],
                      time={"start": "2026-04", "horizon_months": 120, "substeps_per_month": 2})
    return run_ensemble(scenario, las, 200, SEED)


def test_money_is_conserved_to_the_penny_with_every_line_active(
    everything_on: EnsembleResult,
) -> None:
    """reserves = opening + Σ income − Σ costs to the half-penny, every month, all lines on."""
    m = everything_on.metrics
    for source in ("grant", "core_budget", "subscriptions", "commissions", "charitable"):
        assert m[f"income_{source}_gbp"].max() > 0, f"{source} never paid: the test is too weak"
    for kind in ("staff", "overhead", "non_pay", "vat", "governance", "setup", "recruitment",
                 "vacancy_cover"):
        assert m[f"costs_{kind}_gbp"].max() > 0, kind
    expected = (everything_on.scenario.finance.opening_reserves_gbp
                + np.cumsum(m["income_total_gbp"], axis=1)
                - np.cumsum(m["costs_total_gbp"], axis=1))
    np.testing.assert_allclose(m["reserves_gbp"], expected, rtol=0, atol=0.005)
    income = sum(m[f"income_{s}_gbp"] for s in INCOME_SOURCES)
    costs = sum(m[f"costs_{c}_gbp"] for c in COST_TYPES)
    np.testing.assert_allclose(m["income_total_gbp"], income, rtol=0, atol=1e-6)
    np.testing.assert_allclose(m["costs_total_gbp"], costs, rtol=0, atol=1e-6)
    names = [f"income_{s}_gbp" for s in INCOME_SOURCES] + [f"costs_{c}_gbp" for c in COST_TYPES]
    for name in names:
        pence = m[name] * 100
        np.testing.assert_allclose(pence, np.round(pence), rtol=0, atol=1e-6, err_msg=name)


def test_events_really_happened_in_the_conservation_run(everything_on: EnsembleResult) -> None:
    """The conservation run saw renewals, a policy change, programmes and a spin-out."""
    m, k = everything_on.metrics, everything_on.kpis
    assert 0 < k["grant_renewals_total"].mean() < 2
    assert (k["policy_change"] == 1).all()
    assert m["national_programmes"].sum() > 0
    assert any(e.kind == EventKind.HOST_CHANGE for e in everything_on.events)
    assert any(e.kind == EventKind.SPENDING_REVIEW for e in everything_on.events)


# ---------------------------------------------------------------------------- extreme


def test_price_zero_means_no_approval_delay_from_price(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """With a zero price the host's priced gate is never used: making it glacial changes nothing."""
    free = ("finance.subscription_gbp_per_year=0", "finance.subscription_bands=[]")
    a = shipped_scenario("la_hosted", *free)
    b = shipped_scenario("la_hosted", *free, "hosting.priced_approval_months=60",
                         "hosting.priced_approval_pass_prob=0.01")
    ra, rb = compare([a, b], las, 50, SEED)
    np.testing.assert_array_equal(ra.metrics["members"], rb.metrics["members"])
    assert ra.metrics["income_subscriptions_gbp"].sum() == 0
