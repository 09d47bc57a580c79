"""Per-replicate KPIs computed from the per-month metrics of a batch.

Every KPI is float64[R]; NaN means "not defined for this replicate" (e.g. no break-even within
the horizon) and is reported as such, never replaced by a number.
"""

from __future__ import annotations

import numpy as np

from sim.model.finance import TRANSFERS

__all__ = ["KPIS", "RUNWAY_CAP_MONTHS", "compute_kpis", "cliff_month"]

RUNWAY_CAP_MONTHS = 120.0
"""Runway is capped here: a CoE not burning cash at the cliff counts as 120 months of runway."""

KPIS: dict[str, str] = {
    "viable_prob_y5": "1 if the CoE is viable (working, docs/model.md §5.10) at the end of year 5 "
                      "(month 59); its mean is the probability",
    "viable_prob_y10": "1 if the CoE is viable at the end of year 10 (month 119)",
    "viable_months": "months in which the CoE was viable, over the horizon",
    "survival_prob_y5": "1 if still operating at the end of year 5 (month 59); its mean is the "
                        "probability",
    "survival_prob_y10": "1 if still operating at the end of year 10 (month 119)",
    "closure_month": "first month of closure (NaN if never closed)",
    "cliff_month": "month of the largest fall in grant and core-budget income due, in this "
                   "replicate (after its renewal and spending-review draws; NaN if it never "
                   "falls)",
    "cliff_drop_gbp_per_month": "total income in the month before the cliff minus income in the "
                                "cliff month (£/month)",
    "cliff_drop_share": "that fall as a share of the month-before income",
    "runway_months_at_cliff": "reserves before the cliff ÷ monthly deficit in the cliff month "
                              "(months, capped at 120; NaN if closed before the cliff)",
    "breakeven_month": "first month in which earned income (subscriptions as earned, each "
                       "payment spread over the months it pays for, and commissions) covers "
                       "all costs (NaN if never)",
    "members_y10": "member LAs at the end of year 10 (or of the horizon if shorter)",
    "live_services_y10": "live services at the end of year 10 (or of the horizon)",
    "min_reserves_gbp": "lowest month-end reserves (£)",
    "reserves_exhausted_month": "first month whose month-end reserves are below £0 (NaN if "
                                "never); its defined share is the chance reserves run out "
                                "within the horizon",
    "failed_launches_total": "failed launches over the horizon (count)",
    "retirements_total": "live services retired over the horizon for want of staff (count)",
    "leavers_total": "staff resignations over the horizon (people)",
    "value_delivered_total_gbp": "value of live services to member LAs over the horizon (£)",
    "value_delivered_total_hours": "value delivered over the horizon in LA analyst hours",
    "benefit_cost_ratio": "value delivered to LAs over the horizon ÷ costs of provision over the "
                          "horizon (all costs but transfers: surrenders and dividends) "
                          "(NaN if no costs)",
    "cost_per_member_gbp_y10": "costs of provision (all costs but transfers: surrenders and "
                               "dividends) in year 10 ÷ "
                               "average member LAs in year 10 (£ per member per year; NaN with no "
                               "members; last 12 months if the horizon is shorter)",
    "bad_debts_total_gbp": "subscription invoices written off over the horizon: LAs that left "
                           "before paying, and finance.bad_debt_share of the rest (£)",
    "commissions_won_total": "commissioned projects won over the horizon (count)",
    "grant_renewals_total": "grant renewals granted over the horizon (count)",
    "policy_change": "1 if a general election changed policy on the CoE",
    "host_cut_month": "first month with a host-imposed cut in force (NaN if none)",
    "policy_first_action_month": "first month in which an adaptive policy acted (NaN if "
                                 "none did; docs/model.md §12)",
}


def cliff_month(funding_schedule: np.ndarray) -> np.ndarray:
    """Month of the largest fall in funding due, per replicate (NaN where it never falls).

    Parameters
    ----------
    funding_schedule : float[R, T], grant and core-budget income due per replicate and month
        before any closure (renewals and spending reviews as drawn in that replicate).

    Returns
    -------
    float[R]: the month ``t`` maximising ``s[t − 1] − s[t]`` (the earliest if tied).
    """
    R, T = funding_schedule.shape
    if T < 2:
        return np.full(R, np.nan)
    fall = funding_schedule[:, :-1] - funding_schedule[:, 1:]
    worst = fall.max(axis=1)
    return np.where(worst > 0, np.argmax(fall, axis=1) + 1.0, np.nan)


def _first(mask: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 1, NaN where there is none."""
    found = mask.any(axis=1)
    return np.where(found, np.argmax(mask, axis=1).astype(float), np.nan)


def compute_kpis(metrics: dict[str, np.ndarray], funding_schedule: np.ndarray | None,
                 cliff: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """All KPIs of :data:`KPIS` for each replicate, from the metrics (name → float64[R, T]) and
    the funding schedule (float64[R, T]: grants and core budget due before any closure), or
    the cliff months already found from it (``cliff`` float64[R]: real-terms reporting
    recomputes the KPIs from deflated metrics at the same cliff, docs/outputs.md)."""
    operating = metrics["operating"]
    R, T = operating.shape
    income = metrics["income_total_gbp"]
    costs = metrics["costs_total_gbp"]
    reserves = metrics["reserves_gbp"]
    nan = np.full(R, np.nan)
    y10 = min(119, T - 1)

    viable = metrics["viable"]
    out: dict[str, np.ndarray] = {
        "viable_prob_y5": viable[:, 59].copy() if T >= 60 else nan.copy(),
        "viable_prob_y10": viable[:, 119].copy() if T >= 120 else nan.copy(),
        "viable_months": viable.sum(axis=1),
        "survival_prob_y5": operating[:, 59].copy() if T >= 60 else nan.copy(),
        "survival_prob_y10": operating[:, 119].copy() if T >= 120 else nan.copy(),
        "closure_month": _first(operating == 0),
    }
    if cliff is None:
        assert funding_schedule is not None, "the funding schedule or the cliff months"
        cliff = cliff_month(funding_schedule)
    out["cliff_month"] = np.array(cliff, dtype=float, copy=True)
    has_cliff = ~np.isnan(cliff)
    rows = np.arange(R)
    t = np.where(has_cliff, cliff, 1).astype(np.int64)  # a placeholder month where undefined
    before, at = income[rows, t - 1], income[rows, t]
    drop = before - at
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(before > 0, drop / before, np.nan)
        deficit = costs[rows, t] - at
        runway = np.where(deficit > 0, np.maximum(reserves[rows, t - 1], 0.0) / deficit,
                          RUNWAY_CAP_MONTHS)
    alive = operating[rows, t - 1] == 1
    out["cliff_drop_gbp_per_month"] = np.where(has_cliff, drop, np.nan)
    out["cliff_drop_share"] = np.where(has_cliff, share, np.nan)
    out["runway_months_at_cliff"] = np.where(has_cliff & alive,
                                             np.minimum(runway, RUNWAY_CAP_MONTHS), np.nan)
    # Subscriptions as earned, not as paid: a year's invoices paid in May do not make May a
    # month of break-even (docs/model.md §5.6).
    earned = metrics["subscriptions_earned_gbp"] + metrics["income_commissions_gbp"]
    out["breakeven_month"] = _first((earned >= costs) & (operating == 1) & (costs > 0))
    out["members_y10"] = metrics["members"][:, y10].copy()
    out["live_services_y10"] = metrics["live_services"][:, y10].copy()
    out["min_reserves_gbp"] = reserves.min(axis=1)
    out["reserves_exhausted_month"] = _first(reserves < 0)
    out["failed_launches_total"] = metrics["failed_launches"].sum(axis=1)
    out["retirements_total"] = metrics["retirements"].sum(axis=1)
    out["leavers_total"] = metrics["leavers"].sum(axis=1)
    out["value_delivered_total_gbp"] = metrics["value_delivered_gbp"].sum(axis=1)
    out["value_delivered_total_hours"] = metrics["value_delivered_hours"].sum(axis=1)
    # Costs of provision: a transfer (a department's balance handed back, a CIC's dividend)
    # is no cost of it.
    provision = costs - sum(metrics[f"costs_{t}_gbp"] for t in TRANSFERS)
    total_costs = provision.sum(axis=1)
    last_year = slice(y10 - 11 if T >= 12 else 0, y10 + 1)
    member_years = metrics["members"][:, last_year].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["benefit_cost_ratio"] = np.where(
            total_costs > 0, out["value_delivered_total_gbp"] / total_costs, np.nan)
        out["cost_per_member_gbp_y10"] = np.where(
            member_years > 0, provision[:, last_year].sum(axis=1) / member_years, np.nan)
    out["bad_debts_total_gbp"] = metrics["bad_debts_gbp"].sum(axis=1)
    out["commissions_won_total"] = metrics["commissions_won"].sum(axis=1)
    out["grant_renewals_total"] = metrics["grant_renewals"].sum(axis=1)
    out["policy_change"] = metrics["policy_changed"][:, -1].copy()
    out["host_cut_month"] = _first(metrics["host_cut"] == 1)
    out["policy_first_action_month"] = _first(metrics["policy_actions"] > 0)
    return out
