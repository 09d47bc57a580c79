"""The funded team grows and shrinks with secured income (docs/model.md §3.6): the rule on
hand-made states against its formula, and on whole runs at its extremes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import compare, run_ensemble
from sim.model import Parameters, compile_parameters, team
from sim.model.codes import Role
from sim.model.state import BatchState, initial_state
from sim.scenario import Scenario, scenario_from_dict

R = 3
SEED = 2718
FULL = {"delivery": {"initial_fte": 2, "establishment_fte": 6, "salary_gbp_per_year": 45_000.0},
        "engagement": {"initial_fte": 1, "establishment_fte": 2, "salary_gbp_per_year": 42_000.0},
        "leadership": {"initial_fte": 1, "establishment_fte": 2, "salary_gbp_per_year": 65_000.0}}


def make(las: LAPopulation, **sections: dict[str, Any]
         ) -> tuple[BatchState, Parameters, RandomStreams]:
    """A state at month 0 under the secured-income policy (schema defaults plus ``sections``),
    with no grant, no income and no host support unless given."""
    workforce = {"team_policy": "secured_income", **FULL, **sections.pop("workforce", {})}
    finance = {"grants": [], "opening_reserves_gbp": 0.0, **sections.pop("finance", {})}
    hosting = {"in_kind_support_gbp_per_year": 0.0, **sections.pop("hosting", {})}
    scenario = scenario_from_dict({"workforce": workforce, "finance": finance,
                                   "hosting": hosting, **sections}, "<test>")
    params = compile_parameters(scenario, las, R)
    streams = RandomStreams(1, partition(R))
    state = initial_state(params, las, streams)
    zero = np.zeros(R)
    state.income_due = {"grant": zero, "core_budget": zero, "subscriptions": zero,
                        "commissions": zero, "charitable": zero}
    return state, params, streams


def test_the_team_starts_with_its_first_staff(las: LAPopulation) -> None:
    state, params, _ = make(las)
    np.testing.assert_array_equal(state.establishment, np.tile([2, 1, 1], (R, 1)))
    fixed, _, _ = make(las, workforce={"team_policy": "fixed"})
    np.testing.assert_array_equal(fixed.establishment, np.tile([6, 2, 2], (R, 1)))


def test_the_budget_is_secured_income_and_usable_reserves_over_the_horizon(
    las: LAPopulation
) -> None:
    """(Σ grant profile over H months + core × its months in the horizon / 12 + earned now × H
    + support × H/12 + B − P × running costs) ÷ H, by hand for three replicates (a shortfall
    below the reserves policy is recovered over the horizon)."""
    state, params, _ = make(
        las, finance={"grants": [{"name": "g", "amount_gbp_per_year": 120_000.0,
                                  "start_month": 0, "end_month": 6, "taper_months": 0}],
                      "core_budget_gbp_per_year": 24_000.0, "core_budget_from_month": 4},
        hosting={"in_kind_support_gbp_per_year": 12_000.0})
    state.income_due["subscriptions"] = np.array([0.0, 1_000.0, 5_000.0])
    state.reserves[:] = [0.0, 100_000.0, 1_000_000.0]
    H = params.workforce.planning_horizon_months
    running = team.posts_cost(state, params, state.establishment)
    above = state.reserves - params.finance.reserves_policy_months * running
    assert above[0] < 0  # the first replicate is below its policy: it recovers the shortfall
    grants = 10_000.0 * 6  # six months of the profile fall in the horizon
    core = 2_000.0 * (H - 4)  # the core budget pays from month 4
    expected = (grants + core + state.income_due["subscriptions"] * H + 1_000.0 * H + above) / H
    np.testing.assert_allclose(team.secured_budget(state, params, 0), expected, rtol=1e-12)


def test_a_department_plans_on_no_reserves_but_repays_an_overspend(las: LAPopulation) -> None:
    """Under annuality a positive balance goes back at 31 March, so it funds no post; a
    deficit is a first call on the budget."""
    state, params, _ = make(las, hosting={"model": "government_hosted",
                                          "reserves_rule": "annuality"},
                            finance={"subscription_gbp_per_year": 0.0})
    state.income_due["subscriptions"] = np.full(R, 50_000.0)
    state.reserves[:] = [1e6, 0.0, -120_000.0]
    H = params.workforce.planning_horizon_months
    np.testing.assert_allclose(team.secured_budget(state, params, 0),
                               [50_000.0, 50_000.0, 50_000.0 - 120_000.0 / H], rtol=1e-12)


def test_with_nothing_secured_the_team_shrinks_to_its_minimum_at_the_first_review(
    las: LAPopulation
) -> None:
    """No income, no reserves: vacant posts go, then notice on everyone but the minimum
    leadership; nothing grows."""
    state, params, streams = make(las)
    state.establishment[:] = [4, 2, 2]  # two vacant delivery, one vacant engagement, one leader
    team.plan_team(state, params, streams.at(0), 0)
    minimum = params.workforce.minimum_leadership_fte
    notices = state.notices.under_notice
    np.testing.assert_array_equal(notices, np.tile([2, 1, 1 - minimum], (R, 1)))
    np.testing.assert_array_equal(state.establishment, np.tile([0, 0, minimum], (R, 1)))


def test_with_ample_secured_income_the_team_grows_by_the_step_into_the_largest_gap(
    las: LAPopulation
) -> None:
    """Each review adds growth_posts_per_review posts, each into the role furthest below its
    share of the full team (ties: delivery, engagement, leadership), up to the full team."""
    state, params, streams = make(las, finance={"opening_reserves_gbp": 1e9},
                                  workforce={"growth_posts_per_review": 2})
    full = params.workforce.establishment_fte
    path = [state.establishment[0].copy()]
    for review in range(6):
        team.plan_team(state, params, streams.at(3 * review), 3 * review)
        path.append(state.establishment[0].copy())

    # The same walk by hand: from (2, 1, 1), two posts a review, largest (full − est) ÷ full.
    est = np.array([2, 1, 1])
    expected = [est.copy()]
    for _ in range(6):
        for _ in range(2):
            gap = (full - est) / full
            if gap.max() <= 0:
                break
            est[int(np.argmax(gap))] += 1
        expected.append(est.copy())
    np.testing.assert_array_equal(np.array(path), np.array(expected))
    np.testing.assert_array_equal(path[-1], full)
    assert (np.abs(np.diff(np.array(path).sum(axis=1))) <= 2).all()


def test_a_review_falls_only_in_its_months(las: LAPopulation) -> None:
    state, params, streams = make(las, finance={"opening_reserves_gbp": 1e9},
                                  workforce={"team_review_months": 3})
    before = state.establishment.copy()
    team.plan_team(state, params, streams.at(1), 1)
    np.testing.assert_array_equal(state.establishment, before)
    team.plan_team(state, params, streams.at(3), 3)
    assert (state.establishment.sum(axis=1) > before.sum(axis=1)).all()


def test_growth_stops_where_the_next_post_does_not_fit(las: LAPopulation) -> None:
    """Headroom for exactly one more delivery post: one is added, no more."""
    state, params, streams = make(las, workforce={"growth_posts_per_review": 5})
    per_head = state.hosting.cost_per_head_gbp_per_month[0]
    H = params.workforce.planning_horizon_months
    cost_now = team.posts_cost(state, params, state.establishment)
    # Income now that pays, after the contingency, the current posts and 1.5 delivery posts;
    # no reserves (so the policy's shortfall is recovered too).
    shortfall = params.finance.reserves_policy_months * cost_now / H
    spend = cost_now + 1.5 * per_head[Role.DELIVERY]
    state.income_due["subscriptions"] = (spend / (1 - params.workforce.planning_contingency_share)
                                         + shortfall)
    assert H > 0
    team.plan_team(state, params, streams.at(0), 0)
    np.testing.assert_array_equal(state.establishment, np.tile([3, 1, 1], (R, 1)))


# ------------------------------------------------------------------------------- whole runs


def test_a_centre_with_no_money_never_grows_its_team(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    scenario = shipped_scenario("independent_company", "finance.grants=[]",
                                "finance.opening_reserves_gbp=0",
                                "finance.subscription_bands=[]",
                                "finance.subscription_gbp_per_year=0",
                                "finance.commissions.rate_per_year=0")
    assert scenario.workforce.team_policy == "secured_income"
    m = run_ensemble(scenario, las, 20, SEED).metrics
    start = sum(r.initial_fte for r in scenario.workforce.roles())
    assert m["funded_posts"].max() <= start
    assert m["hires"].sum() == 0


def test_more_grant_never_means_a_smaller_funded_team_before_anyone_resigns(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Under common random numbers and no resignations, a larger grant funds at least as many
    posts in every replicate and month while the grant runs."""
    base = ("workforce.resignation_rate_per_year=0", "time.horizon_months=36")
    small, large = compare(
        [shipped_scenario("la_hosted", *base, "finance.grants[0].amount_gbp_per_year=400000"),
         shipped_scenario("la_hosted", *base, "finance.grants[0].amount_gbp_per_year=900000")],
        las, 30, SEED)
    assert (large.metrics["funded_posts"][:, :24] >= small.metrics["funded_posts"][:, :24]).all()
    assert large.metrics["funded_posts"][:, 12].mean() > small.metrics["funded_posts"][:, 12].mean()
