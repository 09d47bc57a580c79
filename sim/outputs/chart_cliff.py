"""The funding-cliff chart for finance leads: income by source against costs, reserves with their
band, a marker at each grant end, and the cliff's fall, runway and survival written beside it."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.outputs.findings import cliff_box, cliff_title
from sim.outputs.ranking import ranking
from sim.outputs.rundata import RunData
from sim.outputs.style import (
    RC,
    Chart,
    add_footer,
    add_title,
    category_colours,
    fy_axis,
    gbp_axis,
    grid_shape,
    humanise,
    mark_panel,
    mark_part,
    row_cuts,
    scenario_colour,
    title_height,
)

__all__ = ["funding_cliff_chart", "CLIFF_GUIDE"]

CLIFF_GUIDE = (
    "Top: coloured areas are the average monthly income by source, the black line the average "
    "costs; line above the areas = reserves being spent.\n"
    "Bottom: cash reserves (line: median run; band: 8 runs in 10). Dashed lines: grant ends. "
    "Boxes: fall in income, runway, chance of survival. Blocks: best first, same scales.")

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


def _block(fig: Figure, spec: SubplotSpec, share: list[Axes | None]) -> tuple[Axes, Axes, Axes]:
    """The three axes of one scenario (income and costs, reserves, the facts), sharing their y
    scale with the first block's so every scenario reads on the same scale."""
    inner = spec.subgridspec(3, 1, height_ratios=[1.15, 1, 0.42], hspace=0.28)
    top = fig.add_subplot(inner[0], sharey=share[0])
    bottom = fig.add_subplot(inner[1], sharex=top, sharey=share[1])
    box = fig.add_subplot(inner[2])
    if share[0] is None:
        share[0], share[1] = top, bottom
    return top, bottom, box


def funding_cliff_chart(data: RunData) -> Chart:
    """Income by source against costs (top), reserves (middle) and the cliff facts (bottom),
    one block per scenario, best first, wrapping at :data:`~sim.outputs.style.MAX_COLUMNS`
    blocks a row; y scales shared by every block so scenarios compare directly."""
    names = ranking(data)
    sources = data.income_sources()
    colours = category_colours(sources)
    n = len(names)
    rows, cols = grid_shape(n)
    levels = max(data.grant_ends(s)["month"].nunique() for s in names)
    above = (0.45 + 0.14 * levels)  # inches for a block's title and grant-end labels
    block_h = 6.2 + above
    legend: list[Artist] = [Patch(color=colours[s], label=humanise(s)) for s in sources]
    legend += [Line2D([], [], color="black", lw=1.6, label="Total costs"),
               Line2D([], [], color="#777777", lw=2, label="Reserves, median run"),
               Patch(color="#777777", alpha=0.3,
                     label="Reserves, 10th–90th percentile of runs"),
               Line2D([], [], color=GRANT_END, ls="--", lw=1.1, label="A grant ends")]
    split = len(sources) + 1
    per_row = 8 if cols > 1 else 4
    groups = [group[start:start + per_row] for group in (legend[:split], legend[split:])
              for start in range(0, len(group), per_row)]
    title = "Funding cliff — " + cliff_title(data)
    width = 5.0 * cols + 0.8
    head = title_height(title, width) + 0.22 * len(groups) + 0.1
    height = head + rows * block_h + 0.45
    with plt.rc_context(RC):
        fig = plt.figure(figsize=(width, height))
        outer = fig.add_gridspec(rows, cols, hspace=above / (block_h - above), wspace=0.12)
        share: list[Axes | None] = [None, None]
        for k, name in enumerate(names):
            col = data.scenarios.index(name)
            top, bottom, box = _block(fig, outer[k // cols, k % cols], share)
            mark_panel(top, name)
            mark_part(bottom, name)
            mark_part(box, name)
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
            top.tick_params(labelbottom=False)
            gbp_axis(top)
            gbp_axis(bottom)
            _grant_end_labels(top, data, name)
            top.set_title(data.title(name), fontsize=11, color=colour, pad=6 + 10 * levels)
            for month in data.grant_ends(name)["month"].unique():
                bottom.axvline(month, color=GRANT_END, ls="--", lw=1.1)
            box.axis("off")
            box.text(0.0, 0.55, cliff_box(data, name), transform=box.transAxes, fontsize=8,
                     va="center", ha="left", linespacing=1.5,
                     bbox={"boxstyle": "round,pad=0.5", "facecolor": "#F4F4F4", "lw": 0.6,
                           "edgecolor": colour})
            if k % cols == 0:
                top.set_ylabel(f"£ per month ({data.prices})")
                bottom.set_ylabel(f"Reserves, £ ({data.prices})")
            else:
                top.tick_params(labelleft=False)
                bottom.tick_params(labelleft=False)
        below = add_title(fig, title)
        for row, chunk in enumerate(groups):
            fig.legend(handles=chunk, loc="upper left", ncol=len(chunk), fontsize=8,
                       bbox_to_anchor=(0.01, below - 0.22 * row / height),
                       handlelength=1.6, columnspacing=1.4, borderaxespad=0.2)
        add_footer(fig, data.footer(), "Income and costs: mean of runs (closed runs count as £0)"
                   + ("; blocks best first" if n > 1 else ""))
        fig.subplots_adjust(left=0.07 if cols > 1 else 0.13, right=0.98,
                            top=1 - (head + above) / height, bottom=0.45 / height)
    return Chart("funding_cliff", fig, title, CLIFF_GUIDE, row_cuts(fig))
