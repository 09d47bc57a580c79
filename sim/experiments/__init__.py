"""Experiments on the model: ensembles (and, later, sweeps, sensitivity, calibration)."""

from __future__ import annotations

from sim.experiments.ensemble import (
    DEFAULT_BATCH_REPLICATES,
    EnsembleResult,
    batches,
    compare,
    run_blocks,
    run_ensemble,
)

__all__ = [
    "DEFAULT_BATCH_REPLICATES",
    "EnsembleResult",
    "batches",
    "compare",
    "run_blocks",
    "run_ensemble",
]
