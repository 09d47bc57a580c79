"""Fixed-step integration helpers for the monthly clock."""

from __future__ import annotations

import numpy as np

__all__ = ["hazard_probability"]


def hazard_probability(hazard_per_month: np.ndarray | float, dt_months: float) -> np.ndarray:
    """Probability that an event with a constant hazard happens within ``dt_months``.

    ``1 - exp(-h dt)``: exact for a constant hazard over the step, so a per-entity Bernoulli
    draw with this probability reproduces exponential waiting times whatever the step size.
    """
    return -np.expm1(-np.asarray(hazard_per_month, dtype=float) * dt_months)
