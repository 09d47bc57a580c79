"""Paired differences chart: each scenario minus the baseline (the first scenario), replicate by
replicate, for the key KPIs, with the 95% interval of the mean difference and the spread of the
run-by-run differences."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.outputs.findings import paired_title
from sim.outputs.kpi_text import kpi_text
from sim.outputs.paired import paired_differences, survival_kpi
from sim.outputs.rundata import RunData
from sim.outputs.style import (
    RC,
    Chart,
    add_footer,
    add_title,
    gbp,
    scenario_colour,
    title_height,
)

__all__ = ["paired_chart", "PAIRED_GUIDE", "CHART_KPIS"]

PAIRED_GUIDE = (
    "Each panel is one measure: the dot is the average difference from the baseline in runs "
    "that share the same random events; right of 0 = higher.\n"
    "Thick bar: 95% interval of that average; thin bar: the middle 8 of 10 run-by-run "
    "differences. The text says how often the scenario did better.")


def _axis_format(kind: str) -> FuncFormatter:
    if kind == "chance":
        return FuncFormatter(lambda v, _p: f"{100 * v:+.0f} pts" if round(100 * v) else "0")
    if kind == "gbp":
        return FuncFormatter(lambda v, _p: ("+" if v > 0 else "") + gbp(v))
    return FuncFormatter(lambda v, _p: f"{v:+,.0f}" if round(v) else "0")


CHART_KPIS = ("members_y10", "live_services_y10", "min_reserves_gbp",
              "value_delivered_total_gbp", "leavers_total")
"""KPIs drawn after the survival KPI (the longest defined), when present."""


def _better_share(row: pd.Series, better: str | None) -> str:
    higher, lower = 100 * row["share_higher"], 100 * row["share_lower"]
    if better == "low":
        higher, lower = lower, higher
    if better is None:
        return f"higher in {higher:.0f}%,\nlower in {lower:.0f}% of runs"
    return f"better in {higher:.0f}%,\nworse in {lower:.0f}% of runs"


def _panel(ax: Axes, diffs: pd.DataFrame, kpi: str, others: list[str], end: str,
           label: Callable[[str], str]) -> None:
    """One KPI: a row per scenario with the mean, its 95% interval and the 10–90% spread."""
    text = kpi_text(kpi, end)
    for j, name in enumerate(others):
        row = diffs[(diffs["scenario"] == name) & (diffs["kpi"] == kpi)]
        if row.empty:
            continue
        r = row.iloc[0]
        y = len(others) - 1 - j
        colour = scenario_colour(1 + j)
        ax.plot([r["p10"], r["p90"]], [y, y], color=colour, lw=1.3, alpha=0.8)
        ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=colour, lw=6, solid_capstyle="butt")
        ax.plot([r["mean"]], [y], "o", color="white", mec=colour, mew=2, ms=7, zorder=5)
        ax.annotate(_better_share(r, text.better), (1.0, y), xycoords=("axes fraction", "data"),
                    xytext=(8, 0), textcoords="offset points", fontsize=7.5, va="center",
                    ha="left", color="#333333", linespacing=1.1)
    ax.axvline(0, color="#444444", lw=0.9)
    ax.set_yticks(range(len(others)), [label(o) for o in reversed(others)], fontsize=7.5)
    ax.set_ylim(-0.6, len(others) - 0.4)
    side = {"high": "higher is better", "low": "lower is better"}.get(text.better or "", "")
    ax.set_title(text.words + (f" ({side})" if side else ""), fontsize=9, loc="left")
    ax.xaxis.set_major_formatter(_axis_format(text.kind))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, symmetric=True))
    ax.grid(axis="x", alpha=0.3)
    reach = max(abs(v) for v in ax.get_xlim())
    ax.set_xlim(-reach, reach)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)


def paired_chart(data: RunData) -> Chart | None:
    """Scenario minus baseline for the key KPIs, one panel per KPI (None with one scenario)."""
    if len(data.scenarios) < 2:
        return None
    survival = survival_kpi(data)
    wanted = tuple(k for k in ((survival,) if survival else ()) + CHART_KPIS)
    diffs = paired_differences(data, kpis=wanted)
    kpis = list(dict.fromkeys(diffs["kpi"]))
    others = data.scenarios[1:]
    base = data.scenarios[0]
    end = data.end_label()
    title = paired_title(data, diffs)
    # Layout in inches: two columns of panels, each [names | axis | shares].
    width, label_w, axis_w, text_w, gap = 14.5, 1.9, 3.5, 1.45, 0.45
    panel_h = 0.36 * len(others) + 0.2
    block_h = panel_h + 0.85
    rows = math.ceil(len(kpis) / 2)
    head = title_height(title, width) + 0.45
    height = head + rows * block_h + 0.35
    with plt.rc_context(RC):
        fig = plt.figure(figsize=(width, height))
        for k, kpi in enumerate(kpis):
            col, row = k % 2, k // 2
            x = 0.15 + col * (label_w + axis_w + text_w + gap) + label_w
            y = height - head - (row + 1) * block_h + 0.5
            ax = fig.add_axes((x / width, y / height, axis_w / width, panel_h / height))
            _panel(ax, diffs, kpi, others, end,
                   lambda name: "\n".join(textwrap.wrap(data.title(name), 26)[:2]))
        below = add_title(fig, title)
        handles = [Line2D([], [], marker="o", color="#555555", mfc="white", mew=2, lw=0,
                          label=f"Mean difference from {data.title(base)} (same random "
                                "draws)"),
                   Line2D([], [], color="#555555", lw=6, label="95% interval of the mean"),
                   Line2D([], [], color="#555555", lw=1.3,
                          label="10th–90th percentile of run-by-run differences")]
        fig.legend(handles=handles, loc="upper left", ncol=3, bbox_to_anchor=(0.01, below),
                   fontsize=8)
        add_footer(fig, data.footer(), f"Pairs: replicate i of each scenario against replicate "
                   f"i of {base}")
    return Chart("paired_differences", fig, title, PAIRED_GUIDE)
