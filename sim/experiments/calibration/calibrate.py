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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.data import load_la_population
from sim.experiments.calibration.bass import BassPrior, curve_counts, fit_bass
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
from sim.experiments.calibration.skill import skill_report
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
    candidates: list[np.ndarray] | None = None
    """abc: the simulated observables float[R, n] of every candidate (for the out-of-sample
    check); bass: None."""
    predict_later: Callable[[int], np.ndarray | None] | None = None
    """Refit on the first k points and predict the rest (see :mod:`.skill`)."""


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
    count, why = max(3, k + 1), f"{k} parameter{'s' if k != 1 else ''} plus one"
    if spec.model is not None and spec.model.initial_adopters == "first_observation":
        # the seed sets the initial adopters: it is not a data point (issue #16)
        return count + 1, f"{why}, after the first point, which only seeds the model"
    return count, why


def read_series(loaded: LoadedSpec) -> ObservedSeries:
    """The spec's observed series, checked (see :func:`read_observed`); with
    ``model.initial_adopters = "first_observation"`` its first point is the seed
    (:attr:`ObservedSeries.seed`), not a data point."""
    count, why = _min_points(loaded)
    series = read_observed(loaded.spec.observed, loaded.observed_path, loaded.source,
                           min_points=count, needed_for=why,
                           default_population=float(load_la_population().count))
    model = loaded.spec.model
    if model is not None and model.initial_adopters == "first_observation":
        return series.without_first()
    return series


def build_problem(loaded: LoadedSpec, series: ObservedSeries, replicates: int) -> Problem:
    """The fitting problem: resolved scenario, observation months and operator."""
    spec = loaded.spec
    model = spec.model
    assert model is not None and loaded.scenario_path is not None
    start = (month_number(*map(int, model.start.split("-"))) if model.start
             else series.first_month)
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
    if series.seed is not None:
        _line, _date, _month, value, population = series.seed
        initial = float(value / (population if spec.observed.kind == "count" else 1.0))
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
        sims = ev.observables([problem.to_theta(x) for x in z])
        candidates.extend(sims)  # kept for the out-of-sample check (skill)
        return np.array([score(s).log_likelihood for s in sims])

    candidates: list[np.ndarray] = []

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
                           "rounds": budget.rounds, "polish_evaluations": budget.polish},
                  candidates=candidates)


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


BASS_NAMES = {"uptake.p_per_year": "p", "uptake.q_per_year": "q",
              "calibration.market_share": "m", "calibration.initial_share": "a0"}
"""Spec parameter → closed-form Bass parameter (:mod:`.bass`)."""


def _bass_prior(loaded: LoadedSpec, problem: Problem) -> tuple[BassPrior, list[int]]:
    """The closed-form prior of a ``bass`` spec, and for each spec parameter its position
    among the closed form's fitted parameters."""
    uptake = problem.base.get("uptake", {})
    values: dict[str, Any] = {"p": float(uptake.get("p_per_year", 0.0)),
                              "q": float(uptake.get("q_per_year", 0.0)), "m": 1.0,
                              "a0": problem.initial_share or 0.0}
    logs = []
    for p in loaded.spec.parameters:
        name = BASS_NAMES[p.path]
        values[name] = (p.lower, p.upper)
        if p.scale == "log":
            logs.append(name)
    prior = BassPrior(p=values["p"], q=values["q"], m=values["m"], a0=values["a0"],
                      log=tuple(logs))
    order = [prior.names.index(BASS_NAMES[p.path]) for p in loaded.spec.parameters]
    return prior, order


def _bass_times(months: np.ndarray) -> np.ndarray:
    """Years since the start of the model month index (metric values are month-end states)."""
    return (np.asarray(months, dtype=float) + 1) / 12.0


def _fit_bass(loaded: LoadedSpec, problem: Problem, series: ObservedSeries, budget: Any,
              prior: BassPrior, order: list[int],
              say: PROGRESS) -> tuple[Fitted, Callable[[int], np.ndarray | None]]:
    """The closed-form Bass curve in place of the simulation (the uptake-only model is Bass:
    tests/model/test_uptake_bass.py), with :func:`_bass_prior`'s prior and order; the model is
    run at the best fit as a check."""
    spec = loaded.spec
    loss = spec.loss
    settings = {"loss": loss.kind, "prior_dof": loss.prior_dof,
                "prior_value": loss.dispersion_prior_value, "interval": spec.method.interval,
                "per_round": 10 * budget.evaluations, "rounds": budget.rounds + 1,
                "polish_evaluations": 10 * max(budget.polish, 10),
                "draws": budget.posterior_samples, "seed": spec.method.seed}
    t = _bass_times(problem.months)
    say(f"  closed-form Bass: {settings['rounds']} rounds of {settings['per_round']} candidates")
    fit = fit_bass(t, series.values, series.population, prior, **settings)

    def predict_later(keep: int) -> np.ndarray:
        early = fit_bass(t[:keep], series.values[:keep], series.population[:keep], prior,
                         **settings)
        # the posterior predictive median: sturdier than the mode when the early points do
        # not yet show the ceiling
        return np.median(curve_counts(early.samples, prior, t[keep:], series.population[keep:]),
                         axis=0)

    return Fitted(best=fit.best[order], samples=fit.samples[:, order],
                  quantiles=fit.quantiles[order],
                  distribution_kind="posterior draws of the closed-form Bass curve (adaptive "
                                    "importance sampling, kernel-smoothed resample)",
                  evaluations=fit.evaluations,
                  details={"effective_sample_size": fit.ess, "surrogate": "closed-form Bass "
                           "curve (mean field); the model is run at the best fit as a check"}
                  ), predict_later


def _bass_bands(problem: Problem, ev: Evaluator, fitted: Fitted, prior: BassPrior,
                order: list[int], budget: Any, interval: float) -> dict[str, np.ndarray]:
    """Chart bands of a closed-form fit: the curve at the best fit and over posterior draws;
    the model's own mean and noise at the best fit (the check)."""
    alpha = (1 - interval) / 2
    horizon = problem._horizon()
    t = _bass_times(np.arange(horizon))
    population = np.interp(np.arange(horizon), problem.months, problem.population)
    inverse = np.argsort(order)
    samples = fitted.samples[:, inverse]
    picks = np.linspace(0, len(samples) - 1, min(400, len(samples))).round().astype(int)
    curves = curve_counts(samples[picks], prior, t, population)
    model = problem.monthly(fitted.best)
    return {
        "median": curve_counts(fitted.best[inverse], prior, t, population)[0],
        "mean": _quiet(np.nanmean, model, axis=0),
        "lower": _quiet(np.nanquantile, model, 0.1, axis=0),
        "upper": _quiet(np.nanquantile, model, 0.9, axis=0),
        "outer_lower": np.quantile(curves, alpha, axis=0),
        "outer_upper": np.quantile(curves, 1 - alpha, axis=0),
        "outer_at_observed": curves[:, problem.months],
    }


def _abc_predictor(loaded: LoadedSpec, series: ObservedSeries,
                   fitted: Fitted) -> Callable[[int], np.ndarray | None]:
    """Out of sample for a simulation fit without a second fit: among the candidates already
    simulated, the one with the highest likelihood on the first ``keep`` points predicts the
    rest (the candidates were proposed using every point, a small leak: docs/calibration.md)."""
    loss = loaded.spec.loss
    observed_kind = loaded.spec.observed.kind

    def predict(keep: int) -> np.ndarray | None:
        if not fitted.candidates:
            return None
        y = series.values[:keep]
        best, best_ll = None, -np.inf
        for sims in fitted.candidates:
            mu = sims[:, :keep].mean(axis=0)
            v = variance_function(loss.kind, mu, series.population[:keep],
                                  series.weights[:keep], observed_kind)
            ll = log_likelihood(y, sims[:, :keep], v, loss.dispersion, loss.model_variance,
                                loss.prior_dof, loss.dispersion_prior_value).log_likelihood
            if ll > best_ll:
                best, best_ll = sims, ll
        return None if best is None else best[:, keep:].mean(axis=0)

    return predict


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
        runs = ev.monthly([fitted.samples[i] for i in picks], each)
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

        def trend_later(keep: int) -> np.ndarray:
            early = replace(series, months=series.months[:keep], values=series.values[:keep])
            return np.asarray(trend_fit(early, 2, _rng(spec.method.seed, "trend"),
                                        series.months[keep:])["curve"])

        extras["skill"] = skill_report(series.months / 12.0, series.values, trend["fitted"],
                                       trend_later)
        result = build_result(loaded, series, budget, None, None, trend=trend, extras=extras,
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
                    fitted.predict_later = lambda keep: np.full(
                        len(series.values) - keep, series.values[:keep].mean())
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
        elif kind == "bass":
            problem = build_problem(loaded, series, plan.replicates)
            say(f"Fitting {spec.meta.name}: closed-form Bass, budget {budget}")
            prior, order = _bass_prior(loaded, problem)
            fitted, predict = _fit_bass(loaded, problem, series, plan, prior, order, say)
            fitted.predict_later = predict
            mu = curve_counts(fitted.best[np.argsort(order)], prior,
                              _bass_times(problem.months), series.population)
            fitted.likelihood = _scorer(loaded, series)(mu)
            with evaluator(problem, 1) as ev:
                used.append(ev)
                say("  running the model at the best fit (the check) and the chart's bands")
                check = ev.observables([fitted.best])[0].mean(axis=0)
                gap = check - mu[0]
                fitted.details["model_check"] = {
                    "rmse_model_vs_closed_form": float(np.sqrt(np.mean(gap**2))),
                    "max_abs_gap": float(np.max(np.abs(gap))),
                    "note": "the simulated mean lags the mean-field curve by up to about 2 LAs "
                            "(finite population, monthly steps): tests/model/test_uptake_bass.py"}
                bands = _bass_bands(problem, ev, fitted, prior, order, plan,
                                    spec.method.interval)
                fitted.evaluations += 2
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
                if kind == "abc":
                    fitted.predict_later = _abc_predictor(loaded, series, fitted)
                say("  simulating the fit chart's bands")
                bands = _model_bands(problem, ev, fitted, plan, spec.method.interval)
    except KeyboardInterrupt:
        done = used[-1].evaluations if used else 0
        raise CalibrationInterrupted(spec.meta.name, done,
                                     time.perf_counter() - started) from None
    assert fitted.likelihood is not None or kind == "closed_form"
    fitted_mean = (fitted.likelihood.mean if fitted.likelihood is not None
                   else np.full(series.count, float(series.values.mean())))
    extras["skill"] = skill_report(series.months / 12.0, series.values, fitted_mean,
                                   fitted.predict_later)
    return build_result(loaded, series, budget, problem, fitted, bands=bands, extras=extras,
                        seconds=time.perf_counter() - started, workers=workers)
