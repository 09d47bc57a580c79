"""A joint partnership of councils (docs/model.md §7.6): partners guarantee contracts for a
term, meet a year-end deficit by agreed shares to the penny, may leave at a term's end, and
never number more than the cap."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from verdict_helpers import NO_EARNED_MONEY, assert_never_viable_and_closed_by_year_5

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import run_ensemble
from sim.model import compile_parameters, partnership
from sim.model.codes import is_member
from sim.model.state import BatchState, initial_state
from sim.scenario import Scenario, load_scenario
from sim.scenario.errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
NAME = "joint_partnership"
SHARES = (0.30, 0.25, 0.25, 0.20)


def scenario(*overrides: str) -> Scenario:
    return load_scenario(SCENARIO_DIR / f"{NAME}.toml", overrides=list(overrides))


def state_of(las: LAPopulation, *overrides: str, replicates: int = 3,
             ) -> tuple[BatchState, Any, RandomStreams]:
    params = compile_parameters(scenario(*overrides), las, replicates)
    streams = RandomStreams(3, partition(replicates))
    state = initial_state(params, las, streams)
    partnership.set_up(state, params, streams.at(0), 0)
    return state, params, streams


def largest_remainder(pence: int, weights: tuple[float, ...]) -> list[int]:
    """The split by hand, in exact fractions: floors, then a penny each to the largest
    remainders (the lower seat first on a tie)."""
    w = [Fraction(x).limit_denominator(10**6) for x in weights]
    exact = [Fraction(pence) * x / sum(w) for x in w]
    floors = [int(e) for e in exact]
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:pence - sum(floors)]:
        floors[i] += 1
    return floors


@pytest.mark.parametrize(("amount", "weights"), [
    (100.00, (1.0, 1.0, 1.0)),
    (12345.67, SHARES),
    (0.03, (0.5, 0.3, 0.2)),
    (250000.00, (0.1, 0.2, 0.3, 0.4, 0.0)),
])
def test_split_is_exact_to_the_penny(amount: float, weights: tuple[float, ...]) -> None:
    """The parts sum to the amount exactly, each is the hand-made largest-remainder split."""
    parts = partnership.split_pennies(np.array([amount]), np.array([weights]))
    pence = round(amount * 100)
    assert round(parts.sum() * 100) == pence
    assert [round(p * 100) for p in parts[0]] == largest_remainder(pence, weights)


def test_founders_hold_seats_are_members_and_contracts_follow(las: LAPopulation) -> None:
    """At month 0 the four founders hold the first four of five seats, are members, and the
    contracts pay 4 × £80,000 a year."""
    state, params, _ = state_of(las)
    book = state.form_state["partnership"]
    assert book.seats[:, :4].all() and not book.seats[:, 4].any()
    codes = np.asarray(las.codes, dtype=int)
    founders = np.isin(codes, (307, 313, 205, 314))
    assert is_member(state.ladder[:, founders]).all()
    np.testing.assert_allclose(state.grants.amount[:, 1], 4 * 80000.0 / 12)


def test_year_end_deficit_is_shared_by_agreed_shares_to_the_penny(las: LAPopulation) -> None:
    """A deficit of £12,345.67 at 31 March is paid by the partners in shares 30/25/25/20 split
    to the penny; reserves go to exactly £0 and the payment is host support."""
    state, params, streams = state_of(las)
    state.reserves[:] = -12345.67
    partnership.meet_deficit(state, params, streams.at(12), 12)
    book = state.form_state["partnership"]
    expected = largest_remainder(1234567, SHARES)
    for r in range(state.replicates):
        assert [round(p * 100) for p in book.paid_gbp[r, :4]] == expected
        assert book.paid_gbp[r, 4] == 0
    assert expected == [370370, 308642, 308642, 246913]
    np.testing.assert_array_equal(state.reserves, np.zeros(state.replicates))
    np.testing.assert_allclose(state.flows.income["host_support"], 12345.67, atol=1e-9)


def test_partners_pay_at_most_the_limit(las: LAPopulation) -> None:
    """A deficit beyond annual_deficit_limit_gbp is met only up to the limit."""
    state, params, streams = state_of(las)
    state.reserves[:] = -400000.0
    partnership.meet_deficit(state, params, streams.at(12), 12)
    np.testing.assert_allclose(state.reserves, -150000.0)
    np.testing.assert_allclose(state.form_state["partnership"].paid_gbp.sum(axis=1), 250000.0)


def test_a_leaver_is_out_of_the_shares(las: LAPopulation) -> None:
    """With the lead council gone, the other three share a deficit 25:25:20."""
    state, params, streams = state_of(las)
    state.form_state["partnership"].seats[:, 0] = False
    state.reserves[:] = -700.0
    partnership.meet_deficit(state, params, streams.at(12), 12)
    paid = state.form_state["partnership"].paid_gbp
    np.testing.assert_allclose(paid[:, :4], [[0.0, 250.0, 250.0, 200.0]] * state.replicates)


def test_all_partners_leaving_closes_it(las: LAPopulation) -> None:
    """Leave chance 1 at the term's end: nobody is left, the contracts stop and it closes."""
    state, params, streams = state_of(las, "hosting.partnership.leave_prob_at_term_end=1.0",
                                      "hosting.partnership.join_prob_at_term_end=0.0")
    partnership.term_end(state, params, streams.at(60), 60)
    assert not state.operating.any()
    np.testing.assert_array_equal(state.grants.amount[:, 1], 0.0)


def test_joiners_fill_free_seats_up_to_the_cap(las: LAPopulation) -> None:
    """Join chance 1, leave chance 0: the one free seat is taken, never more than five."""
    state, params, streams = state_of(las, "hosting.partnership.leave_prob_at_term_end=0.0",
                                      "hosting.partnership.join_prob_at_term_end=1.0")
    partnership.term_end(state, params, streams.at(60), 60)
    assert (state.form_state["partnership"].seats.sum(axis=1) == 5).all()
    np.testing.assert_allclose(state.grants.amount[:, 1], 5 * 80000.0 / 12)


def test_partners_meet_each_years_deficit_in_a_run(las: LAPopulation) -> None:
    """In a run: each April the partners pay min(deficit at 31 March, limit), all of it host
    support, and never more than the cap of partners."""
    m = run_ensemble(scenario(), las, 30, 17).metrics
    np.testing.assert_allclose(m["partner_deficit_paid_gbp"], m["income_host_support_gbp"],
                               atol=1e-9)
    assert m["partners"].max() <= 5
    for t in range(12, m["reserves_gbp"].shape[1], 12):
        before = m["reserves_gbp"][:, t - 1]
        on = m["operating"][:, t - 1] == 1
        due = np.where(on & (before < 0), np.minimum(-before, 250000.0), 0.0)
        np.testing.assert_allclose(m["partner_deficit_paid_gbp"][:, t], due, atol=0.005)
        quiet = np.arange(t + 1, min(t + 12, m["reserves_gbp"].shape[1]))
        assert (m["partner_deficit_paid_gbp"][:, quiet] == 0).all()


def test_no_money_closes_it(las: LAPopulation) -> None:
    """Extreme: no grant, no contracts, no reserves, free to LAs and no commissions → never
    viable, closed within the lead council's rules."""
    sc = scenario(*NO_EARNED_MONEY, "finance.grants[0].amount_gbp_per_year=0.0",
                  "finance.grants[1].amount_gbp_per_year=0.0")
    assert_never_viable_and_closed_by_year_5(run_ensemble(sc, las, 20, 5).metrics)


def test_partners_fit_the_cap_and_shares_fit_the_partners() -> None:
    """More founders than the cap, or shares that do not match the founders, are refused."""
    with pytest.raises(ScenarioError, match="max_partners"):
        scenario("hosting.partnership.max_partners=3")
    with pytest.raises(ScenarioError, match="deficit_shares"):
        scenario("hosting.partnership.deficit_shares=[0.5, 0.5]")
    with pytest.raises(ScenarioError, match="contract_grant"):
        scenario("hosting.partnership.contract_grant=\"nowhere\"")
