"""The worker side of a sweep: simulate one chunk of design points, return its columns.

Kept apart from :mod:`sim.experiments.sweep` so that a worker process imports only numpy, the
model and the scenario schema (not pandas, pyarrow or scipy): a spawned worker starts faster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.data import LAPopulation
from sim.engine import DEFAULT_BLOCK_SIZE, partition
from sim.experiments.ensemble import DEFAULT_BATCH_REPLICATES, batches, run_blocks
from sim.experiments.process import state
from sim.experiments.testfunctions import TEST_FUNCTIONS
from sim.model import METRICS, first_april, is_per_replicate
from sim.scenario import Scenario, ScenarioError
from sim.scenario.load import value_at

if TYPE_CHECKING:
    from sim.experiments.sweepfile import Sweep

__all__ = ["Chunk", "PointError", "SweepContext", "fiscal_year_columns", "run_chunk"]


# --------------------------------------------------------------------------- fiscal years


def fiscal_year_columns(start: str, horizon_months: int) -> list[tuple[str, int]]:
    """(label, month) for each fiscal year that ends (in March) inside the horizon.

    The label is ``fyYYYY_YY`` for the year April YYYY – March YY+1; the month is the index of
    its March, whose month-end value the column holds.
    """
    year, month = int(start[:4]), int(start[5:7])
    out = []
    for m in range(first_april(start) - 1, horizon_months, 12):
        if m < 0:
            continue
        calendar = month - 1 + m
        end_year = year + calendar // 12  # the March's calendar year
        out.append((f"fy{end_year - 1}_{end_year % 100:02d}", m))
    return out


# --------------------------------------------------------------------------- the worker side


@dataclass(frozen=True)
class SweepContext:
    """Everything a worker needs, sent once per worker."""

    sweep: Sweep
    las: LAPopulation | None
    replicates: int
    seed: int
    common_random_numbers: bool
    fiscal_years: tuple[tuple[str, int], ...]
    block_size: int = DEFAULT_BLOCK_SIZE
    uncertainty: tuple[Any, ...] = ()  # calibrated ParameterDistributions drawn per replicate group
    stack_points: bool = True  # design points may share batches (False: one at a time)


@dataclass(frozen=True)
class Chunk:
    """Consecutive design points (index and values, in parameter order) run as one task."""

    index: int
    points: tuple[int, ...]
    values: tuple[tuple[Any, ...], ...]

    @property
    def size(self) -> int:
        return len(self.points)


class PointError(Exception):
    """A design point is not a valid scenario (picklable: one string argument)."""


def point_seed(seed: int, point: int) -> int:
    """The ensemble seed of a design point when points do not share random numbers."""
    return int(np.random.SeedSequence(seed, spawn_key=(point,)).generate_state(1, np.uint64)[0])


def _metric_storage(months: int, rows: int) -> dict[str, np.ndarray]:
    """Zeroed month-major storage for a batch's metrics, reused from batch to batch by this
    process (:meth:`~sim.experiments.process.ProcessState.metric_scratch`): a sweep keeps only
    KPIs and a few fiscal-year values of each batch."""
    return state().metric_scratch(METRICS, months, rows, minimum_rows=DEFAULT_BATCH_REPLICATES)


def stackable(sweep: Sweep, common_random_numbers: bool, uncertainty: bool) -> bool:
    """Whether a sweep's design points can share batches: common random numbers, no parameter
    uncertainty, and every swept parameter one the model takes per replicate."""
    return (common_random_numbers and not uncertainty and sweep.spec.test_function is None
            and all(is_per_replicate(path) for path in sweep.paths))


def run_chunk(context: SweepContext, chunk: Chunk) -> dict[str, np.ndarray]:
    """Simulate every point of ``chunk`` with all its replicates; return the result columns.

    Rows are point-major (point 0 replicates 0…n−1, then point 1 …); columns are ``point``,
    ``replicate``, one per parameter, one per KPI, one per metric and fiscal year.
    """
    sweep = context.sweep
    n = context.replicates
    rows = chunk.size * n
    out: dict[str, np.ndarray] = {
        "point": np.repeat(np.asarray(chunk.points, dtype=np.int64), n),
        "replicate": np.tile(np.arange(n, dtype=np.int64), chunk.size),
    }
    for j, path in enumerate(sweep.paths):
        out[path] = np.repeat(np.asarray([v[j] for v in chunk.values]), n)
    kpis = {k: np.empty(rows) for k in sweep.kpis}
    series = {f"{m}_{label}": np.full(rows, np.nan) for m in sweep.metrics
              for label, _ in context.fiscal_years}

    if sweep.spec.test_function is not None:
        function = TEST_FUNCTIONS[sweep.spec.test_function]
        inputs = {path: np.asarray([v[j] for v in chunk.values], dtype=float)
                  for j, path in enumerate(sweep.paths)}
        for name, value in function.evaluate(inputs).items():
            if name in kpis:
                kpis[name][:] = np.repeat(value, n)
        return {**out, **kpis, **series}

    blocks = partition(n, context.block_size)
    months: dict[str, int] = {}

    def fill(part: Any, a: int) -> None:
        """Copy a batch's KPIs and fiscal-year metrics into the rows from ``a`` on."""
        b = a + len(next(iter(part.kpis.values())))
        for k in kpis:
            kpis[k][a:b] = part.kpis[k]
        for m in sweep.metrics:
            for label, _ in context.fiscal_years:
                if label in months:
                    series[f"{m}_{label}"][a:b] = part.metrics[m][:, months[label]]

    def point_scenario(point: int, values: tuple[Any, ...]) -> Scenario:
        try:
            return sweep.scenario(dict(zip(sweep.paths, values, strict=True)))
        except ScenarioError as exc:
            shown = ", ".join(f"{p}={v!r}" for p, v in zip(sweep.paths, values, strict=True))
            raise PointError(f"design point {point} ({shown}) is not a valid scenario: "
                             f"{exc.path} {exc.message}") from None

    if context.stack_points and stackable(sweep, context.common_random_numbers,
                                          bool(context.uncertainty)):
        # Design points side by side in batches of about DEFAULT_BATCH_REPLICATES rows, the
        # swept parameters written per replicate into the compiled parameters
        # (sim.model.compile_parameters); the same numbers as one point at a time, to the bit.
        scenarios = [point_scenario(point, values)
                     for point, values in zip(chunk.points, chunk.values, strict=True)]
        months.update({label: m for label, m in fiscal_year_columns(
            scenarios[0].time.start, scenarios[0].time.horizon_months)})
        per_batch = max(1, DEFAULT_BATCH_REPLICATES // n)
        for first in range(0, chunk.size, per_batch):
            group = range(first, min(first + per_batch, chunk.size))
            stacked = {path: np.repeat(np.asarray([value_at(scenarios[i], path) for i in group],
                                                  dtype=float), n)
                       for path in sweep.paths}  # each point's validated value, per replicate
            part = run_blocks(scenarios[first], context.las, context.seed,  # type: ignore[arg-type]
                              blocks, copies=len(group), values=stacked,
                              out=_metric_storage(scenarios[first].time.horizon_months,
                                                  len(group) * n))
            fill(part, first * n)
        return {**out, **kpis, **series}

    for row, (point, values) in enumerate(zip(chunk.points, chunk.values, strict=True)):
        scenario = point_scenario(point, values)
        prefix = () if context.common_random_numbers else (point,)
        months.clear()
        months.update({label: m for label, m in fiscal_year_columns(
            scenario.time.start, scenario.time.horizon_months)})
        if context.uncertainty:
            # Calibrated parameters drawn per group of replicates, as run --parameter-uncertainty
            # does; the point's seed (shared under common random numbers) fixes the draws.
            from sim.experiments.uncertainty import run_with_parameter_uncertainty

            seed = (context.seed if context.common_random_numbers
                    else point_seed(context.seed, point))
            assert context.las is not None  # only a test-function sweep has none
            whole, _ = run_with_parameter_uncertainty(scenario, context.las, n, seed,
                                                      context.uncertainty)
            fill(whole, row * n)
            continue
        for batch in batches(blocks, DEFAULT_BATCH_REPLICATES):
            part = run_blocks(scenario, context.las, context.seed, batch,  # type: ignore[arg-type]
                              prefix, out=_metric_storage(scenario.time.horizon_months,
                                                          sum(b.size for b in batch)))
            fill(part, row * n + batch[0].start)
    return {**out, **kpis, **series}
