"""Skill, not just fit: a fit against naive baselines, in sample and out of sample (issue #16).

A high r² does not discriminate (a straight line through four points of an S-curve scores
0.96), so every fit is compared with two forecasts that know nothing about diffusion:

* **straight line**: least squares of the value on time;
* **last value carried forward** (persistence): each point predicted by the one before it.

In sample, the model's rmse is compared with the line's (fitted to all points) and with
persistence's one-step-ahead rmse. Out of sample, the last ``h = max(1, round(n/3))`` points
are held out: the model is refitted on the earlier points (how depends on the method, see
:mod:`.calibrate`) and predicts the later ones, as do the line through the earlier points and
the last earlier value. Skill is ``1 − rmse_model / rmse_baseline`` (above 0: the model is
better). A fit that does not beat both baselines out of sample says so in its warnings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["MIN_TRAINING_POINTS", "holdout_split", "skill_report"]

MIN_TRAINING_POINTS = 2
"""Fewest earlier points a held-out comparison needs (a line needs two)."""


def holdout_split(n: int) -> int:
    """Points held out at the end of a series of ``n`` (0 when too short to hold any out)."""
    held = max(1, round(n / 3))
    return held if n - held >= MIN_TRAINING_POINTS else 0


def _rmse(error: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(error)))) if len(error) else math.nan


def _line(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    if len(x) < 2 or np.ptp(x) == 0:
        return np.full(len(at), float(np.mean(y)))
    slope, intercept = np.polyfit(x, y, 1)
    return intercept + slope * at


def _skill(model: float, baseline: float) -> float:
    if not math.isfinite(model) or not math.isfinite(baseline):
        return math.nan
    if baseline == 0:
        return 0.0 if model == 0 else -math.inf
    return 1 - model / baseline


def skill_report(months: np.ndarray, y: np.ndarray, fitted: np.ndarray,
                 predict_later: Callable[[int], np.ndarray | None] | None) -> dict[str, Any]:
    """The in- and out-of-sample comparison (module docstring).

    Parameters
    ----------
    months : float[n], time of each point (any unit).
    y : float[n], observed values; ``fitted`` float[n], the fit's mean at those points.
    predict_later : given the number of earlier points kept, the model refitted on them and
        its prediction of the later points (float[h]); None when the method cannot refit.
    """
    x = np.asarray(months, dtype=float)
    n = len(y)
    line_in = _line(x, y, x)
    model_in, line_rmse = _rmse(y - fitted), _rmse(y - line_in)
    persistence = _rmse(y[1:] - y[:-1]) if n > 1 else math.nan
    report: dict[str, Any] = {
        "in_sample": {
            "points": n, "model_rmse": model_in, "line_rmse": line_rmse,
            "persistence_rmse": persistence, "skill_vs_line": _skill(model_in, line_rmse),
            "skill_vs_persistence": _skill(model_in, persistence),
            "note": "persistence is one step ahead over points 2..n",
        },
    }
    held = holdout_split(n)
    out: dict[str, Any] = {"held_out": held, "computed": False}
    if held and predict_later is not None:
        keep = n - held
        later = predict_later(keep)
        if later is not None:
            truth = y[keep:]
            model_rmse = _rmse(truth - later)
            line_rmse_out = _rmse(truth - _line(x[:keep], y[:keep], x[keep:]))
            last_rmse = _rmse(truth - y[keep - 1])
            beats = bool(model_rmse < line_rmse_out and model_rmse < last_rmse)
            out.update({
                "computed": True, "training_points": keep, "model_rmse": model_rmse,
                "line_rmse": line_rmse_out, "persistence_rmse": last_rmse,
                "skill_vs_line": _skill(model_rmse, line_rmse_out),
                "skill_vs_persistence": _skill(model_rmse, last_rmse),
                "beats_both": beats, "predicted": [float(v) for v in later],
            })
    elif not held:
        out["reason"] = (f"{n} points: too few to hold any out and keep "
                         f"{MIN_TRAINING_POINTS} to fit")
    else:
        out["reason"] = "this method does not refit on part of the series"
    report["out_of_sample"] = out
    return report
