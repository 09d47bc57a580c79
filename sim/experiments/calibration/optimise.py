"""Point fits by optimisation, with a parametric bootstrap for their uncertainty.

``least_squares`` (scipy, trust-region reflective, finite differences with a step of 2% of each
parameter's range) minimises the standardised residuals ``(y − μ) / sqrt(v(μ))``;
``differential_evolution`` minimises −log synthetic likelihood. Both work in the unit cube, so
bounds are handled uniformly and log-scale parameters are searched on their logarithm. Common
random numbers (one seed for every candidate) make the objective smooth enough for finite
differences when the replicates are many; with few replicates prefer ``abc`` or
``differential_evolution``.

Uncertainty: a parametric residual bootstrap. New series are drawn as the fitted mean plus
resampled standardised residuals times the fitted standard deviation (model spread plus
observation dispersion), each is refitted with ``least_squares`` from the fitted point, and the
refits' percentiles give the interval (Efron & Tibshirani 1993, ch. 9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from sim.experiments.calibration.objective import Evaluator, Problem

__all__ = ["OptimiserFit", "bootstrap_refits", "fit_differential_evolution", "fit_least_squares"]

DIFF_STEP = 0.02
"""Finite-difference step, as a share of each parameter's (transformed) range."""


@dataclass(frozen=True)
class OptimiserFit:
    z: np.ndarray
    value: float
    evaluations: int


def fit_least_squares(residuals: Callable[[np.ndarray], np.ndarray], start: np.ndarray,
                      evaluations: int) -> OptimiserFit:
    """Bounded least squares on the unit cube from ``start``."""
    count = 0

    def fun(z: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        r = residuals(z)
        return np.where(np.isfinite(r), r, 1e6)

    result = optimize.least_squares(fun, np.clip(start, 1e-6, 1 - 1e-6), bounds=(0, 1),
                                    method="trf", diff_step=DIFF_STEP, max_nfev=evaluations,
                                    x_scale=1.0)
    return OptimiserFit(z=np.clip(result.x, 0, 1), value=float(2 * result.cost), evaluations=count)


def fit_differential_evolution(negative_ll: Callable[[np.ndarray], np.ndarray], dimension: int,
                               evaluations: int, rng: np.random.Generator) -> OptimiserFit:
    """Differential evolution (Storn & Price 1997) on the unit cube, population evaluated in
    batches (``negative_ll`` maps float[m, k] to float[m])."""
    population = max(5 * dimension, min(evaluations // 4, 15 * dimension))
    multiplier = max(1, population // dimension)
    maxiter = max(1, evaluations // (multiplier * dimension) - 1)
    count = 0

    def fun(zt: np.ndarray) -> np.ndarray:
        nonlocal count
        points = np.atleast_2d(zt.T)
        count += len(points)
        values = negative_ll(points)
        return np.where(np.isfinite(values), values, 1e12)

    result = optimize.differential_evolution(fun, [(0, 1)] * dimension, popsize=multiplier,
                                             maxiter=maxiter, polish=False, rng=rng, tol=0,
                                             vectorized=True, updating="deferred",
                                             init="latinhypercube")
    return OptimiserFit(z=np.clip(result.x, 0, 1), value=float(result.fun), evaluations=count)


def _refit(problem: Problem, task: tuple[Any, ...]) -> np.ndarray:
    """One bootstrap refit (runs in a worker): least squares from the fitted point."""
    series, start, evaluations, variance_of = task

    def residuals(z: np.ndarray) -> np.ndarray:
        mu = problem.observables(problem.to_theta(z)).mean(axis=0)
        return (series - mu) / np.sqrt(variance_of(mu))

    return fit_least_squares(residuals, start, evaluations).z


def bootstrap_refits(evaluator: Evaluator, y: np.ndarray, mean: np.ndarray, sd: np.ndarray,
                     start: np.ndarray, refits: int, evaluations: int,
                     variance_of: Callable[[np.ndarray], np.ndarray], dof_params: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Parametric residual bootstrap: float[refits, k] refitted points in the unit cube.

    ``variance_of`` must be picklable (a module-level function or a ``functools.partial``).
    """
    n = len(y)
    standardised = (y - mean) / sd
    standardised = standardised - standardised.mean()
    if n > dof_params:
        standardised *= np.sqrt(n / (n - dof_params))
    tasks = []
    for _ in range(refits):
        draw = rng.choice(standardised, size=n, replace=True)
        tasks.append((np.maximum(mean + sd * draw, 0.0), start, evaluations, variance_of))
    return np.array(evaluator.map(_refit, tasks))
