"""Describe a fit: the ``fit.json`` dictionary, the ``calibrated.toml`` overlay and the tables
behind the fit chart. Plain data only: files and charts are written by
:mod:`sim.outputs.calibration_charts`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.experiments.calibration.observed import ObservedSeries, month_number, month_text
from sim.experiments.calibration.spec import CALIBRATION_PARAMETERS, LoadedSpec
from sim.version import __version__

if TYPE_CHECKING:
    from sim.experiments.calibration.calibrate import Fitted
    from sim.experiments.calibration.objective import Problem

__all__ = ["CalibrationResult", "build_result", "format_number", "goodness_of_fit"]

IDENTIFIED_SHARE = 0.5
"""A parameter counts as identified when its interval covers less than this share of its
bounds (on its own scale: linear, or logarithmic for log-scale parameters)."""

METHOD_NAMES = {
    "abc": "approximate Bayesian computation (adaptive importance sampling, synthetic likelihood)",
    "bass": "closed-form Bass curve (the uptake-only model's mean field), posterior by adaptive "
            "importance sampling; the model is run at the best fit as a check",
    "least_squares": "scipy.optimize.least_squares with a parametric bootstrap",
    "differential_evolution": "scipy.optimize.differential_evolution with a parametric bootstrap",
    "closed_form": "closed form (a rate is a rate) with a bootstrap over dates and groups",
    "trend": "logit-linear trend (descriptive; informs no model parameter)",
}


@dataclass(frozen=True)
class CalibrationResult:
    """Everything a calibration run reports.

    Attributes
    ----------
    name : the spec's meta.name.
    fit : the fit.json dictionary (JSON-ready apart from NaN, which writers turn into null).
    overlay : calibrated.toml text: fitted model parameters with a comment header.
    observed : one row per observed point (used or excluded) with the fitted mean and band.
    simulated : one row per model month: median and bands for the chart.
    chart : title, axis label and band labels for the chart.
    spec_text : the spec file's text.
    """

    name: str
    fit: dict[str, Any]
    overlay: str
    observed: pd.DataFrame
    simulated: pd.DataFrame
    chart: dict[str, Any]
    spec_text: str


def format_number(value: float) -> str:
    """A float as TOML with four significant figures (always with a dot or exponent)."""
    if not math.isfinite(value):
        return "nan"
    text = f"{value:.4g}"
    return text if any(c in text for c in ".en") else text + ".0"


def goodness_of_fit(y: np.ndarray, mu: np.ndarray) -> dict[str, float]:
    """rmse, mean absolute error and r² (1 − SS_res / SS_tot) of a fitted mean."""
    residual = y - mu
    total = float(((y - y.mean()) ** 2).sum())
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": float(1 - (residual**2).sum() / total) if total > 0 else math.nan,
        "points": int(len(y)),
    }


def _label(path: str) -> str:
    return re.sub(r"_(per_year|prob|share)$", "", path.rsplit(".", 1)[-1])


def _parameters(loaded: LoadedSpec, fitted: Fitted) -> list[dict[str, Any]]:
    rows = []
    for j, p in enumerate(loaded.spec.parameters):
        lo, med, hi = (float(x) for x in fitted.quantiles[j])
        best = float(fitted.best[j])
        log = p.scale == "log"

        def position(value: float, p: Any = p, log: bool = log) -> float:
            """Where ``value`` lies between the bounds, 0–1, on the parameter's scale."""
            if log:
                return math.log(max(value, p.lower) / p.lower) / math.log(p.upper / p.lower)
            return (value - p.lower) / (p.upper - p.lower)

        share = position(hi) - position(lo)
        near = min(position(best), 1 - position(best))
        if share < IDENTIFIED_SHARE:
            identification = "identified"
        elif position(lo) < 0.1 <= 0.9 <= position(hi):
            identification = "not identified"
        elif position(lo) < 0.1:
            identification = "upper limit only"
        elif position(hi) > 0.9:
            identification = "lower limit only"
        else:
            identification = "not identified"
        column = fitted.samples[:, j]
        if log:
            column = np.log(np.maximum(column, p.lower)) - math.log(p.lower)
            span = math.log(p.upper / p.lower)
        else:
            column, span = column - p.lower, p.upper - p.lower
        # posterior contraction: 1 − posterior variance ÷ prior variance (uniform prior on the
        # parameter's scale, variance span²/12): near 1, the data pin it down; near 0, only
        # the prior does (Betancourt 2018, arXiv:1803.08393)
        contraction = (max(0.0, 1 - float(np.var(column)) / (span**2 / 12))
                       if len(column) > 1 and span > 0 else math.nan)
        rows.append({
            "path": p.path,
            "contraction": contraction,
            "pinned_by": ("the data" if contraction >= 0.9 else "the data and the prior"
                          if contraction >= 0.5 else "mostly the prior"),
            "model_parameter": not p.path.startswith("calibration."),
            "best": best, "median": med, "lower": lo, "upper": hi,
            "bounds": [p.lower, p.upper], "scale": p.scale,
            "interval_share_of_bounds": float(share),
            "identified": identification == "identified",
            "identification": identification,
            "best_at_bound": bool(near < 0.01),
            "description": p.description or CALIBRATION_PARAMETERS.get(p.path, ""),
        })
    return rows


def _quality(loaded: LoadedSpec, gof: dict[str, float]) -> dict[str, Any]:
    q = loaded.spec.quality
    checks = []
    if q.min_r2 is not None:
        checks.append({"measure": "r2", "rule": f"≥ {q.min_r2}", "value": gof["r2"],
                       "passed": bool(gof["r2"] >= q.min_r2)})
    if q.max_rmse is not None:
        checks.append({"measure": "rmse", "rule": f"≤ {q.max_rmse}", "value": gof["rmse"],
                       "passed": bool(gof["rmse"] <= q.max_rmse)})
    return {"min_r2": q.min_r2, "max_rmse": q.max_rmse, "checks": checks,
            "passed": all(c["passed"] for c in checks)}


def _observed_block(loaded: LoadedSpec, series: ObservedSeries) -> dict[str, Any]:
    o = loaded.spec.observed
    return {
        "file": str(loaded.observed_path), "date_column": o.date_column,
        "value_column": o.value_column, "kind": o.kind, "value_scale": o.value_scale,
        "filter": dict(o.filter), "points": series.count,
        "first": month_text(int(series.months[0])), "last": month_text(int(series.months[-1])),
        "values": [{"line": int(line), "date": d, "month": month_text(int(m)), "value": float(v),
                    "population": None if math.isnan(pop) else float(pop)}
                   for line, d, m, v, pop in zip(series.lines, series.dates, series.months,
                                                  series.values, series.population, strict=True)],
        "excluded": [{"line": line, "date": d, "value": v, "reason": r}
                     for line, d, v, r in series.excluded],
        "seed": None if series.seed is None else {
            "line": series.seed[0], "date": series.seed[1], "month": month_text(series.seed[2]),
            "value": series.seed[3],
            "note": "sets the initial adopters only; not scored, not counted in the fit measures "
                    "or the minimum number of points"},
        "dropped_missing": [{"line": line, "date": d, "text": t} for line, d, t in series.dropped],
    }


def _overlay(loaded: LoadedSpec, fit: dict[str, Any], params: list[dict[str, Any]]) -> str:
    spec = loaded.spec
    gof, quality = fit["goodness_of_fit"], fit["quality"]
    level = f"{round(100 * spec.method.interval)}%"
    lines = [
        f"# calibrated.toml — {spec.meta.name}: fitted values as a scenario overlay.",
        f"# {spec.meta.description}" if spec.meta.description else "#",
        f"# Fitted by `python run.py calibrate {loaded.path}` (budget {fit['budget']}) on "
        f"{fit['created_utc'][:10]}, coe-sim {__version__}.",
        f"# Data: {loaded.observed_path} (column {spec.observed.value_column}, "
        f"{fit['observed']['points']} points {fit['observed']['first']} to "
        f"{fit['observed']['last']}); sources in calibration/data/SOURCES.md.",
        f"# Method: {METHOD_NAMES[spec.method.kind]}.",
        f"# Fit: rmse {gof['rmse']:.4g}, r² {gof['r2']:.3f}; documented quality "
        f"{'met' if quality['passed'] else 'NOT met'}"
        + (f" ({', '.join(c['measure'] + ' ' + c['rule'] for c in quality['checks'])})."
           if quality["checks"] else "."),
        f"# Values are the best fit; comments give the posterior or bootstrap median and {level} "
        "interval.",
        "# Use it from a scenario with:  extends = \"<path to this file>\"  (then override as "
        "needed).",
    ]
    layer = [p for p in params if not p["model_parameter"]]
    for p in layer:
        lines.append(f"# Not a model parameter (calibration layer only): {p['path']} = "
                     f"{format_number(p['best'])} ({level} {format_number(p['lower'])}–"
                     f"{format_number(p['upper'])}).")
    for path, value in fit.get("derived", {}).items():
        lines.append(f"# Derived during the fit, not written here: {path} = {value} (the "
                     "initial adopters, ÷ m).")
    model = [p for p in params if p["model_parameter"]]
    if not model:
        lines += ["#", "# This fit informs no model parameter: the file sets nothing."]
        return "\n".join(lines) + "\n"
    sections: dict[str, list[str]] = defaultdict(list)
    skipped = []
    for p in model:
        if "[" in p["path"]:
            skipped.append(p["path"])
            continue
        section, key = p["path"].rsplit(".", 1)
        note = f"{level} {format_number(p['lower'])}–{format_number(p['upper'])}, median " \
               f"{format_number(p['median'])}"
        if not p["identified"]:
            note += f"; {p['identification'].upper()}: the data bound it weakly"
        if p["best_at_bound"]:
            note += "; at a bound"
        sections[section].append(f"{key} = {format_number(p['best'])}  # {note}")
    for path in skipped:
        lines.append(f"# {path} is in a list and cannot be an overlay: use --set {path}=VALUE.")
    for section, entries in sections.items():
        lines += ["", f"[{section}]", *entries]
    return "\n".join(lines) + "\n"


def _dates(start: int, count: int) -> list[str]:
    return [month_text(start + m) for m in range(count)]


def build_result(loaded: LoadedSpec, series: ObservedSeries, budget: str, problem: Problem | None,
                 fitted: Fitted | None, *, bands: dict[str, np.ndarray] | None = None,
                 extras: dict[str, Any] | None = None, trend: dict[str, Any] | None = None,
                 months_out: np.ndarray | None = None, seconds: float = 0.0,
                 workers: int = 1) -> CalibrationResult:
    """Assemble the :class:`CalibrationResult` of a finished fit."""
    spec = loaded.spec
    extras = dict(extras or {})
    bands = bands or {}
    level = spec.method.interval
    y = series.values
    observed_rows = pd.DataFrame({"date": list(series.dates),
                                  "month": [month_text(int(m)) for m in series.months],
                                  "value": y, "used": True, "note": ""})
    fit: dict[str, Any] = {
        "name": spec.meta.name, "description": spec.meta.description, "spec": str(loaded.path),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"), "version": __version__,
        "budget": budget, "observed": _observed_block(loaded, series),
    }
    warnings: list[str] = []
    if trend is not None:
        assert months_out is not None
        mu = trend["fitted"]
        gof = goodness_of_fit(y, mu)
        alpha = (1 - level) / 2
        slope = trend["slope_draws"]
        last = y[-1]
        fit["method"] = {"kind": "trend", "name": METHOD_NAMES["trend"], "interval": level,
                         "bootstrap": len(slope), "seconds": seconds}
        fit["parameters"] = []
        extras["trend"] = {
            "slope_logit_per_year": trend["slope_logit_per_year"],
            "slope_interval": [float(np.quantile(slope, alpha)),
                               float(np.quantile(slope, 1 - alpha))],
            "odds_ratio_per_year": math.exp(trend["slope_logit_per_year"]),
            "share_change_per_year_at_last_point": float(
                trend["slope_logit_per_year"] * last * (1 - last)),
            "centre_year": trend["centre_year"],
        }
        simulated = pd.DataFrame({"month": [month_text(int(m)) for m in months_out],
                                  "median": trend["curve"],
                                  "outer_lower": np.quantile(trend["band"], alpha, axis=0),
                                  "outer_upper": np.quantile(trend["band"], 1 - alpha, axis=0)})
        observed_rows["fitted"] = mu
        fit["distribution"] = None
    else:
        assert fitted is not None
        params = _parameters(loaded, fitted)
        like = fitted.likelihood
        if like is not None:
            mu = like.mean
        else:  # closed form without a model check: the fitted constant rate
            mu = np.full_like(y, extras.get("observed_mean_rate", fitted.best[0]))
        gof = goodness_of_fit(y, mu)
        observed_rows["fitted"] = mu
        fit["model"] = None if spec.model is None or problem is None else {
            "scenario": str(loaded.scenario_path), "overrides": list(spec.model.overrides),
            "metric": spec.model.metric, "denominator": spec.model.denominator,
            "window_months": spec.model.window_months, "aggregate": spec.model.aggregate,
            "start": problem.base["time"]["start"],
            "horizon_months": problem.base["time"]["horizon_months"],
            "replicates": problem.replicates, "seed": problem.seed,
            "initial_adopters": spec.model.initial_adopters,
        }
        fit["method"] = {"kind": spec.method.kind, "name": METHOD_NAMES[spec.method.kind],
                         "interval": level, "seed": spec.method.seed,
                         "model_evaluations": fitted.evaluations, "workers": workers,
                         "seconds": seconds, **fitted.details}
        fit["loss"] = {"kind": spec.loss.kind, "model_variance": spec.loss.model_variance,
                       "dispersion": spec.loss.dispersion,
                       "dispersion_prior": {"dof": spec.loss.prior_dof,
                                            "value": spec.loss.dispersion_prior_value},
                       "dispersion_fitted": None if like is None else like.dispersion,
                       "log_likelihood": None if like is None else like.log_likelihood}
        fit["parameters"] = params
        if problem is not None:
            derived = {k: v for k, v in problem.overrides(fitted.best).items()
                       if k not in problem.paths}
            if derived:
                fit["derived"] = {k: round(v, 6) for k, v in derived.items()}
        if fitted.samples.shape[1] > 1 and len(fitted.samples) > 2:
            scaled = np.column_stack([np.log(np.maximum(col, 1e-300)) if p.scale == "log" else col
                                      for col, p in zip(fitted.samples.T, spec.parameters,
                                                        strict=True)])
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.corrcoef(scaled, rowvar=False)
            fit["correlation"] = {
                "scale": "log for log-scale parameters, else linear",
                "parameters": [p.path for p in spec.parameters],
                "matrix": [[None if not np.isfinite(v) else round(float(v), 3) for v in row]
                           for row in corr]}
        fit["distribution"] = {
            "kind": fitted.distribution_kind, "source": spec.meta.name,
            "parameters": [p.path for p in spec.parameters],
            "samples": [[float(f"{v:.6g}") for v in row] for row in fitted.samples],
        }
        for p in params:
            if not p["identified"]:
                warnings.append(f"{p['path']}: {p['identification']} — the {round(100 * level)}% "
                                f"interval covers {100 * p['interval_share_of_bounds']:.0f}% of "
                                "its bounds")
            if p["best_at_bound"]:
                warnings.append(f"{p['path']}: the best fit is at a bound ({p['bounds']})")
            if not p["lower"] <= p["best"] <= p["upper"]:
                warnings.append(f"{p['path']}: the best fit ({p['best']:.4g}) lies outside the "
                                f"{round(100 * level)}% interval: the likelihood is nearly flat "
                                "along a ridge, and the prior decides where the posterior sits")
        ess = fitted.details.get("effective_sample_size")
        if ess is not None and ess < 30:
            warnings.append(f"effective sample size {ess:.0f} is small: intervals are rough; use "
                            "--budget full or raise method.full.evaluations")
        if "outer_at_observed" in bands and like is not None:
            noise_sd = np.sqrt(np.maximum(like.observation_variance, 0))
            draws = bands["outer_at_observed"]
            generator = np.random.Generator(np.random.PCG64(spec.method.seed))
            noisy = draws + generator.standard_normal(draws.shape) * noise_sd
            alpha = (1 - level) / 2
            lo, hi = np.quantile(noisy, alpha, axis=0), np.quantile(noisy, 1 - alpha, axis=0)
            observed_rows["lower"], observed_rows["upper"] = lo, hi
            gof["coverage"] = float(np.mean((y >= lo) & (y <= hi)))
            gof["coverage_level"] = level
        simulated = pd.DataFrame()
        if bands and problem is not None:
            start = month_number(*map(int, problem.base["time"]["start"].split("-")))
            count = len(bands["median"])
            simulated = pd.DataFrame({"month": _dates(start, count), "model_month": range(count),
                                      **{k: v for k, v in bands.items()
                                         if k != "outer_at_observed"}})
        group_band = extras.pop("group_band", None)
        if group_band:
            observed_rows["spread_lower"] = group_band["lower"]
            observed_rows["spread_upper"] = group_band["upper"]
    fit["goodness_of_fit"] = gof
    skill = extras.pop("skill", None)
    if skill is not None:
        fit["skill"] = skill
        warnings.extend(_skill_warnings(skill))
    if "coverage" in gof:
        check = _predictive_check(y, observed_rows["lower"].to_numpy(),
                                  observed_rows["upper"].to_numpy(), level)
        fit["predictive_check"] = check
        if check["flag"]:
            warnings.append(check["summary"])
    fit["quality"] = _quality(loaded, gof)
    if not fit["quality"]["passed"]:
        warnings.append("the documented fit quality is not met: " + "; ".join(
            f"{c['measure']} {c['value']:.4g} (needs {c['rule']})"
            for c in fit["quality"]["checks"] if not c["passed"]))
    fit["warnings"] = warnings
    fit["extras"] = extras
    year_month = spec.observed.year_only_month
    excluded = pd.DataFrame([{"date": d, "month": month_text(_month_of(d, year_month)),
                              "value": v, "used": False, "note": f"excluded: {r}"}
                             for _, d, v, r in series.excluded])
    if series.seed is not None:
        line, date, month, value, _pop = series.seed
        excluded = pd.concat([excluded, pd.DataFrame([{
            "date": date, "month": month_text(month), "value": value, "used": False,
            "note": "seed: sets the initial adopters; not scored"}])], ignore_index=True)
    observed_table = pd.concat([observed_rows, excluded], ignore_index=True) if len(excluded) \
        else observed_rows
    observed_table = observed_table.sort_values("month", kind="stable").reset_index(drop=True)
    chart = _chart_info(loaded, fit)
    return CalibrationResult(name=spec.meta.name, fit=fit,
                             overlay=_overlay(loaded, fit, fit["parameters"]),
                             observed=observed_table, simulated=simulated, chart=chart,
                             spec_text=loaded.text)


def _skill_warnings(skill: dict[str, Any]) -> list[str]:
    out = skill["out_of_sample"]
    if not out["computed"]:
        return [f"skill out of sample not computed: {out.get('reason', '')}"]
    if out["beats_both"]:
        return []
    return [f"the fit does NOT beat the naive baselines out of sample (last "
            f"{out['held_out']} point(s) predicted from the first {out['training_points']}): "
            f"rmse {out['model_rmse']:.3g} against a straight line's {out['line_rmse']:.3g} "
            f"and the last value's {out['persistence_rmse']:.3g}"]


def _predictive_check(y: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                      level: float) -> dict[str, Any]:
    """Observations outside the predictive band, against the band's level: flagged when more
    fall outside than the level allows; the binomial tail says how surprising that is."""
    from scipy import stats

    outside = int(np.sum((y < lower) | (y > upper)))
    n = len(y)
    expected = (1 - level) * n
    tail = float(stats.binom.sf(outside - 1, n, 1 - level)) if outside else 1.0
    flag = outside > expected
    summary = (f"posterior predictive check: {outside} of {n} observations outside the "
               f"{round(100 * level)}% predictive band (expected {expected:.1f}; chance of so "
               f"many if the model were right {tail:.2g})")
    return {"outside": outside, "points": n, "expected_outside": expected,
            "binomial_tail": tail, "flag": bool(flag), "summary": summary}


def _month_of(date: str, year_only_month: int) -> int:
    from sim.experiments.calibration.observed import parse_date

    month = parse_date(date, year_only_month)
    return month if month is not None else 0


def _chart_info(loaded: LoadedSpec, fit: dict[str, Any]) -> dict[str, Any]:
    spec = loaded.spec
    kind = spec.observed.kind
    gof = fit["goodness_of_fit"]
    level = round(100 * spec.method.interval)
    quality = (f"r² {gof['r2']:.2f}, rmse {gof['rmse']:.3g}"
               if gof["r2"] == gof["r2"] and spec.method.kind != "closed_form"
               else f"rmse {gof['rmse']:.3g}")
    if spec.method.kind == "trend":
        t = fit["extras"]["trend"]
        change = 100 * t["share_change_per_year_at_last_point"]
        headline = (f"{spec.meta.name}: the share rises {change:.1f} "
                    f"points a year ({quality}); informs no model parameter")
    else:
        parts = []
        for p in fit["parameters"][:4]:
            if p["identified"]:
                parts.append(f"{_label(p['path'])} = {p['best']:.3g} ({p['lower']:.3g}–"
                             f"{p['upper']:.3g})")
            else:
                parts.append(f"{_label(p['path'])} {p['lower']:.2g}–{p['upper']:.2g} "
                             f"({p['identification']})")
        headline = f"{spec.meta.name}: " + ", ".join(parts) + f" — {quality}"
    out = (fit.get("skill") or {}).get("out_of_sample", {})
    if out.get("computed"):
        headline += ("; beats a straight line and the last value out of sample"
                     if out["beats_both"] else
                     "; does NOT beat the naive baselines out of sample")
    check = fit.get("predictive_check")
    if check:
        headline += (f"; {check['outside']} of {check['points']} points outside the "
                     f"{level}% predictive band" + (" (MORE than expected)" if check["flag"]
                                                     else ""))
    ylabel = {"count": "LAs", "share": "share of LAs", "rate": "rate per year"}[kind]
    return {
        "title": headline,
        "subtitle": spec.meta.description,
        "ylabel": ylabel,
        "percent": kind in ("share", "rate"),
        "mean_label": ("model (simulation) at the best fit: mean of replicates, the check"
                       if spec.method.kind == "bass" else
                       "model at the best fit: mean of replicates (what is fitted)"),
        "median_label": ("closed-form Bass curve at the best fit (what is fitted)"
                         if spec.method.kind == "bass" else
                         "model at the best fit (median of replicates)"
                         if spec.method.kind != "trend" else "logit-linear trend"),
        "inner_label": "model noise at the best fit (10–90% of replicates)",
        "outer_label": (f"parameter uncertainty + model noise ({level}%)"
                        if spec.method.kind in ("abc", "least_squares", "differential_evolution")
                        else f"parameter uncertainty of the curve ({level}%)"
                        if spec.method.kind == "bass"
                        else f"{level}% interval of the fitted value"
                        if spec.method.kind == "closed_form"
                        else f"{level}% bootstrap band"),
        "spread_label": f"{level}% of LAs in each year",
        "predictive_label": f"{level}% predictive interval at each point (parameters + "
                            "observation noise)",
        "footer": (f"Data: {loaded.observed_path} · method {spec.method.kind}, "
                   f"budget {fit['budget']}"
                   + (f", {fit['model']['replicates']} replicates per run, "
                      f"seed {fit['model']['seed']}"
                      if fit.get("model") else "")),
    }
