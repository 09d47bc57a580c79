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

from sim.outputs.chart_cliff import funding_cliff_chart
from sim.outputs.chart_paired import paired_chart
from sim.outputs.chart_trends import growth_chart, survival_chart, trajectories_chart
from sim.outputs.rundata import RunData
from sim.outputs.style import Chart, gbp, save_chart

__all__ = ["CHART_BUILDERS", "SavedChart", "draw_charts", "write_charts", "gbp",
           "funding_cliff_chart", "trajectories_chart", "survival_chart", "growth_chart",
           "paired_chart"]

CHART_BUILDERS: list[Callable[[RunData], Chart | None]] = [
    funding_cliff_chart, trajectories_chart, survival_chart, growth_chart, paired_chart]
"""Chart builders in board-pack order; a builder returns None when its chart does not apply
(paired differences need two or more scenarios)."""


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


def write_charts(data: RunData, path_for: Callable[[str], Path]) -> list[SavedChart]:
    """Draw and save every chart; ``path_for(filename)`` says where each file goes."""
    saved = []
    for build in CHART_BUILDERS:
        chart = build(data)
        if chart is None:
            continue
        png, svg = save_chart(chart, path_for)
        saved.append(SavedChart(chart.name, chart.title, chart.guide, png, svg, chart.cuts))
    return saved
