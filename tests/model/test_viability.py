"""Viability (a working Centre, not an open one) and the runway that runs (docs/model.md §5.10):
extreme conditions, definitions checked against the metrics, and the rule on a hand-made
state."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition, row_counts
from sim.experiments import EnsembleResult, run_ensemble
from sim.model import compile_parameters
from sim.model.codes import Ladder, ServiceStatus
from sim.model.host import close_if_not_viable
from sim.model.performance import value_delivered
from sim.model.state import initial_state
from sim.model.viability import months_of_cover, running_costs_now, viable
from sim.scenario import Scenario, scenario_from_dict

SEED = 515


@pytest.fixture(scope="module")
def three_hosts(las: LAPopulation,
                shipped_scenario: Callable[..., Scenario]) -> list[EnsembleResult]:
    return [run_ensemble(shipped_scenario(name), las, 40, SEED)
            for name in ("la_hosted", "government_hosted", "independent_company")]


def test_a_viable_run_is_always_an_operating_run(three_hosts: list[EnsembleResult]) -> None:
    for result in three_hosts:
        m = result.metrics
        assert ((m["viable"] == 1) <= (m["operating"] == 1)).all()
        assert result.kpis["viable_months"].max() <= m["operating"].sum(axis=1).max()
        np.testing.assert_array_equal(result.kpis["viable_prob_y10"], m["viable"][:, 119])


def test_viability_is_each_condition_at_once(three_hosts: list[EnsembleResult]) -> None:
    """viable = operating, team ≥ 3 with a delivery post, a reliable live service, 15
    members — checked against the month-end metrics where they decide it."""
    for result in three_hosts:
        m = result.metrics
        open_ = m["operating"] == 1
        assert not (m["viable"][m["staff_fte"] < 3] == 1).any()
        assert not (m["viable"][m["staff_delivery_fte"] < 1] == 1).any()
        assert not (m["viable"][m["members"] < 15] == 1).any()
        assert not (m["viable"][m["live_services"] == 0] == 1).any()
        plenty = (open_ & (m["staff_fte"] >= 3) & (m["staff_delivery_fte"] >= 1)
                  & (m["members"] >= 15) & (m["reliability_mean"] >= 0.7))
        assert (m["viable"][plenty] == 1).all()  # the mean ≥ threshold implies one ≥ it


def test_a_centre_with_no_staff_is_never_viable_and_is_closed(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """A team of 0 in every role: never viable; closed at the end of the host's sixth month in
    a row not viable after the grace period (month 12 + 6 − 1), however rich."""
    nobody = {"initial_fte": 0, "establishment_fte": 0}
    scenario = make_scenario(
        workforce={"delivery": nobody, "engagement": nobody, "leadership": nobody},
        finance={"opening_reserves_gbp": 1e9},
        viability={"grace_months": 12}, hosting={"nonviable_closure_months": 6})
    result = run_ensemble(scenario, las, 10, SEED)
    assert (result.metrics["viable"] == 0).all()
    np.testing.assert_array_equal(result.kpis["closure_month"], 12 + 6 - 1)
    assert (result.metrics["operating"][:, :17] == 1).all()


def test_no_member_can_be_enough_and_a_patient_host_waits(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """min_members above the LA count: never viable, so closed at the end of month
    grace + patience − 1; the host's patience moves the closure month one for one."""
    for patience in (1, 30):
        scenario = make_scenario(viability={"min_members": 153, "grace_months": 0},
                                 finance={"opening_reserves_gbp": 1e9},
                                 hosting={"nonviable_closure_months": patience},
                                 uptake={"initial_aware_share": 0.0})
        result = run_ensemble(scenario, las, 5, SEED)
        assert (result.metrics["viable"] == 0).all()
        np.testing.assert_array_equal(result.kpis["closure_month"], patience - 1)


def test_reserves_exhausted_month_is_the_first_month_below_zero(
    three_hosts: list[EnsembleResult]
) -> None:
    for result in three_hosts:
        reserves = result.metrics["reserves_gbp"]
        below = reserves < 0
        expected = np.where(below.any(axis=1), np.argmax(below, axis=1), np.nan)
        np.testing.assert_array_equal(result.kpis["reserves_exhausted_month"], expected)



def test_below_reserves_policy_follows_months_of_cover(three_hosts: list[EnsembleResult]) -> None:
    """Below policy exactly when operating with under three months of cover (the default)."""
    for result in three_hosts:
        m = result.metrics
        cover, below = m["months_of_cover"], m["below_reserves_policy"] == 1
        assert (below == ((m["operating"] == 1) & ~(cover >= 3.0))).all()
        closed = m["operating"] == 0
        assert np.isnan(cover[closed]).all()
    government = three_hosts[1].metrics
    assert government["below_reserves_policy"].mean() > 0.05  # a host that runs its cash down


# --------------------------------------------------------------------------- the rule


def _state(las: LAPopulation, **sections: object):
    params = compile_parameters(scenario_from_dict(dict(sections), "<test>"), las, 3)
    return initial_state(params, las, RandomStreams(1, partition(3))), params


def test_the_rule_counts_after_the_grace_period_and_resets_when_viable(
    las: LAPopulation
) -> None:
    state, params = _state(las, viability={"grace_months": 5},
                           hosting={"nonviable_closure_months": 3})
    streams = RandomStreams(1, partition(3))
    state.staff[0] = 0  # replicate 0: nobody
    state.ladder[1:] = Ladder.MEMBER  # replicates 1, 2: every LA a member, a reliable service
    state.champions[1:] = 1
    state.counts.changed()
    state.portfolio.status[1:, 0] = ServiceStatus.LIVE
    assert list(viable(state, params)) == [False, True, True]
    for month in range(4):  # inside the grace period: no count, no closure
        close_if_not_viable(state, params, streams.at(month), month)
    assert list(state.nonviable_months) == [0, 0, 0] and state.operating.all()
    state.portfolio.status[2, 0] = ServiceStatus.PLANNED  # replicate 2 loses its service
    for month in range(5, 7):
        close_if_not_viable(state, params, streams.at(month), month)
    assert list(state.nonviable_months) == [2, 0, 2]
    state.portfolio.status[2, 0] = ServiceStatus.LIVE  # and gets it back: the count resets
    close_if_not_viable(state, params, streams.at(7), 7)
    assert list(state.nonviable_months) == [3, 0, 0]
    assert list(state.operating) == [False, True, True]


def test_months_of_cover_is_reserves_over_the_running_costs_of_the_team(
    las: LAPopulation
) -> None:
    state, params = _state(las)
    state.reserves[:] = [60_000.0, -10_000.0, 5.0]
    state.operating[2] = False
    costs = running_costs_now(state, params)
    hosting = state.hosting
    expected = hosting.fixed_costs_gbp_per_month[0] + (
        state.staff[0] * hosting.cost_per_head_gbp_per_month[0]).sum()
    assert costs[0] == pytest.approx(expected) and costs[2] == 0
    cover = months_of_cover(state, params)
    assert cover[0] == pytest.approx(60_000.0 / expected)
    assert cover[1] < 0 and np.isnan(cover[2])


def test_row_counts_are_the_row_sums_of_whole_numbers() -> None:
    rng = np.random.default_rng(3)
    for columns in (0, 1, 3, 13, 300):
        flags = rng.random((50, columns)) < 0.5
        for counts in (flags, flags[:, ::2], rng.integers(-9, 9, (50, columns)),
                       rng.integers(-9, 9, (50, columns)).astype(np.int8)):
            total = row_counts(counts)
            assert total.dtype == np.int64
            np.testing.assert_array_equal(total, counts.sum(axis=1))
    with pytest.raises(TypeError):
        row_counts(np.ones((2, 3)))


def test_viability_and_value_kept_follow_in_place_changes(las: LAPopulation) -> None:
    """Each is kept from one call to the next, and computed again after any change to what it
    reads: the same as computed afresh."""
    state, params = _state(las)
    state.ladder[:] = Ladder.MEMBER
    state.champions[:] = 1
    state.counts.changed()
    state.portfolio.status[:, :2] = ServiceStatus.LIVE

    def fresh() -> tuple[np.ndarray, np.ndarray]:
        state.performance.kept.clear()
        return viable(state, params), value_delivered(state, params)

    def changes() -> Iterator[None]:
        state.staff[0] = 0
        yield
        state.portfolio.debt[1, 0] = 5.0
        yield
        state.portfolio.status[2, 1] = ServiceStatus.PLANNED
        yield
        state.ladder[2] = Ladder.AWARE
        state.counts.changed()
        yield
        state.operating[1] = False
        yield
        state.cpi_index = 1.25
        yield

    viable(state, params), value_delivered(state, params)
    for _ in changes():
        now = viable(state, params), value_delivered(state, params)
        again = viable(state, params), value_delivered(state, params)  # kept
        expected = fresh()
        for got in (now, again):
            np.testing.assert_array_equal(got[0], expected[0])
            np.testing.assert_array_equal(got[1], expected[1])
    assert list(viable(state, params)) == [False, False, False]
