"""The simpy calendar of a batch: a monthly stock-flow step plus organisational events.

Convention: organisational events fire on month boundaries (integer simulation times: month
``m`` begins at time ``m``); the stock-flow step of month ``m`` runs at time ``m + 0.5``, after
every event of that boundary. One calendar serves a whole batch of replicates; events act on
all replicates at once through masks.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

__all__ = ["Calendar"]

StepAction = Callable[[int], None]


class Calendar:
    """Month-based simpy calendar.

    Parameters
    ----------
    horizon_months : int
        Number of monthly steps to run; events at or after the horizon never fire.
    """

    def __init__(self, horizon_months: int):
        if horizon_months < 1:
            raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
        self.horizon_months = int(horizon_months)
        self.env = simpy.Environment()
        self.log: list[tuple[int, str]] = []

    @property
    def month(self) -> int:
        """The current month (the boundary most recently passed)."""
        return int(self.env.now)

    def _fire(self, name: str, action: StepAction, month: int) -> None:
        self.log.append((month, name))
        action(month)

    def at(self, month: int, name: str, action: StepAction) -> None:
        """Fire ``action(month)`` once at the start of ``month`` (if inside the horizon)."""
        if month < 0 or month >= self.horizon_months:
            return

        def process() -> Generator[simpy.Event, Any, None]:
            yield self.env.timeout(month)
            self._fire(name, action, month)

        self.env.process(process())

    def every(self, first: int, period: int, name: str, action: StepAction) -> None:
        """Fire ``action(month)`` at ``first``, ``first + period``, … inside the horizon."""
        if period < 1:
            raise ValueError(f"period must be at least 1 month, got {period}")

        def process() -> Generator[simpy.Event, Any, None]:
            start = max(first, 0)
            if first < 0:
                start = first % period
            yield self.env.timeout(start)
            month = start
            while month < self.horizon_months:
                self._fire(name, action, month)
                yield self.env.timeout(period)
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
