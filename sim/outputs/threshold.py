"""What ``python run.py threshold`` writes: the answer, every evaluation, and the chart.

Files (docs/outputs.md, "threshold folder"): ``threshold.json`` (the answer, its interval, the
check on a fresh seed, the settings), ``threshold_evaluations.csv`` (every input value run: its
statistic and whether the target holds) and ``threshold.png`` / ``.svg`` (the statistic against
the input, the target line, the answer and its interval). Data files first, then the chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from sim.files import atomic_write, write_json
from sim.outputs.style import PALETTE, SCREEN_DPI, finish_plot, save_figure

if TYPE_CHECKING:
    from sim.experiments.threshold import ThresholdResult

__all__ = ["answer_lines", "plot_threshold", "threshold_record", "write_threshold"]


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if math.isinf(value):
        return "beyond the range" if value > 0 else "below the range"
    return f"{value:,.6g}"


def threshold_record(result: ThresholdResult, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Everything about the answer as plain JSON-ready values (threshold.json)."""
    return {
        "key": result.key, "target": str(result.target),
        "statistic": result.target.statistic, "kpi": result.target.kpi,
        "operator": result.target.op, "target_value": result.target.value,
        "range": [result.low, result.high], "integer": result.integer,
        "found": result.found, "value": result.value,
        "interval_90": list(result.interval) if result.interval else None,
        "statistic_at_value": result.statistic_at_value,
        "monotone_in_scan": result.monotone,
        "crossings": [list(c) for c in result.crossings],
        "check": None if result.check_statistic is None else {
            "seed": result.check_seed, "statistic": result.check_statistic,
            "interval_90": list(result.check_interval) if result.check_interval else None,
            "holds": result.check_holds},
        "replicates": result.replicates, "seed": result.seed,
        "evaluations": len(result.evaluations), "message": result.message,
        **dict(settings)}


def answer_lines(result: ThresholdResult) -> list[str]:
    """The answer in plain words, as the command prints it."""
    if not result.found:
        return [result.message]
    lines = [result.message,
             f"  {result.key} = {_number(result.value)} (90% interval "
             f"{_number(result.interval[0] if result.interval else None)} to "
             f"{_number(result.interval[1] if result.interval else None)}); "
             f"{result.target.statistic}({result.target.kpi}) there = "
             f"{_number(result.statistic_at_value)} on {result.replicates:,} replicates, "
             f"seed {result.seed}"]
    if result.check_statistic is not None and result.check_interval is not None:
        verdict = "holds" if result.check_holds else "does NOT hold"
        lines.append(f"  re-run on fresh seed {result.check_seed}: "
                     f"{_number(result.check_statistic)} (90% interval "
                     f"{_number(result.check_interval[0])} to "
                     f"{_number(result.check_interval[1])}): the target {verdict}")
    if not result.monotone:
        lines.append(f"  note: the target changes in {len(result.crossings)} brackets of the "
                     "scan; the first from the low end is refined (threshold_evaluations.csv)")
    return lines


def plot_threshold(result: ThresholdResult, title: str, footer: str) -> Figure:
    """The statistic against the input: scan and search points, the target line, the answer
    and its 90 % interval."""
    table = pd.DataFrame(result.evaluations).sort_values("value")
    fig, ax = plt.subplots(figsize=(8.5, 5.0))
    ax.plot(table["value"], table["statistic"], color=PALETTE[0], lw=1.2, zorder=2)
    for phase, marker in (("scan", "o"), ("search", ".")):
        part = table[table["phase"] == phase]
        ax.scatter(part["value"], part["statistic"], marker=marker, s=30 if marker == "o" else 20,
                   color=PALETTE[0], zorder=3, label=f"{phase} ({len(part)})")
    ax.axhline(result.target.value, color=PALETTE[5], ls="--", lw=1,
               label=f"target: {result.target}")
    if result.found and result.value is not None:
        if result.interval is not None:
            lo, hi = (max(result.interval[0], result.low), min(result.interval[1], result.high))
            if hi > lo:
                ax.axvspan(lo, hi, color=PALETTE[4], alpha=0.2, label="90% interval")
        ax.axvline(result.value, color="black", lw=1,
                   label=f"answer: {_number(result.value)}")
    ax.set_xlabel(result.key)
    ax.set_ylabel(f"{result.target.statistic}({result.target.kpi})")
    return finish_plot(fig, ax, title, footer,
                       "common random numbers; interval: bootstrap over replicates")


def write_threshold(result: ThresholdResult, folder: Path, settings: Mapping[str, Any],
                    title: str, footer: str) -> Sequence[Path]:
    """Write threshold.json, threshold_evaluations.csv (data first), then the chart."""
    folder = Path(folder)
    written = [write_json(folder / "threshold.json", threshold_record(result, settings))]
    table = pd.DataFrame(result.evaluations, columns=["value", "statistic", "holds", "phase"])
    written.append(atomic_write(folder / "threshold_evaluations.csv",
                                lambda tmp: table.to_csv(tmp, index=False, float_format="%.10g")))
    fig = plot_threshold(result, title, footer)
    written += save_figure(fig, lambda name: folder / name, "threshold", title=title,
                           dpi=SCREEN_DPI)
    return written
