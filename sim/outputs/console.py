"""The tables the command line prints, as lines of text, built from result tables only.

* :func:`headline_lines` — ``run`` and ``compare``: the headline KPIs, one column per scenario;
* :func:`sweep_kpi_lines` — ``sweep``: each KPI's mean and percentiles over all runs;
* :func:`sensitivity_top_lines` — ``sensitivity``: the three most influential parameters of
  each KPI;
* :func:`calibration_lines` — ``calibrate``: each fitted parameter with its interval, the fit's
  quality and any warnings.

KPIs are named from the one table of KPI words (:mod:`sim.outputs.kpi_text`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.outputs.kpi_text import kpi_text

__all__ = ["HEADLINE_KPIS", "calibration_lines", "headline_lines", "sensitivity_top_lines",
           "sweep_kpi_lines"]

HEADLINE_KPIS = ("viable_prob_y5", "viable_prob_y10", "survival_prob_y10",
                 "reserves_exhausted_month", "breakeven_month", "members_y10", "min_reserves_gbp")
"""KPIs of the summary ``run`` and ``compare`` print: chances as the share of runs; when
reserves run out as the share of runs in which they do (the KPI's defined share); the others
as the median run."""

LABEL_WIDTH = 40


def _headline_row(key: str, summaries: Mapping[str, Mapping[str, Mapping[str, float]]],
                  width: int) -> str:
    text = kpi_text(key)
    share_of_runs = key == "reserves_exhausted_month"  # the chance that the event happens at all
    chance = text.kind == "chance" or share_of_runs
    unit = " (£)" if text.kind == "gbp" else ""  # the cells are plain numbers
    label = (f"{text.short} within the run" if share_of_runs else
             text.short if chance else f"{text.short}{unit}, median")
    statistic = "defined_share" if share_of_runs else "mean" if chance else "p50"
    cells = []
    for summary in summaries.values():
        stat = float(summary.get(key, {}).get(statistic, math.nan))
        if stat != stat:
            cells.append(f"{'—':>{width}}")
        elif chance:
            cells.append(f"{100 * stat:>{width - 1}.0f}%")
        else:
            cells.append(f"{stat:>{width},.0f}")
    return f"{label:<{LABEL_WIDTH}}" + "".join(cells)


def headline_lines(summaries: Mapping[str, Mapping[str, Mapping[str, float]]]) -> list[str]:
    """The headline table: a header of scenario names, then one row per :data:`HEADLINE_KPIS`.

    Parameters
    ----------
    summaries : ``{scenario: {kpi: {mean, p10, p50, p90, …}}}`` (``summary.json``); a dash
        marks a value undefined in every replicate.
    """
    width = max(len(name) for name in summaries) + 2
    header = f"{'':<{LABEL_WIDTH}}" + "".join(f"{name:>{width}}" for name in summaries)
    return [header, *(_headline_row(key, summaries, width) for key in HEADLINE_KPIS)]


def _compact(x: float) -> str:
    return f"{x:>12,.3g}" if abs(x) < 1000 else f"{x:>12,.0f}"


def sweep_kpi_lines(table: pd.DataFrame, kpis: Sequence[str]) -> list[str]:
    """Each KPI's mean, 10th, 50th and 90th percentile over all runs of a sweep, and the share
    of runs where it is defined."""
    lines = [f"{'KPI over all runs':<28}{'mean':>12}{'p10':>12}{'p50':>12}{'p90':>12}"
             f"{'defined':>9}"]
    for kpi in kpis:
        values = table[kpi].to_numpy(dtype=float)
        ok = values[~np.isnan(values)]
        stats = (ok.mean(), *np.percentile(ok, [10, 50, 90])) if ok.size else ()
        cells = [_compact(float(x)) for x in stats] or [f"{'—':>12}"] * 4
        share = 100 * ok.size / max(values.size, 1)
        lines.append(f"{kpi:<28}" + "".join(cells) + f"{share:>8.0f}%")
    return lines


def sensitivity_top_lines(indices: pd.DataFrame, kpis: Sequence[str], labels: Mapping[str, str],
                          method: str, confidence: float) -> list[str]:
    """The three most influential parameters of each KPI: by total-effect Sobol' index ST (with
    its interval) or by Morris mu*.

    Parameters
    ----------
    indices : the tidy index table of :func:`sim.experiments.sensitivity.analyse`.
    labels : words for each parameter's key path.
    """
    main = "ST" if method == "sobol" else "mu_star"
    name = "total-effect Sobol index ST" if main == "ST" else "Morris mu*"
    level = int(round(100 * confidence))
    lines = [f"Most influential parameters ({name}, {level}% interval):"]
    rows = indices[(indices["fiscal_year"] == "") & (indices["index"] == main)]
    for kpi in kpis:
        top = rows[rows["output"] == kpi].sort_values("estimate", ascending=False).head(3)
        if top.empty:
            continue
        cells = []
        for r in top.itertuples():
            words = labels.get(str(r.parameter), str(r.parameter))
            estimate, conf = float(r.estimate), float(r.conf)
            cells.append(f"{words} {estimate:.2f} ± {conf:.2f}" if conf == conf
                         else f"{words} {estimate:.3g}")
        lines.append(f"  {kpi:<26} " + "; ".join(cells))
    return lines


def calibration_lines(fit: Mapping[str, Any]) -> list[str]:
    """Each fitted parameter (best, median, interval; flagged when the data bound it weakly),
    the goodness of fit against the documented quality, and the fit's warnings.

    Parameters
    ----------
    fit : the content of ``fit.json`` (:class:`sim.experiments.calibration.CalibrationResult`).
    """
    level = round(100 * fit["method"]["interval"])
    lines = [f"{'parameter':<36}{'best':>11}{'median':>11}   {level}% interval"]
    for p in fit["parameters"]:
        flag = "" if p["identified"] else f"   ({p['identification']})"
        lines.append(f"{p['path']:<36}{p['best']:>11.4g}{p['median']:>11.4g}   "
                     f"{p['lower']:.4g} – {p['upper']:.4g}{flag}")
    gof, quality = fit["goodness_of_fit"], fit["quality"]
    lines.append(f"fit: rmse {gof['rmse']:.4g}, r² {gof['r2']:.3f} on {gof['points']} points; "
                 f"documented quality {'met' if quality['passed'] else 'NOT met'}")
    skill = fit.get("skill")
    if skill:
        inside, out = skill["in_sample"], skill["out_of_sample"]
        lines.append(f"skill in sample: rmse {inside['model_rmse']:.4g} against a straight "
                     f"line's {inside['line_rmse']:.4g} and the last value's "
                     f"{inside['persistence_rmse']:.4g}")
        if out["computed"]:
            verdict = "beats both" if out["beats_both"] else "does NOT beat both"
            lines.append(f"skill out of sample (last {out['held_out']} from the first "
                         f"{out['training_points']}): rmse {out['model_rmse']:.4g} against "
                         f"{out['line_rmse']:.4g} (line) and {out['persistence_rmse']:.4g} "
                         f"(last value): {verdict}")
    for p in fit["parameters"]:
        if "pinned_by" in p:
            lines.append(f"  {p['path']}: pinned down by {p['pinned_by']} (posterior "
                         f"contraction {p['contraction']:.2f})")
    lines += [f"warning: {warning}" for warning in fit["warnings"]]
    return lines
