"""Monte Carlo ensembles: run R replicates of one or more scenarios with common random numbers.

Replicates are split into fixed-size random-stream blocks (:func:`sim.engine.partition`), and
blocks are simulated together in batches of about ``batch_replicates`` rows. Because every
block draws from its own streams, the result is the same whatever the batch size, and whatever
the number of worker processes the batches are spread over (``workers``); because every
scenario uses the same seed, scenarios compared in one call share common random numbers
mechanism by mechanism.

With ``workers`` > 1 the batches of every scenario go to one process pool. Workers write their
rows straight into a shared, file-backed memory map (in ``/dev/shm`` where it has room), so the
parent copies nothing: sending 10,000 × 120-month metric arrays back through pipes would cost
more than a second.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.data import LAPopulation
from sim.engine import DEFAULT_BLOCK_SIZE, Block, RandomStreams, partition, summarise
from sim.model import KPIS, METRICS, BatchResult, simulate
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
enough to amortise numpy call overhead (research/perf_style.md §1.6), small enough that a
batch's 95 metric arrays stay under 200 MB."""
ENSEMBLE_BATCH_REPLICATES = 5000
"""Rows per batch of an ensemble: its metrics are written in place into the ensemble's arrays,
so a bigger batch costs no memory, and it pays the model's fixed cost per month (about 70 ms a
run) fewer times: 10,000 replicates on two workers took 2.8 s in batches of 5,000 against
3.0 s in batches of 2,000 (median of 7)."""
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
    events : the calendar's event log (month, name) — the same for every batch.
    """

    scenario: Scenario
    seed: int
    replicates: int
    metrics: dict[str, np.ndarray]
    kpis: dict[str, np.ndarray]
    events: list[tuple[int, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scenario.meta.name

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


_BLAS: Any = None
"""threadpoolctl controller of this process's BLAS, made on first use."""


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while simulating.

    The model's matrix products are small ([R, 153] by [153, 9]); OpenBLAS threads only add
    hand-over and spin-waiting: a 2,000-replicate batch ran 2.7 times faster with one thread on
    a busy two-core machine, and the numbers are the same to the bit.
    """
    global _BLAS
    try:
        if _BLAS is None:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        return _BLAS.limit(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()


def run_blocks(scenario: Scenario, las: LAPopulation, seed: int, blocks: Sequence[Block],
               key_prefix: Sequence[int] = (), copies: int = 1,
               out: Mapping[str, np.ndarray] | None = None) -> BatchResult:
    """Simulate the given blocks of a run together (one batch), with one BLAS thread.

    ``key_prefix`` goes before every random-stream key (sweeps pass the design point);
    ``copies`` > 1 simulates that many copies of the blocks side by side with the same streams
    (design points stacked in one scenario, :mod:`sim.model.batching`); ``out`` is where the
    metrics go (:func:`sim.model.simulate`).
    """
    with one_blas_thread():
        return simulate(scenario, las, RandomStreams(seed, blocks, key_prefix, copies), out)


def run_ensemble(scenario: Scenario, las: LAPopulation, replicates: int, seed: int,
                 block_size: int = DEFAULT_BLOCK_SIZE,
                 batch_replicates: int = ENSEMBLE_BATCH_REPLICATES,
                 workers: int | None = 1) -> EnsembleResult:
    """Run ``replicates`` replicates of ``scenario`` from ``seed``.

    ``block_size`` fixes the random-stream blocks (changing it changes the numbers);
    ``batch_replicates`` only changes how many blocks share arrays, and ``workers`` how many
    processes simulate them (never the numbers). ``workers=None`` picks: every core from
    three blocks (more than 2,000 replicates), else this process alone.
    """
    count = resolve_workers(workers, [replicates], block_size)
    if count > 1:
        return _run_parallel([scenario], las, replicates, seed, block_size, batch_replicates,
                             count)[0]
    blocks = partition(replicates, block_size)
    # Month-major storage ([T, R]), filled in place batch by batch and handed out as [R, T]
    # views: the model writes each month's values of a batch as one contiguous run.
    months = scenario.time.horizon_months
    storage = {name: np.zeros((months, replicates)) for name in METRICS}
    kpis: dict[str, np.ndarray] = {}
    events: list[tuple[int, str]] = []
    for group in batches(blocks, batch_replicates):
        rows = slice(group[0].start, group[-1].start + group[-1].size)
        part = run_blocks(scenario, las, seed, group,
                          out={name: values[:, rows] for name, values in storage.items()})
        if not kpis:
            kpis = {k: np.empty(replicates) for k in part.kpis}
            events = part.events
        for k, v in part.kpis.items():
            kpis[k][rows] = v
    return EnsembleResult(scenario=scenario, seed=seed, replicates=replicates,
                          metrics={name: values.T for name, values in storage.items()},
                          kpis=kpis, events=events)


def compare(scenarios: Sequence[Scenario], las: LAPopulation, replicates: int, seed: int,
            block_size: int = DEFAULT_BLOCK_SIZE,
            batch_replicates: int = ENSEMBLE_BATCH_REPLICATES,
            workers: int | None = 1) -> list[EnsembleResult]:
    """Run several scenarios with the same seed, so they share common random numbers.

    With ``workers`` > 1 (or ``None``: every core, from three blocks in all) the batches of
    all the scenarios share one process pool.
    """
    count = resolve_workers(workers, [replicates] * len(scenarios), block_size)
    if count > 1:
        return _run_parallel(scenarios, las, replicates, seed, block_size, batch_replicates, count)
    return [run_ensemble(s, las, replicates, seed, block_size, batch_replicates)
            for s in scenarios]


# --------------------------------------------------------------------------- process pool


def resolve_workers(workers: int | None, replicates: Sequence[int],
                    block_size: int = DEFAULT_BLOCK_SIZE) -> int:
    """Processes to use: ``workers``, but never more than there are random-stream blocks to
    share out (a block is never split). ``None`` means every core when there are at least
    :data:`AUTO_POOL_MIN_BLOCKS` blocks in all, else one: starting a pool costs about half a
    second, which two blocks do not win back on a busy two-core machine."""
    from sim.experiments.executors import default_workers

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


@dataclass(frozen=True)
class _Layout:
    """Where each scenario's metrics and KPIs live in the shared file: name → (offset, shape)."""

    path: str
    size: int
    slots: tuple[dict[str, tuple[int, tuple[int, ...]]], ...]


def _make_layout(scenarios: Sequence[Scenario], replicates: int) -> _Layout | None:
    """A file in /dev/shm (or the temporary folder) big enough for every result, or None when
    neither has room (then results come back through pipes)."""
    slots = []
    offset = 0
    for scenario in scenarios:
        months = scenario.time.horizon_months
        slot: dict[str, tuple[int, tuple[int, ...]]] = {}
        for name in METRICS:  # month-major: each worker writes whole rows of months
            slot[f"m:{name}"] = (offset, (months, replicates))
            offset += replicates * months * 8
        for name in KPIS:
            slot[f"k:{name}"] = (offset, (replicates,))
            offset += replicates * 8
        slots.append(slot)
    for folder in ("/dev/shm", tempfile.gettempdir()):
        try:
            stats = os.statvfs(folder)
            if stats.f_bavail * stats.f_frsize < 1.2 * offset + (64 << 20):
                continue
            fd, path = tempfile.mkstemp(prefix="coe-sim-ensemble-", dir=folder)
            os.ftruncate(fd, max(offset, 1))
            os.close(fd)
            return _Layout(path=path, size=max(offset, 1), slots=tuple(slots))
        except (OSError, AttributeError):
            continue
    return None


@dataclass(frozen=True)
class _PoolContext:
    scenarios: tuple[Scenario, ...]
    las: LAPopulation
    seed: int
    layout: _Layout | None


_MAPS: dict[str, mmap.mmap] = {}
"""Per worker process: the shared result file, mapped once."""


def _shared_map(layout: _Layout) -> mmap.mmap:
    if layout.path not in _MAPS:
        with open(layout.path, "r+b") as handle:
            _MAPS.clear()  # a new run: drop the previous run's map
            _MAPS[layout.path] = mmap.mmap(handle.fileno(), layout.size)
    return _MAPS[layout.path]


def _simulate_task(context: _PoolContext, task: tuple[int, list[Block]]) -> dict[str, Any]:
    """Worker: simulate one batch; write its rows into the shared file; return the rest."""
    index, group = task
    rows = slice(group[0].start, group[-1].start + group[-1].size)
    if context.layout is None:
        part = run_blocks(context.scenarios[index], context.las, context.seed, group)
        return {"events": part.events, "written": [], "metrics": part.metrics,
                "kpis": part.kpis}
    shared = _shared_map(context.layout)
    slot = context.layout.slots[index]
    storage: dict[str, np.ndarray] = {}  # the model writes the metrics into the shared file
    for name in METRICS:
        offset, shape = slot[f"m:{name}"]
        storage[name] = np.frombuffer(shared, dtype=np.float64, count=math.prod(shape),
                                      offset=offset).reshape(shape)[:, rows]
    part = run_blocks(context.scenarios[index], context.las, context.seed, group, out=storage)
    out: dict[str, Any] = {"events": part.events, "written": [f"m:{name}" for name in METRICS],
                           "metrics": {}, "kpis": {}}
    for name, value in part.kpis.items():
        where = slot.get(f"k:{name}")
        if where is None:
            out["kpis"][name] = value  # not in the layout: back through the pipe
            continue
        offset, shape = where
        np.frombuffer(shared, dtype=np.float64, count=math.prod(shape), offset=offset)[rows] = value
        out["written"].append(f"k:{name}")
    return out


def _run_parallel(scenarios: Sequence[Scenario], las: LAPopulation, replicates: int, seed: int,
                  block_size: int, batch_replicates: int, workers: int) -> list[EnsembleResult]:
    from sim.experiments.executors import LocalExecutor

    blocks = partition(replicates, block_size)
    groups = even_batches(blocks, workers, batch_replicates)
    tasks = [(i, g) for i in range(len(scenarios)) for g in groups]
    tasks.sort(key=lambda t: -sum(b.size for b in t[1]))  # biggest first: better balance
    layout = _make_layout(scenarios, replicates)
    context = _PoolContext(tuple(scenarios), las, seed, layout)
    events: list[list[tuple[int, str]]] = [[] for _ in scenarios]
    written: list[set[str]] = [set() for _ in scenarios]
    piped: list[dict[str, dict[str, np.ndarray]]] = [{"metrics": {}, "kpis": {}} for _ in scenarios]
    shared = None
    try:
        with LocalExecutor(min(workers, len(tasks))) as executor:
            for (index, group), out in executor.map_unordered(_simulate_task, context, tasks):
                events[index] = out["events"]
                written[index].update(out["written"])
                rows = slice(group[0].start, group[-1].start + group[-1].size)
                for kind in ("metrics", "kpis"):
                    store = piped[index][kind]
                    for name, value in out[kind].items():
                        if name not in store:
                            store[name] = np.empty((replicates, *value.shape[1:]))
                        store[name][rows] = value
        if layout is not None:
            with open(layout.path, "r+b") as handle:
                shared = mmap.mmap(handle.fileno(), layout.size)
    finally:
        if layout is not None:
            try:
                os.unlink(layout.path)  # the map stays valid; its memory goes with the arrays
            except OSError:
                pass
    results = []
    for index, scenario in enumerate(scenarios):
        found: dict[str, dict[str, np.ndarray]] = {"metrics": {}, "kpis": {}}
        if layout is not None and shared is not None:
            for key, (offset, shape) in layout.slots[index].items():
                if key in written[index]:
                    kind = "metrics" if key.startswith("m:") else "kpis"
                    values = np.frombuffer(
                        shared, dtype=np.float64, count=math.prod(shape), offset=offset
                    ).reshape(shape)
                    found[kind][key[2:]] = values.T if kind == "metrics" else values
        for kind in ("metrics", "kpis"):
            found[kind].update(piped[index][kind])
        results.append(EnsembleResult(scenario=scenario, seed=seed, replicates=replicates,
                                      metrics=found["metrics"], kpis=found["kpis"],
                                      events=events[index]))
    return results
