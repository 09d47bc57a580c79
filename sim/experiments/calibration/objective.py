"""The calibration objective: run the model at a parameter vector, turn its metric into the
observed quantity, and score it against the data.

The model is used only through its public API: the candidate's values are written into the
resolved scenario by key path (as ``--set`` would), the scenario is validated with
:func:`sim.scenario.scenario_from_dict` and run with :func:`sim.experiments.run_ensemble`.
Every candidate runs with the same seed, so candidates share common random numbers and the
objective changes smoothly (in small steps) with the parameters.

The score is a synthetic likelihood (Wood 2010, *Nature* 466:1102): the observed vector is
treated as Gaussian with mean the replicate mean of the simulated observable and covariance
``(1 + 1/R) S + φ diag(v(μ))``, where ``S`` is the replicates' covariance (the model's own
stochastic spread, correlated over time), ``v`` the variance function of the loss (1/weight for
``wls``; μ for ``poisson``; n·π(1 − π) for ``binomial``) and ``φ`` a dispersion (observation
error beyond the model's own noise), profiled out unless the spec fixes it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.data import LAPopulation
from sim.engine import DEFAULT_BLOCK_SIZE, partition
from sim.experiments.calibration.spec import INITIAL_SHARE, MARKET_SHARE
from sim.experiments.ensemble import DEFAULT_BATCH_REPLICATES, run_blocks, run_ensemble
from sim.experiments.executors import Executor, SerialExecutor, default_workers, make_executor
from sim.experiments.process import state
from sim.model import METRICS, is_per_replicate
from sim.scenario import Scenario, scenario_from_dict
from sim.scenario.load import set_path as _set_path
from sim.scenario.load import value_at

__all__ = ["Evaluator", "Likelihood", "Problem", "default_workers", "evaluator", "log_likelihood",
           "set_path", "variance_function"]
# default_workers is the executors' own (sim.experiments.executors), named here for
# sim.experiments.calibration.



def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a key path such as ``uptake.q_per_year`` or ``finance.grants[0].end_month``
    in a nested scenario dictionary (in place), making missing tables on the way
    (:func:`sim.scenario.load.set_path` with ``create``)."""
    _set_path(data, path, value, create=True)


@dataclass(frozen=True)
class Problem:
    """Everything needed to turn a parameter vector into simulated observables (picklable).

    Attributes
    ----------
    base : resolved scenario dictionary (start, horizon and spec overrides applied).
    las : the LA population.
    replicates, seed : how each candidate is run (the same seed for all: common random numbers).
    paths : parameter key paths, in vector order.
    lower, upper : float[k] bounds; ``log`` : bool[k], log-scale parameters.
    metric, denominator, window, aggregate, scale : the observation operator.
    kind : ``count``, ``share`` or ``rate``.
    months : int[n], model month index of each observed point.
    population : float[n], LAs each count is out of.
    initial_share : observed first value ÷ its population, when it seeds the model; else None.
    """

    base: dict[str, Any]
    las: LAPopulation
    replicates: int
    seed: int
    paths: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    log: np.ndarray
    metric: str
    denominator: str | None
    window: int
    aggregate: str
    scale: float
    kind: str
    months: np.ndarray
    population: np.ndarray
    initial_share: float | None

    # ------------------------------------------------------------------ parameter space
    @property
    def dimension(self) -> int:
        return len(self.paths)

    def to_theta(self, z: np.ndarray) -> np.ndarray:
        """Parameters from the unit cube (uniform, or log-uniform for log-scale parameters)."""
        z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
        lo = np.where(self.log, np.log(np.where(self.log, self.lower, 1.0)), self.lower)
        hi = np.where(self.log, np.log(np.where(self.log, self.upper, 1.0)), self.upper)
        x = lo + z * (hi - lo)
        return np.where(self.log, np.exp(x), x)

    def to_unit(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        lo = np.where(self.log, np.log(np.where(self.log, self.lower, 1.0)), self.lower)
        hi = np.where(self.log, np.log(np.where(self.log, self.upper, 1.0)), self.upper)
        x = np.where(self.log, np.log(np.maximum(theta, 1e-300)), theta)
        return (x - lo) / (hi - lo)

    # ------------------------------------------------------------------ model runs
    def market(self, theta: np.ndarray) -> float:
        return float(theta[self.paths.index(MARKET_SHARE)]) if MARKET_SHARE in self.paths else 1.0

    def overrides(self, theta: np.ndarray) -> dict[str, float]:
        """Model key path → value for a parameter vector (derived values included)."""
        values = {p: float(v) for p, v in zip(self.paths, theta, strict=True)
                  if not p.startswith("calibration.")}
        # The seed is exact (issue #16): n = N·share ÷ m aware LAs in every replicate, within
        # one LA (uptake.initial_aware_count), not a per-LA draw that can leave a run with none.
        share = (float(theta[self.paths.index(INITIAL_SHARE)])  # estimated with the others
                 if INITIAL_SHARE in self.paths else self.initial_share)  # or the seed
        if share is not None:
            values["uptake.initial_aware_count"] = (float(self.las.count)
                                                    * min(share / self.market(theta), 1.0))
        return values

    def scenario(self, theta: np.ndarray) -> Scenario:
        data = copy.deepcopy(self.base)
        for path, value in self.overrides(theta).items():
            set_path(data, path, value)
        return scenario_from_dict(data, "<calibration candidate>")

    def monthly(self, theta: np.ndarray, replicates: int | None = None,
                seed: int | None = None) -> np.ndarray:
        """The simulated observable at every month, float[R, T] (on the observed scale)."""
        result = run_ensemble(self.scenario(theta), self.las, replicates or self.replicates,
                              self.seed if seed is None else seed)
        return self._observable(result.metrics, theta, np.arange(self._horizon()))

    def observables(self, theta: np.ndarray) -> np.ndarray:
        """The simulated observable at the observed months, float[R, n]."""
        result = run_ensemble(self.scenario(theta), self.las, self.replicates, self.seed)
        return self._observable(result.metrics, theta, self.months)

    @property
    def stackable(self) -> bool:
        """Whether candidates can share a batch: every model value a candidate sets is one the
        model holds per replicate (:func:`sim.model.is_per_replicate`)."""
        return all(is_per_replicate(path) for path in self.overrides(self.to_theta(
            np.full(self.dimension, 0.5))))

    def stacked(self, thetas: Sequence[np.ndarray], replicates: int | None = None,
                months: np.ndarray | None = None) -> list[np.ndarray]:
        """The observables of several candidates simulated side by side in one batch, float[R,
        n] each (float[R, T] every month with ``months`` = all of them): each candidate's
        scenario is built and validated alone, then the first one is compiled with every
        candidate value written per replicate (``values=`` of :func:`sim.model.
        compile_parameters`), ``copies`` of the same random-stream blocks, one per candidate.
        A replicate's numbers depend only on the seed, its block and the month, so each
        candidate's rows are those of :meth:`observables` (or :meth:`monthly`), to the bit
        (tests/calibration/test_stacked.py)."""
        n = replicates or self.replicates
        months = self.months if months is None else months
        scenarios = [self.scenario(theta) for theta in thetas]
        paths = list(self.overrides(thetas[0]))
        values = {path: np.repeat(np.asarray([value_at(s, path) for s in scenarios],
                                             dtype=float), n) for path in paths}
        horizon = self._horizon()
        rows = len(scenarios) * n
        storage = state().metric_scratch(METRICS, horizon, rows,
                                         minimum_rows=DEFAULT_BATCH_REPLICATES)
        part = run_blocks(scenarios[0], self.las, self.seed, partition(n, DEFAULT_BLOCK_SIZE),
                          copies=len(scenarios), values=values, out=storage)
        wanted = [self.metric] + ([self.denominator] if self.denominator else [])
        out = []
        for i, theta in enumerate(thetas):
            metrics = {name: part.metrics[name][i * n:(i + 1) * n] for name in wanted
                       if name in part.metrics}
            # copied out of the scratch storage (fancy indexing), which the next batch reuses
            out.append(np.array(self._observable(metrics, theta, months)))
        return out

    def _horizon(self) -> int:
        return int(self.base["time"]["horizon_months"])

    def _observable(self, metrics: dict[str, np.ndarray], theta: np.ndarray,
                    months: np.ndarray) -> np.ndarray:
        if self.metric not in metrics:
            raise KeyError(f"the model produced no metric {self.metric!r}; it has "
                           f"{', '.join(sorted(metrics))}")
        values = _windowed(metrics[self.metric], months, self.window, self.aggregate)
        if self.denominator:
            denominator = _windowed(metrics[self.denominator], months, self.window, "mean")
            values = values / np.where(denominator > 0, denominator, np.nan)
        values = values * self.scale
        if self.kind == "rate":
            return values
        share = self.market(theta) * values / self.las.count
        if self.kind == "share":
            return share
        population = self.population if len(months) == len(self.population) and np.array_equal(
            months, self.months) else np.interp(months, self.months, self.population)
        return share * population


def _windowed(metric: np.ndarray, months: np.ndarray, window: int, how: str) -> np.ndarray:
    """Metric at each month (``end``), or its sum or mean over the ``window`` months ending
    there (NaN where the window would start before month 0)."""
    if how == "end" or window == 1 and how != "sum":
        return metric[:, months]
    cumulative = np.concatenate([np.zeros((metric.shape[0], 1)), np.cumsum(metric, axis=1)], axis=1)
    first = np.maximum(months - window + 1, 0)
    total = cumulative[:, months + 1] - cumulative[:, first]
    total = np.where(months - window + 1 >= 0, total, np.nan)  # the window must be complete
    return total if how == "sum" else total / (months + 1 - first)


# --------------------------------------------------------------------------- likelihood


def variance_function(kind: str, mu: np.ndarray, population: np.ndarray, weights: np.ndarray,
                      observed_kind: str) -> np.ndarray:
    """Observation variance per unit dispersion, float[n] (floored away from zero)."""
    if kind == "wls":
        return 1.0 / weights
    if kind == "poisson":
        scale = np.nanmax(np.abs(mu)) if np.isfinite(mu).any() else 1.0
        return np.maximum(np.abs(mu), max(0.5, 1e-3 * scale) if observed_kind == "count" else 1e-6)
    share = mu / population if observed_kind == "count" else mu
    share = np.clip(share, 0.5 / np.maximum(population, 1), 1 - 0.5 / np.maximum(population, 1))
    base = share * (1 - share)
    return base * population if observed_kind == "count" else base / population


@dataclass(frozen=True)
class Likelihood:
    """A scored candidate: log-likelihood, dispersion, mean and spread of the simulation."""

    log_likelihood: float
    dispersion: float
    mean: np.ndarray
    variance: np.ndarray
    observation_variance: np.ndarray


def log_likelihood(y: np.ndarray, simulated: np.ndarray, variance: np.ndarray,
                   dispersion: float | str = "estimated", model_variance: bool = False,
                   prior_dof: float = 2.0, prior_value: float = 1.0) -> Likelihood:
    """Synthetic Gaussian log-likelihood of ``y`` (float[n]) given simulations float[R, n].

    Covariance ``c·S + φ diag(variance)``, with ``c = 1 + 1/R`` when ``model_variance`` (the
    replicates' covariance ``S``) else 0. A fixed ``dispersion`` sets ``φ``; "estimated"
    integrates ``φ`` out over a scaled-inverse-χ² prior with ``prior_dof`` degrees of freedom
    centred on ``prior_value`` (``prior_dof = 0``: the improper prior 1/φ). The prior keeps a fit
    with few spare points from claiming an implausibly small observation error.
    """
    R, n = simulated.shape
    mu = simulated.mean(axis=0)
    if not np.isfinite(simulated).all() or not np.isfinite(variance).all():
        return Likelihood(-math.inf, math.nan, mu, np.full(n, np.nan), np.full(n, np.nan))
    residual = y - mu
    S = (np.cov(simulated, rowvar=False).reshape(n, n) * (1 + 1 / R)
         if model_variance and R > 1 else np.zeros((n, n)))
    if isinstance(dispersion, str):
        centre = max(float(np.mean(residual**2 / variance)), prior_value if prior_dof > 0 else 0.0,
                     1e-12)
        log_grid = np.log(centre) + np.linspace(-12.0, 5.0, 69)
    else:
        log_grid = np.array([math.log(float(dispersion))])
    values = np.full(len(log_grid), -math.inf)
    for i, log_phi in enumerate(log_grid):
        phi = math.exp(log_phi)
        try:
            chol = np.linalg.cholesky(S + np.diag(phi * variance))
        except np.linalg.LinAlgError:
            continue
        solved = np.linalg.solve(chol, residual)
        values[i] = (-0.5 * (solved @ solved) - np.log(np.diag(chol)).sum()
                     - 0.5 * n * math.log(2 * math.pi))
    if len(log_grid) == 1:
        total, phi_hat = float(values[0]), math.exp(log_grid[0])
    else:
        # log ∫ L(φ) p(φ) dφ on the log grid: p(φ) ∝ φ^(−ν/2 − 1) exp(−ν φ0 / 2φ), dφ = φ d log φ.
        phis = np.exp(log_grid)
        log_prior = -(prior_dof / 2) * log_grid - prior_dof * prior_value / (2 * phis)
        integrand = values + log_prior
        step = log_grid[1] - log_grid[0]
        finite = np.isfinite(integrand)
        if not finite.any():
            return Likelihood(-math.inf, math.nan, mu, np.full(n, np.nan), np.full(n, np.nan))
        top = integrand[finite].max()
        total = float(top + math.log(np.exp(integrand[finite] - top).sum() * step))
        phi_hat = float(phis[int(np.argmax(np.where(finite, integrand, -np.inf)))])
    return Likelihood(total, phi_hat, mu, np.diag(S) + phi_hat * variance, phi_hat * variance)


# --------------------------------------------------------------------------- parallel runs


def _observables(problem: Problem, theta: np.ndarray) -> np.ndarray:
    return problem.observables(theta)


def _monthly(problem: Problem, task: tuple[np.ndarray, int]) -> np.ndarray:
    theta, replicates = task
    return problem.monthly(theta, replicates)


def _stacked(problem: Problem, task: tuple[list[np.ndarray], int | None, bool]) -> list[np.ndarray]:
    thetas, replicates, every_month = task
    months = np.arange(problem._horizon()) if every_month else None
    return problem.stacked(thetas, replicates, months)


STACK = True
"""Whether an :class:`Evaluator` simulates a round's candidates side by side in shared batches
(the same numbers either way; False: one candidate per simulation, as before issue #16)."""


def stacks(count: int, replicates: int, workers: int) -> list[slice]:
    """Consecutive groups of ``count`` candidates, each of at most about
    ``DEFAULT_BATCH_REPLICATES`` rows (one candidate at least), as many as a multiple of
    ``workers`` when there are candidates enough, sizes as even as possible."""
    per = max(1, DEFAULT_BATCH_REPLICATES // max(1, replicates))
    groups = min(count, max(1, workers) * math.ceil(count / (max(1, workers) * per)))
    bounds = np.linspace(0, count, groups + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


class Evaluator:
    """Runs candidates on an executor (:mod:`sim.experiments.executors`), the problem being the
    context every task gets.

    Every candidate uses the problem's seed, so results do not depend on the executor or the
    number of workers; results come back in the order of the inputs. Several candidates are
    simulated side by side in shared batches (:meth:`Problem.stacked`: the same numbers as one
    at a time) when the problem allows it and :data:`STACK` is on; the batches are shared out
    evenly over the executor's workers. A parameter vector already simulated is not simulated
    again (the result is a function of the vector: the ABC's best point, which the polish
    starts from and the fit reports, was simulated in its round); ``evaluations`` counts the
    vectors asked for, as before, ``simulated`` those run.
    """

    def __init__(self, problem: Problem, executor: Executor | None = None):
        self.problem = problem
        self.executor = executor or SerialExecutor()
        self.evaluations = 0
        self.simulated = 0
        self.stack = STACK and problem.stackable
        self._done: dict[bytes, np.ndarray] = {}

    def map(self, function: Callable[[Problem, Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[function(problem, item) for item in items]``; ``function`` must be module-level."""
        items = list(items)
        if len(items) < 2:  # a single item would only wait for a round trip to a worker
            return [function(self.problem, item) for item in items]
        return self.executor.map(function, self.problem, items)

    def observables(self, thetas: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Simulated observables float[R, n] for each parameter vector."""
        thetas = [np.asarray(theta, dtype=float) for theta in thetas]
        keys = [theta.tobytes() for theta in thetas]
        new = {key: theta for key, theta in zip(keys, thetas, strict=True)
               if key not in self._done}
        todo = list(new.values())
        if self.stack and len(todo) > 1:
            simulated = self._stacked(todo, None, False)
        else:
            simulated = self.map(_observables, todo)
        self._done.update(zip(new, simulated, strict=True))
        self.simulated += len(todo)
        self.evaluations += len(thetas)  # counted once done, so a Ctrl-C reports finished ones
        return [self._done[key] for key in keys]

    def monthly(self, thetas: Sequence[np.ndarray], replicates: int) -> list[np.ndarray]:
        """The observable every month, float[replicates, T], for each parameter vector."""
        thetas = list(thetas)
        if self.stack and len(thetas) > 1:
            return self._stacked(thetas, replicates, True)
        return [self.problem.monthly(theta, replicates) for theta in thetas] if len(thetas) < 2 \
            else self.map(_monthly, [(theta, replicates) for theta in thetas])

    def _stacked(self, thetas: list[np.ndarray], replicates: int | None,
                 every_month: bool) -> list[np.ndarray]:
        groups = stacks(len(thetas), replicates or self.problem.replicates, self.executor.workers)
        parts = self.map(_stacked, [(thetas[g], replicates, every_month) for g in groups])
        return [x for part in parts for x in part]


@contextmanager
def evaluator(problem: Problem, workers: int = 1, *,
              executor: Executor | None = None) -> Iterator[Evaluator]:
    """An :class:`Evaluator` for ``problem``: on ``executor`` if given (left open for the
    caller), else on ``workers`` local processes (1: in this process)."""
    if executor is not None:
        yield Evaluator(problem, executor)
        return
    with make_executor("local", max(1, workers)) as own:
        yield Evaluator(problem, own)
