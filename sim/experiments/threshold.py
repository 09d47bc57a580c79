"""Break-even and threshold answers: the value of one input at which a target on a KPI is met.

A board asks "what price must we charge for the Centre to stay viable in nine runs out of
ten?", "how long must the grant last?". :func:`find_threshold` answers by a root search on
common random numbers (docs/experiments.md §10):

1. **Scan.** The target's statistic (e.g. the mean of ``viable_prob_y10``, the probability
   that the Centre is viable in year 10) is computed at ``grid`` evenly spaced values of the
   input, all with the same seed, so the replicates see the same futures and the statistic is
   a deterministic function of the input. Where the target starts or stops holding between
   two neighbouring values, there is a crossing; all are reported (a non-monotone response is
   said, not hidden), and the first from ``low`` is refined.
2. **Refine.** Within that bracket, :func:`scipy.optimize.brentq` (an integer bisection for
   integer inputs) finds where the target starts to hold, to ``tol``. The answer is the value
   on the side where the target holds, so it meets the target on these replicates.
3. **Uncertainty.** With a finite ensemble the crossing is itself uncertain: the replicates
   are resampled (bootstrap, the same resample at every evaluated value, which common random
   numbers pair), the crossing is found again in each resample by linear interpolation
   between the evaluated values around it (for a whole-number input, the whole number on the
   holding side), and its 5th and 95th percentiles are the 90 % interval.
4. **Check.** The answer is run again on a fresh seed: the statistic there, with its own 90 %
   interval, says whether the target holds beyond the replicates it was found on.

The search takes any ``evaluate(values) -> float[len(values), R]`` (per-replicate KPI values),
so it is tested on closed-form problems; :func:`model_evaluator` builds one that runs a
scenario with the input set by ``--set``, validated like any other override.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["STATISTICS", "Target", "ThresholdError", "ThresholdResult", "check_range",
           "find_threshold", "result_from_record",
           "input_is_integer", "model_evaluator", "override", "parse_target", "statistic"]

STATISTICS = ("mean", "p10", "p50", "p90", "share")
"""How a target reads the replicates: their mean (of a 0/1 KPI: a probability), a quantile, or
``share``, the share of replicates in which the KPI is defined (e.g. in which reserves run
out at all). NaN values (undefined for a replicate) are left out of the mean and quantiles."""

_OPERATORS = (">=", "<=", ">", "<")
_TARGET = re.compile(
    r"^\s*(?:(?P<stat>[a-z0-9_]+)\s*\(\s*(?P<inner>[A-Za-z0-9_]+)\s*\)|(?P<bare>[A-Za-z0-9_]+))"
    r"\s*(?P<op>>=|<=|>|<)\s*(?P<value>[-+0-9.eE_]+)\s*$")

Evaluate = Callable[[Sequence[float]], np.ndarray]
"""Per-replicate values of the target's KPI at each input value: float[len(values), R], with
the same replicates (common random numbers) in every row."""


class ThresholdError(ValueError):
    """A target or a search that cannot be set up: one line, naming what is wrong."""


@dataclass(frozen=True)
class Target:
    """``statistic(kpi) op value``, e.g. ``mean(viable_prob_y10) >= 0.9``."""

    kpi: str
    op: str
    value: float
    statistic: str = "mean"

    def __str__(self) -> str:
        return f"{self.statistic}({self.kpi}) {self.op} {self.value:g}"

    def holds(self, stat: np.ndarray | float) -> np.ndarray:
        """Whether the target holds for statistic values ``stat`` (NaN: never)."""
        stat = np.asarray(stat, dtype=float)
        with np.errstate(invalid="ignore"):
            if self.op == ">=":
                return stat >= self.value
            if self.op == ">":
                return stat > self.value
            if self.op == "<=":
                return stat <= self.value
            return stat < self.value


def parse_target(text: str, kpis: Sequence[str]) -> Target:
    """A target from ``KPI OP VALUE`` or ``STAT(KPI) OP VALUE`` (STAT one of
    :data:`STATISTICS`; ``mean`` when not given). Raises :class:`ThresholdError`."""
    match = _TARGET.match(text)
    if match is None:
        raise ThresholdError(
            f"--target {text!r}: must be KPI OP VALUE or STAT(KPI) OP VALUE with OP one of "
            f"{', '.join(_OPERATORS)}, e.g. 'viable_prob_y10>=0.9' or 'p10(min_reserves_gbp)>=0'")
    stat = match["stat"] or "mean"
    kpi = match["inner"] or match["bare"]
    if stat not in STATISTICS:
        raise ThresholdError(f"--target {text!r}: statistic {stat!r} is not one of "
                             f"{', '.join(STATISTICS)}")
    if kpi not in kpis:
        raise ThresholdError(f"--target {text!r}: {kpi!r} is not a KPI (the KPIs are listed "
                             "in docs/outputs.md)")
    try:
        value = float(match["value"])
    except ValueError:
        raise ThresholdError(f"--target {text!r}: {match['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise ThresholdError(f"--target {text!r}: the target value must be finite")
    return Target(kpi, match["op"], value, stat)


def statistic(values: np.ndarray, name: str) -> np.ndarray:
    """The statistic ``name`` of per-replicate values float[..., R] over the last axis."""
    values = np.asarray(values, dtype=float)
    defined = ~np.isnan(values)
    if name == "share":
        return defined.mean(axis=-1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: NaN is the answer
        if name == "mean":
            return np.nanmean(values, axis=-1)
        return np.nanquantile(values, int(name[1:]) / 100.0, axis=-1)


@dataclass
class ThresholdResult:
    """The answer of :func:`find_threshold` (written as threshold.json, docs/outputs.md)."""

    key: str
    target: Target
    low: float
    high: float
    integer: bool
    replicates: int
    seed: int
    found: bool
    value: float | None
    """The input value found (on the side where the target holds), or None."""
    interval: tuple[float, float] | None
    """90 % bootstrap interval of the crossing (±inf: beyond the searched range)."""
    statistic_at_value: float | None
    check_seed: int | None = None
    check_statistic: float | None = None
    check_interval: tuple[float, float] | None = None
    check_holds: bool | None = None
    crossings: list[tuple[float, float]] = field(default_factory=list)
    """Every bracket of the scan in which the target starts or stops holding."""
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    """Every evaluated value: ``value``, ``statistic``, ``holds``, ``phase`` (scan, search)."""
    message: str = ""

    @property
    def monotone(self) -> bool:
        return len(self.crossings) <= 1


def _grid(low: float, high: float, points: int, integer: bool) -> list[float]:
    values = np.linspace(low, high, points)
    if integer:
        values = np.unique(np.round(values))
    return [float(v) for v in values]


class _Memo:
    """Evaluations kept by input value, so no value is simulated twice."""

    def __init__(self, evaluate: Evaluate, target: Target):
        self.evaluate, self.target = evaluate, target
        self.rows: dict[float, np.ndarray] = {}
        self.log: list[dict[str, Any]] = []

    def run(self, values: Sequence[float], phase: str) -> None:
        todo = [v for v in dict.fromkeys(values) if v not in self.rows]
        if not todo:
            return
        out = np.asarray(self.evaluate(todo), dtype=float)
        if out.ndim != 2 or out.shape[0] != len(todo):
            raise ValueError(f"evaluate returned shape {out.shape} for {len(todo)} values")
        for v, row in zip(todo, out, strict=True):
            self.rows[v] = row
            stat = float(statistic(row, self.target.statistic))
            self.log.append({"value": v, "statistic": stat,
                             "holds": bool(self.target.holds(stat)), "phase": phase})

    def stat(self, value: float) -> float:
        self.run([value], "search")
        return float(statistic(self.rows[value], self.target.statistic))

    def holds(self, value: float) -> bool:
        return bool(self.target.holds(self.stat(value)))


def _refine(memo: _Memo, a: float, b: float, tol: float, integer: bool) -> float:
    """The value on the holding side of a crossing bracketed by ``a < b`` (the target holds at
    exactly one of them), found to ``tol`` (to 1 for integers)."""
    holds_a = memo.holds(a)
    if integer:
        while b - a > 1:
            mid = float(math.floor((a + b) / 2))
            if memo.holds(mid) == holds_a:
                a = mid
            else:
                b = mid
        return a if holds_a else b
    from scipy.optimize import brentq

    target = memo.target

    def signed(x: float) -> float:
        # Positive where the target holds, negative where it does not: a sign change at the
        # crossing even where the statistic is flat (common random numbers make it a step).
        stat = memo.stat(x)
        if not math.isfinite(stat):
            return -1.0
        gap = stat - target.value if target.op in (">=", ">") else target.value - stat
        holds = bool(target.holds(stat))
        return max(gap, 1e-300) if holds else min(gap, -1e-300)

    root = brentq(signed, a, b, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=200)
    # brentq returns a point within tol of the crossing: take the side where the target holds.
    lo, hi = max(a, root - tol), min(b, root + tol)
    for candidate in ((root, lo, hi) if holds_a else (root, hi, lo)):
        if memo.holds(candidate):
            return candidate
    return a if holds_a else b


def _crossing(values: np.ndarray, stats: np.ndarray, target: Target, integer: bool) -> float:
    """Where, scanning up from the lowest value, the target first changes between holding and
    not: the statistic interpolated linearly between the two evaluated values around the
    change (for a whole-number input, the whole number on the holding side of that point);
    +inf if it never changes within the values."""
    held = target.holds(stats)
    change = np.flatnonzero(held[1:] != held[:-1])
    if change.size == 0:
        return math.inf
    i = int(change[0])
    x0, x1, s0, s1 = values[i], values[i + 1], stats[i], stats[i + 1]
    if math.isfinite(s0) and math.isfinite(s1) and s1 != s0:
        x = x0 + min(max((target.value - s0) / (s1 - s0), 0.0), 1.0) * (x1 - x0)
    else:
        x = x1 if held[i + 1] else x0
    if integer:
        x = min(math.ceil(x), x1) if held[i + 1] else max(math.floor(x), x0)
    return float(x)


def bootstrap_interval(memo: _Memo, resamples: int, rng: np.random.Generator, integer: bool,
                       level: float = 0.9) -> tuple[float, float]:
    """The crossing's ``level`` interval over bootstrap resamples of the replicates (the same
    resample at every evaluated value)."""
    values = np.array(sorted(memo.rows))
    matrix = np.stack([memo.rows[v] for v in values])  # [P, R]
    R = matrix.shape[1]
    crossings = np.empty(resamples)
    for b in range(resamples):
        pick = rng.integers(0, R, R)
        stats = statistic(matrix[:, pick], memo.target.statistic)
        crossings[b] = _crossing(values, stats, memo.target, integer)
    tail = (1 - level) / 2
    lo, hi = np.quantile(crossings, [tail, 1 - tail])
    return float(lo), float(hi)


def check_range(key: str, low: float, high: float, integer: bool) -> None:
    """Raise :class:`ThresholdError` unless ``low < high`` are finite (whole for an integer
    input)."""
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ThresholdError(f"--range {low:g} {high:g}: must be two finite numbers, low < high")
    if integer and (low != round(low) or high != round(high)):
        raise ThresholdError(f"--range {low:g} {high:g}: {key} is a whole number, so must the "
                             "range be")


def find_threshold(evaluate: Evaluate, key: str, target: Target, low: float, high: float, *,
                   integer: bool = False, grid: int = 6, tol: float | None = None,
                   replicates: int = 0, seed: int = 0, resamples: int = 1000,
                   check: Evaluate | None = None, check_seed: int | None = None,
                   ) -> ThresholdResult:
    """Find the value of ``key`` in ``[low, high]`` at which ``target`` starts (or stops) to
    hold, scanning up from ``low`` (see the module's docstring).

    ``evaluate`` gives per-replicate KPI values on common random numbers; ``check`` (optional)
    the same on a fresh seed, run once at the answer. ``tol`` defaults to (high − low) ÷ 1000
    (1 for integers). Deterministic for given evaluators.
    """
    check_range(key, low, high, integer)
    if grid < 2:
        raise ThresholdError(f"--grid {grid}: must be at least 2")
    tol = (1.0 if integer else (high - low) / 1000.0) if tol is None else float(tol)
    if not tol > 0:
        raise ThresholdError(f"--tol {tol:g}: must be above 0")
    memo = _Memo(evaluate, target)
    scan = _grid(low, high, grid, integer)
    memo.run(scan, "scan")
    held = [memo.holds(v) for v in scan]
    crossings = [(scan[i], scan[i + 1]) for i in range(len(scan) - 1) if held[i] != held[i + 1]]
    result = ThresholdResult(key=key, target=target, low=low, high=high, integer=integer,
                             replicates=replicates, seed=seed, found=bool(crossings),
                             value=None, interval=None, statistic_at_value=None,
                             crossings=crossings)
    if not crossings:
        where = "at every" if held[0] else "at no"
        ends = memo.stat(scan[0]), memo.stat(scan[-1])
        result.message = (f"{target} holds {where} value of {key} in [{low:g}, {high:g}] "
                          f"(statistic {ends[0]:.4g} at {low:g}, {ends[1]:.4g} at {high:g}): "
                          "no threshold in this range")
        result.evaluations = memo.log
        return result
    a, b = crossings[0]
    value = _refine(memo, a, b, tol, integer)
    result.value = value
    result.statistic_at_value = memo.stat(value)
    rng = np.random.Generator(np.random.PCG64(seed))
    result.interval = bootstrap_interval(memo, resamples, rng, integer)
    starts = not memo.holds(a)
    result.message = (f"{target} {'starts' if starts else 'stops'} to hold at {key} = "
                      f"{value:.6g}" + ("" if len(crossings) == 1 else
                                        f"; the response is not monotone: the target also "
                                        f"changes in {len(crossings) - 1} other bracket(s)"))
    if check is not None:
        row = np.asarray(check([value]), dtype=float)[0]
        result.check_seed = check_seed
        result.check_statistic = float(statistic(row, target.statistic))
        result.check_holds = bool(target.holds(result.check_statistic))
        rng = np.random.Generator(np.random.PCG64(seed + 1))
        boots = [float(statistic(row[rng.integers(0, row.size, row.size)], target.statistic))
                 for _ in range(resamples)]
        lo, hi = np.nanquantile(boots, [0.05, 0.95])
        result.check_interval = (float(lo), float(hi))
    result.evaluations = memo.log
    return result


def model_evaluator(scenario_file: str, overrides: Sequence[str], key: str, kpi: str,
                    replicates: int, seed: int, workers: int | None = 1,
                    integer: bool = False) -> Evaluate:
    """``evaluate(values)``: the scenario file with ``--set key=value`` for each value (and
    ``overrides``), validated as any override is, run on ``seed`` together (common random
    numbers); returns ``kpi`` per replicate, float[len(values), replicates]."""
    from sim.data import load_la_population
    from sim.experiments.ensemble import compare
    from sim.scenario import load_scenario

    las = load_la_population()

    def evaluate(values: Sequence[float]) -> np.ndarray:
        scenarios = [load_scenario(scenario_file, [*overrides, override(key, v, integer)])
                     for v in values]
        runs = compare(scenarios, las, replicates, seed, workers=workers)
        return np.stack([run.kpis[kpi] for run in runs])

    return evaluate


def override(key: str, value: float, integer: bool) -> str:
    """``--set`` text giving ``key`` the value (a whole number for an integer input)."""
    return f"{key}={int(value) if integer else repr(float(value))}"


def input_is_integer(scenario: Any, key: str) -> bool:
    """Whether the input at ``key`` of a validated scenario is a whole number (searched over
    integers); raises :class:`ThresholdError` when it is not a number at all."""
    from sim.scenario.load import get_path

    try:
        value = get_path(scenario.model_dump(), key)
    except (KeyError, IndexError, TypeError, ValueError):
        raise ThresholdError(f"--vary {key}: no such key in the scenario") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ThresholdError(f"--vary {key}: must name a number, got {type(value).__name__}")
    return isinstance(value, int)


def result_from_record(record: Mapping[str, Any]) -> ThresholdResult:
    """The answer of a ``threshold.json`` (``sim.outputs.threshold.threshold_record``) back as
    a result, e.g. to quote a break-even value on another page (its evaluations are not kept).

    Raises
    ------
    KeyError, TypeError, ValueError
        When ``record`` is not such a record.
    """
    check = record.get("check") or {}

    def pair(value: Any) -> tuple[float, float] | None:
        return (float(value[0]), float(value[1])) if value else None

    return ThresholdResult(
        key=str(record["key"]), target=Target(str(record["kpi"]), str(record["operator"]),
                                              float(record["target_value"]),
                                              str(record["statistic"])),
        low=float(record["range"][0]), high=float(record["range"][1]),
        integer=bool(record["integer"]), replicates=int(record["replicates"]),
        seed=int(record["seed"]), found=bool(record["found"]), value=record.get("value"),
        interval=pair(record.get("interval_90")),
        statistic_at_value=record.get("statistic_at_value"),
        check_seed=check.get("seed"), check_statistic=check.get("statistic"),
        check_interval=pair(check.get("interval_90")), check_holds=check.get("holds"),
        crossings=[(float(a), float(b)) for a, b in record.get("crossings", [])],
        message=str(record.get("message", "")))

