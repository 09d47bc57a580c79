"""The Centre of Excellence domain model, built on :mod:`sim.engine`.

Uses the engine; does no file I/O and draws no charts.
"""

from __future__ import annotations

from sim.model.kpis import KPIS, RUNWAY_CAP_MONTHS, compute_kpis
from sim.model.las import LADDER_STATES
from sim.model.simulation import METRICS, BatchResult, first_april, simulate

__all__ = [
    "BatchResult",
    "KPIS",
    "LADDER_STATES",
    "METRICS",
    "RUNWAY_CAP_MONTHS",
    "compute_kpis",
    "first_april",
    "simulate",
]
