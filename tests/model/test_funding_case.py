"""Funding decisions weigh the Centre's record (docs/model.md §7.4): the odds arithmetic, the
record kept month by month, and reviews and re-tenders that favour a Centre that delivers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import compare
from sim.model import compile_parameters
from sim.model.codes import Ladder
from sim.model.events import review
from sim.model.performance import case_multiplier, value_delivered, with_odds_scaled
from sim.model.state import initial_state
from sim.scenario import Scenario, scenario_from_dict

SEED = 88


def test_scaling_the_odds() -> None:
    """Factor 1 leaves a chance as it is (to the bit); factor f multiplies p/(1−p) by f; the
    edges 0 and 1 stay put; the result is monotone in the factor."""
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    np.testing.assert_array_equal(with_odds_scaled(p, np.ones(5)), p)
    doubled = with_odds_scaled(p, np.full(5, 2.0))
    inner = slice(1, 4)
    np.testing.assert_allclose(doubled[inner] / (1 - doubled[inner]),
                               2 * p[inner] / (1 - p[inner]))
    assert doubled[0] == 0.0 and doubled[4] == 1.0
    factors = np.array([0.01, 0.5, 1.0, 3.0, 100.0])
    assert np.all(np.diff(with_odds_scaled(0.3, factors)) > 0)


def _state(las: LAPopulation, replicates: int = 4, **sections: object):
    params = compile_parameters(scenario_from_dict(dict(sections), "<t>"), las, replicates)
    return initial_state(params, las, RandomStreams(1, partition(replicates))), params


def test_the_case_is_the_ratio_and_the_reach_to_their_powers(las: LAPopulation) -> None:
    """(ratio ÷ 2)^0.5 × (reach ÷ 0.5)^1 with the defaults; 1 before any cost is recorded."""
    state, params = _state(las)
    members = np.array([0, 40, 77, 153])
    for r, n in enumerate(members):
        state.ladder[r, :n] = Ladder.MEMBER
        state.ladder[r, n:] = Ladder.AWARE
    state.counts.changed()
    reach = members / las.count
    np.testing.assert_allclose(case_multiplier(state, params),
                               np.maximum(reach, 0.01) / 0.5)  # no record yet: ratio term 1
    state.performance.remember(0, np.array([0.0, 2e4, 4e4, 8e4]), np.full(4, 1e4))
    ratio = np.array([0.0, 2.0, 4.0, 8.0])
    expected = (np.maximum(ratio, 0.01) / 2.0) ** 0.5 * np.maximum(reach, 0.01) / 0.5
    np.testing.assert_allclose(case_multiplier(state, params), expected)


def test_the_record_is_the_last_window_of_value_and_costs(las: LAPopulation) -> None:
    state, _ = _state(las, events={"funding_case": {"window_months": 3}})
    for month in range(5):
        state.performance.remember(month, np.full(4, float(month)), np.full(4, 10.0 * month))
    np.testing.assert_array_equal(state.performance.value.sum(axis=0), 2 + 3 + 4)
    np.testing.assert_array_equal(state.performance.cost.sum(axis=0), 10 * (2 + 3 + 4))
    assert state.performance.recorded == 5


def test_value_delivered_is_nothing_without_members_or_once_closed(las: LAPopulation) -> None:
    state, params = _state(las)
    state.portfolio.status[:] = 2  # every service live
    state.ladder[:] = Ladder.MEMBER
    state.ladder[0] = Ladder.AWARE  # replicate 0: no members
    state.counts.changed()
    state.operating[1] = False
    value = value_delivered(state, params)
    assert value[0] == 0 and value[1] == 0 and (value[2:] > 0).all()


def test_a_review_stops_a_centre_with_a_poor_record_more_often(las: LAPopulation) -> None:
    """Same uniforms, same stated chances: a Centre with no value and no members is stopped in
    more replicates than one with a ratio of 8 and every LA a member."""
    R = 400
    stops = []
    for members, value in ((0, 0.0), (las.count, 8e4)):
        state, params = _state(las, R, finance={"core_budget_gbp_per_year": 500_000.0},
                               hosting={"failure_rule": "spending_review"})
        state.ladder[:, :members] = Ladder.MEMBER
        state.ladder[:, members:] = Ladder.AWARE
        state.counts.changed()
        state.performance.remember(35, np.full(R, value), np.full(R, 1e4))
        review(state, params, RandomStreams(5, partition(R)).at(36), 36)
        stops.append((~state.operating).mean())
    poor, strong = stops
    # stated stop chance 0.1; poor: odds × 1 / (0.005^0.5 × 0.02) ≈ ×707 → ≈ 0.99; strong: ≈ 0.02
    assert poor > 0.9 and strong < 0.06


def test_a_provider_that_delivers_wins_the_re_tender_more_often(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """commissioned_term under common random numbers: with every service worth a quarter as
    much, fewer runs win the re-tender."""
    good = shipped_scenario("commissioned_term", "time.horizon_months=72")
    data = good.model_dump(mode="json", exclude_none=True)
    data.pop("extends", None)
    for service in data["portfolio"]["services"]:
        service["value_gbp_per_member_per_year"] /= 4
    data["meta"]["name"] = "poorer"
    poor = scenario_from_dict(data, "<poorer>")
    a, b = compare([good, poor], las, 300, SEED)
    assert a.kpis["grant_renewals_total"].mean() > b.kpis["grant_renewals_total"].mean()


def test_without_weights_the_stated_chances_hold(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Elasticities 0: the record changes nothing (the factor is exactly 1)."""
    scenario = shipped_scenario("government_hosted", "events.funding_case.value_elasticity=0",
                                "events.funding_case.reach_elasticity=0")
    params = compile_parameters(scenario, las, 3)
    state = initial_state(params, las, RandomStreams(1, partition(3)))
    state.performance.remember(0, np.array([0.0, 1e9, 5.0]), np.full(3, 7.0))
    assert (case_multiplier(state, params) == 1.0).all()


@pytest.mark.parametrize("bad", ["events.funding_case.reference_reach=0",
                                 "events.funding_case.window_months=0"])
def test_bad_case_settings_are_refused(shipped_scenario: Callable[..., Scenario],
                                       bad: str) -> None:
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="funding_case"):
        shipped_scenario("government_hosted", bad)
