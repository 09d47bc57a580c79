"""The Centre of Excellence domain model, built on :mod:`sim.engine`.

A validated scenario is compiled into a numeric :class:`Parameters` record
(:func:`compile_parameters`); :func:`simulate` runs a batch of replicates of it and returns
per-month metrics, per-replicate KPIs and the calendar's events. Uses the engine; does no file
I/O and draws no charts.
"""

from __future__ import annotations

from sim.model.codes import LADDER_STATES, ROLES, Ladder, Role, ServiceStatus
from sim.model.compile import compile_parameters
from sim.model.events import Event, EventKind, first_april
from sim.model.kpis import KPIS, RUNWAY_CAP_MONTHS, compute_kpis
from sim.model.parameters import PER_REPLICATE_PATHS, Parameters, is_per_replicate
from sim.model.record import DIMENSIONS, METRICS
from sim.model.simulation import BatchResult, simulate

__all__ = [
    "BatchResult",
    "DIMENSIONS",
    "Event",
    "EventKind",
    "KPIS",
    "LADDER_STATES",
    "Ladder",
    "METRICS",
    "PER_REPLICATE_PATHS",
    "Parameters",
    "ROLES",
    "RUNWAY_CAP_MONTHS",
    "Role",
    "ServiceStatus",
    "compile_parameters",
    "compute_kpis",
    "first_april",
    "is_per_replicate",
    "simulate",
]
