"""Per-replicate KPIs computed from the per-month metrics of a batch.

Every KPI is float64[R]; NaN means "not defined for this replicate" (e.g. no break-even within
the horizon) and is reported as such, never replaced by a number.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import Scenario

__all__ = ["KPIS", "RUNWAY_CAP_MONTHS", "compute_kpis", "cliff_month"]

RUNWAY_CAP_MONTHS = 120.0
"""Runway is capped here: a CoE not burning cash at the cliff counts as 120 months of runway."""

KPIS: dict[str, str] = {
    "survival_prob_y5": "1 if still operating at the end of year 5 (month 59); its mean is the probability",
    "survival_prob_y10": "1 if still operating at the end of year 10 (month 119)",
    "closure_month": "first month of closure (NaN if never closed)",
    "cliff_month": "month of the largest scheduled fall in grant income (NaN if grants never fall)",
    "cliff_drop_gbp_per_month": "total income in the month before the cliff minus income in the cliff month (£/month)",
    "cliff_drop_share": "that fall as a share of the month-before income",
    "runway_months_at_cliff": "reserves before the cliff ÷ monthly deficit in the cliff month "
                              "(months, capped at 120; NaN if closed before the cliff)",
    "breakeven_month": "first month in which earned income (subscriptions) covers all costs (NaN if never)",
    "members_y10": "member LAs at the end of year 10 (or of the horizon if shorter)",
    "live_services_y10": "live services at the end of year 10 (or of the horizon)",
    "min_reserves_gbp": "lowest month-end reserves (£)",
    "failed_launches_total": "failed launches over the horizon (count)",
    "leavers_total": "staff resignations over the horizon (people)",
    "value_delivered_total_gbp": "value of live services to member LAs over the horizon (£)",
}


def cliff_month(grant_schedule: np.ndarray) -> float:
    """Month of the largest fall in scheduled grant income (NaN if it never falls).

    Parameters
    ----------
    grant_schedule : float[G, T], scheduled grant income per grant and month.
    """
    total = grant_schedule.sum(axis=0)
    if total.size < 2:
        return float("nan")
    fall = total[:-1] - total[1:]
    if fall.max(initial=0.0) <= 0:
        return float("nan")
    return float(np.argmax(fall) + 1)


def _first(mask: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 1, NaN where there is none."""
    found = mask.any(axis=1)
    return np.where(found, np.argmax(mask, axis=1).astype(float), np.nan)


def compute_kpis(metrics: dict[str, np.ndarray], grant_schedule: np.ndarray,
                 scenario: Scenario) -> dict[str, np.ndarray]:
    """All KPIs of :data:`KPIS` for each replicate."""
    operating = metrics["operating"]
    R, T = operating.shape
    income = metrics["income_total_gbp"]
    costs = metrics["costs_total_gbp"]
    reserves = metrics["reserves_gbp"]
    nan = np.full(R, np.nan)
    y10 = min(119, T - 1)

    out: dict[str, np.ndarray] = {
        "survival_prob_y5": operating[:, 59].copy() if T >= 60 else nan.copy(),
        "survival_prob_y10": operating[:, 119].copy() if T >= 120 else nan.copy(),
        "closure_month": _first(operating == 0),
    }
    c = cliff_month(grant_schedule)
    out["cliff_month"] = np.full(R, c)
    if np.isnan(c):
        for k in ("cliff_drop_gbp_per_month", "cliff_drop_share", "runway_months_at_cliff"):
            out[k] = nan.copy()
    else:
        t = int(c)
        before, at = income[:, t - 1], income[:, t]
        drop = before - at
        out["cliff_drop_gbp_per_month"] = drop
        with np.errstate(divide="ignore", invalid="ignore"):
            out["cliff_drop_share"] = np.where(before > 0, drop / before, np.nan)
            deficit = costs[:, t] - at
            runway = np.where(deficit > 0, np.maximum(reserves[:, t - 1], 0.0) / deficit,
                              RUNWAY_CAP_MONTHS)
        alive = operating[:, t - 1] == 1
        out["runway_months_at_cliff"] = np.where(alive, np.minimum(runway, RUNWAY_CAP_MONTHS), np.nan)
    earned = metrics["income_subscriptions_gbp"]
    out["breakeven_month"] = _first((earned >= costs) & (operating == 1) & (costs > 0))
    out["members_y10"] = metrics["las_member"][:, y10].copy()
    out["live_services_y10"] = metrics["live_services"][:, y10].copy()
    out["min_reserves_gbp"] = reserves.min(axis=1)
    out["failed_launches_total"] = metrics["failed_launches"].sum(axis=1)
    out["leavers_total"] = metrics["leavers"].sum(axis=1)
    out["value_delivered_total_gbp"] = metrics["value_delivered_gbp"].sum(axis=1)
    return out
