"""Reductions over the replicate axis."""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["QUANTILES", "Z90", "row_counts", "summarise", "wilson_interval"]

Z90 = 1.644854
"""The standard normal quantile of a two-sided 90% interval."""

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


def wilson_interval(share: float, n: int, z: float = Z90) -> tuple[float, float]:
    """Wilson (1927) score interval of a proportion ``share`` observed in ``n`` trials (runs,
    or futures); ``z`` the normal quantile of the interval (default: 90%)."""
    if n <= 0 or share != share:
        return math.nan, math.nan
    denom = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denom
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def row_counts(counts: np.ndarray) -> np.ndarray:
    """int64[R]: the row sums of a bool or integer array [R, k], as ``counts.sum(axis=1)``.

    Whole numbers add up exactly in any order, and numpy's reduction over a short last axis
    costs far more than adding k columns (integers) or an ``einsum`` over bytes (bools). Not
    for floats, whose sum depends on the order of the additions."""
    if counts.dtype.kind not in "biu":
        raise TypeError(f"row_counts adds whole numbers, not {counts.dtype}")
    if counts.dtype == np.bool_ and counts.shape[1] <= 255:  # at most 255: fits in a byte
        return np.einsum("ij->i", counts.view(np.uint8)).astype(np.int64)
    total = np.zeros(counts.shape[0], dtype=np.int64)
    for column in range(counts.shape[1]):
        total += counts[:, column]
    return total
