"""Every chart of a run, drawn from a :class:`~sim.outputs.rundata.RunData` (never from model
internals) and saved as PNG (200 dpi) and SVG.

The same function draws the charts of a new run (``write_run``) and of ``report RUN_DIR``, so
both give the same pictures. Every title states a finding computed from the results; every
footer gives the scenarios, replicates and seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt

from sim.outputs.chart_cliff import funding_cliff_chart
from sim.outputs.chart_paired import paired_chart
from sim.outputs.chart_trends import growth_chart, survival_chart, trajectories_chart
from sim.outputs.policy_rules import policy_rules_chart
from sim.outputs.rundata import RunData
from sim.outputs.style import Chart, gbp, save_chart

__all__ = ["CHART_BUILDERS", "SavedChart", "draw_charts", "write_charts", "gbp",
           "funding_cliff_chart", "trajectories_chart", "survival_chart", "growth_chart",
           "paired_chart"]

CHART_BUILDERS: list[Callable[[RunData], Chart | None]] = [
    funding_cliff_chart, trajectories_chart, survival_chart, growth_chart, paired_chart,
    policy_rules_chart]
"""Chart builders in board-pack order; a builder returns None when its chart does not apply
(paired differences need two or more scenarios; when each rule fired needs adaptive
policies)."""


@dataclass(frozen=True)
class SavedChart:
    """A chart written to disk: its name, title (the finding), reading guide, files and where
    it may be cut across pages (:attr:`~sim.outputs.style.Chart.cuts`)."""

    name: str
    title: str
    guide: str
    png: Path
    svg: Path
    cuts: tuple[float, ...] = ()


def draw_charts(data: RunData) -> list[Chart]:
    """Draw every chart that applies to this run (figures stay open until saved)."""
    return [chart for build in CHART_BUILDERS if (chart := build(data)) is not None]


def write_charts(data: RunData, path_for: Callable[[str], Path],
                 failed: list[tuple[str, Exception]] | None = None) -> list[SavedChart]:
    """Draw and save every chart; ``path_for(filename)`` says where each file goes.

    With ``failed`` (a list), a chart that cannot be drawn or saved is left out and
    ``("<name> chart", error)`` appended, and the other charts are still drawn; without it the
    error is raised.
    """
    saved = []
    for build in CHART_BUILDERS:
        name = build.__name__.removesuffix("_chart")
        open_before = set(plt.get_fignums())
        try:
            chart = build(data)
            if chart is None:
                continue
            name = chart.name
            png, svg = save_chart(chart, path_for)
        except Exception as exc:
            if failed is None:
                raise
            for number in set(plt.get_fignums()) - open_before:
                plt.close(number)  # the figure the failed chart left open
            failed.append((f"{name} chart", exc))
            continue
        saved.append(SavedChart(chart.name, chart.title, chart.guide, png, svg, chart.cuts))
    return saved
