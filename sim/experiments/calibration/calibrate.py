"""Run a calibration spec: read the data, fit, measure the fit, and describe the result.

:func:`calibrate` returns a :class:`CalibrationResult` of plain data (the ``fit.json``
dictionary, the ``calibrated.toml`` text and two tables for the fit chart); writing files and
drawing the chart is left to :mod:`sim.outputs.calibration_charts`.
"""

from __future__ import annotations

import functools
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.data import load_la_population
from sim.experiments.calibration.closed_form import (
    _group_table,
    describe_columns,
    group_spread,
    rate_bootstrap,
    rate_to_hazard,
    trend_fit,
)
from sim.experiments.calibration.objective import (
    Evaluator,
    Likelihood,
    Problem,
    evaluator,
    log_likelihood,
    variance_function,
)
from sim.experiments.calibration.observed import (
    ObservedSeries,
    month_number,
    month_text,
    read_observed,
    read_rows,
)
from sim.experiments.calibration.optimise import (
    bootstrap_refits,
    fit_differential_evolution,
    fit_least_squares,
)
from sim.experiments.calibration.posterior import polish, sample_posterior
from sim.experiments.calibration.report import CalibrationResult, build_result
from sim.experiments.calibration.spec import CalibrationError, LoadedSpec
from sim.experiments.executors import Executor, default_workers
from sim.scenario import ScenarioError, load_scenario

__all__ = ["CalibrationInterrupted", "Fitted", "calibrate"]

PROGRESS = Callable[[str], None]


class CalibrationInterrupted(Exception):
    """Ctrl-C stopped a fit part-way: nothing was written (a fit stopped early has no valid
    interval or posterior to keep).

    Attributes
    ----------
    evaluations : candidates simulated before the stop.
    seconds : time spent fitting.
    """

    def __init__(self, name: str, evaluations: int, seconds: float):
        self.evaluations = evaluations
        self.seconds = seconds
        super().__init__(f"calibration {name} stopped by Ctrl-C after {evaluations:,} model "
                         f"evaluations ({seconds:.0f} s); nothing written")


@dataclass
class Fitted:
    """What a method found, before it is described (see :func:`build_result`).

    ``best`` and ``samples`` are parameter values (not unit-cube points); ``samples`` are joint
    draws from the posterior or the bootstrap; ``quantiles`` float[k, 3] are lower, median and
    upper of the central interval.
    """

    best: np.ndarray
    samples: np.ndarray
    quantiles: np.ndarray
    distribution_kind: str
    evaluations: int
    details: dict[str, Any]
    likelihood: Likelihood | None = None


def _rng(seed: int, name: str) -> np.random.Generator:
    sequence = np.random.SeedSequence([seed, zlib.crc32(name.encode())])
    return np.random.Generator(np.random.PCG64(sequence))


def _min_points(loaded: LoadedSpec) -> tuple[int, str]:
    spec = loaded.spec
    kind = spec.method.kind
    k = len(spec.parameters)
    if kind == "closed_form":
        return 2, "a mean and its bootstrap need two dates"
    if kind == "trend":
        return 3, "a two-coefficient trend needs a residual"
    return max(3, k + 1), f"{k} parameter{'s' if k != 1 else ''} plus one"


def read_series(loaded: LoadedSpec) -> ObservedSeries:
    """The spec's observed series, checked (see :func:`read_observed`)."""
    count, why = _min_points(loaded)
    return read_observed(loaded.spec.observed, loaded.observed_path, loaded.source,
                         min_points=count, needed_for=why,
                         default_population=float(load_la_population().count))


def build_problem(loaded: LoadedSpec, series: ObservedSeries, replicates: int) -> Problem:
    """The fitting problem: resolved scenario, observation months and operator."""
    spec = loaded.spec
    model = spec.model
    assert model is not None and loaded.scenario_path is not None
    start = (month_number(*map(int, model.start.split("-"))) if model.start
             else int(series.months[0]))
    months = series.months - start
    if months[0] < 0:
        raise CalibrationError(loaded.source, "model.start",
                               f"must be on or before the first observation "
                               f"({month_text(int(series.months[0]))}), got {model.start!r}")
    if months[0] < model.window_months - 1:
        raise CalibrationError(loaded.source, "model.start",
                               f"must be at least window_months − 1 = {model.window_months - 1} "
                               f"months before the first observation "
                               f"({month_text(int(series.months[0]))}), got "
                               f"{model.start or month_text(start)!r}")
    horizon = max(12, int(months[-1]) + 1)
    try:
        scenario = load_scenario(loaded.scenario_path, [
            *model.overrides, f'time.start="{month_text(start)}"',
            f"time.horizon_months={horizon}"])
    except ScenarioError as exc:
        raise CalibrationError(loaded.source, "model", f"scenario does not load over the observed "
                               f"span ({month_text(start)}, {horizon} months): {exc}") from None
    params = spec.parameters
    initial = None
    if model.initial_adopters == "first_observation":
        initial = float(series.values[0] / (series.population[0] if spec.observed.kind == "count"
                                            else 1.0))
    return Problem(
        base=scenario.model_dump(mode="json", exclude_none=True),
        las=load_la_population(),
        replicates=replicates,
        seed=model.seed,
        paths=tuple(p.path for p in params),
        lower=np.array([p.lower for p in params], dtype=float),
        upper=np.array([p.upper for p in params], dtype=float),
        log=np.array([p.scale == "log" for p in params]),
        metric=model.metric,
        denominator=model.denominator,
        window=model.window_months,
        aggregate=model.aggregate,
        scale=model.scale,
        kind=spec.observed.kind,
        months=months.astype(int),
        population=series.population,
        initial_share=initial,
    )


def _scorer(loaded: LoadedSpec, series: ObservedSeries) -> Callable[[np.ndarray], Likelihood]:
    loss = loaded.spec.loss
    variance_of = _variance_of(loaded, series)

    def score(simulated: np.ndarray) -> Likelihood:
        mu = simulated.mean(axis=0)
        return log_likelihood(series.values, simulated, variance_of(mu), loss.dispersion,
                              loss.model_variance, loss.prior_dof, loss.dispersion_prior_value)

    return score


def _variance_of(loaded: LoadedSpec, series: ObservedSeries) -> Callable[[np.ndarray], np.ndarray]:
    return functools.partial(variance_function, loaded.spec.loss.kind, population=series.population,
                             weights=series.weights, observed_kind=loaded.spec.observed.kind)


# --------------------------------------------------------------------------- methods


def _fit_abc(loaded: LoadedSpec, problem: Problem, ev: Evaluator, score: Callable[..., Likelihood],
             budget: Any, say: PROGRESS) -> Fitted:
    rng = _rng(loaded.spec.method.seed, "abc")
    k = problem.dimension
    rounds_done = 0

    def batch(z: np.ndarray) -> np.ndarray:
        nonlocal rounds_done
        rounds_done += 1
        say(f"  round {rounds_done}/{budget.rounds}: {len(z)} candidates × "
            f"{problem.replicates} replicates")
        return np.array([score(s).log_likelihood for s in ev.observables(
            [problem.to_theta(x) for x in z])])

    post = sample_posterior(batch, k, budget.evaluations, budget.rounds, rng,
                            draws=budget.posterior_samples)
    start = post.z[int(np.argmax(post.log_likelihood))]
    best_z, _ = polish(lambda z: -score(ev.observables([problem.to_theta(z)])[0]).log_likelihood,
                       start, budget.polish)
    samples = problem.to_theta(post.draws)
    alpha = (1 - loaded.spec.method.interval) / 2
    quantiles = np.quantile(samples, [alpha, 0.5, 1 - alpha], axis=0).T
    return Fitted(best=problem.to_theta(best_z), samples=samples, quantiles=quantiles,
                  distribution_kind="posterior draws (adaptive importance sampling, "
                                    "kernel-smoothed resample)",
                  evaluations=ev.evaluations,
                  details={"effective_sample_size": post.ess, "candidates": len(post.z),
                           "rounds": budget.rounds, "polish_evaluations": budget.polish})


def _fit_optimiser(loaded: LoadedSpec, problem: Problem, ev: Evaluator,
                   score: Callable[..., Likelihood], series: ObservedSeries, budget: Any,
                   say: PROGRESS) -> Fitted:
    spec = loaded.spec
    rng = _rng(spec.method.seed, spec.method.kind)
    variance_of = _variance_of(loaded, series)
    k = problem.dimension
    if spec.method.kind == "least_squares":
        say(f"  least squares: up to {budget.evaluations} evaluations")

        def residuals(z: np.ndarray) -> np.ndarray:
            mu = ev.observables([problem.to_theta(z)])[0].mean(axis=0)
            return (series.values - mu) / np.sqrt(variance_of(mu))

        fit = fit_least_squares(residuals, np.full(k, 0.5), budget.evaluations)
    else:
        say(f"  differential evolution: about {budget.evaluations} evaluations")

        def negative_ll(points: np.ndarray) -> np.ndarray:
            sims = ev.observables([problem.to_theta(z) for z in points])
            return np.array([-score(s).log_likelihood for s in sims])

        fit = fit_differential_evolution(negative_ll, k, budget.evaluations, rng)
    like = score(ev.observables([problem.to_theta(fit.z)])[0])
    say(f"  bootstrap: {budget.bootstrap} refits")
    sd = np.sqrt(np.maximum(like.variance, 1e-12))
    refits = bootstrap_refits(ev, series.values, like.mean, sd, fit.z, budget.bootstrap,
                              max(8, budget.evaluations // 2), variance_of, k, rng)
    samples = problem.to_theta(refits)
    alpha = (1 - spec.method.interval) / 2
    quantiles = np.quantile(samples, [alpha, 0.5, 1 - alpha], axis=0).T
    return Fitted(best=problem.to_theta(fit.z), samples=samples, quantiles=quantiles,
                  distribution_kind="parametric bootstrap refits",
                  evaluations=ev.evaluations + budget.bootstrap * max(8, budget.evaluations // 2),
                  details={"optimiser_evaluations": fit.evaluations,
                           "bootstrap_refits": budget.bootstrap})


def _fit_closed_form(loaded: LoadedSpec, series: ObservedSeries,
                     budget: Any) -> tuple[Fitted, dict[str, Any]]:
    spec = loaded.spec
    method, observed = spec.method, spec.observed
    rng = _rng(method.seed, "closed_form")
    groups = None
    group_rows = None
    if method.spread_filter:
        if not method.group_column:
            raise CalibrationError(loaded.source, "method.group_column",
                                   "is required with method.spread_filter")
        columns = {"observed.date_column": observed.date_column,
                   "observed.value_column": observed.value_column,
                   "method.group_column": method.group_column}
        if observed.weight_column:
            columns["observed.weight_column"] = observed.weight_column
        group_rows = read_rows(loaded.observed_path, columns, loaded.source, method.spread_filter,
                               "method.spread_filter")
        groups = _group_table(group_rows, observed.date_column, method.group_column,
                              observed.value_column, observed.weight_column, observed.value_scale,
                              observed.year_only_month)
    rate = float(series.values.mean())
    draws = rate_bootstrap(series, groups, budget.bootstrap, rng)
    convert = rate_to_hazard if method.rate_to_hazard else (lambda x: x)
    value, samples = float(convert(rate)), np.asarray(convert(draws), dtype=float)
    alpha = (1 - method.interval) / 2
    quantiles = np.quantile(samples, [alpha, 0.5, 1 - alpha])[None, :]
    national = read_rows(loaded.observed_path, {}, loaded.source, observed.filter)
    extras = {
        "observed_mean_rate": rate,
        "rate_to_hazard": method.rate_to_hazard,
        "spread_across_groups": group_spread(groups) if groups is not None else {},
        "related_rates": describe_columns(national, group_rows, list(method.describe_columns),
                                          observed.date_column, method.group_column,
                                          observed.value_scale, observed.year_only_month),
        "group_band": _group_band(groups, series, alpha) if groups is not None else None,
    }
    fitted = Fitted(best=np.array([value]), samples=samples[:, None], quantiles=quantiles,
                    distribution_kind="bootstrap of the mean over dates and groups",
                    evaluations=0, details={"bootstrap_draws": budget.bootstrap})
    return fitted, extras


def _group_band(groups: pd.DataFrame, series: ObservedSeries, alpha: float) -> dict[str, list]:
    lower, upper = [], []
    for month in series.months:
        values = groups.loc[groups["month"] == month, "value"]
        lower.append(float(values.quantile(alpha)) if len(values) else np.nan)
        upper.append(float(values.quantile(1 - alpha)) if len(values) else np.nan)
    return {"lower": lower, "upper": upper}


def _quiet(function: Callable[..., np.ndarray], *args: Any, **kwargs: Any) -> np.ndarray:
    """A nan-aware reduction without warnings for all-NaN months (incomplete windows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args, **kwargs)


def _monthly(problem: Problem, task: tuple[np.ndarray, int]) -> np.ndarray:
    theta, replicates = task
    return problem.monthly(theta, replicates)


def _model_bands(problem: Problem, ev: Evaluator, fitted: Fitted, budget: Any,
                 interval: float) -> dict[str, np.ndarray]:
    """Monthly simulated median and bands at the best fit, and over parameter draws."""
    alpha = (1 - interval) / 2
    best = problem.monthly(fitted.best)
    out = {"median": _quiet(np.nanmedian, best, axis=0), "mean": _quiet(np.nanmean, best, axis=0),
           "lower": _quiet(np.nanquantile, best, 0.1, axis=0),
           "upper": _quiet(np.nanquantile, best, 0.9, axis=0)}
    draws = min(budget.band_draws, len(fitted.samples))
    if draws:
        picks = np.linspace(0, len(fitted.samples) - 1, draws).round().astype(int)
        each = max(5, problem.replicates // 4)
        runs = ev.map(_monthly, [(fitted.samples[i], each) for i in picks])
        pooled = np.vstack(runs)
        out["outer_lower"] = _quiet(np.nanquantile, pooled, alpha, axis=0)
        out["outer_upper"] = _quiet(np.nanquantile, pooled, 1 - alpha, axis=0)
        out["outer_at_observed"] = pooled[:, problem.months]
    return out


# --------------------------------------------------------------------------- entry point


def calibrate(loaded: LoadedSpec, budget: str = "full", workers: int | None = None,
              progress: PROGRESS | None = None, *,
              executor: Executor | None = None) -> CalibrationResult:
    """Fit the spec and return everything to report (see :class:`CalibrationResult`).

    Parameters
    ----------
    loaded : a spec from :func:`load_spec` (or :func:`with_observed`).
    budget : ``small`` (CI: well under a minute) or ``full``.
    workers : processes for model runs on this machine (default: the CPUs available).
    progress : called with one line of text per stage (e.g. ``click.echo``).
    executor : where to run the candidates instead (e.g. ``make_executor("dask", scheduler=…)``
        from :mod:`sim.experiments.executors`); left open for the caller. The fit is the same
        on any executor.

    Raises
    ------
    CalibrationInterrupted
        On Ctrl-C (KeyboardInterrupt) while fitting: the workers are stopped, nothing is kept.
    """
    say = progress or (lambda _text: None)
    spec = loaded.spec
    plan = spec.budget(budget)
    started = time.perf_counter()
    series = read_series(loaded)
    kind = spec.method.kind
    extras: dict[str, Any] = {}
    bands: dict[str, np.ndarray] = {}
    problem: Problem | None = None
    if kind == "trend":
        months_out = np.arange(int(series.months[0]), int(series.months[-1]) + 1)
        trend = trend_fit(series, plan.bootstrap, _rng(spec.method.seed, "trend"), months_out)
        result = build_result(loaded, series, budget, None, None, trend=trend,
                              months_out=months_out, seconds=time.perf_counter() - started)
        return result
    if executor is not None:
        workers = executor.workers
    else:
        workers = default_workers() if workers is None else max(1, workers)
    used: list[Evaluator] = []  # the evaluator in use, for the count after a Ctrl-C
    try:
        if kind == "closed_form":
            fitted, extras = _fit_closed_form(loaded, series, plan)
            if spec.model is not None:
                problem = build_problem(loaded, series, plan.replicates)
                with evaluator(problem, 1) as ev:
                    used.append(ev)
                    simulated = ev.observables([fitted.best])[0]
                    fitted.likelihood = _scorer(loaded, series)(simulated)
                    best = problem.monthly(fitted.best)
                    low, high = fitted.quantiles[0, 0], fitted.quantiles[0, 2]
                    bands = {
                        "median": _quiet(np.nanmedian, best, axis=0),
                        "lower": _quiet(np.nanquantile, best, 0.1, axis=0),
                        "upper": _quiet(np.nanquantile, best, 0.9, axis=0),
                        "outer_lower": _quiet(np.nanmedian, problem.monthly(np.array([low])),
                                              axis=0),
                        "outer_upper": _quiet(np.nanmedian, problem.monthly(np.array([high])),
                                              axis=0),
                    }
                    fitted.evaluations = ev.evaluations + 3
        else:
            problem = build_problem(loaded, series, plan.replicates)
            score = _scorer(loaded, series)
            where = (executor.describe() if executor is not None
                     else f"{workers} worker{'s' if workers != 1 else ''}")
            say(f"Fitting {spec.meta.name}: {kind}, budget {budget}, {where}")
            with evaluator(problem, min(workers, plan.evaluations), executor=executor) as ev:
                used.append(ev)
                if kind == "abc":
                    fitted = _fit_abc(loaded, problem, ev, score, plan, say)
                else:
                    fitted = _fit_optimiser(loaded, problem, ev, score, series, plan, say)
                fitted.likelihood = score(ev.observables([fitted.best])[0])
                say("  simulating the fit chart's bands")
                bands = _model_bands(problem, ev, fitted, plan, spec.method.interval)
    except KeyboardInterrupt:
        done = used[-1].evaluations if used else 0
        raise CalibrationInterrupted(spec.meta.name, done,
                                     time.perf_counter() - started) from None
    return build_result(loaded, series, budget, problem, fitted, bands=bands, extras=extras,
                        seconds=time.perf_counter() - started, workers=workers)
