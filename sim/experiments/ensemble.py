"""Monte Carlo ensembles: run R replicates of one or more scenarios with common random numbers.

Replicates are split into fixed-size random-stream blocks (:func:`sim.engine.partition`), and
blocks are simulated together in batches of about ``batch_replicates`` rows. Because every
block draws from its own streams, the result is the same whatever the batch size, and whatever
executor runs the batches (in this process, a local process pool or Dask, with any number of
workers); because every scenario uses the same seed, scenarios compared in one call share
common random numbers mechanism by mechanism.

Batches run as tasks of an executor (:mod:`sim.experiments.executors`), all the scenarios'
batches on one set of workers. Each task writes its rows straight into the ensemble's arrays
(:class:`sim.experiments.shared.SharedArrays`): in this process, or through a shared
memory-mapped file from workers on this machine, so the parent copies nothing — sending
10,000 × 120-month metric arrays back through pipes would cost more than the simulation gains
from a second worker. Workers on other machines send their rows back instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.data import LAPopulation
from sim.engine import DEFAULT_BLOCK_SIZE, Block, RandomStreams, partition, summarise
from sim.experiments.executors import Executor, default_workers, make_executor
from sim.experiments.process import state
from sim.experiments.shared import SharedArrays
from sim.model import (
    DIMENSIONS,
    KPIS,
    METRICS,
    BatchResult,
    Event,
    compile_parameters,
    simulate,
)
from sim.scenario import Scenario

__all__ = [
    "DEFAULT_BATCH_REPLICATES",
    "ENSEMBLE_BATCH_REPLICATES",
    "EnsembleResult",
    "batches",
    "compare",
    "even_batches",
    "one_blas_thread",
    "resolve_workers",
    "run_blocks",
    "run_ensemble",
]

DEFAULT_BATCH_REPLICATES = 2000
"""Rows per batch where the model keeps a batch's metrics itself (sweeps, calibration): large
enough that numpy's fixed cost per call is shared by many rows, small enough that a batch's 95
metric arrays stay under 200 MB."""
ENSEMBLE_BATCH_REPLICATES = 5000
"""Rows per batch of an ensemble: its metrics are written in place into the ensemble's arrays,
so a bigger batch costs no memory, and it pays the model's fixed cost per month (a cost per
call, whatever the number of rows) fewer times."""
AUTO_POOL_MIN_BLOCKS = 3
"""``workers=None`` uses a process pool from this many random-stream blocks (3,000 replicates)."""


@dataclass
class EnsembleResult:
    """All replicates of one scenario.

    Attributes
    ----------
    scenario : the validated scenario that was run.
    seed, replicates : how it was run.
    metrics : name → float64[R, T] per-month metric for every replicate.
    kpis : name → float64[R] per-replicate KPI.
    events : the calendar's events (:class:`sim.model.Event`) — the same for every batch.
    """

    scenario: Scenario
    seed: int
    replicates: int
    metrics: dict[str, np.ndarray]
    kpis: dict[str, np.ndarray]
    events: list[Event] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scenario.meta.name

    @property
    def dimensions(self) -> dict[str, tuple[str, ...]]:
        """The declared lists behind the grouped metrics (income sources, cost types, roles,
        strands, ladder states, regions, Ofsted grades: :data:`sim.model.DIMENSIONS`)."""
        return dict(DIMENSIONS)

    def metric_summary(self) -> dict[str, dict[str, np.ndarray]]:
        """Per metric: mean, p10, p50, p90 (and defined_share), each float[T]."""
        return {k: summarise(v) for k, v in self.metrics.items()}

    def kpi_summary(self) -> dict[str, dict[str, float]]:
        """Per KPI: mean, p10, p50, p90 and defined_share over replicates."""
        return {k: {s: float(x[0]) for s, x in summarise(v[:, None]).items()}
                for k, v in self.kpis.items()}


def batches(blocks: Sequence[Block], batch_replicates: int) -> list[list[Block]]:
    """Group consecutive blocks into batches of at most ``batch_replicates`` rows (≥ 1 block)."""
    groups: list[list[Block]] = []
    current: list[Block] = []
    rows = 0
    for block in blocks:
        if current and rows + block.size > batch_replicates:
            groups.append(current)
            current, rows = [], 0
        current.append(block)
        rows += block.size
    if current:
        groups.append(current)
    return groups


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while simulating (:meth:`ProcessState.one_blas_thread
    <sim.experiments.process.ProcessState.one_blas_thread>`)."""
    return state().one_blas_thread()


def run_blocks(scenario: Scenario, las: LAPopulation, seed: int, blocks: Sequence[Block],
               key_prefix: Sequence[int] = (), copies: int = 1,
               out: Mapping[str, np.ndarray] | None = None,
               values: Mapping[str, Any] | None = None) -> BatchResult:
    """Simulate the given blocks of a run together (one batch), with one BLAS thread.

    ``key_prefix`` goes before every random-stream key (sweeps pass the design point);
    ``copies`` > 1 simulates that many copies of the blocks side by side with the same streams;
    ``values`` (key path → float64[R] or a number) are written into the compiled parameters
    (design points stacked in one batch, a calibrated parameter draw:
    :func:`sim.model.compile_parameters`); ``out`` is where the metrics go
    (:func:`sim.model.simulate`).
    """
    streams = RandomStreams(seed, blocks, key_prefix, copies)
    params = compile_parameters(scenario, las, streams.replicates, values)
    with one_blas_thread():
        return simulate(params, streams, out)


def run_ensemble(scenario: Scenario, las: LAPopulation, replicates: int, seed: int,
                 block_size: int = DEFAULT_BLOCK_SIZE,
                 batch_replicates: int = ENSEMBLE_BATCH_REPLICATES,
                 workers: int | None = 1, *, executor: Executor | None = None,
                 values: Mapping[str, float] | None = None) -> EnsembleResult:
    """Run ``replicates`` replicates of ``scenario`` from ``seed``.

    ``block_size`` fixes the random-stream blocks (changing it changes the numbers);
    ``batch_replicates`` only changes how many blocks share arrays, and ``workers`` or
    ``executor`` where they are simulated (never the numbers). ``workers`` processes on this
    machine; ``None`` picks every core from three blocks (more than 2,000 replicates), else
    this process alone. ``executor`` (from :func:`~sim.experiments.executors.make_executor`,
    e.g. Dask) is used instead of ``workers`` and left open for the caller. ``values`` (key
    path → number) are written into the compiled parameters of every replicate (a calibrated
    parameter draw, validated by the caller).
    """
    return compare([scenario], las, replicates, seed, block_size, batch_replicates, workers,
                   executor=executor, values=values)[0]


def compare(scenarios: Sequence[Scenario], las: LAPopulation, replicates: int, seed: int,
            block_size: int = DEFAULT_BLOCK_SIZE,
            batch_replicates: int = ENSEMBLE_BATCH_REPLICATES,
            workers: int | None = 1, *, executor: Executor | None = None,
            values: Mapping[str, float] | None = None) -> list[EnsembleResult]:
    """Run several scenarios with the same seed, so they share common random numbers.

    The batches of all the scenarios go to one executor: ``executor`` if given (left open),
    else a local one of ``workers`` processes (``None``: every core, from three blocks in all;
    1: this process). ``values`` are written into every scenario's compiled parameters (see
    :func:`run_ensemble`).
    """
    given = dict(values or {})
    if executor is not None:
        return _run(scenarios, las, replicates, seed, block_size, batch_replicates, executor,
                    given)
    count = resolve_workers(workers, [replicates] * len(scenarios), block_size)
    with make_executor("local", count) as own:
        return _run(scenarios, las, replicates, seed, block_size, batch_replicates, own, given)


def resolve_workers(workers: int | None, replicates: Sequence[int],
                    block_size: int = DEFAULT_BLOCK_SIZE) -> int:
    """Processes to use: ``workers``, but never more than there are random-stream blocks to
    share out (a block is never split). ``None`` means every core when there are at least
    :data:`AUTO_POOL_MIN_BLOCKS` blocks in all, else one: a spawned worker process must import
    the model and load its compiled loops before its first batch, which two blocks do not win
    back (a forked one starts at once, :func:`~sim.experiments.executors.start_method`, but the
    rule does not depend on how workers start)."""
    blocks = sum(math.ceil(r / block_size) for r in replicates)
    if workers is None:
        workers = default_workers() if blocks >= AUTO_POOL_MIN_BLOCKS else 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return max(1, min(workers, blocks))


def even_batches(blocks: Sequence[Block], workers: int, batch_replicates: int) -> list[list[Block]]:
    """Consecutive blocks in a number of groups that is a multiple of ``workers`` when the
    blocks allow it, each of at most about ``batch_replicates`` rows, sizes as even as blocks
    allow (so no worker is left with the last big batch alone)."""
    rows = sum(b.size for b in blocks)
    groups = min(len(blocks), workers * math.ceil(rows / (workers * batch_replicates)))
    bounds = np.linspace(0, len(blocks), groups + 1).round().astype(int)
    return [list(blocks[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


# --------------------------------------------------------------------------- batches as tasks

_Key = tuple[int, str, str]
"""Where a result lives: (scenario index, ``metric`` or ``kpi``, name)."""


@dataclass(frozen=True)
class _EnsembleContext:
    """What every batch task needs, sent once to each worker."""

    scenarios: tuple[Scenario, ...]
    las: LAPopulation
    seed: int
    results: SharedArrays[_Key]
    values: dict[str, float]


@dataclass(frozen=True)
class _BatchReply:
    """What a batch task sends back: the keys it produced, in the model's order; the rows it
    could not write in place (all of them when the results are out of its reach); and, from
    the batch that starts at replicate 0, the batch result's other fields (its event log)."""

    keys: tuple[_Key, ...]
    sent: dict[_Key, np.ndarray]
    fields: dict[str, Any]


def _rows(group: Sequence[Block]) -> slice:
    return slice(group[0].start, group[-1].start + group[-1].size)


def _simulate_batch(context: _EnsembleContext, task: tuple[int, list[Block]]) -> _BatchReply:
    """Task: simulate one batch of scenario ``index``, writing its rows into the results."""
    index, group = task
    rows = _rows(group)
    shared = context.results.attach()
    months = context.scenarios[index].time.horizon_months
    if shared is None:
        out = {name: np.zeros((months, rows.stop - rows.start)) for name in METRICS}
    else:
        out = {name: shared[(index, "metric", name)][:, rows] for name in METRICS}
    part = run_blocks(context.scenarios[index], context.las, context.seed, group, out=out,
                      values=context.values)
    keys: list[_Key] = []
    sent: dict[_Key, np.ndarray] = {}
    for name, values in part.metrics.items():
        keys.append((index, "metric", name))
        if shared is None or name not in out:
            sent[keys[-1]] = values.T  # month-major, as stored
    for name, values in part.kpis.items():
        keys.append((index, "kpi", name))
        if shared is not None and keys[-1] in shared:
            shared[keys[-1]][rows] = values
        else:
            sent[keys[-1]] = values
    fields = {} if rows.start else {f.name: getattr(part, f.name) for f in dataclasses.fields(part)
                                    if f.name not in ("metrics", "kpis")}
    return _BatchReply(tuple(keys), sent, fields)


def _run(scenarios: Sequence[Scenario], las: LAPopulation, replicates: int, seed: int,
         block_size: int, batch_replicates: int, executor: Executor,
         values: dict[str, float]) -> list[EnsembleResult]:
    """Every scenario's batches as tasks on ``executor``, their rows gathered in place."""
    blocks = partition(replicates, block_size)
    if executor.workers > 1:
        groups = even_batches(blocks, executor.workers, batch_replicates)
    else:
        groups = batches(blocks, batch_replicates)
    tasks = [(i, g) for i in range(len(scenarios)) for g in groups]
    if not executor.in_process:
        tasks.sort(key=lambda t: -sum(b.size for b in t[1]))  # biggest first: better balance
    # Month-major metrics ([T, R]): the model writes each month's values of a batch as one
    # contiguous run; they are handed out as [R, T] views.
    shapes: dict[_Key, tuple[int, ...]] = {}
    for i, scenario in enumerate(scenarios):
        shapes.update({(i, "metric", name): (scenario.time.horizon_months,) for name in METRICS})
        shapes.update({(i, "kpi", name): () for name in KPIS})
    keys: list[tuple[_Key, ...]] = [() for _ in scenarios]
    fields: list[dict[str, Any]] = [{} for _ in scenarios]
    with SharedArrays(replicates, shapes, share_file=not executor.in_process) as results:
        context = _EnsembleContext(tuple(scenarios), las, seed, results, values)
        for (index, group), reply in executor.map_unordered(_simulate_batch, context, tasks):
            rows = _rows(group)
            for key, sent in reply.sent.items():
                results.receive(key, rows, sent)
            if not rows.start:
                keys[index], fields[index] = reply.keys, reply.fields
    return [_result(scenario, seed, replicates, results, keys[i], fields[i])
            for i, scenario in enumerate(scenarios)]


def _result(scenario: Scenario, seed: int, replicates: int, results: SharedArrays[_Key],
            keys: Sequence[_Key], fields: Mapping[str, Any]) -> EnsembleResult:
    """One scenario's :class:`EnsembleResult`: views of the gathered arrays, and the first
    batch's other fields (a field :class:`EnsembleResult` does not declare is carried as an
    attribute, as it is)."""
    metrics: dict[str, np.ndarray] = {}
    kpis: dict[str, np.ndarray] = {}
    for key in keys:
        _, kind, name = key
        if kind == "metric":
            metrics[name] = results.arrays[key].T
        else:
            kpis[name] = results.arrays[key]
    declared = {f.name for f in dataclasses.fields(EnsembleResult)}
    given = {"scenario", "seed", "replicates", "metrics", "kpis"}
    result = EnsembleResult(scenario=scenario, seed=seed, replicates=replicates, metrics=metrics,
                            kpis=kpis,
                            **{k: v for k, v in fields.items() if k in declared - given})
    for name, value in fields.items():
        if name not in declared and not hasattr(result, name):
            setattr(result, name, value)
    return result
