"""Evaluating candidate policies for ``run.py optimise``: common futures, common random numbers,
and a cache on disk.

A candidate is one value per lever. It is evaluated at every future (the sweep's sampled
values of its uncertainties) with the same replicates: future ``f`` is design point ``f`` of
the sweep machinery (:func:`sim.experiments.runner.run_chunk`), so under common random numbers
replicate ``r`` sees the same draws at every future and for every candidate, and without them
future ``f`` has its own draws, again the same for every candidate. An evaluation is therefore
a deterministic function of the candidate, whichever worker runs it: results do not depend on
the executor, the number of workers or the order in which candidates are run.

Every new evaluation is written to ``cache/batch-NNNNN.parquet`` in the run folder (one file per
batch, under a temporary name and renamed into place) before the search goes on; a resumed run
reads them back and the deterministic search then finds each candidate it asks for in the cache,
so it ends exactly as an uninterrupted run would (docs/experiments.md §12).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.data import LAPopulation
from sim.experiments.ensemble import DEFAULT_BATCH_REPLICATES
from sim.experiments.executors import Executor
from sim.experiments.runner import Chunk, SweepContext, run_chunk
from sim.experiments.sweepfile import Sweep
from sim.experiments.testfunctions import TEST_FUNCTIONS
from sim.files import atomic_write

__all__ = ["CACHE_DIR", "NOISE_STREAM", "EvaluationContext", "EvaluationStore", "Task",
           "candidate_id", "evaluate_once", "evaluate_task"]

CACHE_DIR = "cache"
NOISE_STREAM = zlib.crc32(b"optimise-noise")
"""Spawn key of a test function's noise: separate from every simulation stream."""


def candidate_id(key: Sequence[Any]) -> str:
    """The text that names a candidate (its lever values) in the cache and the tables."""
    return repr(tuple(key))


@dataclass(frozen=True)
class EvaluationContext:
    """What a worker needs, sent once per worker.

    ``sweep`` is the sweep with only the KPIs the problem reads and no time series;
    ``futures[f]`` holds future ``f``'s value of each uncertainty, in ``uncertainty_paths``
    order.
    """

    sweep: Sweep
    las: LAPopulation | None
    replicates: int
    seed: int
    common_random_numbers: bool
    lever_paths: tuple[str, ...]
    uncertainty_paths: tuple[str, ...]
    futures: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Task:
    """Some candidates (their lever values, in lever order), each at the same futures."""

    keys: tuple[tuple[Any, ...], ...]
    futures: tuple[int, ...]


def _point_values(context: EvaluationContext, key: Sequence[Any], future: int) -> tuple[Any, ...]:
    values = dict(zip(context.lever_paths, key, strict=True))
    values.update(zip(context.uncertainty_paths, context.futures[future], strict=True))
    return tuple(values[p] for p in context.sweep.paths)


def evaluate_task(context: EvaluationContext, task: Task) -> np.ndarray:
    """Per-replicate KPI values of each candidate at the task's futures:
    float[len(keys), K, len(futures), R], the KPIs in ``context.sweep.kpis`` order.

    The candidates × futures are the design points of one sweep chunk, so the model runs them
    side by side where it can (docs/experiments.md §3.4) — the same numbers, to the bit, as one
    at a time, hence whatever the grouping of candidates into tasks.
    """
    sweep = context.sweep
    n = context.replicates
    futures = task.futures
    points = tuple(f for _ in task.keys for f in futures)
    values = tuple(_point_values(context, key, f) for key in task.keys for f in futures)
    if sweep.spec.test_function is not None:
        flat = _test_function(context, points, values)
    else:
        chunk = Chunk(index=0, points=points, values=values)
        run = SweepContext(sweep=sweep, las=context.las, replicates=n, seed=context.seed,
                           common_random_numbers=context.common_random_numbers,
                           fiscal_years=())
        columns = run_chunk(run, chunk)
        flat = np.stack([np.asarray(columns[k], dtype=float).reshape(len(points), n)
                         for k in sweep.kpis])
    # flat: [K, candidates × futures, R] → [candidates, K, futures, R]
    return flat.reshape(len(sweep.kpis), len(task.keys), len(futures), n).transpose(1, 0, 2, 3)


def _test_function(context: EvaluationContext, futures: Sequence[int],
                   values: Sequence[tuple[Any, ...]]) -> np.ndarray:
    """A test function at each future, plus its Gaussian noise per replicate, drawn from a
    stream keyed by (seed, output, future — or 0 under common random numbers)."""
    sweep = context.sweep
    function = TEST_FUNCTIONS[str(sweep.spec.test_function)]
    inputs = {p: np.asarray([v[j] for v in values], dtype=float)
              for j, p in enumerate(sweep.paths)}
    outputs = function.evaluate(inputs)
    n = context.replicates
    out = np.empty((len(sweep.kpis), len(futures), n))
    for i, kpi in enumerate(sweep.kpis):
        out[i] = np.asarray(outputs[kpi], dtype=float)[:, None]
        sd = function.noise.get(kpi, 0.0)
        if sd:
            for j, f in enumerate(futures):
                stream = (NOISE_STREAM, function.outputs.index(kpi),
                          0 if context.common_random_numbers else f)
                rng = np.random.Generator(np.random.PCG64(
                    np.random.SeedSequence(context.seed, spawn_key=stream)))
                out[i, j] += rng.normal(0.0, sd, n)
    return out


class EvaluationStore:
    """Evaluations by candidate, kept in memory and in ``<folder>/cache``.

    ``order`` holds candidates (as keys) in the order the search first asked for them (the same on a
    resumed run, whose candidates come from the cache).
    """

    def __init__(self, folder: Path, context: EvaluationContext, executor: Executor,
                 say: Callable[[str], None] | None = None):
        self.folder = Path(folder) / CACHE_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.context = context
        self.executor = executor
        self.say = say or (lambda _: None)
        self.rows: dict[str, np.ndarray] = {}
        self.keys: dict[str, tuple[Any, ...]] = {}
        self.order: dict[str, None] = {}
        self.batches = 0
        self.simulated = 0
        self._load()

    @property
    def shape(self) -> tuple[int, int, int]:
        c = self.context
        return len(c.sweep.kpis), len(c.futures), c.replicates

    def _load(self) -> None:
        import pyarrow.parquet as pq

        for stale in self.folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        files = sorted(self.folder.glob("batch-*.parquet"))
        k, f, r = self.shape
        for file in files:
            table = pq.read_table(file).to_pydict()
            ids = table["candidate"]
            data = np.stack([np.asarray(table[kpi], dtype=float)
                             for kpi in self.context.sweep.kpis])
            for start in range(0, len(ids), f * r):
                cid = ids[start]
                self.rows[cid] = data[:, start:start + f * r].reshape(k, f, r)
                self.keys[cid] = tuple(table[p][start] for p in self.context.lever_paths)
        self.batches = len(files)

    def _write(self, ids: Sequence[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        k, f, r = self.shape
        block = f * r
        columns: dict[str, Any] = {"candidate": pa.array([c for c in ids for _ in range(block)])}
        for j, path in enumerate(self.context.lever_paths):
            columns[path] = pa.array([self.keys[c][j] for c in ids for _ in range(block)])
        columns["future"] = pa.array(np.tile(np.repeat(np.arange(f), r), len(ids)))
        columns["replicate"] = pa.array(np.tile(np.arange(r), f * len(ids)))
        for i, kpi in enumerate(self.context.sweep.kpis):
            columns[kpi] = pa.array(np.concatenate([self.rows[c][i].reshape(-1) for c in ids]))
        table = pa.table(columns)
        atomic_write(self.folder / f"batch-{self.batches:05d}.parquet",
                     lambda tmp: pq.write_table(table, tmp))
        self.batches += 1

    def evaluate(self, keys: Sequence[tuple[Any, ...]]) -> list[np.ndarray]:
        """float[K, F, R] for each candidate; only those not yet in the cache are simulated."""
        ids = [candidate_id(key) for key in keys]
        todo: dict[str, tuple[Any, ...]] = {}
        for cid, key in zip(ids, keys, strict=True):
            if cid not in self.keys:
                self.keys[cid] = tuple(key)
            if cid not in self.rows:
                todo.setdefault(cid, tuple(key))
        if todo:
            futures = tuple(range(len(self.context.futures)))
            pending = list(todo.values())
            _, f, r = self.shape
            size = min(max(1, DEFAULT_BATCH_REPLICATES // (f * r)),
                       math.ceil(len(pending) / max(1, self.executor.workers)))
            tasks = [Task(keys=tuple(pending[i:i + size]), futures=futures)
                     for i in range(0, len(pending), size)]
            for task, result in self.executor.map_unordered(evaluate_task, self.context, tasks):
                for key, values in zip(task.keys, np.asarray(result, dtype=float), strict=True):
                    self.rows[candidate_id(key)] = values
            self._write(list(todo))
            self.simulated += len(todo)
        self.order.update(dict.fromkeys(ids))  # keeps each id where it first came
        return [self.rows[cid] for cid in ids]


def evaluate_once(context: EvaluationContext, executor: Executor,
                  key: tuple[Any, ...]) -> np.ndarray:
    """float[K, F, R] of one candidate, one task per future (not cached): the re-evaluation on
    fresh seeds."""
    futures = range(len(context.futures))
    out = np.empty((len(context.sweep.kpis), len(context.futures), context.replicates))
    tasks = [Task(keys=(tuple(key),), futures=(f,)) for f in futures]
    for task, result in executor.map_unordered(evaluate_task, context, tasks):
        out[:, task.futures[0]] = np.asarray(result, dtype=float)[0, :, 0]
    return out
