"""Search the levers for the best policy under uncertainty: ``run.py optimise``.

A sweep file marks some parameters as levers (``role = "lever"``: what the board chooses) and
the rest as uncertainties (what it does not), and its ``[optimise]`` table says what to
optimise (docs/experiments.md §12):

* **One objective** (``objective = "minimise finance.grants[0].end_month"``), with
  ``constraints`` such as ``viable_prob_y10 >= 0.8``: differential evolution (Storn & Price 1997,
  :func:`scipy.optimize.differential_evolution`, seeded, the population evaluated a generation at
  a time) on the unit cube of the levers, constraints by the feasibility rule of Deb (2000):
  every candidate that meets them beats every one that does not, and those that do not are
  ranked by how far they miss.
* **Several objectives** (``objectives = [...]``): NSGA-II (Deb et al. 2002, :mod:`pymoo`,
  seeded), the same constraints; the Pareto front is every evaluated candidate that meets the
  constraints and that no other such candidate beats on every objective.

Noise is handled honestly. Every candidate meets the same futures (the uncertainties sampled
once by the sweep's design) with the same replicates (common random numbers), so differences
between candidates are differences of policy, not of luck. The chosen policy is the best
*evaluated* candidate (not an extrapolation); its constrained statistics are reported with a
bootstrap standard error over replicates, and it is run again on a fresh seed with
``fresh_seeds`` replicates per future, which says, with a 90 % interval, whether its constraints
hold beyond the replicates it was chosen on.

Candidate values: each lever's unit coordinate is mapped as a design maps it
(:func:`sim.experiments.design.from_unit`): a range linearly, an integer range to whole numbers
(each with the same share of the cube), a choice to one of its values; the evaluation, the cache
and every table hold the value actually run.

This module reads the problem and scores candidates; :mod:`sim.experiments.optimise_run` runs
the search, chooses the policy, re-evaluates it and keeps the run folder;
:mod:`sim.experiments.optimise_eval` evaluates candidates and caches them.

References
----------
Storn, R. & Price, K. (1997). Differential evolution. Journal of Global Optimization 11,
341–359. doi:10.1023/A:1008202821328
Deb, K. (2000). An efficient constraint handling method for genetic algorithms. Computer
Methods in Applied Mechanics and Engineering 186, 311–338. doi:10.1016/S0045-7825(99)00389-8
Deb, K., Pratap, A., Agarwal, S. & Meyarivan, T. (2002). A fast and elitist multiobjective
genetic algorithm: NSGA-II. IEEE Transactions on Evolutionary Computation 6(2), 182–197.
doi:10.1109/4235.996017
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from sim.experiments.design import design_columns, from_unit
from sim.experiments.optimise_eval import EvaluationContext
from sim.experiments.sweepfile import OptimiseSettings, Parameter, Sweep
from sim.experiments.testfunctions import TEST_FUNCTIONS
from sim.experiments.threshold import STATISTICS, Target, ThresholdError, parse_target, statistic
from sim.scenario import ScenarioError

__all__ = ["BOOTSTRAP_STREAM", "Criterion", "OptimiseProblem", "confident", "constraint_stats",
           "nondominated", "optimise_problem", "score", "standard_error", "statistic_of"]

BOOTSTRAP_STREAM = zlib.crc32(b"optimise-bootstrap")
"""Spawn key of the bootstrap's random numbers (apart from the model's)."""

_CRITERION = re.compile(
    r"^\s*(?P<sense>minimi[sz]e|maximi[sz]e|min|max)\s+(?P<what>\S.*?)\s*$", re.IGNORECASE)
_QUANTITY = re.compile(
    r"^(?:(?P<stat>[a-z0-9_]+)\s*\(\s*(?P<inner>[A-Za-z0-9_]+)\s*\)|(?P<bare>[A-Za-z0-9_]+))$")


@dataclass(frozen=True)
class Criterion:
    """An objective: a lever's value or a statistic of a KPI, minimised or maximised."""

    text: str
    maximise: bool
    lever: int | None = None
    """Index of the lever whose value is the objective (None: a KPI)."""
    kpi: str | None = None
    statistic: str = "mean"
    name: str = ""

    @property
    def label(self) -> str:
        return self.name if self.lever is not None else f"{self.statistic}({self.kpi})"

    @property
    def sense(self) -> str:
        return "maximise" if self.maximise else "minimise"


@dataclass(frozen=True)
class OptimiseProblem:
    """A validated optimisation: levers, futures, objectives, constraints and settings."""

    sweep: Sweep
    settings: OptimiseSettings
    levers: tuple[Parameter, ...]
    lever_integer: tuple[bool, ...]
    uncertainty_paths: tuple[str, ...]
    futures: tuple[tuple[Any, ...], ...]
    objectives: tuple[Criterion, ...]
    constraints: tuple[Target, ...]
    kpis: tuple[str, ...]
    replicates: int
    fresh_replicates: int
    seed: int
    method: str

    @property
    def fresh_seed(self) -> int:
        return self.seed + 1

    @property
    def lever_paths(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.levers)

    def candidate(self, unit: np.ndarray) -> tuple[Any, ...]:
        """The lever values at a point of the unit cube (float[d])."""
        return tuple(from_unit(p, np.asarray([u]), i)[0]
                     for p, u, i in zip(self.levers, unit, self.lever_integer, strict=True))

    def context(self, las: Any, fresh: bool = False) -> EvaluationContext:
        evaluation = dataclasses.replace(self.sweep, kpis=self.kpis, metrics=())
        return EvaluationContext(
            sweep=evaluation, las=las,
            replicates=self.fresh_replicates if fresh else self.replicates,
            seed=self.fresh_seed if fresh else self.seed,
            common_random_numbers=self.sweep.spec.common_random_numbers,
            lever_paths=self.lever_paths, uncertainty_paths=self.uncertainty_paths,
            futures=self.futures)


def _criterion(text: str, where: str, source: str, levers: Sequence[Parameter],
               kpis: Sequence[str]) -> Criterion:
    match = _CRITERION.match(text)
    if match is None:
        raise ScenarioError(source, where, "must be 'minimise X' or 'maximise X', X a lever's "
                            f"key path or [STAT(]KPI[)], got {text!r}")
    maximise = match["sense"].lower().startswith("max")
    what = match["what"]
    for i, p in enumerate(levers):
        if what in (p.path, p.label):
            if p.kind == "choice" and not all(isinstance(v, int | float) and not isinstance(v, bool)
                                              for v in p.values or ()):
                raise ScenarioError(source, where, f"lever {p.path} takes values that are "
                                    "not numbers, so it cannot be minimised or maximised, "
                                    f"got {text!r}")
            return Criterion(text, maximise, lever=i, name=p.path)
    quantity = _QUANTITY.match(what)
    if quantity is None:
        shown = ", ".join(p.path for p in levers)
        raise ScenarioError(source, where, f"names neither a lever ({shown}) nor "
                            f"[STAT(]KPI[)], got {text!r}")
    stat = quantity["stat"] or "mean"
    kpi = quantity["inner"] or quantity["bare"]
    if stat not in STATISTICS:
        raise ScenarioError(source, where, f"statistic {stat!r} is not one of "
                            f"{', '.join(STATISTICS)}, got {text!r}")
    if kpi not in kpis:
        raise ScenarioError(source, where, f"{kpi!r} is neither a lever of this sweep nor a KPI "
                            f"(docs/outputs.md §3.2), got {text!r}")
    return Criterion(text, maximise, kpi=kpi, statistic=stat, name=f"{stat}({kpi})")


def _futures(sweep: Sweep) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    """The uncertainties' key paths and their sampled values, one tuple per future: the sweep's
    design over the uncertainties only (a grid of their levels, or ``samples`` points); one
    future, the base, when there are none."""
    params = [(p, i) for p, i in zip(sweep.parameters, sweep.integer, strict=True)
              if p.role == "uncertainty"]
    if not params:
        return (), ((),)
    columns = design_columns([p for p, _ in params], [i for _, i in params], sweep.spec.design,
                             int(sweep.spec.samples or 1), sweep.spec.seed)
    return tuple(columns), tuple(zip(*columns.values(), strict=True))


def optimise_problem(sweep: Sweep) -> OptimiseProblem:
    """Check a sweep's ``[optimise]`` table against its levers and KPIs.

    Raises
    ------
    ScenarioError
        Naming the sweep file, the key (``optimise.constraints[1]`` …), the value and the rule.
    """
    source = sweep.source
    settings = sweep.spec.optimise
    if settings is None:
        raise ScenarioError(source, "optimise", "is missing: optimise needs an [optimise] table "
                            "with an objective (docs/experiments.md §12)")
    levers = sweep.spec.levers
    if not levers:
        raise ScenarioError(source, "parameters", "has no lever: mark the parameters the board "
                            "chooses with role = \"lever\" (docs/experiments.md §1.2)")
    for i, p in enumerate(sweep.parameters):
        if p.role == "lever" and p.kind not in ("uniform", "choice"):
            raise ScenarioError(source, f"parameters[{i}].distribution", "a lever is searched "
                                "between low and high (uniform) or over its values (choice), "
                                f"got {p.kind!r}")
    if sweep.spec.test_function is not None:
        kpi_names: Sequence[str] = TEST_FUNCTIONS[sweep.spec.test_function].outputs
    else:
        from sim.model import KPIS

        kpi_names = list(KPIS)
    texts = ([("optimise.objective", settings.objective)] if settings.objective is not None else
             [(f"optimise.objectives[{i}]", t) for i, t in enumerate(settings.objectives or ())])
    objectives = tuple(_criterion(t, where, source, levers, kpi_names) for where, t in texts)
    names = [c.label for c in objectives]
    if len(set(names)) != len(names):
        raise ScenarioError(source, "optimise.objectives", f"repeat an objective, got {names!r}")
    constraints = []
    for i, text in enumerate(settings.constraints):
        try:
            constraints.append(parse_target(text, kpi_names))
        except ThresholdError as exc:
            rule = str(exc).split(": ", 1)[-1]
            raise ScenarioError(source, f"optimise.constraints[{i}]", f"{rule}, got "
                                f"{text!r}") from None
    kpis = tuple(dict.fromkeys([c.kpi for c in objectives if c.kpi is not None]
                               + [t.kpi for t in constraints]))
    if not kpis:
        raise ScenarioError(source, "optimise", "reads no KPI: give a KPI objective or a "
                            "constraint, otherwise the lever's own bound is the answer")
    method = settings.method
    if method == "auto":
        method = "nsga2" if len(objectives) > 1 else "differential_evolution"
    replicates = settings.replicates or sweep.spec.replicates
    lever_integer = tuple(i for p, i in zip(sweep.parameters, sweep.integer, strict=True)
                          if p.role == "lever")
    paths, futures = _futures(sweep)
    return OptimiseProblem(
        sweep=sweep, settings=settings, levers=levers, lever_integer=lever_integer,
        uncertainty_paths=paths, futures=futures, objectives=objectives,
        constraints=tuple(constraints), kpis=kpis, replicates=replicates,
        fresh_replicates=settings.fresh_seeds or 2 * replicates, seed=sweep.spec.seed,
        method=method)


# --------------------------------------------------------------------------- scoring


def statistic_of(problem: OptimiseProblem, values: np.ndarray, kpi: str, name: str) -> float:
    """The statistic of a KPI over every future and replicate of one candidate."""
    return float(statistic(values[problem.kpis.index(kpi)].reshape(-1), name))


def _objective_value(problem: OptimiseProblem, c: Criterion, key: Sequence[Any],
                     values: np.ndarray) -> float:
    if c.lever is not None:
        return float(key[c.lever])
    assert c.kpi is not None
    return statistic_of(problem, values, c.kpi, c.statistic)


def standard_error(values: np.ndarray, name: str) -> float:
    """Standard error of a statistic of one candidate's values float[F, R], the replicates
    resampled (each with all its futures, which share its random numbers): for the mean and
    ``share``, the spread of the per-replicate averages over futures ÷ sqrt(R); for a quantile,
    200 bootstrap resamples. NaN with one replicate."""
    r = values.shape[1]
    if r < 2:
        return math.nan
    if name in ("mean", "share"):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            per = (np.nanmean(values, axis=0) if name == "mean"
                   else (~np.isnan(values)).mean(axis=0))
        per = per[np.isfinite(per)]
        return float(np.std(per, ddof=1) / math.sqrt(per.size)) if per.size > 1 else math.nan
    rng = np.random.Generator(np.random.PCG64(BOOTSTRAP_STREAM))
    boots = np.array([float(statistic(values[:, rng.integers(0, r, r)].reshape(-1), name))
                      for _ in range(200)])
    boots = boots[np.isfinite(boots)]
    return float(np.std(boots, ddof=1)) if boots.size > 1 else math.nan


def confident(target: Target, stat: float, se: float, z: float) -> float:
    """The statistic moved ``z`` standard errors towards missing the target (a one-sided
    confidence bound; the statistic itself where the error is unknown)."""
    if not math.isfinite(se):
        return stat
    return stat - z * se if target.op in (">=", ">") else stat + z * se


def _miss(target: Target, stat: float) -> float:
    """How far a statistic misses a target (0 where it holds; 1e12 where it is undefined)."""
    if bool(target.holds(stat)):
        return 0.0
    if not math.isfinite(stat):
        return 1e12
    return max(abs(stat - target.value), 1e-12)


def constraint_stats(problem: OptimiseProblem, values: np.ndarray
                      ) -> list[tuple[float, float, float]]:
    """(statistic, standard error, confidence bound) of each constraint at one candidate."""
    z = float(NormalDist().inv_cdf(problem.settings.confidence))
    out = []
    for t in problem.constraints:
        rows = values[problem.kpis.index(t.kpi)]
        stat = float(statistic(rows.reshape(-1), t.statistic))
        se = standard_error(rows, t.statistic) if z > 0 else math.nan
        out.append((stat, se, confident(t, stat, se, z)))
    return out


def score(problem: OptimiseProblem, keys: Sequence[tuple[Any, ...]],
          rows: Sequence[np.ndarray],
          stats: Sequence[list[tuple[float, float, float]]] | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Objectives to minimise, float[m, n_obj] (maximised ones negated; NaN → +inf), and
    misses of each constraint's confidence bound, float[m, n_con] (0: it holds). ``stats``:
    each row's :func:`constraint_stats`, when the caller already has them."""
    f = np.array([[_objective_value(problem, c, key, v) * (-1 if c.maximise else 1)
                   for c in problem.objectives] for key, v in zip(keys, rows, strict=True)])
    f = np.where(np.isfinite(f), f, np.inf)
    if stats is None:
        stats = [constraint_stats(problem, v) for v in rows]
    g = np.array([[_miss(t, bound) for t, (_, _, bound) in
                   zip(problem.constraints, s, strict=True)]
                  for s in stats]).reshape(len(rows), len(problem.constraints))
    return f, g


def nondominated(f: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``f`` (float[m, k], all minimised) that no other row dominates (is no
    worse on every column and better on one); of identical rows, the first is kept."""
    m = len(f)
    keep = np.ones(m, dtype=bool)
    for i in range(m):
        worse_eq = np.all(f <= f[i], axis=1) & np.any(f < f[i], axis=1)
        same_before = np.all(f == f[i], axis=1) & (np.arange(m) < i)
        if worse_eq.any() or same_before.any():
            keep[i] = False
    return keep
