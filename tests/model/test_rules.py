"""Each rule of the month on a small hand-made state, without running an ensemble: the state
is built by initial_state for a few replicates, set by hand, passed through one rule, and the
result checked against arithmetic done here."""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.model import (
    Parameters,
    compile_parameters,
    events,
    external,
    finance,
    host,
    portfolio,
    reserves,
    uptake,
    workforce,
)
from sim.model.codes import FailureRule, Ladder, ReservesRule, Role, ServiceStatus, Tally
from sim.model.record import METRICS, Record, record_month
from sim.model.state import BatchState, initial_state
from sim.scenario import scenario_from_dict

R = 3
"""Replicates of every hand-made state."""


def make(las: LAPopulation, replicates: int = R, seed: int = 1,
         **sections: dict[str, Any]) -> tuple[BatchState, Parameters, RandomStreams]:
    """A state at month 0 of a scenario (schema defaults plus ``sections``)."""
    params = compile_parameters(scenario_from_dict(dict(sections), "<test>"), las, replicates)
    streams = RandomStreams(seed, partition(replicates))
    return initial_state(params, las, streams), params, streams


def due(state: BatchState, grant: float = 0.0) -> None:
    """This month's external income due: only ``grant`` £/month."""
    zero = np.zeros(state.replicates)
    state.income_due = {"grant": np.full(state.replicates, grant), "core_budget": zero,
                        "subscriptions": zero, "commissions": zero, "charitable": zero}


def team_cost(state: BatchState, team: np.ndarray) -> np.ndarray:
    """£/month of a team ``team`` (int[3] or int[R, 3]) under each replicate's host."""
    hosting = state.hosting
    return (hosting.fixed_costs_gbp_per_month
            + (np.broadcast_to(team, state.staff.shape)
               * hosting.cost_per_head_gbp_per_month).sum(axis=1))


# --------------------------------------------------------------------------- host rules


def test_running_costs_are_the_cash_flow_of_a_team(las: LAPopulation) -> None:
    """fixed + Σ staff × per head equals the costs the month's cash flow charges that team."""
    state, params, _ = make(las, hosting={"model": "independent_company",
                                          "vat_recoverable": False,
                                          "governance_gbp_per_year": 24_000.0})
    team = np.array([[3, 1, 2], [0, 0, 0], [5, 2, 1]], dtype=np.int64)
    cash = finance.monthly_cashflow(params.finance, state.hosting, params.workforce, team, {},
                                    np.zeros(R), np.ones(R, dtype=bool), 1.0)
    np.testing.assert_allclose(team_cost(state, team), cash.costs_total, atol=0.02)


def test_hiring_is_frozen_exactly_when_a_full_team_is_unaffordable(las: LAPopulation) -> None:
    """Affordable iff reserves + k × (income − full team) ≥ 0; a host cut freezes anyway."""
    state, params, streams = make(las, workforce={"hiring_freeze_reserve_months": 3.0},
                                  hosting={"in_kind_support_gbp_per_year": 0.0})
    due(state, grant=10_000.0)
    full = team_cost(state, params.workforce.establishment_fte)
    edge = 3.0 * (full - 10_000.0)  # the reserves at which a full team is just affordable
    state.reserves[:] = edge + np.array([1.0, -1.0, 1.0])
    state.host_cut[:] = [False, False, True]
    host.freeze_hiring(state, params, streams.at(0), 0)
    assert list(state.flows.hiring_frozen) == [False, True, True]


def test_redundancies_close_the_gap_engagement_first_then_leave_with_pay(
    las: LAPopulation
) -> None:
    """Notice goes to enough people to cover the monthly shortfall, engagement before delivery;
    they leave when it ends and their redundancy pay falls due then."""
    state, params, streams = make(
        las, workforce={"redundancy_trigger_months": 2.0, "notice_months": 3,
                        "redundancy_pay_weeks": 10.0, "minimum_leadership_fte": 1},
        hosting={"in_kind_support_gbp_per_year": 0.0})
    state.staff[:] = [4, 2, 1]
    state.establishment[:] = [4, 2, 1]
    due(state)
    per_head = state.hosting.cost_per_head_gbp_per_month[0]
    costs_now = team_cost(state, np.array([4, 2, 1]))[0]
    # Reserves that leave a gap of 2.5 engagement salaries a month: 2 engagement + 1 delivery.
    gap = 2 * per_head[Role.ENGAGEMENT] + 0.5 * per_head[Role.DELIVERY]
    state.reserves[:] = 2.0 * (costs_now - gap)
    host.serve_redundancies(state, params, streams.at(5), 5)
    np.testing.assert_array_equal(state.notices.under_notice, [[1, 2, 0]] * R)
    np.testing.assert_array_equal(state.establishment, [[3, 0, 1]] * R)
    assert (state.staff == [4, 2, 1]).all()  # still in post, serving notice
    np.testing.assert_array_equal(state.flows.redundancy_notices, 3)
    state.reserves[:] = 1e9  # no further notices: only the departures
    host.serve_redundancies(state, params, streams.at(8), 8)
    np.testing.assert_array_equal(state.staff, [[3, 0, 1]] * R)
    weekly = params.workforce.salary_gbp_per_year / 52.0
    pay = 10.0 * (weekly[Role.DELIVERY] + 2 * weekly[Role.ENGAGEMENT])
    np.testing.assert_allclose(state.redundancy_pay_gbp, pay)
    np.testing.assert_array_equal(state.flows.redundancies, 3)


def test_posts_come_back_only_when_affordable_and_nobody_is_under_notice(
    las: LAPopulation
) -> None:
    state, params, streams = make(las)
    funded = params.workforce.establishment_fte
    state.establishment[:] = funded - 1
    due(state)
    state.reserves[:] = [1e9, 1e9, -1e6]
    state.notices.serve(0, np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]))
    host.restore_posts(state, params, streams.at(1), 1)
    np.testing.assert_array_equal(state.establishment, [funded, funded - 1, funded - 1])


def test_a_host_cut_serves_notice_above_the_cut_establishment(las: LAPopulation) -> None:
    """Establishment falls to floor(posts × (1 − cut_share)); those above it get notice."""
    state, params, _ = make(las, hosting={"cut_share": 0.5})
    state.establishment[:] = [5, 3, 2]
    state.staff[:] = [5, 1, 2]
    rows = np.array([True, False, True])
    host.impose_cut(state, rows, 7)
    np.testing.assert_array_equal(state.establishment, [[2, 1, 1], [5, 3, 2], [2, 1, 1]])
    np.testing.assert_array_equal(state.notices.under_notice, [[3, 0, 1], [0, 0, 0], [3, 0, 1]])
    assert list(state.host_cut) == [True, False, True]
    np.testing.assert_array_equal(state.flows.cut_redundancies, [4, 0, 4])


@pytest.mark.parametrize(("rule", "closes", "cuts"), [
    ("insolvency", [True, True, False], [False, False, False]),
    ("deficit_tolerance", [True, False, False], [False, True, False]),
    ("spending_review", [False, False, False], [True, True, False]),
])
def test_each_failure_rule_after_the_cash_flow(las: LAPopulation, rule: str, closes: list[bool],
                                                cuts: list[bool]) -> None:
    """Reserves −£300k, −£150k, +£1: a company closes below its tolerance (£100k); a council
    cuts below it and closes past its closure deficit (£250k); a department only cuts."""
    state, params, streams = make(las, hosting={"failure_rule": rule,
                                                "deficit_tolerance_gbp": 100_000.0,
                                                "closure_deficit_gbp": 250_000.0})
    state.reserves[:] = [-300_000.0, -150_000.0, 1.0]
    host.apply_failure_rule(state, params, streams.at(3), 3)
    assert list(~state.operating) == closes
    assert list(state.host_cut & state.operating) == cuts


def test_a_council_closes_after_too_many_months_beyond_its_tolerance(las: LAPopulation) -> None:
    state, params, streams = make(las, hosting={"failure_rule": "deficit_tolerance",
                                                "deficit_tolerance_gbp": 0.0,
                                                "closure_deficit_gbp": 1e9,
                                                "max_deficit_months": 3})
    state.reserves[:] = [-1.0, -1.0, 5.0]
    state.host_cut[:] = True
    for month in range(3):
        assert state.operating[0]
        host.month_end_failure_rule(state, params, streams.at(month), month)
    assert list(state.operating) == [False, False, True]
    assert list(state.deficit_months) == [3, 3, 0]
    assert not state.host_cut[2]  # back above £0: the cut is lifted


def test_closing_stops_everything(las: LAPopulation) -> None:
    state, params, _ = make(las)
    state.ladder[:, :4] = [Ladder.MEMBER, Ladder.EVALUATING, Ladder.CHAMPION, Ladder.AWARE]
    state.champions[:, :4] = [1, 0, 2, 0]
    state.portfolio.status[:, 0] = ServiceStatus.LIVE
    rows = np.array([False, True, False])
    host.close(state, rows)
    assert list(state.operating) == [True, False, True]
    assert list(state.ladder[1, :4]) == [Ladder.LAPSED, Ladder.AWARE, Ladder.LAPSED, Ladder.AWARE]
    assert state.champions[1].sum() == 0 and state.staff[1].sum() == 0
    assert (state.portfolio.status[1] == ServiceStatus.PLANNED).all()
    assert list(state.ladder[0, :4]) == [Ladder.MEMBER, Ladder.EVALUATING, Ladder.CHAMPION,
                                         Ladder.AWARE]


def test_the_counts_after_a_closure_are_those_of_a_full_count(las: LAPopulation) -> None:
    """A closure marks only its rows for counting afresh; the counts then agree to the bit
    with counting every row, also when rows change again before the counts are read."""
    state, params, _ = make(las, replicates=6)
    rng = np.random.default_rng(3)
    state.ladder[:] = rng.integers(0, len(Ladder), state.ladder.shape)
    member = (state.ladder >= Ladder.MEMBER) & (state.ladder <= Ladder.CHAMPION)
    state.champions[:] = np.where(member, rng.integers(1, 3, state.ladder.shape), 0)
    state.counts.changed()
    state.tally()
    host.close(state, np.array([False, True, False, False, True, False]))
    state.ladder[3, :5] = Ladder.CHAMPION  # another change of one row before the next count
    state.champions[3, :5] = 2
    state.counts.changed(np.array([False, False, False, True, False, False]))
    partly = state.tally().copy()
    state.counts.changed()
    np.testing.assert_array_equal(partly, state.tally())


def test_replicates_under_different_hosts_follow_their_own_failure_rule(
    las: LAPopulation
) -> None:
    """After a change of host in only some replicates, each follows its own host's rule."""
    state, params, streams = make(
        las, hosting={"failure_rule": "insolvency", "deficit_tolerance_gbp": 0.0},
        host_changes=[{"month": 10, "hosting": {"failure_rule": "spending_review",
                                                "deficit_tolerance_gbp": 0.0}}])
    state.host[:] = [0, 1, 0]
    state.hosting = params.hosting.select(state.host)
    assert list(state.hosting.failure_rule) == [FailureRule.INSOLVENCY,
                                                FailureRule.SPENDING_REVIEW,
                                                FailureRule.INSOLVENCY]
    state.reserves[:] = -10.0
    host.apply_failure_rule(state, params, streams.at(12), 12)
    assert list(state.operating) == [False, True, False]
    assert state.host_cut[1]


# --------------------------------------------------------------------------- staff, LAs, services


def test_no_resignations_and_a_frozen_freeze_mean_no_flows(las: LAPopulation) -> None:
    state, params, streams = make(las, workforce={"resignation_rate_per_year": 0.0})
    due(state)
    state.flows.hiring_frozen[:] = True
    before = state.staff.copy()
    workforce.advance_staff(state, params, streams.at(0), 0)
    np.testing.assert_array_equal(state.staff, before)
    assert state.flows.leavers.sum() == 0 and state.flows.hires.sum() == 0


def test_every_vacancy_is_filled_when_hiring_is_near_instant(las: LAPopulation) -> None:
    """A recruitment delay of a hair: the fill chance rounds to 1, every vacancy is filled and
    the new starters join the novices after the sub-step."""
    state, params, streams = make(las, workforce={"resignation_rate_per_year": 0.0},
                                  hosting={"recruitment_delay_months": 1e-6})
    due(state)
    vacancies = params.workforce.establishment_fte - params.workforce.initial_fte
    workforce.advance_staff(state, params, streams.at(0), 0)
    np.testing.assert_array_equal(state.staff, [params.workforce.establishment_fte] * R)
    np.testing.assert_array_equal(state.novices, [vacancies] * R)
    np.testing.assert_array_equal(state.flows.hires, vacancies.sum())


def test_a_closed_replicate_and_a_silent_offer_leave_the_ladder_alone(las: LAPopulation) -> None:
    """With p = q = 0 unaware LAs stay unaware; in a closed replicate nothing moves at all."""
    state, params, streams = make(las, uptake={"p_per_year": 0.0, "q_per_year": 0.0,
                                               "evaluation_start_months": 0.0})
    state.operating[1] = False
    before = state.ladder.copy()
    uptake.advance_ladder(state, params, streams.at(0), 0)
    unaware = before == Ladder.UNAWARE
    assert (state.ladder[unaware] == Ladder.UNAWARE).all()
    np.testing.assert_array_equal(state.ladder[1], before[1])
    assert (state.ladder[[0, 2]] != before[[0, 2]]).any()  # aware LAs did start evaluating


def test_builds_need_delivery_staff_and_big_bang_starts_everything(las: LAPopulation) -> None:
    state, params, streams = make(las, portfolio={"policy": "big_bang"})
    portfolio.decide_launches(state, params, streams.at(0), 0)
    assert (state.portfolio.status == ServiceStatus.BUILDING).all()
    state.staff[:] = 0
    state.ladder[:] = Ladder.UNAWARE  # no volunteers either
    state.counts.changed()
    portfolio.advance_portfolio(state, params, streams.at(0), 0)
    assert (state.portfolio.progress == 0).all()
    np.testing.assert_array_equal(state.utilisation_last, 0.0)


def test_gall_starts_one_service_only_with_spare_capacity(las: LAPopulation) -> None:
    state, params, streams = make(las, portfolio={"policy": "gall", "gall_spare_fte": 1.0})
    state.staff[:, Role.DELIVERY] = [0, 3, 3]
    state.novices[:] = 0
    state.operating[2] = False
    portfolio.decide_launches(state, params, streams.at(0), 0)
    building = (state.portfolio.status == ServiceStatus.BUILDING).sum(axis=1)
    assert list(building) == [0, 1, 0]
    assert state.portfolio.status[1, 0] == ServiceStatus.BUILDING


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize("basis", ["eligible_spend", "fixed"])
def test_the_cash_step_moves_reserves_by_income_minus_costs(las: LAPopulation,
                                                           basis: str) -> None:
    """Reserves change by exactly the income and costs recorded; one-offs and redundancy pay
    fall in the first sub-step only; a closed replicate has neither income nor costs. A fixed
    grant pays its profile; an eligible-spend grant pays the costs it may pay (every cost but
    the redundancy pay), so the reserves fall by the redundancy pay alone."""
    state, params, streams = make(las, time={"substeps_per_month": 2},
                                  finance={"grants": [{"basis": basis}]})
    state.operating[2] = False
    state.one_off_gbp[:] = 1000.0
    state.redundancy_pay_gbp = np.full(R, 500.0)
    opening = state.reserves.copy()
    finance.note_income_due(state, params, streams.at(0), 0)
    for sub in range(2):
        state.substep = sub
        finance.pay_and_collect(state, params, streams.at(0), 0)
    income = sum(state.flows.income.values())
    costs = sum(state.flows.costs.values())
    np.testing.assert_allclose(state.reserves, opening + income - costs, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(state.flows.costs["setup"], [1000.0, 1000.0, 0.0])
    np.testing.assert_array_equal(state.flows.costs["redundancy"], [500.0, 500.0, 0.0])
    assert income[2] == 0 and costs[2] == 0
    if basis == "fixed":
        grant = params.finance.grants[0].amount_gbp_per_year[0] / 12
        np.testing.assert_allclose(state.flows.income["grant"][:2], grant)
    else:
        eligible = costs - state.flows.costs["redundancy"]
        np.testing.assert_allclose(state.flows.income["grant"], eligible, rtol=0, atol=1e-6)
        np.testing.assert_allclose(state.reserves, opening - [500.0, 500.0, 0.0], atol=1e-6)


def test_no_commission_is_taken_without_free_delivery_staff(las: LAPopulation) -> None:
    state, params, streams = make(las, finance={"commissions": {"rate_per_year": 120.0}})
    state.staff[:, Role.DELIVERY] = [0, 4, 4]
    finance.arrive_commissions(state, params, streams.at(0), 0)
    assert state.flows.commissions_won[0] == 0
    assert (state.flows.commissions_won[1:] > 0).all()
    np.testing.assert_array_equal(state.commission_fte_demand, state.commissions.fte_demand())


def test_a_programme_raises_demand_by_its_uplift(las: LAPopulation) -> None:
    state, params, streams = make(las, replicates=50, events={"national_programmes": {
        "rate_per_year": 12.0, "demand_uplift": 0.25}})
    external.arrive_programmes(state, params, streams.at(0), 0)
    arrivals = state.flows.national_programmes
    assert arrivals.max() > 0 and arrivals.min() == 0  # about e^−1 of replicates get none
    np.testing.assert_allclose(state.demand_multiplier, 1 + 0.25 * arrivals)


# --------------------------------------------------------------------------- calendar events


def test_a_change_of_host_swaps_parameters_loses_staff_and_costs_the_transition(
    las: LAPopulation
) -> None:
    state, params, streams = make(
        las, hosting={"model": "la_hosted"},
        host_changes=[{"month": 30, "transition_cost_gbp": 75_000.0, "staff_loss_share": 1.0,
                       "hosting": {"model": "independent_company",
                                   "failure_rule": "insolvency"}}])
    state.operating[2] = False
    before = state.staff.sum(axis=1)
    events.host_change(0, state, params, streams.at(30), 30)
    assert (state.host == 1).all()
    assert (state.hosting.failure_rule == FailureRule.INSOLVENCY).all()
    np.testing.assert_array_equal(state.staff.sum(axis=1), [0, 0, before[2]])
    np.testing.assert_array_equal(state.flows.leavers, [before[0], before[1], 0])
    np.testing.assert_array_equal(state.one_off_gbp, [75_000.0, 75_000.0, 0.0])


def test_a_stopped_core_budget_closes_a_department_only(las: LAPopulation) -> None:
    state, params, streams = make(
        las, finance={"core_budget_gbp_per_year": 500_000.0},
        hosting={"failure_rule": "spending_review"},
        events={"spending_review": {"stop_prob": 1.0, "cut_prob": 0.0}})
    events.review(state, params, streams.at(36), 36)
    assert (state.core_budget == 0).all() and not state.operating.any()
    council, cparams, cstreams = make(
        las, finance={"core_budget_gbp_per_year": 500_000.0},
        events={"spending_review": {"stop_prob": 1.0, "cut_prob": 0.0}})
    events.review(council, cparams, cstreams.at(36), 36)
    assert (council.core_budget == 0).all() and council.operating.all()


def test_april_renewal_keeps_every_member_when_renewal_is_certain(las: LAPopulation) -> None:
    state, params, streams = make(las, uptake={"renewal_prob": 1.0,
                                               "renewal_reputation_sensitivity": 0.0,
                                               "renewal_budget_pressure_sensitivity": 0.0},
                                  finance={"subscriptions_from_month": 0,
                                           "subscription_gbp_per_year": 0.0})
    state.ladder[:] = Ladder.MEMBER
    state.champions[:] = 1
    events.fiscal_year_start(state, params, streams.at(12), 12)
    assert (state.ladder == Ladder.MEMBER).all()
    np.testing.assert_array_equal(state.flows.renewal_lapses, 0)
    params_no = compile_parameters(scenario_from_dict({"uptake": {"renewal_prob": 0.0}}, "<t>"),
                                   las, R)
    events.fiscal_year_start(state, params_no, streams.at(12), 12)
    assert (state.ladder == Ladder.LAPSED).all() and state.champions.sum() == 0
    np.testing.assert_array_equal(state.flows.renewal_lapses, las.count)


# --------------------------------------------------------------------------- the record


def test_the_month_end_record_reads_the_state(las: LAPopulation) -> None:
    state, params, _ = make(las)
    state.staff[:] = [[3, 1, 1], [0, 0, 0], [2, 2, 1]]
    state.operating[1] = False
    state.reserves[:] = [10.0, -5.0, 0.0]
    T = params.time.horizon_months
    record = Record({name: np.zeros((T, R)) for name in METRICS}, np.zeros((T, R)))
    record_month(state, params, 4, record)
    m = record.metrics
    np.testing.assert_array_equal(m["staff_fte"][4], [5, 0, 5])
    np.testing.assert_array_equal(m["staff_delivery_fte"][4], [3, 0, 2])
    np.testing.assert_array_equal(m["reserves_gbp"][4], [10.0, -5.0, 0.0])
    np.testing.assert_array_equal(m["operating"][4], [1, 0, 1])
    assert m["vacancies"][4][1] == 0  # a closed CoE has no vacancies
    np.testing.assert_array_equal(m["las_unaware"][4] + m["las_aware"][4], las.count)
    assert not m["staff_fte"][3].any()  # only month 4 was written


RULES: list[Callable[..., None]] = [
    external.arrive_programmes, finance.arrive_commissions, finance.note_income_due,
    host.serve_redundancies, host.restore_posts, host.freeze_hiring, workforce.advance_staff,
    uptake.advance_ladder, portfolio.advance_portfolio, finance.pay_and_collect,
    host.apply_failure_rule, host.month_end_failure_rule, reserves.surrender_balance]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_every_rule_acts_on_the_state_it_is_given_only(las: LAPopulation,
                                                       rule: Callable[..., None]) -> None:
    """Running a rule on one state leaves another state of the same scenario untouched (no
    hidden state shared between batches)."""
    a, params, streams = make(las)
    b, _, _ = make(las)
    due(a)
    due(b)
    before = b.reserves.copy(), b.ladder.copy(), b.staff.copy()
    rule(a, params, streams.at(0), 0)
    for old, new in zip(before, (b.reserves, b.ladder, b.staff), strict=True):
        np.testing.assert_array_equal(old, new)


# --------------------------------------------------------------------------- grants and host money


def month_of_cash(state: BatchState, params: Parameters, streams: RandomStreams,
                  month: int) -> None:
    """The money of one month on a hand-made state: income noted, then each sub-step's cash,
    with the month's flows cleared first."""
    state.flows = type(state.flows).zeros(state.replicates)
    finance.note_income_due(state, params, streams.at(month), month)
    for sub in range(params.time.substeps_per_month):
        state.substep = sub
        finance.pay_and_collect(state, params, streams.at(month), month)


def test_an_eligible_spend_grant_pays_at_most_its_profile_in_a_fiscal_year(
    las: LAPopulation
) -> None:
    """A grant of £24,000 a year against costs of about £30,000 a month pays the whole year's
    £24,000 in April (eligible spend, front-loaded within the year), nothing more until the
    next April, then again at most £24,000; its profile is never passed and nothing it pays
    exceeds the costs incurred."""
    state, params, streams = make(las, finance={"grants": [{"amount_gbp_per_year": 24_000.0,
                                                             "end_month": 36}]})
    paid = []
    for month in range(15):
        month_of_cash(state, params, streams, month)
        grant, costs = state.flows.income["grant"], sum(state.flows.costs.values())
        assert (grant <= costs + 1e-9).all()
        paid.append(grant.copy())
    paid_by_month = np.array(paid)  # [month, R]
    np.testing.assert_allclose(paid_by_month[0], 24_000.0)
    np.testing.assert_array_equal(paid_by_month[1:12], 0.0)
    np.testing.assert_allclose(paid_by_month[12], 24_000.0)
    assert (paid_by_month[:12].sum(axis=0) <= 24_000.0 + 1e-9).all()


def test_a_grant_starting_part_way_through_a_year_has_a_pro_rata_cap(las: LAPopulation) -> None:
    """Starting in October (month 6) of a £120,000-a-year grant: at most £60,000 to March."""
    state, params, streams = make(las, finance={"grants": [{"amount_gbp_per_year": 120_000.0,
                                                             "start_month": 6,
                                                             "end_month": 36}]})
    total = np.zeros(R)
    for month in range(12):
        month_of_cash(state, params, streams, month)
        if month < 6:
            assert (state.flows.income["grant"] == 0).all()
        total += state.flows.income["grant"]
    np.testing.assert_allclose(total, 60_000.0)
    np.testing.assert_allclose(state.grants.year_cap, 60_000.0)


@pytest.mark.parametrize(("earned_income", "offsets"), [("offsets", True), ("retained", False)])
def test_earned_income_offsets_the_grant_or_is_retained(las: LAPopulation, earned_income: str,
                                                        offsets: bool) -> None:
    """£5,000 a month of commissions: an offsetting grant pays £5,000 less than the eligible
    costs and the reserves do not move; a grant whose terms let the income be retained pays the
    whole eligible spend and the reserves rise by the commissions."""
    state, params, streams = make(las, finance={"grants": [{"earned_income": earned_income}]})
    state.commissions.remaining[:, 0] = 3
    state.commissions.pay[:, 0] = 5_000.0
    opening = state.reserves.copy()
    month_of_cash(state, params, streams, 0)
    eligible = sum(state.flows.costs[c] for c in finance.GRANT_ELIGIBLE_COSTS)
    np.testing.assert_allclose(state.flows.income["commissions"], 5_000.0)
    expected = eligible - 5_000.0 if offsets else eligible
    np.testing.assert_allclose(state.flows.income["grant"], expected, atol=1e-6)
    np.testing.assert_allclose(state.reserves - opening, 0.0 if offsets else 5_000.0, atol=1e-6)


def test_a_core_budget_and_a_fixed_grant_are_not_paid_for_twice(las: LAPopulation) -> None:
    """An eligible-spend grant pays only the eligible costs the core budget and a fixed grant
    have not met (no cost is funded twice)."""
    state, params, streams = make(las, finance={
        "core_budget_gbp_per_year": 60_000.0,
        "grants": [{"name": "fixed", "basis": "fixed", "amount_gbp_per_year": 36_000.0},
                   {"name": "eligible", "amount_gbp_per_year": 1e6}]})
    month_of_cash(state, params, streams, 0)
    eligible = sum(state.flows.costs[c] for c in finance.GRANT_ELIGIBLE_COSTS)
    np.testing.assert_allclose(state.flows.income["core_budget"], 5_000.0)
    np.testing.assert_allclose(state.flows.income["grant"], 3_000.0 + (eligible - 8_000.0),
                               atol=1e-6)


def test_a_grant_with_no_staff_and_no_costs_pays_nothing(las: LAPopulation) -> None:
    """Extreme: nobody in post and no fixed costs: an eligible-spend grant pays £0, while a
    fixed grant still pays its profile (the optimistic case)."""
    none = {"initial_fte": 0, "establishment_fte": 0}
    for basis, expected in (("eligible_spend", 0.0), ("fixed", 1e6 / 12)):
        state, params, streams = make(
            las, workforce={"delivery": none, "engagement": none, "leadership": none},
            finance={"fixed_non_pay_gbp_per_year": 0.0,
                     "grants": [{"basis": basis, "amount_gbp_per_year": 1e6}]})
        month_of_cash(state, params, streams, 0)
        assert (sum(state.flows.costs.values()) == 0).all()
        np.testing.assert_allclose(state.flows.income["grant"], round(expected, 2))


def test_the_income_at_risk_of_an_eligible_spend_grant_is_what_it_pays(
    las: LAPopulation
) -> None:
    """Staff see at risk what the grant pays (at most its profile), not its whole award."""
    state, params, streams = make(las, finance={"grants": [{"amount_gbp_per_year": 1.2e6,
                                                             "end_month": 6}]})
    month_of_cash(state, params, streams, 0)
    paid = state.flows.income["grant"]
    assert (paid < 100_000.0).all()
    np.testing.assert_allclose(finance.grant_income_at_risk(state.grants, 1, 12), paid)


def test_annuality_surrenders_a_positive_balance_at_31_march(las: LAPopulation) -> None:
    """In March a department surrenders a positive balance (its own cost line) and carries an
    overspend; in other months, and under other hosts, nothing moves."""
    state, params, streams = make(las, hosting={"model": "government_hosted",
                                                "reserves_rule": "annuality"})
    state.reserves[:] = [5_000.25, -3_000.0, 0.0]
    reserves.surrender_balance(state, params, streams.at(10), 10)  # February
    np.testing.assert_array_equal(state.reserves, [5_000.25, -3_000.0, 0.0])
    reserves.surrender_balance(state, params, streams.at(11), 11)  # March
    np.testing.assert_array_equal(state.reserves, [0.0, -3_000.0, 0.0])
    np.testing.assert_array_equal(state.flows.costs["surrender"], [5_000.25, 0.0, 0.0])
    council, cparams, cstreams = make(las)
    council.reserves[:] = 5_000.0
    reserves.surrender_balance(council, cparams, cstreams.at(11), 11)
    np.testing.assert_array_equal(council.reserves, 5_000.0)


def test_the_fiscal_year_end_follows_the_start_month(compiled: Callable[..., Parameters]) -> None:
    """A run starting in January has its first 31 March at month 2 and its April at month 3."""
    params = compiled(time={"start": "2027-01", "horizon_months": 24})
    assert [m for m in range(24) if params.time.is_year_end(m)] == [2, 14]
    assert params.time.fiscal_year_start(2) == -9 and params.time.fiscal_year_start(3) == 3


def test_cost_recovery_returns_the_surplus_above_the_cap_through_next_years_price() -> None:
    """s.93: with list subscriptions of £100,000 a year, running costs of £10,000 a month and
    a cap of 3 months (£30,000): reserves of £50,000 give 20% off (the £20,000 above the cap
    goes back), £30,000 or less the list price, £500,000 a free year; no member, list price."""
    rule = np.full(5, ReservesRule.COST_RECOVERY)
    factor = reserves.price_factor(rule, np.array([50_000.0, 30_000.0, -10.0, 5e5, 5e5]),
                                   np.full(5, 10_000.0),
                                   np.array([1e5, 1e5, 1e5, 1e5, 0.0]), np.full(5, 3.0),
                                   np.full(5, 6.0), np.full(5, 0.2))
    np.testing.assert_allclose(factor, [0.8, 1.0, 1.0, 0.0, 1.0])
    # A surplus that is not a whole percent of the subscriptions: the cut is rounded up.
    odd = reserves.price_factor(rule[:1], np.array([30_000.0 + 12_345.0]), np.full(1, 1e4),
                                np.full(1, 1e5), np.full(1, 3.0), np.full(1, 6.0),
                                np.full(1, 0.2))
    assert (1 - odd[0]) * 1e5 >= 12_345.0 and (1 - odd[0]) * 1e5 < 12_345.0 + 1_000.0


def test_a_reserves_policy_moves_the_price_towards_its_target_within_its_band() -> None:
    """Target 3 months of £10,000: £20,000 short on £100,000 of subscriptions raises the price
    20% (its band's edge); £5,000 short 5%; £50,000 over the target cuts it 20%; at the target
    the list price; other rules keep the list price."""
    rule = np.array([ReservesRule.RESERVES_POLICY] * 4 + [ReservesRule.NONE,
                                                          ReservesRule.ANNUALITY])
    held = np.array([10_000.0, 25_000.0, 80_000.0, 30_000.0, 0.0, 0.0])
    factor = reserves.price_factor(rule, held, np.full(6, 10_000.0), np.full(6, 1e5),
                                   np.full(6, 1.0), np.full(6, 3.0), np.full(6, 0.2))
    np.testing.assert_allclose(factor, [1.2, 1.05, 0.8, 1.0, 1.0, 1.0])


def test_april_sets_the_price_before_members_renew_and_income_follows_it(
    las: LAPopulation
) -> None:
    """A council with reserves far above its cap: the April price falls to 0, so members renew
    at a free offer and pay nothing; the gate is that of a free offer too."""
    state, params, streams = make(las, finance={"subscriptions_from_month": 0,
                                                "subscription_gbp_per_year": 6000.0},
                                  hosting={"reserve_cap_months": 1.0})
    state.ladder[:, :40] = Ladder.MEMBER
    state.champions[:, :40] = 1
    state.counts.changed()
    state.reserves[:] = [1e9, 0.0, 1e9]
    state.operating[2] = False
    events.fiscal_year_start(state, params, streams.at(12), 12)
    np.testing.assert_array_equal(state.price_factor, [0.0, 1.0, 1.0])
    due = finance.income_due(state, params, 12)["subscriptions"]
    members = state.tally()[Tally.MEMBERS]
    assert state.price_index == 1.02  # list prices follow CPI (2% by default)
    np.testing.assert_allclose(due, [0.0, members[1] * 510.0, members[2] * 510.0])
    decide, passing = uptake.approval_chances(state, params, 12)
    free_decide, free_pass = uptake.approval_chances(
        *make(las, finance={"subscriptions_from_month": 0, "subscription_gbp_per_year": 0.0}
              )[:2], 12)
    np.testing.assert_array_equal(np.broadcast_to(passing, (R, las.count))[0],
                                  np.broadcast_to(free_pass, (R, las.count))[0])
    np.testing.assert_array_equal(np.broadcast_to(decide, (R, las.count))[0],
                                  np.broadcast_to(free_decide, (R, las.count))[0])


def test_the_gate_at_a_price_factor_is_the_gate_at_the_scaled_price(las: LAPopulation) -> None:
    """Replicates at 60%, 100% and 130% of the list price: each gets the gate of its own
    charged price, as approval_gate computes it from the prices themselves."""
    state, params, _ = make(las, finance={"subscriptions_from_month": 0,
                                          "subscription_gbp_per_year": 9000.0})
    state.price_factor[:] = [0.6, 1.0, 1.3]
    decide, passing = uptake.approval_chances(state, params, 5)
    charged = uptake.charged_prices(state, params, 5)
    months, expected = uptake.approval_gate(params.uptake, state.hosting, charged)
    np.testing.assert_array_equal(passing, np.broadcast_to(expected, (R, las.count)))
    np.testing.assert_array_equal(decide, np.broadcast_to(
        uptake.delay_probability(months, params.time.dt_months), (R, las.count)))
    assert passing[0, 0] > passing[1, 0] > passing[2, 0]  # 5,400 > 9,000 > 11,700 £/year
    again = uptake.approval_chances(state, params, 6)
    assert again[0] is decide  # nothing changed: the cached gate


def test_the_kept_charged_prices_and_reliability_follow_in_place_changes(
    las: LAPopulation
) -> None:
    """The kept charged prices and reliability are recomputed when what they come from is
    changed in place: they equal, to the bit, the list price × the new factor and exp(−debt)."""
    state, params, _ = make(las, finance={"subscriptions_from_month": 0,
                                          "subscription_gbp_per_year": 9000.0})
    state.price_factor[:] = [0.6, 1.0, 1.3]
    first = uptake.charged_prices(state, params, 5)
    assert uptake.charged_prices(state, params, 5) is first and not first.flags.writeable
    state.price_factor[:] = [0.5, 0.5, 2.0]
    np.testing.assert_array_equal(uptake.charged_prices(state, params, 5),
                                  uptake.subscription_price(params, 5)
                                  * np.array([0.5, 0.5, 2.0])[:, None])
    port = state.portfolio
    assert not port.reliability.flags.writeable
    port.debt[1, 0] = 0.7
    np.testing.assert_array_equal(port.reliability, np.exp(-port.debt))
    assert port.reliability[1, 0] == np.exp(-0.7)


def test_a_department_closes_after_a_sustained_overspend(las: LAPopulation) -> None:
    """spending_review rule: a unit overspent at max_deficit_months month ends in a row closes;
    one that recovers in time does not."""
    state, params, streams = make(las, hosting={"failure_rule": "spending_review",
                                                "deficit_tolerance_gbp": 0.0,
                                                "max_deficit_months": 3})
    for month, held in enumerate(([-1.0, -1.0, -1.0], [-1.0, -1.0, 0.0],
                                  [-1.0, 5.0, -1.0])):
        state.reserves[:] = held
        host.month_end_failure_rule(state, params, streams.at(month), month)
    assert list(state.operating) == [False, True, True]


def test_a_grant_pays_nothing_after_its_end_even_with_headroom_left(las: LAPopulation) -> None:
    """A £1m-a-year grant ending in July (month 3) pays the costs of April to June and nothing
    after, although most of the year's cap is unused."""
    state, params, streams = make(las, finance={"grants": [{"amount_gbp_per_year": 1e6,
                                                             "end_month": 3}]})
    for month in range(6):
        month_of_cash(state, params, streams, month)
        eligible = sum(state.flows.costs[c] for c in finance.GRANT_ELIGIBLE_COSTS)
        expected = eligible if month < 3 else 0.0
        np.testing.assert_allclose(state.flows.income["grant"], expected, atol=1e-6)
# --------------------------------------------------------------- market, capacity, vacancies


def test_willingness_to_pay_refuses_the_lognormal_share_and_nests(las: LAPopulation) -> None:
    """F(p) = Φ(ln(p ÷ M) ÷ σ) refuse a price p; nobody refuses a free offer; with M = 0
    everybody refuses any price; with σ = 0 exactly the prices above M are refused. Each LA's
    rank is drawn once, so an LA that refuses a price refuses every higher one."""
    _, params, _ = make(las, market={"wtp_median_gbp_per_year": 6000.0, "wtp_sigma": 0.5})
    prices = np.array([[0.0, 3000.0, 6000.0, 12_000.0]])
    normal = NormalDist()
    expected = [0.0, *(normal.cdf(np.log(p / 6000.0) / 0.5) for p in prices[0, 1:])]
    np.testing.assert_allclose(uptake.share_unwilling(params.market, prices)[0], expected,
                               rtol=1e-12)
    assert uptake.share_unwilling(params.market, prices)[0, 2] == 0.5
    _, nobody, _ = make(las, market={"wtp_median_gbp_per_year": 0.0})
    np.testing.assert_array_equal(uptake.share_unwilling(nobody.market, prices)[0], [0, 1, 1, 1])
    _, sharp, _ = make(las, market={"wtp_median_gbp_per_year": 6000.0, "wtp_sigma": 0.0})
    np.testing.assert_array_equal(uptake.share_unwilling(sharp.market, prices)[0], [0, 0, 0, 1])
    u = np.random.default_rng(3).random((R, las.count))
    cheap = uptake.price_refusals(params.market, np.full((R, las.count), 5000.0), u)
    dear = uptake.price_refusals(params.market, np.full((R, las.count), 9000.0), u)
    assert (dear[cheap]).all() and dear.sum() > cheap.sum()


def test_an_la_that_will_not_pay_never_joins_and_never_renews(las: LAPopulation) -> None:
    """Every LA evaluating with an instant, certain approval joins unless its willingness to
    pay is below its price; at the April renewal, certain otherwise, exactly those lapse."""
    state, params, streams = make(
        las, market={"wtp_median_gbp_per_year": 6000.0, "wtp_sigma": 0.5},
        uptake={"free_approval_months": 0.0, "free_approval_pass_prob": 1.0,
                "approval_threshold_gbp": 1e9, "renewal_goodwill_gbp_per_year": 1e6,
                "renewal_prob": 1.0, "renewal_reputation_sensitivity": 0.0,
                "renewal_budget_pressure_sensitivity": 0.0, "champion_turnover_multiplier": 0.0,
                "contribution_rate_per_year": 0.0},
        finance={"subscriptions_from_month": 0, "subscription_gbp_per_year": 6000.0,
                 "subscription_bands": []})
    refuses = state.refuses_price
    assert 0 < refuses.sum() < refuses.size  # about half refuse at the median price
    state.ladder[:] = Ladder.EVALUATING
    uptake.advance_ladder(state, params, streams.at(0), 0)
    np.testing.assert_array_equal(state.ladder == Ladder.MEMBER, ~refuses)
    np.testing.assert_array_equal(state.flows.joins, (~refuses).sum(axis=1))
    state.ladder[:] = Ladder.MEMBER
    state.champions[:] = 1
    state.counts.changed()
    events.fiscal_year_start(state, params, streams.at(12), 12)
    np.testing.assert_array_equal(state.ladder == Ladder.LAPSED, refuses)


def test_members_and_joins_take_delivery_time_first(las: LAPopulation) -> None:
    """Delivery capacity = productive staff − support per member − onboarding due, and the
    onboarding backlog falls due at 1 ÷ onboarding_months (exactly over the step)."""
    state, params, streams = make(
        las, market={"support_delivery_fte_per_member": 0.02, "onboarding_months": 3.0})
    state.staff[:, Role.DELIVERY] = 4
    state.novices[:] = 0
    state.ladder[:] = Ladder.UNAWARE
    state.ladder[1, :50] = Ladder.MEMBER
    state.ladder[2, :100] = Ladder.MEMBER
    state.counts.changed()
    state.onboarding_backlog[:] = [0.0, 0.0, 3.0]
    due_share = -np.expm1(-1.0 / 3.0)
    expected = 4.0 - 0.02 * np.array([0, 50, 100]) - np.array([0.0, 0.0, 3.0 * due_share])
    np.testing.assert_allclose(portfolio.delivery_capacity(state, params), expected, rtol=1e-12)
    portfolio.advance_portfolio(state, params, streams.at(0), 0)
    np.testing.assert_allclose(state.onboarding_backlog, [0.0, 0.0, 3.0 * (1 - due_share)])
    np.testing.assert_allclose(state.flows.onboarding_fte, [0.0, 0.0, 3.0 * due_share])
    # A team with no time left onboards nobody: the backlog waits.
    state.staff[:] = 0
    portfolio.advance_portfolio(state, params, streams.at(1), 1)
    np.testing.assert_allclose(state.onboarding_backlog, [0.0, 0.0, 3.0 * (1 - due_share)])


def test_volunteers_need_staff_to_coordinate_them(las: LAPopulation) -> None:
    """Usable volunteered time = min(volunteered, ratio × productive delivery staff): a CoE
    with no delivery staff gets nothing from its contributors."""
    state, params, _ = make(las, uptake={"volunteer_fte_per_staff_fte": 1.0},
                            market={"support_delivery_fte_per_member": 0.0,
                                    "support_engagement_fte_per_member": 0.0})
    state.ladder[:] = Ladder.CONTRIBUTOR
    state.counts.changed()
    state.staff[:, Role.DELIVERY] = [0, 1, 10]
    state.novices[:] = 0
    volunteered = params.uptake.volunteer_fte_per_contributor * las.count
    np.testing.assert_allclose(portfolio.delivery_capacity(state, params),
                               [0.0, 2.0, 10.0 + volunteered])


def test_maintenance_is_staffed_in_service_order(las: LAPopulation) -> None:
    """With 1 FTE for services needing 0.8, 0.6 and 0.4 FTE, the first is fully covered, the
    second a third and the third not at all: debt grows by g · (1 − cover) from zero."""
    state, params, streams = make(las, market={"support_delivery_fte_per_member": 0.0})
    state.staff[:, Role.DELIVERY] = 1
    state.novices[:] = 0
    state.ladder[:] = Ladder.UNAWARE
    state.counts.changed()
    state.portfolio.status[:, :3] = ServiceStatus.LIVE
    assert list(params.portfolio.services.maintenance_fte[:3]) == [0.8, 0.6, 0.4]
    portfolio.advance_portfolio(state, params, streams.at(0), 0)
    g = params.portfolio.debt_growth_per_month
    np.testing.assert_allclose(state.portfolio.debt[:, :3], [[0.0, g * 2 / 3, g]] * R,
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("substeps", [1, 2, 4])
def test_an_unstaffed_service_is_retired_after_the_stated_time(las: LAPopulation,
                                                               substeps: int) -> None:
    """Live services with no staff: debt grows g = 0.15 a month and crosses the floor 0.5 at
    ln 2 ÷ g = 4.62 months; N = 6 months below it later (10.62 months) they are retired, at the
    first sub-step end at or after that, and deliver no value from then on."""
    state, params, streams = make(las, time={"substeps_per_month": substeps},
                                  portfolio={"retirement_reliability_floor": 0.5,
                                             "retirement_months": 6.0})
    state.staff[:] = 0
    state.ladder[:] = Ladder.MEMBER  # members, but no volunteers and nobody to serve them
    state.champions[:] = 1
    state.counts.changed()
    state.portfolio.status[:] = ServiceStatus.LIVE
    dt = 1.0 / substeps
    crossing = np.log(2.0) / params.portfolio.debt_growth_per_month + 6.0
    retired_at = np.ceil(crossing / dt) * dt
    t = 0.0
    while (state.portfolio.status == ServiceStatus.LIVE).any():
        state.substep = int(round(t / dt)) % substeps
        portfolio.advance_portfolio(state, params, streams.at(int(t)), int(t))
        t += dt
        assert t <= retired_at + 1e-9, "not retired in time"
    assert t == pytest.approx(retired_at)
    services = state.portfolio.status.shape[1]
    np.testing.assert_array_equal(state.flows.retirements.sum(), R * services)
    assert (state.portfolio.status == ServiceStatus.PLANNED).all()
    np.testing.assert_array_equal(portfolio.member_value_per_year(state, params), 0.0)


def test_new_posts_are_not_covered_but_vacated_ones_are(las: LAPopulation) -> None:
    """Cover is for posts vacated by leavers: the open posts of a new team cost nothing while
    vacant; a leaver's post is covered at vacancy_cover_share while it stays vacant."""
    state, params, streams = make(las, workforce={"resignation_rate_per_year": 0.0,
                                                  "vacancy_cover_share": 0.5})
    due(state)
    state.flows.hiring_frozen[:] = True
    workforce.advance_staff(state, params, streams.at(0), 0)
    assert (state.establishment > state.staff).any()
    np.testing.assert_array_equal(state.vacancy_cover_fte, 0.0)
    state.backfill[:] = [[2.0, 1.0, 0.0]] * R  # two delivery and one engagement post vacated
    workforce.advance_staff(state, params, streams.at(1), 1)
    np.testing.assert_allclose(state.vacancy_cover_fte, [[1.0, 0.5, 0.0]] * R)


def test_vacancies_cost_cover_at_a_premium_and_hires_cost_recruitment(las: LAPopulation) -> None:
    """Cover costs multiplier × the covered posts' staff cost (pay, NI, pension), plus VAT where
    the host bears it; recruitment costs fall in the sub-step of the hire; to the penny."""
    state, params, streams = make(
        las, workforce={"vacancy_cover_share": 0.5, "vacancy_cover_cost_multiplier": 2.0},
        hosting={"model": "independent_company", "vat_recoverable": False,
                 "recruitment_cost_gbp_per_hire": 1234.0})
    due(state)
    state.vacancy_cover_fte[:] = [[1.0, 0.5, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 1.0]]
    state.recruitment_due_gbp[:] = [0.0, 2 * 1234.0, 0.0]
    finance.pay_and_collect(state, params, streams.at(0), 0)
    salary = params.workforce.salary_gbp_per_year / 12.0
    on_cost = 1 + params.finance.employer_ni_rate + state.hosting.pension_rate[0]
    cover = (np.array([[1.0, 0.5, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 1.0]]) * salary).sum(axis=1)
    expected = np.round(cover * on_cost * 2.0 * (1 + params.finance.vat_rate), 2)
    np.testing.assert_allclose(state.flows.costs["vacancy_cover"], expected, rtol=0, atol=0.005)
    np.testing.assert_array_equal(state.flows.costs["recruitment"], [0.0, 2468.0, 0.0])
    np.testing.assert_array_equal(state.recruitment_due_gbp, 0.0)  # paid once
