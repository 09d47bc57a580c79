"""Growth policies: a schedule is followed to the month; gall never builds two at once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.scenario import Scenario

SEED = 99


def test_schedule_starts_each_service_in_its_month(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Only services with a schedule_month are built, none before its month (retirement is
    switched off: a retired service is planned again until the next month's start)."""
    scenario = shipped_scenario(
        "la_hosted", 'portfolio.policy="schedule"', "portfolio.services[0].schedule_month=10",
        "portfolio.services[4].schedule_month=30", "time.horizon_months=60",
        "portfolio.retirement_reliability_floor=0")
    m = run_ensemble(scenario, las, 30, SEED).metrics
    in_work = m["services_building"] + m["live_services"]
    running = m["operating"] == 1  # a closed Centre builds nothing
    assert running[:, :30].all()
    assert (in_work[:, :10] == 0).all()
    assert (in_work[:, 10:30] == 1).all()
    assert (in_work[:, 30:][running[:, 30:]] == 2).all()


def test_gall_builds_one_service_at_a_time(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    m = run_ensemble(shipped_scenario("gall"), las, 50, SEED).metrics
    assert m["services_building"].max() == 1


def test_big_bang_starts_everything_at_once(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    scenario = shipped_scenario("big_bang")
    m = run_ensemble(scenario, las, 20, SEED).metrics
    np.testing.assert_array_equal(m["services_building"][:, 0] + m["live_services"][:, 0],
                                  len(scenario.portfolio.services))
