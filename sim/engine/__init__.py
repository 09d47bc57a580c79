"""Generic simulation engine: batched state, random streams, simpy calendar, reductions.

Knows nothing about the domain: imports numpy and simpy only.
"""

from __future__ import annotations

from sim.engine.calendar import Calendar
from sim.engine.integrate import hazard_probability
from sim.engine.rng import (
    DEFAULT_BLOCK_SIZE,
    BatchGenerator,
    Block,
    MonthStreams,
    RandomStreams,
    partition,
)
from sim.engine.stats import QUANTILES, row_counts, summarise

__all__ = [
    "BatchGenerator",
    "Block",
    "Calendar",
    "DEFAULT_BLOCK_SIZE",
    "MonthStreams",
    "QUANTILES",
    "RandomStreams",
    "hazard_probability",
    "partition",
    "row_counts",
    "summarise",
]
