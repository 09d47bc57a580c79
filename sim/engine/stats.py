"""Reductions over the replicate axis."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["QUANTILES", "summarise"]

QUANTILES: dict[str, float] = {"p10": 0.10, "p50": 0.50, "p90": 0.90}
"""Quantiles reported for every metric and KPI."""


def summarise(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and quantiles over axis 0, ignoring NaN (an undefined value for a replicate).

    Parameters
    ----------
    values : float64[R, ...]
        One row per replicate.

    Returns
    -------
    dict
        ``mean``, ``p10``, ``p50``, ``p90`` each of shape ``values.shape[1:]`` (NaN where no
        replicate has a defined value), and ``defined_share``, the share of replicates with a
        defined value.
    """
    values = np.asarray(values, dtype=float)
    defined = ~np.isnan(values)
    share = defined.mean(axis=0)
    out: dict[str, np.ndarray] = {"defined_share": share}
    if defined.all():
        out["mean"] = values.mean(axis=0)
        qs = np.quantile(values, list(QUANTILES.values()), axis=0)
    else:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # numpy warns of an 'all-NaN slice'; NaN is the documented answer there.
            warnings.simplefilter("ignore", RuntimeWarning)
            out["mean"] = np.nanmean(values, axis=0)
            qs = np.nanquantile(values, list(QUANTILES.values()), axis=0)
    for name, q in zip(QUANTILES, qs, strict=True):
        out[name] = q
    return out
