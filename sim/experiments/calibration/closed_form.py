"""Fits that need no search: a rate estimated directly from a rate, and a descriptive trend.

``closed_form``: the parameter is the mean of the observed rate over the observed dates (each
date weighted equally), optionally turned into the hazard that reproduces it with monthly steps
(``rate_to_hazard``: ``h = −12 ln(1 − r / 12)``, since a hazard ``h`` gives ``12 (1 − e^{−h/12})``
leavers per person per year). Its interval comes from a two-way bootstrap: dates are resampled
with replacement and, when per-group rows are given (LAs), the groups are resampled too and each
date's value is scaled by the resampled groups' weighted mean over all groups' weighted mean.
The spread of the per-group rows (between groups, and within groups from date to date) is
reported as well: it is the distribution across LAs, not the uncertainty of the mean.

``trend``: a straight line on the logit of a share against time (years), by least squares, with
a residual bootstrap for the band. It describes the data; it fits no model parameter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.calibration.observed import MISSING_MARKERS, ObservedSeries, month_text

__all__ = ["describe_columns", "group_spread", "rate_bootstrap", "rate_to_hazard", "trend_fit"]

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def rate_to_hazard(rate_per_year: np.ndarray | float) -> np.ndarray | float:
    """The hazard per year whose monthly-step leavers per person per year equal ``rate``."""
    return -12.0 * np.log1p(-np.asarray(rate_per_year) / 12.0)


def _numbers(column: pd.Series, scale: float) -> np.ndarray:
    text = column.astype(str).str.strip()
    missing = text.str.lower().isin(MISSING_MARKERS)
    values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=float)
    return values * scale


def _group_table(rows: pd.DataFrame, date_column: str, group_column: str, value_column: str,
                 weight_column: str | None, scale: float, year_only_month: int) -> pd.DataFrame:
    from sim.experiments.calibration.observed import parse_date

    table = pd.DataFrame({
        "month": [parse_date(d, year_only_month) for d in rows[date_column]],
        "group": rows[group_column].astype(str).to_numpy(),
        "value": _numbers(rows[value_column], scale),
        "weight": _numbers(rows[weight_column], 1.0) if weight_column else 1.0,
    })
    table = table.dropna(subset=["month", "value"])
    table["weight"] = table["weight"].fillna(0.0)
    return table[table["weight"] > 0]


def rate_bootstrap(series: ObservedSeries, groups: pd.DataFrame | None, draws: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Bootstrap means of the rate, float[draws] (see the module docstring)."""
    values = series.values
    n = len(values)
    out = np.empty(draws)
    pivot_value = pivot_weight = None
    if groups is not None and not groups.empty:
        pivot_value = groups.pivot_table(index="group", columns="month", values="value",
                                         aggfunc="mean")
        pivot_weight = groups.pivot_table(index="group", columns="month", values="weight",
                                          aggfunc="sum").reindex_like(pivot_value)
    for b in range(draws):
        picks = rng.integers(0, n, size=n)
        sample = values[picks].copy()
        if pivot_value is not None and pivot_weight is not None:
            chosen = rng.integers(0, len(pivot_value), size=len(pivot_value))
            v = pivot_value.to_numpy()
            w = np.nan_to_num(pivot_weight.to_numpy()) * np.isfinite(v)
            v = np.nan_to_num(v)
            full = (v * w).sum(axis=0) / np.maximum(w.sum(axis=0), 1e-12)
            part = (v[chosen] * w[chosen]).sum(axis=0) / np.maximum(w[chosen].sum(axis=0), 1e-12)
            ratio = dict(zip(pivot_value.columns, part / np.where(full > 0, full, np.nan),
                             strict=True))
            factors = np.array([ratio.get(m, 1.0) for m in series.months[picks]])
            sample *= np.where(np.isfinite(factors), factors, 1.0)
        out[b] = sample.mean()
    return out


def group_spread(groups: pd.DataFrame) -> dict[str, Any]:
    """Distribution of a rate across groups (LAs): pooled, per group mean, latest date."""
    if groups is None or groups.empty:
        return {}
    latest = groups["month"].max()
    means = groups.groupby("group")["value"].mean()
    centred = groups["value"] - groups["group"].map(means)
    years = groups.groupby("group")["value"].count()
    within_sd = math.sqrt(float((centred**2).sum() / max(len(groups) - len(means), 1)))

    def q(values: pd.Series) -> dict[str, float]:
        return {f"p{int(round(100 * x)):02d}": float(values.quantile(x)) for x in QUANTILES}

    return {
        "groups": int(len(means)),
        "rows": int(len(groups)),
        "pooled": {"mean": float(groups["value"].mean()), "sd": float(groups["value"].std()),
                   **q(groups["value"])},
        "group_means": {"mean": float(means.mean()), "sd": float(means.std()), **q(means)},
        "within_group_sd": within_sd,
        "latest": {"date": month_text(int(latest)),
                   **q(groups.loc[groups["month"] == latest, "value"])},
        "median_dates_per_group": float(years.median()),
    }


def describe_columns(national: pd.DataFrame, groups_rows: pd.DataFrame | None,
                     columns: list[str], date_column: str, group_column: str | None,
                     scale: float, year_only_month: int) -> dict[str, Any]:
    """National mean and range, and spread across groups, of other rate columns."""
    out: dict[str, Any] = {}
    for column in columns:
        if column not in national.columns:
            continue
        values = _numbers(national[column], scale)
        entry: dict[str, Any] = {
            "national_mean": float(np.nanmean(values)), "national_min": float(np.nanmin(values)),
            "national_max": float(np.nanmax(values)),
            "national_by_date": {str(d): float(v)
                                 for d, v in zip(national[date_column], values, strict=True)},
        }
        if groups_rows is not None and group_column:
            table = _group_table(groups_rows, date_column, group_column, column, None, scale,
                                 year_only_month)
            entry["spread"] = group_spread(table)
        out[column] = entry
    return out


def trend_fit(series: ObservedSeries, draws: int, rng: np.random.Generator,
              months_out: np.ndarray) -> dict[str, Any]:
    """Logit-linear trend of a share: coefficients, fitted values, a bootstrap band.

    ``months_out`` are the calendar months at which the band is wanted.
    """
    years = series.months / 12.0
    centre = years.mean()
    share = np.clip(series.values, 1e-4, 1 - 1e-4)
    logit = np.log(share / (1 - share))
    design = np.column_stack([np.ones_like(years), years - centre])
    coef, *_ = np.linalg.lstsq(design, logit, rcond=None)
    fitted_logit = design @ coef
    residual = logit - fitted_logit
    n = len(years)
    scale = math.sqrt(n / max(n - 2, 1))
    grid = np.column_stack([np.ones(len(months_out)), months_out / 12.0 - centre])
    boot_coef = np.empty((draws, 2))
    for b in range(draws):
        y_star = fitted_logit + scale * rng.choice(residual - residual.mean(), size=n, replace=True)
        boot_coef[b], *_ = np.linalg.lstsq(design, y_star, rcond=None)
    curves = 1 / (1 + np.exp(-(boot_coef @ grid.T)))
    return {
        "intercept_logit_at_centre": float(coef[0]),
        "slope_logit_per_year": float(coef[1]),
        "centre_year": float(centre),
        "fitted": 1 / (1 + np.exp(-fitted_logit)),
        "curve": 1 / (1 + np.exp(-(grid @ coef))),
        "band": curves,
        "slope_draws": boot_coef[:, 1],
    }
