"""The funding-cliff chart for finance leads: income by source against costs, reserves with their
band, a marker at each grant end, and the cliff's fall, runway and survival written beside it."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.outputs.findings import cliff_box, cliff_title
from sim.outputs.rundata import RunData
from sim.outputs.style import (
    RC,
    Chart,
    add_footer,
    add_title,
    category_colours,
    fy_axis,
    gbp_axis,
    humanise,
    scenario_colour,
)

__all__ = ["funding_cliff_chart", "CLIFF_GUIDE"]

CLIFF_GUIDE = (
    "Top: coloured areas are the average monthly income by source, the black line the average "
    "costs; line above the areas = reserves being spent.\n"
    "Bottom: cash reserves (line: median run; band: 8 runs in 10). Dashed lines: grant ends. "
    "Boxes: fall in income, runway, chance of survival.")

GRANT_END = "#D55E00"


def _grant_end_labels(ax: Axes, data: RunData, scenario: str) -> None:
    """Dashed line at each grant end, labelled above the panel; labels of different months go
    on separate levels so they never overlap."""
    ends = data.grant_ends(scenario)
    for level, (month, group) in enumerate(ends.groupby("month")):
        ax.axvline(month, color=GRANT_END, ls="--", lw=1.1, zorder=5)
        names = [subject + (f" ({detail})" if detail else "")
                 for subject, detail in zip(group["subject"], group["detail"], strict=True)]
        ax.annotate(f"{data.month_label(month)}: {'; '.join(names)} ends", (month, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(0, 3 + 10 * level),
                    textcoords="offset points", fontsize=7, color=GRANT_END, ha="center",
                    va="bottom", annotation_clip=False,
                    bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "lw": 0})


def _drop_arrow(ax: Axes, data: RunData, scenario: str) -> None:
    """A double arrow at the cliff from mean income the month before to mean income at the "
    "cliff."""
    cliff = data.kpi(scenario, "cliff_month", "p50")
    if cliff != cliff or cliff < 1:
        return
    income = data.wide(scenario)["income_total_gbp"]
    before, after = float(income.loc[int(cliff) - 1]), float(income.loc[int(cliff)])
    ax.annotate("", xy=(cliff - 1.5, after), xytext=(cliff - 1.5, before),
                arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.4}, zorder=6)
    ax.annotate("cliff", (cliff - 2.5, (before + after) / 2), fontsize=7.5,
                ha="right", va="center", zorder=6, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85, "lw": 0})


def funding_cliff_chart(data: RunData) -> Chart:
    """Income by source against costs (top), reserves (middle) and the cliff facts (bottom),
    one column per scenario; y scales shared across columns so scenarios compare directly."""
    names = data.scenarios
    sources = data.income_sources()
    colours = category_colours(sources)
    n = len(names)
    levels = max(data.grant_ends(s)["month"].nunique() for s in names)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(3, n, figsize=(5.0 * n + 0.8, 8.6), sharex="col", sharey="row",
                                 squeeze=False,
                                 gridspec_kw={"height_ratios": [1.15, 1, 0.42], "hspace": 0.28})
        for col, name in enumerate(names):
            top, bottom, box = axes[0, col], axes[1, col], axes[2, col]
            wide = data.wide(name)
            months = wide.index.to_numpy()
            top.stackplot(months, *[wide[f"income_{s}_gbp"].to_numpy() for s in sources],
                          colors=[colours[s] for s in sources], alpha=0.9, lw=0)
            top.plot(months, wide["costs_total_gbp"].to_numpy(), color="black", lw=1.6)
            _drop_arrow(top, data, name)
            reserves = data.series(name, "reserves_gbp")
            colour = scenario_colour(col)
            bottom.fill_between(reserves["month"], reserves["p10"], reserves["p90"], color=colour,
                                alpha=0.25, lw=0)
            bottom.plot(reserves["month"], reserves["p50"], color=colour, lw=2)
            bottom.axhline(0, color="#444444", lw=0.8)
            calendar = data.calendar(name)
            fy_axis(top, calendar, label=False)
            fy_axis(bottom, calendar)
            gbp_axis(top)
            gbp_axis(bottom)
            _grant_end_labels(top, data, name)
            top.set_title(name, fontsize=11, color=scenario_colour(col), pad=6 + 10 * levels)
            for month in data.grant_ends(name)["month"].unique():
                bottom.axvline(month, color=GRANT_END, ls="--", lw=1.1)
            box.axis("off")
            box.text(0.0, 0.55, cliff_box(data, name), transform=box.transAxes, fontsize=8,
                     va="center", ha="left", linespacing=1.5,
                     bbox={"boxstyle": "round,pad=0.5", "facecolor": "#F4F4F4", "lw": 0.6,
                           "edgecolor": colour})
        axes[0, 0].set_ylabel(f"£ per month ({data.prices})")
        axes[1, 0].set_ylabel(f"Reserves, £ ({data.prices})")
        legend: list[Artist] = [Patch(color=colours[s], label=humanise(s)) for s in sources]
        legend += [Line2D([], [], color="black", lw=1.6, label="Total costs"),
                   Line2D([], [], color="#777777", lw=2, label="Reserves, median run"),
                   Patch(color="#777777", alpha=0.3,
                         label="Reserves, 10th–90th percentile of runs"),
                   Line2D([], [], color=GRANT_END, ls="--", lw=1.1, label="A grant ends")]
        title = "Funding cliff — " + cliff_title(data)
        below = add_title(fig, title)
        split = len(sources) + 1
        per_row = 8 if n > 1 else 4
        legend_rows = 0
        for group in (legend[:split], legend[split:]):
            for start in range(0, len(group), per_row):
                chunk = group[start:start + per_row]
                fig.legend(handles=chunk, loc="upper left", ncol=len(chunk), fontsize=8,
                           bbox_to_anchor=(0.01, below - 0.22 * legend_rows / fig.get_figheight()),
                           handlelength=1.6, columnspacing=1.4, borderaxespad=0.2)
                legend_rows += 1
        add_footer(fig, data.footer(), "Income and costs: mean of runs (closed runs count as £0)")
        fig.subplots_adjust(left=0.07 if n > 1 else 0.13, right=0.98,
                            top=below - (0.22 * legend_rows + 0.45 + 0.14 * levels)
                            / fig.get_figheight(),
                            bottom=0.06, wspace=0.12)
    return Chart("funding_cliff", fig, title, CLIFF_GUIDE)
