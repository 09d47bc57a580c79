"""Experiments on the model: ensembles, sweeps, sensitivity analysis, scenario discovery.

The sweep, sensitivity and discovery names load on first use (they import pandas, pyarrow,
scipy and SALib), so ``import sim.experiments`` stays quick for the command line.
"""

from __future__ import annotations

from sim.experiments.ensemble import (
    DEFAULT_BATCH_REPLICATES,
    ENSEMBLE_BATCH_REPLICATES,
    EnsembleResult,
    batches,
    compare,
    resolve_workers,
    run_blocks,
    run_ensemble,
)
from sim.experiments.executors import (
    EXECUTOR_KINDS,
    START_METHODS,
    DaskExecutor,
    Executor,
    ExecutorError,
    LocalExecutor,
    SerialExecutor,
    default_workers,
    make_executor,
    start_method,
)
from sim.experiments.shared import SharedArrays

_LAZY = {
    "Sweep": "sim.experiments.sweepfile",
    "load_sweep": "sim.experiments.sweepfile",
    "build_design": "sim.experiments.design",
    "run_design": "sim.experiments.sweep",
    "run_sweep": "sim.experiments.sweep",
    "SweepRun": "sim.experiments.sweep",
    "run_sensitivity": "sim.experiments.sensitivity",
    "TEST_FUNCTIONS": "sim.experiments.testfunctions",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim.experiments' has no attribute {name!r}")


__all__ = [
    "DEFAULT_BATCH_REPLICATES",
    "ENSEMBLE_BATCH_REPLICATES",
    "EnsembleResult",
    "batches",
    "compare",
    "resolve_workers",
    "run_blocks",
    "run_ensemble",
    # executors: the one parallel layer of ensembles, sweeps and calibration
    "EXECUTOR_KINDS",
    "START_METHODS",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "SerialExecutor",
    "SharedArrays",
    "default_workers",
    "make_executor",
    "start_method",
    # sweeps and sensitivity (loaded on first use; discovery: sim.experiments.discover)
    "Sweep",
    "SweepRun",
    "TEST_FUNCTIONS",
    "build_design",
    "load_sweep",
    "run_design",
    "run_sensitivity",
    "run_sweep",
]
