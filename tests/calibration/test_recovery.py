"""Parameter recovery: data simulated from the model with known parameters and noise are
calibrated back to intervals that contain the truth (issue #6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from calibration_helpers import UPTAKE_ONLY, write_count_spec

from sim.experiments import run_ensemble
from sim.experiments.calibration import calibrate, load_spec
from sim.scenario import load_scenario

TRUE_P, TRUE_Q = 0.03, 0.8
START_YEAR, YEARS = 2020, 6
STEP_MONTHS = 6  # an observation every six months: 13 points over six years


def synthetic_counts(replicate_seed: int, noise_seed: int, *, mean_curve: bool) -> np.ndarray:
    """Member counts every six months from the uptake-only model at the true p and q (no LA
    aware at the start), plus Poisson observation noise; one stochastic trajectory, or the
    mean of 400."""
    scenario = load_scenario(UPTAKE_ONLY, [
        f"uptake.p_per_year={TRUE_P}", f"uptake.q_per_year={TRUE_Q}",
        f'time.start="{START_YEAR}-01"',
        f"time.horizon_months={12 * YEARS + 1}"])
    from sim.data import load_la_population

    replicates = 400 if mean_curve else 1
    members = run_ensemble(scenario, load_la_population(), replicates,
                           replicate_seed).metrics["members"]
    path = members.mean(axis=0)[::STEP_MONTHS]
    rng = np.random.Generator(np.random.PCG64(noise_seed))
    return rng.poisson(path).astype(float)


def write_spec(folder: Path, counts: np.ndarray, method: str, loss: str = "") -> Path:
    """The synthetic series as a CSV and a spec fitting p and q to it (no seeding)."""
    months = [START_YEAR * 12 + i * STEP_MONTHS for i in range(len(counts))]
    return write_count_spec(folder, months, counts, csv="synthetic.csv", method=method, loss=loss)


@pytest.mark.slow
def test_abc_recovers_p_and_q_from_a_noisy_stochastic_trajectory(tmp_path: Path) -> None:
    """One simulated trajectory plus Poisson noise: the 95% posterior intervals of p and q,
    from the synthetic likelihood with the model's own noise, contain the true values."""
    counts = synthetic_counts(replicate_seed=1, noise_seed=2, mean_curve=False)
    method = ('kind = "abc"\nseed = 3\ninterval = 0.95\n\n[method.small]\nreplicates = 30\n'
              'evaluations = 32\nrounds = 4\npolish = 8\nband_draws = 0\n')
    path = write_spec(tmp_path, counts, method, loss="model_variance = true\n")
    fit = calibrate(load_spec(path), "small", workers=2).fit
    found = {p["path"]: p for p in fit["parameters"]}
    for name, truth in (("uptake.p_per_year", TRUE_P), ("uptake.q_per_year", TRUE_Q)):
        assert found[name]["lower"] <= truth <= found[name]["upper"], (name, found[name])
    assert fit["goodness_of_fit"]["r2"] > 0.9


@pytest.mark.slow
def test_least_squares_recovers_p_and_q_from_the_mean_curve_with_noise(tmp_path: Path) -> None:
    """The model's mean curve plus Poisson noise, fitted by least squares: the best fit is
    close to the truth (the bootstrap path runs, with too few refits for intervals)."""
    counts = synthetic_counts(replicate_seed=21, noise_seed=22, mean_curve=True)
    method = ('kind = "least_squares"\nseed = 4\n\n[method.small]\nreplicates = 20\n'
              'evaluations = 24\nbootstrap = 2\nband_draws = 0\n')
    path = write_spec(tmp_path, counts, method)
    fit = calibrate(load_spec(path), "small", workers=2).fit
    found = {p["path"]: p for p in fit["parameters"]}
    for name, truth in (("uptake.p_per_year", TRUE_P), ("uptake.q_per_year", TRUE_Q)):
        assert abs(np.log(found[name]["best"] / truth)) < 0.4, (name, found[name])
    assert len(fit["distribution"]["samples"]) == 2
