"""A council-owned (Teckal) company (docs/model.md §7.5): its owners award it their contract
without tender only while more than 80% of its activity is for them (Procurement Act 2023
Schedule 2 para 2); a year above 20% outside loses the exemption in that year."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from verdict_helpers import NO_EARNED_MONEY, assert_never_viable_and_closed_by_year_5

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import run_ensemble
from sim.model import compile_parameters, teckal
from sim.model.codes import Ladder, is_member
from sim.model.finance import grant_income
from sim.model.state import BatchState, initial_state
from sim.scenario import Scenario, load_scenario
from sim.scenario.errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
NAME = "council_owned_company"
OWNERS = (845, 846, 938, 936, 886, 868, 850, 887)


def scenario(*overrides: str) -> Scenario:
    return load_scenario(SCENARIO_DIR / f"{NAME}.toml", overrides=list(overrides))


def state_of(las: LAPopulation, *overrides: str, replicates: int = 4,
             ) -> tuple[BatchState, Any, RandomStreams]:
    params = compile_parameters(scenario(*overrides), las, replicates)
    streams = RandomStreams(3, partition(replicates))
    state = initial_state(params, las, streams)
    teckal.cap_outside_sales(state, params, streams.at(0), 0)  # the form's first act
    return state, params, streams


def owner_mask(las: LAPopulation) -> np.ndarray:
    return np.isin(np.asarray(las.codes, dtype=int), OWNERS)


def test_owners_are_members_from_the_first_month(las: LAPopulation) -> None:
    """The eight owners are members of every replicate at month 0, and nobody else is made one."""
    state, _, _ = state_of(las)
    owners = owner_mask(las)
    assert is_member(state.ladder[:, owners]).all()
    assert not is_member(state.ladder[:, ~owners]).any()


@pytest.mark.parametrize(("owner", "outside", "exempt"), [
    (80.01, 19.99, True),     # the owners' share is more than 80%
    (80.0, 20.0, False),      # exactly 80% is not "more than 80%"
    (79.0, 21.0, False),      # outside trade passes 20%
    (0.0, 0.0, True),         # no activity: nothing outside
])
def test_activity_test_reads_the_80_percent_rule(las: LAPopulation, owner: float,
                                                 outside: float, exempt: bool) -> None:
    """Exempt for the new year exactly when the owners' share of the year's activity is
    strictly above 0.8; the year's tally starts afresh."""
    state, params, streams = state_of(las)
    book = state.form_state["teckal"]
    book.owner_gbp[:] = owner
    book.outside_gbp[:] = outside
    teckal.activity_test(state, params, streams.at(12), 12)
    assert (book.exempt == exempt).all()
    expected = outside / (owner + outside) if owner + outside else 0.0
    np.testing.assert_allclose(book.outside_share, expected)
    assert (book.owner_gbp == 0).all() and (book.outside_gbp == 0).all()


def test_losing_the_exemption_tenders_the_owners_contract_lost_tender(las: LAPopulation) -> None:
    """Outside share 21% in the year: the exemption is lost that year; with no chance of winning
    the tender the owners' contract ends that month, and the bid cost falls due."""
    state, params, streams = state_of(las, "hosting.teckal.tender_win_prob=0.0")
    g = 1  # the owners' contract
    book = state.form_state["teckal"]
    book.owner_gbp[:], book.outside_gbp[:] = 79.0, 21.0
    teckal.activity_test(state, params, streams.at(12), 12)
    assert not book.exempt.any()
    assert (state.grants.end[:, g] == 12).all()
    assert (state.grants.renewals_left[:, g] == 0).all()
    np.testing.assert_allclose(state.one_off_gbp, 20000.0 * state.cpi_index)
    assert (grant_income(state.grants, 12)[:, g] == 0).all()
    assert (grant_income(state.grants, 11)[:, g] > 0).all()


def test_a_won_tender_keeps_the_contract_and_renewal_becomes_a_tender(las: LAPopulation) -> None:
    """With a sure win, the contract runs to its end, is held by tender, and its renewal chance
    is the tender's while the company is not exempt, the direct award's once it is again."""
    state, params, streams = state_of(las, "hosting.teckal.tender_win_prob=1.0")
    g = 1
    book = state.form_state["teckal"]
    end = state.grants.end[:, g].copy()
    book.owner_gbp[:], book.outside_gbp[:] = 70.0, 30.0
    teckal.activity_test(state, params, streams.at(12), 12)
    assert (state.grants.end[:, g] == end).all() and book.tendered.all()
    np.testing.assert_allclose(state.grants.renewal_prob[:, g], 1.0)
    book.owner_gbp[:], book.outside_gbp[:] = 90.0, 10.0
    teckal.activity_test(state, params, streams.at(24), 24)
    assert book.exempt.all()
    np.testing.assert_allclose(state.grants.renewal_prob[:, g], 0.9)
    np.testing.assert_allclose(state.one_off_gbp, 20000.0)  # one bid only


def test_a_capped_company_declines_outside_joiners_at_its_cap(las: LAPopulation) -> None:
    """At the cap, an outside LA that joins in the month goes back to aware; an owner that
    rejoins stays a member."""
    state, params, streams = state_of(las)
    book = state.form_state["teckal"]
    owners = owner_mask(las)
    book.at_cap = np.ones(state.replicates, dtype=bool)
    book.members_before = is_member(state.ladder)
    outsider = int(np.flatnonzero(~owners)[0])
    state.ladder[:, outsider] = Ladder.MEMBER
    teckal.decline_outside_joins(state, params, streams.at(0), 0)
    assert (state.ladder[:, outsider] == Ladder.AWARE).all()
    assert is_member(state.ladder[:, owners]).all()


def test_uncapped_company_loses_the_exemption_in_the_year_outside_trade_passes_20(
        las: LAPopulation) -> None:
    """Run uncapped: in every April test of an operating run, exempt ⟺ outside share < 20%,
    and a run whose year passed 20% is not exempt from that April (the year it passed)."""
    result = run_ensemble(scenario("hosting.teckal.outside_sales=\"uncapped\""), las, 40, 11)
    m = result.metrics
    share, exempt, operating = (m["teckal_outside_share"], m["teckal_exempt"],
                                m["operating"] == 1)
    aprils = np.arange(12, share.shape[1], 12)
    tested = operating[:, aprils]
    passed = share[:, aprils] >= 0.2
    assert passed[tested].any(), "the uncapped company must sell beyond 20% in some year"
    np.testing.assert_array_equal(exempt[:, aprils][tested], ~passed[tested])
    # The exemption stands for the whole year after a test (it changes only in April).
    for t in range(13, share.shape[1]):
        if t % 12:
            same = operating[:, t]
            np.testing.assert_array_equal(exempt[same, t], exempt[same, t - 1])


def test_capped_company_keeps_outside_trade_nearer_its_cap(las: LAPopulation) -> None:
    """Under common random numbers the capped company's outside share is below the uncapped
    company's in the years tested, and far fewer of its runs lose the exemption at year 2."""
    capped = run_ensemble(scenario(), las, 40, 11).metrics
    uncapped = run_ensemble(scenario("hosting.teckal.outside_sales=\"uncapped\""), las, 40,
                            11).metrics
    t = 24
    assert np.nanmean(capped["teckal_outside_share"][:, t]) < np.nanmean(
        uncapped["teckal_outside_share"][:, t])
    assert capped["teckal_exempt"][:, t].mean() > uncapped["teckal_exempt"][:, t].mean()


def test_no_money_closes_the_company(las: LAPopulation) -> None:
    """Extreme: no grant, no owners' contract, no reserves and free to LAs → it is never viable
    and is closed; no replicate operates at year 5."""
    sc = scenario(*NO_EARNED_MONEY, "finance.grants[0].amount_gbp_per_year=0.0",
                  "finance.grants[1].amount_gbp_per_year=0.0")
    assert_never_viable_and_closed_by_year_5(run_ensemble(sc, las, 20, 5).metrics)


def test_the_contract_must_name_a_fixed_grant() -> None:
    """The owners' contract must be one of the scenario's grants, paid as a contract."""
    with pytest.raises(ScenarioError, match="owner_contract_grant"):
        scenario("hosting.teckal.owner_contract_grant=\"nowhere\"")
    with pytest.raises(ScenarioError, match="basis"):
        scenario("finance.grants[1].basis=\"eligible_spend\"")
    with pytest.raises(ScenarioError, match="owner_las"):
        scenario("hosting.teckal.owner_las=[845, 845]")
