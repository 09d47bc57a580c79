"""What favours launching everything at once and what favours growing one service at a time
(docs/model.md §4.10): each mechanism against its formula, and the two regions where each
policy wins."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import compare, run_ensemble
from sim.model import compile_parameters, performance, portfolio
from sim.model.codes import ServiceStatus
from sim.model.state import initial_state
from sim.scenario import Scenario, scenario_from_dict

SEED = 1729


def test_learning_follows_wrights_law() -> None:
    """Each doubling of (1 + launches so far) cuts build effort by the learning rate."""
    effort = np.array([10.0, 4.0])
    launched = np.array([0.0, 1.0, 3.0, 7.0])
    out = portfolio.build_effort(effort, launched, 0.2)
    np.testing.assert_allclose(out, np.outer(0.8 ** np.arange(4), effort), rtol=1e-12)
    np.testing.assert_array_equal(portfolio.build_effort(effort, launched, 0.0),
                                  np.tile(effort, (4, 1)))


def test_a_complete_offer_is_worth_the_uplift(las: LAPopulation) -> None:
    """While each strand has a live service every service is worth 1 + bundle_value_uplift
    times its value; with one strand missing, its plain value."""
    scenario = scenario_from_dict({"portfolio": {"bundle_value_uplift": 0.5}}, "<test>")
    params = compile_parameters(scenario, las, 2)
    state = initial_state(params, las, RandomStreams(1, partition(2)))
    strand = params.portfolio.services.strand
    first_of_each = [int(np.flatnonzero(strand == code)[0]) for code in np.unique(strand)]
    state.portfolio.status[:, first_of_each] = ServiceStatus.LIVE
    state.portfolio.status[1, first_of_each[-1]] = ServiceStatus.PLANNED  # replicate 1: incomplete
    np.testing.assert_allclose(performance.bundle_factor(state, params), [1.5, 1.0])
    values = params.portfolio.services.value_gbp_per_member_per_year
    live = state.portfolio.status == ServiceStatus.LIVE
    plain = (live * values).sum(axis=1)  # no debt yet: reliability 1
    np.testing.assert_allclose(portfolio.member_value_per_year(state, params),
                               plain * [1.5, 1.0], rtol=1e-12)


@pytest.mark.parametrize("substeps", [1, 2])
def test_a_month_of_launches_pays_one_launch_event(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario], substeps: int
) -> None:
    """launch_event_cost_gbp (in 2026/27 prices, × the CPI index) is charged once in every
    month with at least one launch (however many launch, in whichever sub-step), and never
    otherwise."""
    scenario = shipped_scenario("big_bang", f"time.substeps_per_month={substeps}",
                                "portfolio.launch_event_cost_gbp=12345")
    m = run_ensemble(scenario, las, 30, SEED).metrics
    assert (m["launches"] > 1).any()  # some months launch several services at once
    np.testing.assert_array_equal(m["costs_launch_gbp"],
                                  np.round(12345.0 * m["cpi_index"], 2) * (m["launches"] > 0))


def test_a_milestone_missed_ends_the_grant_and_one_met_changes_nothing(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A milestone nobody can meet ends the grant at its month in every replicate; a milestone
    of no services leaves every metric as it was without one, to the bit."""
    month = 20
    impossible, trivial, none = compare([
        shipped_scenario("la_hosted", f"finance.grants[0].milestone_month={month}",
                         "finance.grants[0].milestone_live_services=40"),
        shipped_scenario("la_hosted", f"finance.grants[0].milestone_month={month}",
                         "finance.grants[0].milestone_live_services=0"),
        shipped_scenario("la_hosted")], las, 30, SEED)
    m = impossible.metrics
    assert (m["income_grant_gbp"][:, month:] == 0).all()
    assert (m["income_grant_gbp"][:, month - 1] > 0).all()
    np.testing.assert_array_equal(m["grant_milestones_missed"][:, month], 1)
    assert m["grant_milestones_missed"].sum() == len(m["grant_milestones_missed"])
    for name, values in none.metrics.items():
        np.testing.assert_array_equal(trivial.metrics[name], values, err_msg=name)


def test_learning_brings_the_fifth_service_sooner_under_gall(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Under Gall's law each build benefits from the launches before it, so with learning the
    fifth live service comes sooner on average (common random numbers)."""
    slow, fast = compare([shipped_scenario("gall", "portfolio.learning_rate=0"),
                          shipped_scenario("gall", "portfolio.learning_rate=0.3")],
                         las, 100, SEED)

    def month_of_fifth(m: dict[str, np.ndarray]) -> float:
        reached = m["live_services"] >= 5
        return float(np.where(reached.any(axis=1), reached.argmax(axis=1), 120).mean())

    assert month_of_fifth(fast.metrics) < month_of_fifth(slow.metrics)


# ------------------------------------------------------------------- where each policy wins


def _working_at_year_5(las: LAPopulation, shipped_scenario: Callable[..., Scenario],
                       *overrides: str) -> tuple[float, float]:
    gall, big_bang = compare([shipped_scenario("gall", *overrides),
                              shipped_scenario("big_bang", *overrides)], las, 150, SEED)
    return (float(gall.kpis["viable_prob_y5"].mean()),
            float(big_bang.kpis["viable_prob_y5"].mean()))


def test_gall_wins_at_the_defaults(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A five-year grant with no milestone: growing one service at a time leaves more Centres
    working at year 5 (fewer failed launches, services the team can maintain, value sooner)."""
    gall, big_bang = _working_at_year_5(las, shipped_scenario, "finance.grants[0].end_month=60")
    assert gall > big_bang + 0.1


def test_big_bang_wins_when_the_funder_needs_the_whole_offer_early(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """The same grant with a milestone of 8 live services at month 33: Gall's law cannot have
    them by then and loses its grant; the big bang meets it more often and more Centres work at
    year 5."""
    gall, big_bang = _working_at_year_5(las, shipped_scenario, "finance.grants[0].end_month=60",
                                        "finance.grants[0].milestone_month=33",
                                        "finance.grants[0].milestone_live_services=8")
    assert big_bang > gall + 0.1
