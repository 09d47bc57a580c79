"""Monte Carlo ensembles: run R replicates of one or more scenarios with common random numbers.

Replicates are split into fixed-size random-stream blocks (:func:`sim.engine.partition`), and
blocks are simulated together in batches of about ``batch_replicates`` rows. Because every
block draws from its own streams, the result is the same whatever the batch size; because
every scenario uses the same seed, scenarios compared in one call share common random numbers
mechanism by mechanism.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.engine import DEFAULT_BLOCK_SIZE, Block, RandomStreams, partition, summarise
from sim.model import BatchResult, LAPopulation, simulate
from sim.scenario import Scenario

__all__ = ["DEFAULT_BATCH_REPLICATES", "EnsembleResult", "batches", "compare", "run_blocks", "run_ensemble"]

DEFAULT_BATCH_REPLICATES = 2000
"""Rows per batch: large enough to amortise numpy call overhead (research/perf_style.md §1.6)."""


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


def run_blocks(scenario: Scenario, las: LAPopulation, seed: int, blocks: Sequence[Block]) -> BatchResult:
    """Simulate the given blocks of a run together (one batch)."""
    return simulate(scenario, las, RandomStreams(seed, blocks))


def run_ensemble(scenario: Scenario, las: LAPopulation, replicates: int, seed: int,
                 block_size: int = DEFAULT_BLOCK_SIZE,
                 batch_replicates: int = DEFAULT_BATCH_REPLICATES) -> EnsembleResult:
    """Run ``replicates`` replicates of ``scenario`` from ``seed``.

    ``block_size`` fixes the random-stream blocks (changing it changes the numbers);
    ``batch_replicates`` only changes how many blocks share arrays (never the numbers).
    """
    blocks = partition(replicates, block_size)
    metrics: dict[str, np.ndarray] = {}
    kpis: dict[str, np.ndarray] = {}
    events: list[tuple[int, str]] = []
    for group in batches(blocks, batch_replicates):
        part = run_blocks(scenario, las, seed, group)
        rows = slice(group[0].start, group[-1].start + group[-1].size)
        if not metrics:  # allocate once, fill batch by batch (no concatenation copies)
            metrics = {k: np.empty((replicates, *v.shape[1:])) for k, v in part.metrics.items()}
            kpis = {k: np.empty(replicates) for k in part.kpis}
            events = part.events
        for k, v in part.metrics.items():
            metrics[k][rows] = v
        for k, v in part.kpis.items():
            kpis[k][rows] = v
    return EnsembleResult(scenario=scenario, seed=seed, replicates=replicates, metrics=metrics,
                          kpis=kpis, events=events)


def compare(scenarios: Sequence[Scenario], las: LAPopulation, replicates: int, seed: int,
            **kwargs: int) -> list[EnsembleResult]:
    """Run several scenarios with the same seed, so they share common random numbers."""
    return [run_ensemble(s, las, replicates, seed, **kwargs) for s in scenarios]
