"""Fixed-step integration helpers for the monthly clock."""

from __future__ import annotations

import numpy as np

__all__ = ["hazard_probability"]


def hazard_probability(hazard_per_month: np.ndarray | float, dt_months: float) -> np.ndarray:
    """Probability that an event with a constant hazard happens within ``dt_months``.

    ``1 - exp(-h dt)``: exact for a constant hazard over the step, so a per-entity Bernoulli
    draw with this probability reproduces exponential waiting times whatever the step size.
    """
    hazard = np.asarray(hazard_per_month, dtype=float)
    if hazard.ndim == 0:
        return -np.expm1(-hazard * dt_months)
    # In place on one temporary (the hot path runs on R x N arrays every month); the same
    # IEEE operations as -expm1(-h * dt), so the same bits: (-h) * dt == h * (-dt) exactly.
    out = np.multiply(hazard, -float(dt_months))
    np.expm1(out, out=out)
    return np.negative(out, out=out)
