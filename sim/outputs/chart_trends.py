"""Charts over time for the board: trajectories side by side, survival curves, and the growth
path of live services by strand (the Gall picture)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.outputs.findings import (
    growth_title,
    survival_share,
    survival_title,
    trajectories_title,
    viable_share,
)
from sim.outputs.ranking import ranking
from sim.outputs.rundata import RunData
from sim.outputs.style import (
    MAX_COLUMNS,
    RC,
    Chart,
    add_footer,
    add_title,
    category_colours,
    fy_axis,
    gbp,
    grid_shape,
    humanise,
    mark_panel,
    mark_part,
    pct,
    row_cuts,
    scenario_colour,
    scenario_linestyle,
    title_height,
)

__all__ = ["TRAJECTORY_PANELS", "trajectories_chart", "survival_chart", "growth_chart",
           "TRAJECTORIES_GUIDE", "SURVIVAL_GUIDE", "SURVIVAL_MULTIPLES_GUIDE", "GROWTH_GUIDE",
           "HIGHLIGHTED"]

TRAJECTORY_PANELS = [
    ("members", "Member LAs", False),
    ("reserves_gbp", "Cash reserves", True),
    ("staff_fte", "Staff in post (FTE)", False),
    ("live_services", "Live services", False),
    ("value_delivered_gbp", "Value to member LAs per month", True),
]
"""(metric, panel title, money?) of the trajectory small multiples; median line, 10–90% band.
``members`` falls back to ``las_member`` in tables that have no ``members`` metric."""

TRAJECTORIES_GUIDE = (
    "One panel per measure, one colour per scenario (the same in every chart; with many, the "
    "best ranked in colour, the rest grey). Lines: median run; bands: 8 runs in 10.\n"
    "A line dropping to zero means over half the runs have closed (see the survival chart); the"
    " April saw-tooth in members is the annual renewal.")
SURVIVAL_GUIDE = (
    "Left: share of runs in which the Centre works (open, with its minimum team, a reliable "
    "service and enough members); right: share still open.\n"
    "The gap is Centres open but not working. Dots: the scorecard's 5- and 10-year figures; "
    "dashed lines: grant ends.")
SURVIVAL_MULTIPLES_GUIDE = (
    "One panel per model, best first: the share of runs in which the Centre works (solid: open, "
    "with its minimum team, a reliable service and enough members) and still open (dashed).\n"
    "Grey: every other model's share working, for comparison. Dots: the scorecard's 5- and "
    "10-year figures; orange dashes: grant ends.")
GROWTH_GUIDE = (
    "Coloured layers: average live services in each strand (dotted: middle 8 runs in 10); one at "
    "a time is Gall's 'start simple and grow', a fall to zero is closure.\n"
    "Black lines, right-hand scale: the team's growth path, funded posts (dashed) and staff in "
    "post (solid), which grow and shrink with secured income.")

OTHERS_GREY = "#BBBBBB"
"""The other scenarios, drawn behind the one a panel is about."""

TEAM_LINES: list[tuple[str, str, float, str]] = [
    ("funded_posts", "--", 1.3, "Team: funded posts (mean of runs)"),
    ("staff_fte", "-", 1.1, "Team: staff in post (mean of runs)")]
"""The team's lines on the growth chart: metric, line style, width and legend label."""


def _legend_scenarios(ax: Axes, data: RunData, names: list[str], others: int = 0,
                      note: str = "") -> None:
    """Use an empty panel for the scenario legend (plain titles) and a short note."""
    ax.axis("off")
    handles: list[Artist] = [
        Line2D([], [], color=scenario_colour(i), ls=scenario_linestyle(i), lw=3,
               label="\n".join(textwrap.wrap(data.title(n), 34)))
        for n in names for i in [data.scenarios.index(n)]]
    if others:
        handles.append(Line2D([], [], color=OTHERS_GREY, lw=1.1,
                              label=f"The other {others} models (median)"))
    handles.append(Patch(color="#999999", alpha=0.3, label="10th–90th percentile of runs"))
    ax.legend(handles=handles, loc="upper left", fontsize=9, title="Delivery model",
              title_fontproperties={"weight": "bold", "size": 10})
    if note:
        ax.text(0.0, 0.0, note, transform=ax.transAxes, fontsize=8, va="bottom", ha="left",
                color="#333333")


HIGHLIGHTED = 3
"""With more scenarios than :data:`~sim.outputs.style.MAX_COLUMNS`, the trajectory chart draws
this many (the best ranked) in colour with their bands, and the others as thin grey lines."""


def trajectories_chart(data: RunData) -> Chart:
    """Small multiples of members, reserves, staff, live services and value delivered: one
    median line and 10–90% band per scenario, shared time axis. With many scenarios only the
    best ranked keep colour and band; the others are thin grey medians behind them."""
    names = data.scenarios
    many = len(names) > MAX_COLUMNS
    order = ranking(data)
    shown = order[:HIGHLIGHTED] if many else names
    with plt.rc_context(RC):
        fig, axes = plt.subplots(2, 3, figsize=(14, 8.2), sharex=True)
        for k, (panel, label, money) in enumerate(TRAJECTORY_PANELS):
            ax = axes.flat[k]
            metric = data.members_metric() if panel == "members" else panel
            for name in (order[HIGHLIGHTED:] if many else []):
                frame = data.series(name, metric)
                ax.plot(frame["month"], frame["p50"], color=OTHERS_GREY, lw=1.1, zorder=1)
            for name in reversed(shown):
                i = names.index(name)
                frame = data.series(name, metric)
                colour = scenario_colour(i)
                ax.fill_between(frame["month"], frame["p10"], frame["p90"], color=colour,
                                alpha=0.15, lw=0, zorder=2)
                ax.plot(frame["month"], frame["p50"], color=colour, lw=2,
                        ls=scenario_linestyle(i), zorder=3)
            fy_axis(ax, data.calendar(), label=k >= 3 or k + 3 >= len(TRAJECTORY_PANELS))
            ax.set_title(f"{label} ({data.money_label})" if money else label)
            ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
            if money:
                ax.yaxis.set_major_formatter(FuncFormatter(gbp))
            else:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        others = len(names) - len(shown)
        _legend_scenarios(axes.flat[5], data, shown, others,
                          "Lines: median run. A line falling to 0\nmeans over half the runs "
                          "have closed." + ("\nColoured: the best ranked (chance of working);"
                                            "\ngrey: every other model." if many else ""))
        title = trajectories_title(data)
        below = add_title(fig, title)
        add_footer(fig, data.footer())
        fig.subplots_adjust(left=0.05, right=0.99, top=below - 0.35 / fig.get_figheight(),
                            bottom=0.09, hspace=0.25, wspace=0.16)
    return Chart("trajectories", fig, title, TRAJECTORIES_GUIDE)


def _grant_end_marks(ax: Axes, data: RunData) -> None:
    """A dashed line at every month in which a grant ends in any scenario, labelled above the
    axes with the grant and, when not every scenario has it, the scenarios that do."""
    ends = data.grant_ends()
    for level, (month, group) in enumerate(ends.groupby("month")):
        ax.axvline(month, color="#D55E00", ls="--", lw=1.0, alpha=0.8)
        parts = []
        for (subject, detail), rows in group.groupby(["subject", "detail"], sort=False):
            who = sorted(set(rows["scenario"]), key=data.scenarios.index)
            scope = ("" if len(who) == len(data.scenarios)
                     else f" ({', '.join(data.title(w) for w in who)})")
            parts.append(subject + (f" ({detail})" if detail else "") + scope)
        ax.annotate(f"{data.month_label(month)}: {'; '.join(parts)} ends", (month, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(0, 3 + 10 * level),
                    textcoords="offset points", fontsize=7, color="#D55E00", ha="center",
                    va="bottom", annotation_clip=False)


def _year_marks(ax: Axes, data: RunData, name: str, share_at: Callable[[RunData, str, int], float],
                colour: str, size: float) -> list[str]:
    """A dot at the end of years 5 and 10 (those inside the horizon) at ``share_at``'s share of
    runs; returns each as words, e.g. ``"62% at 5 years"``."""
    marks = []
    for years in (5, 10):
        month = 12 * years - 1
        if month < data.horizon_months:
            share = share_at(data, name, years)
            ax.plot([month + 1], [share], "o", color=colour, ms=size, zorder=5, clip_on=False)
            marks.append(f"{pct(share)} at {years} years")
    return marks


def _survival_multiples(data: RunData) -> Chart:
    """One panel per scenario, best first, wrapping at MAX_COLUMNS: its share working (solid)
    and still open (dashed), every other scenario's share working in grey behind it."""
    order = ranking(data)
    rows, cols = grid_shape(len(order))
    working_metric = "viable" if "viable" in data.metrics else "operating"
    title = survival_title(data)
    width = 4.6 * cols + 0.6
    head = title_height(title, width) + 0.45
    height = head + 3.1 * rows + 0.5
    with plt.rc_context(RC):
        fig, grid = plt.subplots(rows, cols, figsize=(width, height), sharex=True, sharey=True,
                                 squeeze=False)
        for ax in grid.flat[len(order):]:
            ax.axis("off")
        for k, name in enumerate(order):
            ax = grid.flat[k]
            mark_panel(ax, name)
            for other in order:
                if other != name:
                    frame = data.series(other, working_metric)
                    ax.step(frame["month"], frame["mean"], where="post", color=OTHERS_GREY,
                            lw=0.9, zorder=1)
            colour = scenario_colour(data.scenarios.index(name))
            for month in data.grant_ends(name)["month"].unique():
                ax.axvline(month, color="#D55E00", ls="--", lw=0.9, alpha=0.8)
            open_ = data.series(name, "operating")
            ax.step(open_["month"], open_["mean"], where="post", color=colour, lw=1.6, ls="--",
                    zorder=3)
            frame = data.series(name, working_metric)
            ax.step(frame["month"], frame["mean"], where="post", color=colour, lw=2.4, zorder=4)
            marks = _year_marks(ax, data, name, viable_share, colour, size=5)
            ax.set_title("\n".join(textwrap.wrap(f"{k + 1}. {data.title(name)}", 44)),
                         color=colour, fontsize=9.5, loc="left")
            if marks:
                ax.text(0.02, 0.04, "working: " + ", ".join(marks), transform=ax.transAxes,
                        fontsize=7.5, color="#222222", va="bottom",
                        bbox={"facecolor": "white", "alpha": 0.85, "lw": 0, "pad": 1.5})
            fy_axis(ax, data.calendar(name), label=k >= len(order) - cols)
            ax.set_ylim(-0.03, 1.05)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
        for ax in grid[:, 0]:
            ax.set_ylabel("Share of runs")
        below = add_title(fig, title)
        handles = [Line2D([], [], color="#333333", lw=2.4, label="Working (viable), this model"),
                   Line2D([], [], color="#333333", lw=1.6, ls="--", label="Still open, this model"),
                   Line2D([], [], color=OTHERS_GREY, lw=0.9, label="Working, every other model"),
                   Line2D([], [], color="#D55E00", ls="--", lw=0.9, label="A grant ends")]
        fig.legend(handles=handles, loc="upper left", ncol=4, bbox_to_anchor=(0.01, below),
                   fontsize=8)
        add_footer(fig, data.footer(), "Panels best first; dots: end of year 5 and year 10")
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.5 / height, wspace=0.08,
                            hspace=0.45, top=below - 0.55 / height)
    return Chart("survival", fig, title, SURVIVAL_MULTIPLES_GUIDE, row_cuts(fig))


def survival_chart(data: RunData) -> Chart:
    """Two panels, one line per scenario: the share of runs working (viable) by month, and the
    share still operating; the legends give the 5- and 10-year figures (dots on the lines).
    With more scenarios than MAX_COLUMNS, one panel per scenario instead
    (:func:`_survival_multiples`)."""
    names = data.scenarios
    if len(names) > MAX_COLUMNS:
        return _survival_multiples(data)
    panels = [panel for panel in (("viable", viable_share, "Working (viable)", "working"),
                                  ("operating", survival_share, "Still open", "still open"))
              if panel[0] in data.metrics]  # tables from older runs have no viability
    with plt.rc_context(RC):
        fig, grid = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 6.4), sharey=True,
                                 squeeze=False)
        axes = list(grid[0])
        for ax, (metric, share_at, heading, what) in zip(axes, panels, strict=True):
            _grant_end_marks(ax, data)
            for i, name in enumerate(names):
                frame = data.series(name, metric)
                colour = scenario_colour(i)
                marks = _year_marks(ax, data, name, share_at, colour, size=6)
                label = data.title(name) + (f" — {', '.join(marks)}" if marks else "")
                ax.step(frame["month"], frame["mean"], where="post", color=colour, lw=2.2,
                        label=label, ls=scenario_linestyle(i))
            fy_axis(ax, data.calendar())
            ax.set_ylim(-0.03, 1.05)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
            ax.set_title(heading, loc="left", fontsize=11, fontweight="bold", pad=28)
            ax.legend(loc="lower left", fontsize=8, title=f"Scenario — {what}", frameon=True,
                      framealpha=0.95, title_fontproperties={"weight": "bold", "size": 8})
        axes[0].set_ylabel("Share of runs")
        title = survival_title(data)
        below = add_title(fig, title)
        add_footer(fig, data.footer(), "Dots: end of year 5 and year 10")
        levels = data.grant_ends()["month"].nunique()
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, wspace=0.08,
                            top=below - (0.45 + 0.14 * levels) / fig.get_figheight())
    return Chart("survival", fig, title, SURVIVAL_GUIDE)


def growth_chart(data: RunData) -> Chart:
    """Live services by strand over time (stacked means), one panel per scenario, best first,
    wrapping at MAX_COLUMNS panels a row."""
    names = ranking(data)
    strands = data.strands()
    colours = category_colours(strands)
    n = len(names)
    rows, cols = grid_shape(n)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols + 0.8, 3.9 * rows + 1.9),
                                 sharex=True, sharey=True, squeeze=False)
        for ax in axes.flat[n:]:
            ax.axis("off")
        for i, name in enumerate(names):
            ax = axes.flat[i]
            wide = data.wide(name)
            months = wide.index.to_numpy()
            ax.stackplot(months, *[wide[f"live_services_{s}"].to_numpy() for s in strands],
                         colors=[colours[s] for s in strands], alpha=0.9, lw=0)
            total = data.series(name, "live_services")
            for col in ("p10", "p90"):
                ax.plot(total["month"], total[col], color="#333333", lw=0.9, ls=":")
            mark_panel(ax, name)
            ax.set_title("\n".join(textwrap.wrap(data.title(name), 44)),
                         color=scenario_colour(data.scenarios.index(name)))
            fy_axis(ax, data.calendar(name))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            # The organisation's growth path beside the services' (docs/model.md §3.6).
            team = ax.twinx()
            mark_part(team, name)
            for metric, style, width, _ in TEAM_LINES:
                if metric in wide:
                    team.plot(months, wide[metric].to_numpy(), color="#222222", ls=style, lw=width)
            top = max(ax.get_ylim()[1], team.get_ylim()[1])
            team.set_ylim(0, top)
            ax.set_ylim(0, top)
            team.yaxis.set_major_locator(MaxNLocator(integer=True))
            if i % cols == cols - 1 or i == n - 1:
                team.set_ylabel("Team (FTE, mean of runs)")
            else:
                team.tick_params(labelright=False)
        for ax in axes[:, 0]:
            ax.set_ylabel("Live services (mean of runs)")
        handles: list[Artist] = [Patch(color=colours[s], label=humanise(s)) for s in strands]
        handles.append(Line2D([], [], color="#333333", ls=":", lw=0.9,
                              label="All services: 10th and 90th percentile of runs"))
        handles.extend(Line2D([], [], color="#222222", ls=style, lw=width, label=label)
                       for _, style, width, label in TEAM_LINES)
        title = growth_title(data)
        below = add_title(fig, title)
        ncol = min(len(handles), 2 * cols)
        fig.legend(handles=handles, loc="upper left", ncol=ncol, bbox_to_anchor=(0.01, below),
                   fontsize=8)
        add_footer(fig, data.footer())
        legend_rows = -(-len(handles) // ncol)
        fig.subplots_adjust(left=0.07 if cols > 1 else 0.12, right=0.95,
                            top=below - (0.22 * legend_rows + 0.45) / fig.get_figheight(),
                            bottom=0.9 / fig.get_figheight(), wspace=0.08, hspace=0.35)
    return Chart("growth_path", fig, title, GROWTH_GUIDE, row_cuts(fig))
