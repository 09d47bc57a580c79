"""Laws every run must keep, whatever its scenario: a check on results, not on inputs.

The money identity, LA conservation and non-negative staff of ``tests/model/test_conservation.py``
as one function that returns what broke, so the contract test and the fuzz harness
(``benchmarks/fuzz.py``) can ask it of any ensemble (issue #17).
"""

from __future__ import annotations

import numpy as np

from sim.experiments.ensemble import EnsembleResult
from sim.model import LADDER_STATES
from sim.model.codes import ROLES

__all__ = ["broken_invariants"]

MONEY_TOLERANCE_GBP = 0.005
"""Reserves must equal opening + Σ income − Σ costs to the half-penny (money is in pennies)."""


def broken_invariants(result: EnsembleResult, la_count: int) -> list[str]:
    """The laws ``result`` breaks, one short line each (empty: none).

    1. every money metric and KPI is finite or NaN-by-definition — no infinity anywhere;
    2. ``reserves[t] = opening + Σ income[..t] − Σ costs[..t]`` to the half-penny;
    3. the LAs in the ladder states sum to ``la_count`` in every replicate and month, none < 0;
    4. staff in post are ≥ 0 and never above the role's establishment ceiling of 500 (the
       schema's limit).
    """
    m = result.metrics
    broken: list[str] = []
    for name, values in m.items():
        if np.isinf(values).any():
            broken.append(f"metric {name} is infinite")
    for name, values in result.kpis.items():
        if np.isinf(values).any():
            broken.append(f"KPI {name} is infinite")
    expected = (result.scenario.finance.opening_reserves_gbp
                + np.cumsum(m["income_total_gbp"], axis=1)
                - np.cumsum(m["costs_total_gbp"], axis=1))
    gap = np.abs(m["reserves_gbp"] - expected)
    both_nan = np.isnan(m["reserves_gbp"]) & np.isnan(expected)
    if not ((gap <= MONEY_TOLERANCE_GBP) | both_nan).all():
        broken.append(f"money identity off by up to £{np.nanmax(gap, initial=0):,.2f}"
                      f"{' (or NaN)' if np.isnan(gap).any() else ''}")
    total = np.sum([m[f"las_{state}"] for state in LADDER_STATES], axis=0)
    if not (total == la_count).all():
        broken.append(f"LAs not conserved: ladder sums to {np.min(total):g}–{np.max(total):g}")
    if any((m[f"las_{state}"] < 0).any() for state in LADDER_STATES):
        broken.append("a ladder state has fewer than 0 LAs")
    for role in ROLES:
        staff = m[f"staff_{role}_fte"]
        if not ((staff >= 0) & (staff <= 500)).all():
            broken.append(f"staff_{role}_fte outside 0–500: {np.nanmin(staff):g}–"
                          f"{np.nanmax(staff):g}")
    return broken
