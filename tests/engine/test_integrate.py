"""Constant-hazard step probabilities."""

from __future__ import annotations

import numpy as np

from sim.engine import hazard_probability


def test_hazard_probability_is_step_size_invariant() -> None:
    """Surviving n sub-steps of dt has the same probability as surviving one step of n·dt."""
    h = np.array([0.0, 0.01, 0.3, 2.0])
    for n in (1, 2, 4, 16):
        survive_substeps = (1 - hazard_probability(h, 1.0 / n)) ** n
        np.testing.assert_allclose(survive_substeps, 1 - hazard_probability(h, 1.0), rtol=1e-12)


def test_hazard_probability_limits() -> None:
    """Zero hazard never fires, a tiny one fires with probability ≈ h·dt, a huge one surely."""
    assert hazard_probability(0.0, 1.0) == 0.0
    np.testing.assert_allclose(hazard_probability(1e-9, 0.5), 0.5e-9, rtol=1e-8)
    assert hazard_probability(1e3, 1.0) == 1.0
