"""The search of ``run.py optimise`` (differential evolution or NSGA-II, :mod:`sim.experiments.
optimise` says how), the choice of the policy, its re-evaluation on fresh seeds, and the run
folder it runs in: made, or resumed.

Layout (docs/outputs.md §7)::

    manifest.json          what was run, the sweep file's hash, settings, attempts
    sweep.toml             the sweep file as it was when the run started
    base.resolved.toml     the base scenario after inheritance and overrides (model sweeps)
    cache/batch-NNNNN.parquet   every simulated candidate × future × replicate (the cache)

and, written by :mod:`sim.outputs.optimum` once the search ends, ``optimum.json``,
``optimum.md``, ``evaluations.parquet``, ``pareto.csv`` and the chart.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.executors import Executor
from sim.experiments.optimise import (
    BOOTSTRAP_STREAM,
    OptimiseProblem,
    constraint_stats,
    nondominated,
    score,
    statistic_of,
)
from sim.experiments.optimise_eval import EvaluationContext, EvaluationStore, evaluate_once
from sim.experiments.store import MANIFEST, new_sweep_folder, read_manifest
from sim.experiments.threshold import statistic
from sim.files import write_json, write_text

__all__ = ["BOOTSTRAP_RESAMPLES", "OptimiseError", "OptimiseInterrupted", "OptimiseResult",
           "check_resumable", "run_optimise", "run_search", "settings_record"]

BOOTSTRAP_RESAMPLES = 1000
SEARCH_STREAM = zlib.crc32(b"optimise-search")
"""Spawn key of the search's random numbers (apart from the model's)."""
PENALTY = 1e30
"""Differential evolution's value of a candidate that misses a constraint: above every value
of one that meets them, growing with the miss (Deb's feasibility rule as one number)."""


# --------------------------------------------------------------------------- the search


def _differential_evolution(problem: OptimiseProblem,
                            batch: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                            rng: np.random.Generator) -> None:
    from scipy import optimize

    d = len(problem.levers)
    budget = problem.settings.budget
    population = problem.settings.population or max(5 * d, min(budget // 4, 15 * d))
    multiplier = max(1, population // d)
    maxiter = max(0, budget // (multiplier * d) - 1)

    def fun(zt: np.ndarray) -> np.ndarray:
        f, g = batch(np.atleast_2d(zt.T))
        miss = g.sum(axis=1)
        return np.where(miss > 0, PENALTY * (1 + miss), f[:, 0])

    optimize.differential_evolution(fun, [(0.0, 1.0)] * d, popsize=multiplier, maxiter=maxiter,
                                    polish=False, rng=rng, tol=0, vectorized=True,
                                    updating="deferred", init="latinhypercube")


def _nsga2(problem: OptimiseProblem,
           batch: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], seed: int) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    d, k, c = len(problem.levers), len(problem.objectives), len(problem.constraints)
    budget = problem.settings.budget
    population = problem.settings.population or max(8, min(100, budget // 10))
    generations = max(1, budget // population)

    class _Levers(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(n_var=d, n_obj=k, n_ieq_constr=c, xl=0.0, xu=1.0)

        def _evaluate(self, x: np.ndarray, out: dict[str, Any], *args: Any, **kw: Any) -> None:
            f, g = batch(np.clip(x, 0.0, 1.0))
            out["F"] = np.where(np.isfinite(f), f, 1e30)
            if c:
                out["G"] = g

    minimize(_Levers(), NSGA2(pop_size=population), ("n_gen", generations), seed=seed,
             verbose=False)


# --------------------------------------------------------------------------- the result


@dataclass
class OptimiseResult:
    """What :func:`run_search` found (written as optimum.json and friends, docs/outputs.md §7).

    ``table`` has one row per evaluated candidate in the order first asked for: ``evaluation``,
    ``candidate``, one column per lever, per objective its value (``objective:<label>``) and per
    constraint its statistic (``constraint:<target>``) and whether it holds, ``feasible``,
    ``pareto`` (on the front) and ``chosen``.
    """

    problem: OptimiseProblem
    table: pd.DataFrame
    chosen: int
    found: bool
    front: list[int]
    search: dict[str, dict[str, float]]
    fresh: dict[str, dict[str, float]]
    fresh_holds: bool
    simulated: int
    requested: int
    message: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def chosen_values(self) -> dict[str, Any]:
        row = self.table.iloc[self.chosen]
        return {p.path: _plain(row[p.path]) for p in self.problem.levers}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _summary(problem: OptimiseProblem, values: np.ndarray, rng: np.random.Generator,
             key: Sequence[Any]) -> dict[str, dict[str, float]]:
    """Each KPI objective's and constraint's statistic at one candidate, with a bootstrap
    standard error and 90 % interval (replicates resampled, the same resample at every future)."""
    out: dict[str, dict[str, float]] = {}
    r = values.shape[2]
    picks = rng.integers(0, r, (BOOTSTRAP_RESAMPLES, r))
    quantities = [(t.kpi, t.statistic, str(t)) for t in problem.constraints]
    quantities += [(c.kpi, c.statistic, c.label) for c in problem.objectives if c.kpi is not None]
    for kpi, stat, label in quantities:
        if label in out:
            continue
        rows = values[problem.kpis.index(kpi)]  # [F, R]
        boots = np.array([float(statistic(rows[:, pick].reshape(-1), stat)) for pick in picks])
        boots = boots[np.isfinite(boots)]
        value = float(statistic(rows.reshape(-1), stat))
        lo, hi = (np.quantile(boots, [0.05, 0.95]) if boots.size else (math.nan, math.nan))
        out[label] = {"value": value, "se": float(np.std(boots, ddof=1)) if boots.size > 1
                      else math.nan, "low90": float(lo), "high90": float(hi)}
    for c in problem.objectives:
        if c.lever is not None:
            out[c.label] = {"value": float(key[c.lever]), "se": 0.0,
                            "low90": float(key[c.lever]), "high90": float(key[c.lever])}
    return out


def run_search(problem: OptimiseProblem, store: EvaluationStore, fresh_context: EvaluationContext,
               say: Callable[[str], None] | None = None) -> OptimiseResult:
    """Run the search with evaluations from ``store``, choose the policy, re-evaluate it on
    fresh seeds with ``fresh_context``. Deterministic for the sweep's seed."""
    say = say or (lambda _: None)
    requested = 0

    def batch(unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal requested
        keys = [problem.candidate(u) for u in np.asarray(unit, dtype=float)]
        requested += len(keys)
        rows = store.evaluate(keys)
        say(f"  {requested:,} candidates asked for, {len(store.order):,} distinct "
            f"({store.simulated:,} simulated in this run)")
        return score(problem, keys, rows)

    sequence = np.random.SeedSequence(problem.seed, spawn_key=(SEARCH_STREAM,))
    if problem.method == "nsga2":
        _nsga2(problem, batch, int(sequence.generate_state(1, np.uint32)[0]))
    else:
        _differential_evolution(problem, batch, np.random.Generator(np.random.PCG64(sequence)))

    ids = list(store.order)
    keys = [store.keys[c] for c in ids]
    rows = [store.rows[c] for c in ids]
    stats = [constraint_stats(problem, v) for v in rows]  # for the choice and the table
    f, g = score(problem, keys, rows, stats)
    feasible = g.sum(axis=1) == 0 if g.shape[1] else np.ones(len(ids), dtype=bool)
    found = bool(feasible.any())
    pool = np.flatnonzero(feasible) if found else np.arange(len(ids))
    if len(problem.objectives) == 1:
        if found:
            chosen = int(pool[np.argmin(f[pool, 0])])  # the first of equals: argmin
        else:
            chosen = int(np.argmin(g.sum(axis=1)))
        # The trade-off the constraint imposes: objective against the first constraint.
        axes = f[:, :1]
        if problem.constraints:
            t = problem.constraints[0]
            stat = np.array([statistic_of(problem, v, t.kpi, t.statistic) for v in rows])
            sign = -1.0 if t.op in (">=", ">") else 1.0
            axes = np.column_stack([f[:, 0], np.where(np.isfinite(stat), sign * stat, np.inf)])
        front = [int(i) for i in np.flatnonzero(nondominated(axes))]
    else:
        on_front = pool[nondominated(f[pool])]
        front = [int(i) for i in on_front]
        span = f[on_front].max(axis=0) - f[on_front].min(axis=0)
        scaled = (f[on_front] - f[on_front].min(axis=0)) / np.where(span > 0, span, 1.0)
        chosen = int(on_front[np.argmin(np.sqrt((scaled**2).sum(axis=1)))])

    table = pd.DataFrame({"evaluation": np.arange(len(ids), dtype=np.int64), "candidate": ids})
    for j, p in enumerate(problem.levers):
        table[p.path] = [k[j] for k in keys]
    for j, c in enumerate(problem.objectives):
        table[f"objective:{c.label}"] = -f[:, j] if c.maximise else f[:, j]
    for j, t in enumerate(problem.constraints):
        table[f"constraint:{t}"] = [s[j][0] for s in stats]
        table[f"se:{t}"] = [s[j][1] for s in stats]
        table[f"bound:{t}"] = [s[j][2] for s in stats]
        table[f"holds:{t}"] = [bool(t.holds(s[j][2])) for s in stats]
    table["feasible"] = feasible
    table["pareto"] = np.isin(np.arange(len(ids)), front)
    table["chosen"] = np.arange(len(ids)) == chosen

    rng = np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(problem.seed, spawn_key=(BOOTSTRAP_STREAM,))))
    key = keys[chosen]
    search = _summary(problem, rows[chosen], rng, key)
    say(f"  re-evaluating the chosen policy on fresh seed {problem.fresh_seed} "
        f"({problem.fresh_replicates:,} replicates per future)")
    fresh_values = evaluate_once(fresh_context, store.executor, key)
    fresh = _summary(problem, fresh_values, rng, key)
    for t in problem.constraints:
        fresh[str(t)]["holds"] = float(bool(t.holds(fresh[str(t)]["value"])))
        low_side = fresh[str(t)]["low90"] if t.op in (">=", ">") else fresh[str(t)]["high90"]
        fresh[str(t)]["interval_clears"] = float(bool(t.holds(low_side)))
    fresh_holds = all(bool(fresh[str(t)]["holds"]) for t in problem.constraints)

    notes = []
    precision = problem.settings.precision
    for t in problem.constraints:
        se = search[str(t)]["se"]
        if precision is not None and math.isfinite(se) and se > precision:
            needed = math.ceil(problem.replicates * (se / precision) ** 2)
            notes.append(f"the standard error of {t} at the optimum is {se:.3g}, above the "
                         f"precision asked for ({precision:g}): about {needed:,} replicates per "
                         "future would reach it")
    result = OptimiseResult(problem=problem, table=table, chosen=chosen, found=found,
                            front=front, search=search, fresh=fresh, fresh_holds=fresh_holds,
                            simulated=store.simulated, requested=requested, notes=notes)
    result.message = _message(result)
    return result


def _message(result: OptimiseResult) -> str:
    problem = result.problem
    values = ", ".join(f"{k} = {_show(v)}" for k, v in result.chosen_values.items())
    if not result.found:
        closest = ("the one that misses least" if len(problem.objectives) == 1 else
                   "the compromise of the front of all candidates")
        return f"No candidate evaluated met every constraint; {closest} is {values}"
    first = problem.objectives[0]
    what = ((f"the {'highest' if first.maximise else 'lowest'} {first.label} that meets the "
             "constraints" if problem.constraints else
             f"the {'highest' if first.maximise else 'lowest'} {first.label}")
            if len(problem.objectives) == 1 else "the compromise point of the Pareto front")
    text = f"Chosen ({what}): {values}"
    if problem.constraints:
        text += ("; on fresh seeds its constraints hold" if result.fresh_holds else
                 "; on fresh seeds its constraints do NOT all hold")
    return text


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


# --------------------------------------------------------------------------- the run folder


class OptimiseError(Exception):
    """An optimisation that cannot start or resume; the message says why and what to do."""


class OptimiseInterrupted(OptimiseError):
    """Stopped by Ctrl-C; the evaluations already cached are kept."""

    def __init__(self, folder: Path, evaluations: int):
        self.folder, self.evaluations = folder, evaluations
        super().__init__(f"interrupted: {evaluations:,} candidates cached in {folder}")


def settings_record(problem: OptimiseProblem) -> dict[str, Any]:
    """What must match for a run folder to be resumed (and what optimum.json reports)."""
    return {
        "method": problem.method, "budget": problem.settings.budget,
        "population": problem.settings.population, "replicates": problem.replicates,
        "fresh_replicates": problem.fresh_replicates, "seed": problem.seed,
        "fresh_seed": problem.fresh_seed, "futures": len(problem.futures),
        "common_random_numbers": problem.sweep.spec.common_random_numbers,
        "levers": [{"path": p.path, "label": p.name, "integer": i,
                    **({"values": list(p.values or ())} if p.kind == "choice" else
                       {"low": p.low, "high": p.high})}
                   for p, i in zip(problem.levers, problem.lever_integer, strict=True)],
        "uncertainties": list(problem.uncertainty_paths),
        "objectives": [c.text for c in problem.objectives],
        "constraints": [str(t) for t in problem.constraints],
        "precision": problem.settings.precision, "confidence": problem.settings.confidence,
    }


def check_resumable(problem: OptimiseProblem, folder: Path) -> None:
    """Raise :class:`OptimiseError` unless ``folder`` is an optimise run of this very sweep file
    and base scenario (the digest in its manifest)."""
    if not (folder / MANIFEST).is_file():
        raise OptimiseError(f"--resume {folder}: not an optimise run folder (no {MANIFEST})")
    manifest = read_manifest(folder)
    if manifest.get("kind") != "optimise":
        raise OptimiseError(f"--resume {folder}: a {manifest.get('kind')!r} folder, not an "
                            "optimise run")
    if manifest.get("digest") != problem.sweep.digest():
        raise OptimiseError(f"--resume {folder}: the sweep file or its base scenario has "
                            "changed since the run started (their hash differs); run without "
                            "--resume to start afresh")


def _open(problem: OptimiseProblem, out_dir: Path, resume: Path | None,
          started: datetime, command: Sequence[str], executor: Executor) -> Path:
    sweep = problem.sweep
    digest = sweep.digest()
    if resume is not None:
        check_resumable(problem, Path(resume))
        return Path(resume)
    from sim.experiments.sweep import _version
    from sim.scenario import resolved_toml

    folder = new_sweep_folder(out_dir, "optimise", sweep.name, started)
    write_text(folder / "sweep.toml", sweep.text)
    if sweep.base is not None:
        write_text(folder / "base.resolved.toml", resolved_toml(sweep.base))
    write_json(folder / MANIFEST, {
        "kind": "optimise", "sweep": sweep.name, "sweep_file": sweep.source, "digest": digest,
        "base": sweep.spec.base, "test_function": sweep.spec.test_function,
        **settings_record(problem), "started": started.isoformat(timespec="seconds"),
        "finished": None, "command": list(command), "version": _version(), "attempts": []})
    return folder


def run_optimise(problem: OptimiseProblem, out_dir: Path, *, executor: Executor,
                 resume: Path | None = None, command: Sequence[str] = (),
                 say: Callable[[str], None] | None = None) -> tuple[Path, OptimiseResult]:
    """Run (or resume) the search in a run folder; return the folder and the result. The
    caller writes the outputs (:func:`sim.outputs.optimum.write_optimum`)."""
    started = datetime.now(UTC)
    folder = _open(problem, out_dir, resume, started, command, executor)
    las = None
    if problem.sweep.base is not None:
        from sim.data import load_la_population

        las = load_la_population()
    store = EvaluationStore(folder, problem.context(las), executor, say)
    cached = len(store.rows)
    t0 = time.perf_counter()
    try:
        result = run_search(problem, store, problem.context(las, fresh=True), say)
    except KeyboardInterrupt:
        raise OptimiseInterrupted(folder, len(store.rows)) from None
    manifest = read_manifest(folder)
    manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    manifest.setdefault("attempts", []).append({
        "started": started.isoformat(timespec="seconds"), "cached_at_start": cached,
        "simulated": store.simulated, "seconds": round(time.perf_counter() - t0, 3),
        "executor": executor.describe()})
    write_json(folder / MANIFEST, manifest)
    return folder, result
