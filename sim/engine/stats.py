"""Reductions over the replicate axis."""

from __future__ import annotations

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
        with np.errstate(all="ignore"), _quiet_nan():
            out["mean"] = np.nanmean(values, axis=0)
            qs = np.nanquantile(values, list(QUANTILES.values()), axis=0)
    for name, q in zip(QUANTILES, qs):
        out[name] = q
    return out


class _quiet_nan:
    """Silence numpy's 'all-NaN slice' warnings: NaN is the documented answer there."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
