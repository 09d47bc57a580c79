"""A pool of worker processes kept warm for many small ensembles, one after another.

:func:`sim.experiments.run_ensemble` starts its workers for one call and lets them go, and it
never splits a random-stream block, so 1,000 replicates (one block of
:data:`sim.engine.DEFAULT_BLOCK_SIZE`) run in one process. An interactive caller (the live
explorer, docs/explorer.md) asks for a small ensemble on every change and wants it back at once:
:class:`EnsemblePool` keeps its workers for its whole life, with the model imported and its
compiled kernels loaded (:meth:`EnsemblePool.start`), and cuts replicates into smaller blocks
(``block_size``, e.g. 500) so that each worker gets one. The numbers are those of
``run_ensemble(..., block_size=block_size)`` — ``python run.py run --block-size N`` — to the
bit, on any number of workers: every block draws from its own streams (sim/engine/rng.py).

A worker sends back only what the caller asks for (``metrics``: names or ``fnmatch`` patterns,
plus every KPI and the event log) through the pool's pipe, from metric storage it reuses from
call to call; or, with ``metrics=None``, every metric, written in place into a shared
memory-mapped file (:class:`~sim.experiments.shared.SharedArrays`), as ``run_ensemble`` does.
A worker that dies is replaced: the pool restarts once and runs the ensemble again
(:attr:`EnsemblePool.restarts` counts it), rather than hang or give up.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.data import LAPopulation, load_la_population
from sim.engine import Block, partition
from sim.experiments.ensemble import EnsembleResult, run_blocks
from sim.experiments.executors import Executor, ExecutorError, LocalExecutor, make_executor
from sim.experiments.process import state
from sim.experiments.shared import SharedArrays
from sim.model import METRICS
from sim.scenario import Scenario

__all__ = ["EXPLORER_BLOCK_SIZE", "EnsemblePool"]

EXPLORER_BLOCK_SIZE = 500
"""Replicates per random-stream block of the explorer's ensembles: 1,000 replicates are two
blocks, one per core of a 2-core machine (docs/explorer.md, "Latency")."""
WARM_UP_REPLICATES = 4
"""Replicates of the tiny ensemble each worker runs at start: enough to load every kernel."""


@dataclass(frozen=True)
class _PoolContext:
    """What every worker keeps for the pool's life (sent once, at start)."""

    las: LAPopulation


@dataclass(frozen=True)
class _PoolTask:
    """One batch: blocks of one scenario, where its rows go and which metrics come back."""

    scenario: Scenario
    seed: int
    blocks: tuple[Block, ...]
    results: SharedArrays[str] | None
    metrics: tuple[str, ...] | None

    @property
    def rows(self) -> slice:
        return slice(self.blocks[0].start, self.blocks[-1].start + self.blocks[-1].size)


@dataclass(frozen=True)
class _PoolReply:
    """A batch's KPIs, the metrics asked for (replicate-major, float64[rows, T]) and, from the
    batch that starts at replicate 0, the batch result's other fields (its event log)."""

    kpis: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    fields: dict[str, Any]
    order: tuple[str, ...]
    pid: int


def _wanted(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _run_task(context: _PoolContext, task: _PoolTask) -> _PoolReply:
    """Worker side: simulate one batch; write every metric into the shared file, or keep the
    asked-for metrics only (from storage this process reuses: the rest are not wanted)."""
    rows = task.rows
    months = task.scenario.time.horizon_months
    shared = task.results.attach() if task.results is not None else None
    if shared is not None:
        out = {name: shared[name][:, rows] for name in METRICS}
    else:
        out = state().metric_scratch(METRICS, months, rows.stop - rows.start)
    part = run_blocks(task.scenario, context.las, task.seed, task.blocks, out=out)
    if task.metrics is None:  # every metric: those the model did not write in place go back
        sent = {k: np.ascontiguousarray(v) for k, v in part.metrics.items()
                if shared is None or k not in out}
    else:
        sent = {k: np.ascontiguousarray(v) for k, v in part.metrics.items()
                if _wanted(k, task.metrics)}
    fields = {} if rows.start else {f.name: getattr(part, f.name)
                                    for f in dataclasses.fields(part)
                                    if f.name not in ("metrics", "kpis")}
    return _PoolReply({k: np.asarray(v) for k, v in part.kpis.items()}, sent, fields,
                      tuple(part.metrics), os.getpid())


def _warm_up(context: _PoolContext, scenario: Scenario) -> int:
    """Worker side: import the model and load its compiled kernels with a tiny ensemble."""
    run_blocks(scenario, context.las, 0, partition(WARM_UP_REPLICATES))
    return os.getpid()


class EnsemblePool:
    """``workers`` processes kept for many ensembles of ``block_size`` blocks.

    Parameters
    ----------
    workers : processes (1: everything in this process, no pool).
    block_size : replicates per random-stream block (fixes the numbers with the seed).
    las : the LA population (default: the package's).

    Use :meth:`start` once (it loads the model in every worker), :meth:`run` for each
    ensemble, :meth:`close` at the end (or use it as a context manager). Not thread-safe: the
    caller runs one ensemble at a time.
    """

    def __init__(self, workers: int = 2, block_size: int = EXPLORER_BLOCK_SIZE,
                 las: LAPopulation | None = None) -> None:
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        self.workers = int(workers)
        self.block_size = int(block_size)
        self._context = _PoolContext(las if las is not None else load_la_population())
        self._executor: Executor = make_executor("local", self.workers)
        self._warm_with: Scenario | None = None
        self._closed = False
        self.restarts = 0
        """How many times a dead worker made the pool start again."""

    def __enter__(self) -> EnsemblePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, scenario: Scenario) -> float:
        """Start the workers and load the model in each with a tiny ensemble of ``scenario``
        (numba compiles the kernels if its disk cache is missing). Returns the seconds taken."""
        t0 = time.perf_counter()
        if self._closed:
            self._executor = make_executor("local", self.workers)
            self._closed = False
        self._warm_with = scenario
        seen: set[int] = set()
        for _ in range(4):  # each worker takes one task while the others load, as a rule
            for _, pid in self._executor.map_unordered(_warm_up, self._context,
                                                       [scenario] * self.workers):
                seen.add(pid)
            if len(seen) >= self.workers:
                break
        return time.perf_counter() - t0

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers (none when in this process or stopped)."""
        return self._executor.pids if isinstance(self._executor, LocalExecutor) else []

    def restart(self) -> float:
        """Stop every worker and start new ones (loading the model). Returns the seconds."""
        self.close()
        self.restarts += 1
        self._executor = make_executor("local", self.workers)
        self._closed = False
        return self.start(self._warm_with) if self._warm_with is not None else 0.0

    def run(self, scenario: Scenario, replicates: int, seed: int,
            metrics: Sequence[str] | None = None) -> EnsembleResult:
        """``replicates`` replicates of ``scenario`` from ``seed``, in blocks of
        :attr:`block_size`: the numbers of ``run_ensemble(..., block_size=block_size)``.

        ``metrics``: names or ``fnmatch`` patterns (``income_*_gbp``) of the metrics to bring
        back (every KPI comes back); None brings every metric, through a shared file. If a
        worker dies the pool restarts and the ensemble runs again (once); after :meth:`close`
        (e.g. from another thread while this runs) it raises :class:`ExecutorError`.
        """
        if self._closed:
            raise ExecutorError("the ensemble pool is closed")
        try:
            return self._run(scenario, replicates, seed, metrics)
        except (ExecutorError, BrokenProcessPool):  # a worker died, now or since the last run
            if self._closed:
                raise ExecutorError("the ensemble pool was closed while it ran") from None
            self.restart()
            return self._run(scenario, replicates, seed, metrics)

    def _run(self, scenario: Scenario, replicates: int, seed: int,
             metrics: Sequence[str] | None) -> EnsembleResult:
        blocks = partition(replicates, self.block_size)
        months = scenario.time.horizon_months
        wanted = tuple(metrics) if metrics is not None else None
        shapes = {name: (months,) for name in METRICS} if wanted is None else {}
        share = not self._executor.in_process
        with SharedArrays(replicates, shapes, share_file=share and bool(shapes)) as results:
            tasks = [_PoolTask(scenario, seed, (block,), results if shapes else None, wanted)
                     for block in blocks]
            kpis: dict[str, np.ndarray] = {}
            sent: dict[str, np.ndarray] = {}
            fields: dict[str, Any] = {}
            order: tuple[str, ...] = ()
            for task, reply in self._executor.map_unordered(_run_task, self._context, tasks):
                rows = task.rows
                for name, values in reply.kpis.items():
                    kpis.setdefault(name, np.zeros(replicates))[rows] = values
                for name, values in reply.metrics.items():
                    if name not in sent:
                        sent[name] = np.zeros((replicates, *values.shape[1:]))
                    sent[name][rows] = values
                if not rows.start:
                    fields, order = reply.fields, reply.order
            # In the model's order, as run_ensemble gives them.
            arrays = {name: sent[name] if name in sent else results.arrays[name].T
                      for name in order if name in sent or name in shapes}
        return _result(scenario, seed, replicates, arrays, kpis, fields)

    def close(self) -> None:
        """Stop the workers (idempotent); a busy worker is ended at once. :meth:`start` starts
        new ones."""
        self._closed = True
        if isinstance(self._executor, LocalExecutor):
            self._executor.close(terminate=True)
        else:
            self._executor.close()


def _result(scenario: Scenario, seed: int, replicates: int, metrics: dict[str, np.ndarray],
            kpis: dict[str, np.ndarray], fields: dict[str, Any]) -> EnsembleResult:
    """The :class:`EnsembleResult` of gathered arrays and the first batch's other fields."""
    result = EnsembleResult(scenario=scenario, seed=seed, replicates=replicates,
                            metrics=metrics, kpis=kpis, events=list(fields.get("events", [])))
    for name, value in fields.items():
        if name != "events" and not hasattr(result, name):
            setattr(result, name, value)
    return result
