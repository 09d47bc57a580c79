"""The calibration model configurations still isolate one mechanism each.

``calibration/models/uptake_only.toml`` must behave as pure Bass diffusion and
``workforce_only.toml`` as a constant resignation hazard; a new mechanism that changes either
by default has to be switched off in those files (this test says which file).
"""

from __future__ import annotations

import numpy as np
from calibration_helpers import CALIBRATION

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.experiments.calibration.closed_form import rate_to_hazard
from sim.scenario import load_scenario

MODELS = CALIBRATION / "models"


def test_uptake_only_is_pure_innovation_when_q_is_zero(las: LAPopulation) -> None:
    """With q = 0 every LA joins independently at hazard p: mean members = N(1 − e^{−p t})."""
    p, months, replicates = 0.3, 60, 200
    scenario = load_scenario(MODELS / "uptake_only.toml", [
        f"uptake.p_per_year={p}", "uptake.q_per_year=0", f"time.horizon_months={months}"])
    members = run_ensemble(scenario, las, replicates, 5).metrics["members"]
    t = (np.arange(months) + 1) / 12
    expected = las.count * (1 - np.exp(-p * t))
    se = np.sqrt(las.count * np.exp(-p * t) * (1 - np.exp(-p * t)) / replicates)
    gap = np.abs(members.mean(axis=0) - expected) / np.maximum(se, 1e-9)
    assert gap.max() < 4.5, ("calibration/models/uptake_only.toml no longer behaves as pure Bass: "
                             f"worst gap {gap.max():.1f} standard errors at month {gap.argmax()}")


def test_uptake_only_members_never_lapse_without_renewal_loss(las: LAPopulation) -> None:
    """Membership only grows in the uptake-only model (renewal 1, no champions, no closure)."""
    scenario = load_scenario(MODELS / "uptake_only.toml", ["time.horizon_months=48",
                                                           "uptake.initial_aware_share=0.1"])
    result = run_ensemble(scenario, las, 20, 9)
    assert (np.diff(result.metrics["members"], axis=1) >= 0).all()
    assert result.metrics["operating"].min() == 1


def test_uptake_only_never_closes_on_a_slow_take_off(las: LAPopulation) -> None:
    """A take-off slower than any viability rule allows (3 seeded LAs, almost no innovation or
    imitation, 17 years like FDAC's series) still runs to the end: no replicate closes and
    membership never falls (renewal 1), so a slow series is fitted as diffusion, not closure."""
    scenario = load_scenario(MODELS / "uptake_only.toml", [
        'time.start="2008-01"', "time.horizon_months=204", "uptake.initial_aware_count=3",
        "uptake.p_per_year=0.0005", "uptake.q_per_year=0.05"])
    metrics = run_ensemble(scenario, las, 20, 4).metrics
    assert metrics["operating"].min() == 1, "calibration/models/uptake_only.toml lets it close"
    assert (np.diff(metrics["members"], axis=1) >= 0).all()
    assert np.median(metrics["members"][:, -1]) < 15  # most stay below viability.min_members


def test_workforce_only_turnover_matches_the_hazard(las: LAPopulation) -> None:
    """Leavers in a year ÷ staff in post equals the turnover the hazard conversion promises."""
    turnover = 0.15
    hazard = float(rate_to_hazard(turnover))
    scenario = load_scenario(MODELS / "workforce_only.toml", [
        f"workforce.resignation_rate_per_year={hazard}", "time.horizon_months=36"])
    metrics = run_ensemble(scenario, las, 10, 3).metrics
    simulated = metrics["leavers"][:, 12:].sum() / metrics["staff_fte"][:, 12:].mean() / 10 / 2
    assert abs(simulated - turnover) < 0.004, simulated
