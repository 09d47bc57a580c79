"""Paired differences between scenarios, replicate by replicate.

Scenarios compared in one run share common random numbers: replicate ``i`` of every scenario
sees the same random streams (``kpis.parquet`` column ``replicate``). The difference
``scenario − baseline`` is therefore taken within each replicate, and its spread reflects only
what the scenarios change, not the luck of the draw.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.outputs.rundata import RunData

__all__ = ["PAIRED_KPIS", "Z95", "paired_differences", "survival_kpi"]

PAIRED_KPIS = ("survival_prob_y10", "survival_prob_y5", "members_y10", "live_services_y10",
               "min_reserves_gbp", "runway_months_at_cliff", "value_delivered_total_gbp",
               "leavers_total")
"""KPIs shown as paired differences, in this order, when present in ``kpis.parquet``."""

Z95 = 1.959964
"""Normal quantile for a two-sided 95% interval."""


def survival_kpi(data: RunData) -> str | None:
    """The longest survival KPI defined in this run (``survival_prob_y10``, else ``_y5``)."""
    for name in ("survival_prob_y10", "survival_prob_y5"):
        if name in data.kpis and data.kpis[name].notna().any():
            return name
    return None


def paired_differences(data: RunData, baseline: str | None = None,
                       kpis: tuple[str, ...] = PAIRED_KPIS) -> pd.DataFrame:
    """``scenario − baseline`` per replicate, summarised per scenario and KPI.

    Parameters
    ----------
    baseline : the scenario subtracted (default: the first on the command line).
    kpis : KPI names to compare; those absent from ``kpis.parquet`` or undefined everywhere
        are skipped.

    Returns
    -------
    One row per (scenario, kpi) for every scenario but the baseline, with columns ``scenario``,
    ``kpi``, ``pairs`` (replicates where both values are defined), ``mean`` (mean paired
    difference), ``ci_low``/``ci_high`` (95% normal interval of that mean: mean ± 1.96 × SD / √n),
    ``p10``/``p90`` (10th and 90th percentiles of the per-replicate differences), and
    ``share_higher``/``share_lower`` (share of pairs in which the scenario is above / below the
    baseline). Empty when there is only one scenario.
    """
    base = baseline or data.scenarios[0]
    table = data.kpis
    rows = []
    by_scenario = {s: f.set_index("replicate").sort_index() for s, f in table.groupby("scenario")}
    for scenario in data.scenarios:
        if scenario == base:
            continue
        left, right = by_scenario[scenario], by_scenario[base]
        common = left.index.intersection(right.index)
        for kpi in kpis:
            if kpi not in table.columns:
                continue
            diff = (left.loc[common, kpi] - right.loc[common, kpi]).to_numpy(dtype=float)
            diff = diff[~np.isnan(diff)]
            if diff.size == 0:
                continue
            mean = float(diff.mean())
            half = (Z95 * float(diff.std(ddof=1)) / math.sqrt(diff.size) if diff.size > 1
                    else math.nan)
            rows.append({"scenario": scenario, "kpi": kpi, "pairs": int(diff.size), "mean": mean,
                         "ci_low": mean - half, "ci_high": mean + half,
                         "p10": float(np.quantile(diff, 0.1)), "p90": float(np.quantile(diff, 0.9)),
                         "share_higher": float((diff > 0).mean()),
                         "share_lower": float((diff < 0).mean())})
    columns = ["scenario", "kpi", "pairs", "mean", "ci_low", "ci_high", "p10", "p90",
               "share_higher", "share_lower"]
    return pd.DataFrame(rows, columns=columns)
