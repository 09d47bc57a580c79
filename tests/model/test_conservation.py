"""Conservation laws that hold in every replicate and month of every shipped scenario."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import EnsembleResult, run_ensemble
from sim.model import LADDER_STATES
from sim.model.codes import ROLES
from sim.model.finance import COST_TYPES, INCOME_SOURCES
from sim.scenario import Scenario

SHIPPED = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))
"""Every shipped scenario, including la_hosted, government_hosted, independent_company, big_bang."""
REPLICATES = 50
SEED = 8128


@pytest.fixture(scope="module", params=SHIPPED)
def run(
    request: pytest.FixtureRequest, las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> EnsembleResult:
    """R = 50 replicates of one shipped scenario."""
    return run_ensemble(shipped_scenario(request.param), las, REPLICATES, SEED)


def test_every_la_is_in_exactly_one_ladder_state(run: EnsembleResult, las: LAPopulation) -> None:
    """unaware + aware + evaluating + member + lapsed = 153 in every replicate and month."""
    total = sum(run.metrics[f"las_{state}"] for state in LADDER_STATES)
    np.testing.assert_array_equal(total, np.full_like(total, las.count))
    for state in LADDER_STATES:
        assert run.metrics[f"las_{state}"].min() >= 0


def test_reserves_are_opening_plus_income_minus_costs(run: EnsembleResult) -> None:
    """reserves[t] = opening + Σ income[..t] − Σ costs[..t] to the half-penny, every month."""
    m = run.metrics
    expected = (
        run.scenario.finance.opening_reserves_gbp
        + np.cumsum(m["income_total_gbp"], axis=1)
        - np.cumsum(m["costs_total_gbp"], axis=1)
    )
    np.testing.assert_allclose(m["reserves_gbp"], expected, rtol=0, atol=0.005)


def test_totals_are_sums_of_their_sources(run: EnsembleResult) -> None:
    """income_total = Σ income by source; costs_total = Σ costs by type; net = income − costs."""
    m = run.metrics
    income = sum(m[f"income_{source}_gbp"] for source in INCOME_SOURCES)
    costs = sum(m[f"costs_{kind}_gbp"] for kind in COST_TYPES)
    np.testing.assert_allclose(m["income_total_gbp"], income, rtol=0, atol=1e-6)
    np.testing.assert_allclose(m["costs_total_gbp"], costs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(m["net_gbp"], income - costs, rtol=0, atol=1e-6)


def test_money_is_in_whole_pennies(run: EnsembleResult) -> None:
    """Every income and cost column is a whole number of pennies."""
    for name in [f"income_{s}_gbp" for s in INCOME_SOURCES] + [
        f"costs_{c}_gbp" for c in COST_TYPES
    ]:
        pence = run.metrics[name] * 100
        np.testing.assert_allclose(pence, np.round(pence), rtol=0, atol=1e-6, err_msg=name)


def test_staff_change_is_hires_minus_leavers(run: EnsembleResult) -> None:
    """staff[t] = staff[t−1] + hires[t] − leavers[t] − redundancies[t] wherever the CoE operates
    (people given notice, by a host's cut or for lack of cash, leave when the notice ends)."""
    m = run.metrics
    initial = sum(role.initial_fte for role in run.scenario.workforce.roles())
    before = np.concatenate(
        [np.full((REPLICATES, 1), float(initial)), m["staff_fte"][:, :-1]], axis=1
    )
    # Staff made redundant leave outside the resignation count.
    expected = before + m["hires"] - m["leavers"] - m["redundancies"]
    alive = m["operating"] == 1
    np.testing.assert_array_equal(m["staff_fte"][alive], expected[alive])
    assert m["staff_fte"][~alive].max(initial=0) == 0, "a closed CoE has no staff"


def test_staff_total_is_sum_of_roles(run: EnsembleResult) -> None:
    """staff_fte equals the sum of the delivery, engagement and leadership columns."""
    m = run.metrics
    roles = sum(m[f"staff_{role}_fte"] for role in ROLES)
    np.testing.assert_array_equal(m["staff_fte"], roles)
    establishment = np.array([r.establishment_fte for r in run.scenario.workforce.roles()])
    for i, role in enumerate(ROLES):
        assert m[f"staff_{role}_fte"].max() <= establishment[i]
        assert m[f"staff_{role}_fte"].min() >= 0


def test_the_four_host_and_growth_scenarios_are_covered() -> None:
    """Conservation runs on la_hosted, government_hosted, independent_company and big_bang."""
    assert {"la_hosted", "government_hosted", "independent_company", "big_bang"} <= set(SHIPPED)
