"""Workforce mechanisms: ramp-up of new starters, and redundancies with notice and pay."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.scenario import Scenario

SEED = 2718


def test_no_ramp_up_means_everyone_is_experienced(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    scenario = shipped_scenario("la_hosted", "workforce.ramp_up_months=0")
    m = run_ensemble(scenario, las, 30, SEED).metrics
    staffed = m["staff_fte"] > 0
    assert (m["experienced_share"][staffed] == 1).all()
    np.testing.assert_array_equal(m["effective_fte"], m["staff_fte"])


def test_effective_fte_discounts_new_starters_by_their_productivity(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """effective = staff − (1 − productivity) × new starters, with new starters =
    (1 − experienced share) × staff."""
    scenario = shipped_scenario("la_hosted", "workforce.ramp_up_months=12",
                                "workforce.new_starter_productivity=0.25")
    m = run_ensemble(scenario, las, 30, SEED).metrics
    staffed = m["staff_fte"] > 0
    novices = (1 - m["experienced_share"][staffed]) * m["staff_fte"][staffed]
    np.testing.assert_allclose(m["effective_fte"][staffed],
                               m["staff_fte"][staffed] - 0.75 * novices, atol=1e-9)
    assert novices.max() > 0


def short_of_cash(shipped_scenario: Callable[..., Scenario], *extra: str) -> Scenario:
    """A council-hosted CoE whose only grant ends at month 12 with no other income, one salary
    for every role, no resignations, a deficit tolerance it never reaches and no closure for
    not working."""
    return shipped_scenario(
        "la_hosted", "finance.subscription_gbp_per_year=0", "finance.opening_reserves_gbp=50000",
        "workforce.resignation_rate_per_year=0", "time.horizon_months=48",
        "workforce.delivery.salary_gbp_per_year=52000",
        "workforce.engagement.salary_gbp_per_year=52000",
        "workforce.leadership.salary_gbp_per_year=52000", "hosting.deficit_tolerance_gbp=1e9",
        "hosting.closure_deficit_gbp=1e9", "hosting.max_deficit_months=600",
        "hosting.in_kind_support_gbp_per_year=0", "hosting.nonviable_closure_months=600",
        'finance.grants=[{name = "pilot", amount_gbp_per_year = 900000.0, start_month = 0, '
        'end_month = 12}]',
        *extra)


def test_redundancies_follow_notices_after_the_notice_period_with_their_pay(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    scenario = short_of_cash(shipped_scenario, "workforce.notice_months=3",
                             "workforce.redundancy_pay_weeks=10")
    m = run_ensemble(scenario, las, 40, SEED).metrics
    notices, gone = m["redundancy_notices"], m["redundancies"]
    assert notices.sum() > 0
    np.testing.assert_array_equal(gone[:, 3:], notices[:, :-3])  # everyone leaves 3 months later
    assert (gone[:, :3] == 0).all()
    np.testing.assert_allclose(m["costs_redundancy_gbp"],
                               np.round(gone * 52000 / 52 * 10 * m["pay_index"], 2),
                               atol=0.01)
    # Leadership is kept: the minimum leadership FTE is never cut.
    assert (m["staff_leadership_fte"][m["operating"] == 1] >= 1).all()


def test_no_trigger_means_no_cash_redundancies(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """No cash-shortage trigger and no cut: nobody is made redundant (the team is fixed, so no
    team review plans a reduction either, §3.6)."""
    scenario = short_of_cash(shipped_scenario, "workforce.redundancy_trigger_months=0",
                             "hosting.cut_share=0", "workforce.team_policy=fixed")
    m = run_ensemble(scenario, las, 20, SEED).metrics
    assert m["redundancy_notices"].sum() == 0 and m["redundancies"].sum() == 0


def test_posts_deleted_in_a_shortage_are_refunded_when_money_returns(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """After redundancies in a gap between grants, a new large grant re-funds the full team,
    which is hired back: no CoE stays at zero staff with money in the bank. Read a year into
    the new grant (month 36): in its last year a team planned on secured income shrinks again
    as the grant's end comes into its planning horizon (§3.6)."""
    scenario = short_of_cash(
        shipped_scenario, "workforce.resignation_rate_per_year=0.14",
        'finance.grants=[{name = "pilot", amount_gbp_per_year = 900000.0, start_month = 0, '
        'end_month = 12}, {name = "second", amount_gbp_per_year = 2000000.0, start_month = 24, '
        'end_month = 48}]')
    m = run_ensemble(scenario, las, 40, SEED).metrics
    assert m["redundancies"][:, :24].sum() > 0
    funded = sum(r.establishment_fte for r in scenario.workforce.roles())
    assert np.median(m["staff_fte"][:, 36]) >= funded - 1
