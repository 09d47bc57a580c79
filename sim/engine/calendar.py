"""The simpy calendar of a batch: a monthly stock-flow step plus organisational events.

Convention: organisational events fire on month boundaries (integer simulation times: month
``m`` begins at time ``m``); the stock-flow step of month ``m`` runs at time ``m + 0.5``, after
every event of that boundary. Events of one boundary fire in an explicit order: by ``rank``
(lower first), then in the order they were registered, never by accident of the moment a
process happened to schedule its next timeout. One calendar serves a whole batch of
replicates; events act on all replicates at once through masks.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from itertools import count
from typing import Any

import simpy
from simpy.events import EventPriority

__all__ = ["Calendar"]

StepAction = Callable[[int], None]

_RANK_SPAN = 1_000_000
"""Registrations per rank: the priority key is ``rank × span + registration number``."""


class _Due(simpy.Event):
    """A timeout with a priority of our own: simpy orders events of the same time by
    (priority, scheduling order), so the priority carries (rank, registration number)."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, EventPriority(priority), delay)


class Calendar:
    """Month-based simpy calendar.

    Parameters
    ----------
    horizon_months : int
        Number of monthly steps to run; events at or after the horizon never fire.

    Attributes
    ----------
    log : list of (month, label)
        Every event fired, in firing order, with the label it was registered with (any
        object: the engine never looks inside it).
    """

    def __init__(self, horizon_months: int):
        if horizon_months < 1:
            raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
        self.horizon_months = int(horizon_months)
        self.env = simpy.Environment()
        self.log: list[tuple[int, Any]] = []
        self._registered = count()

    @property
    def month(self) -> int:
        """The current month (the boundary most recently passed)."""
        return int(self.env.now)

    def _priority(self, rank: int) -> int:
        if not 0 <= rank < 1000:
            raise ValueError(f"rank must be in 0 … 999, got {rank}")
        # Above simpy's own URGENT (0) and NORMAL (1) priorities.
        return 2 + rank * _RANK_SPAN + next(self._registered)

    def _fire(self, label: Any, action: StepAction, month: int) -> None:
        self.log.append((month, label))
        action(month)

    def at(self, month: int, label: Any, action: StepAction, rank: int = 0) -> None:
        """Fire ``action(month)`` once at the start of ``month`` (if inside the horizon)."""
        priority = self._priority(rank)
        if month < 0 or month >= self.horizon_months:
            return

        def process() -> Generator[simpy.Event, Any, None]:
            yield _Due(self.env, month, priority)
            self._fire(label, action, month)

        self.env.process(process())

    def every(self, first: int, period: int, label: Any, action: StepAction,
              rank: int = 0) -> None:
        """Fire ``action(month)`` at ``first``, ``first + period``, … inside the horizon."""
        if period < 1:
            raise ValueError(f"period must be at least 1 month, got {period}")
        priority = self._priority(rank)

        def process() -> Generator[simpy.Event, Any, None]:
            start = max(first, 0)
            if first < 0:
                start = first % period
            yield _Due(self.env, start, priority)
            month = start
            while month < self.horizon_months:
                self._fire(label, action, month)
                yield _Due(self.env, period, priority)
                month += period

        self.env.process(process())

    def monthly_step(self, step: StepAction) -> None:
        """Run ``step(month)`` in the middle of every month, after that month's events."""

        def process() -> Generator[simpy.Event, Any, None]:
            yield self.env.timeout(0.5)
            for month in range(self.horizon_months):
                step(month)
                yield self.env.timeout(1)

        self.env.process(process())

    def run(self) -> None:
        """Run the calendar to the end of the horizon."""
        self.env.run(until=self.horizon_months)
