"""Recovery against independent truth (issue #16): series drawn from the closed-form Bass curve
and from a logistic, with Poisson noise, never from the model itself.

The Bass curve with market m and population N gives expected adopters ``m N F(t)`` with
``F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t})`` (Bass 1969, *Management Science*
15:215); the logistic is its ``p = 0`` limit from an initial share. The fitted 90% intervals
must contain the truth at about their nominal rate over many synthetic series (a binomial
tolerance), and the point estimates must be unbiased within the bounds stated here.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats

from sim.experiments.calibration.bass import (
    BassPrior,
    bass_share,
    fit_bass,
    marginal_log_likelihood,
)
from sim.experiments.calibration.objective import log_likelihood

POPULATION = 153
LEVEL = 0.9
BUDGET = {"per_round": 150, "rounds": 4, "polish_evaluations": 120, "draws": 600}
"""A small budget (about 0.2 s a fit) that still gives nominal coverage."""


def closed_form_bass(t: np.ndarray, p: float, q: float) -> np.ndarray:
    """Bass's F(t) from zero adopters, written independently of the code under test."""
    e = np.exp(-(p + q) * t)
    return (1 - e) / (1 + (q / p) * e)


def test_bass_share_is_the_closed_form_and_the_logistic() -> None:
    t = np.linspace(0, 15, 61)
    assert np.allclose(bass_share(t, 0.02, 0.7), closed_form_bass(t, 0.02, 0.7), atol=1e-12)
    f0, q = 0.05, 0.9
    logistic = 1 / (1 + (1 - f0) / f0 * np.exp(-q * t))
    assert np.allclose(bass_share(t, 0.0, q, f0), logistic, atol=1e-12)
    # the ODE dF/dt = (p + qF)(1 − F) from F0, by numerical integration
    solved = integrate.solve_ivp(lambda _t, f: (0.03 + 0.6 * f) * (1 - f), (0, 15), [0.1],
                                 t_eval=t, rtol=1e-10, atol=1e-12).y[0]
    assert np.allclose(bass_share(t, 0.03, 0.6, 0.1), solved, atol=1e-7)


def test_analytic_marginal_matches_the_numerical_integral_over_the_dispersion() -> None:
    """The closed-form marginal equals the model fits' numerical integral over φ (up to the
    prior's normalising constant, the same for every candidate)."""
    rng = np.random.default_rng(3)
    y = rng.poisson(20, size=7).astype(float)
    gaps = []
    for shift in (0.0, 3.0, -6.0):
        mu = np.full(7, 20.0 + shift)
        numeric = log_likelihood(y, mu[None, :], np.maximum(mu, 0.5)).log_likelihood
        analytic = marginal_log_likelihood(y, mu[None, :], np.maximum(mu, 0.5)[None, :], 2.0,
                                           1.0)[0]
        gaps.append(analytic - numeric)
    assert max(gaps) - min(gaps) < 1e-3, gaps


def _dates(n: int, irregular: bool, rng: np.random.Generator) -> np.ndarray:
    """Years since launch: annual, or a launch point then n − 1 irregular dates."""
    if not irregular:
        return np.arange(n, dtype=float)
    return np.sort(np.concatenate([[0.0], rng.uniform(0.3, n, n - 1)]))


@pytest.mark.slow
def test_bass_intervals_cover_the_truth_at_their_nominal_rate() -> None:
    """48 grid points (p, q, m, 4–15 points, annual or irregular dates) × 2 noisy series: the
    90% intervals of p, q and m each contain the truth in 90% of series, within the binomial
    99% band (with room above for slightly conservative intervals)."""
    rng = np.random.default_rng(20260416)
    grid = list(itertools.product([0.01, 0.04], [0.5, 1.0], [0.3, 0.7], [4, 8, 15],
                                  [False, True]))
    hits = {"p": [], "q": [], "m": []}
    log_errors = {"q": [], "m": []}
    for i, (p, q, m, n, irregular) in enumerate(g for g in grid for _ in range(2)):
        t = _dates(n, irregular, rng)
        y = rng.poisson(m * POPULATION * closed_form_bass(t, p, q)).astype(float)
        # the series starts at launch: no adopters at t = 0, the first point is data
        fit = fit_bass(t, y, POPULATION, BassPrior(a0=None), interval=LEVEL, seed=i, **BUDGET)
        for j, (name, truth) in enumerate((("p", p), ("q", q), ("m", m))):
            lower, median, upper = fit.quantiles[j]
            hits[name].append(lower <= truth <= upper)
            if name in log_errors and n >= 8:
                log_errors[name].append(math.log(median / truth))
    trials = len(hits["p"])
    low = stats.binom.ppf(0.005, trials, LEVEL) / trials
    high = min(1.0, stats.binom.ppf(0.995, trials, LEVEL) / trials + 0.05)
    for name, values in hits.items():
        assert low <= np.mean(values) <= high, (name, np.mean(values), (low, high))
    # unbiased: the median of log(estimate / truth) over series of 8+ points within ±0.15
    for name, errors in log_errors.items():
        assert abs(np.median(errors)) < 0.15, (name, np.median(errors))


@pytest.mark.slow
def test_a_logistic_series_is_recovered_with_its_initial_adopters() -> None:
    """A logistic (no outside push, 12 LAs in at the first date): q, m and the initial adopters
    are recovered, and p's interval reaches down to the prior's floor (p = 0 is not excluded)."""
    rng = np.random.default_rng(7)
    q, m, a0 = 0.8, 0.5, 12 / POPULATION
    t = np.arange(10, dtype=float)
    f0 = a0 / m
    y = rng.poisson(m * POPULATION / (1 + (1 - f0) / f0 * np.exp(-q * t))).astype(float)
    fit = fit_bass(t, y, POPULATION, BassPrior(a0=(0.0, 0.2)), interval=LEVEL, seed=3,
                   **BUDGET)
    found = dict(zip(fit.names, fit.quantiles, strict=True))
    for name, truth in (("q", q), ("m", m), ("a0", a0)):
        assert found[name][0] <= truth <= found[name][2], (name, found[name], truth)
    assert found["p"][0] < 1e-3, found["p"]
