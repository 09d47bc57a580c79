"""Charts drawn from the result tables (never from model internals).

Every chart states its finding in its title, computed from the results, and carries a footer
with the scenarios, replicates and seed. Colours are the Okabe–Ito colour-blind-safe palette.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from sim.outputs.io import atomic_write  # noqa: E402

__all__ = ["PALETTE", "funding_cliff_chart", "trajectories_chart", "gbp", "cliff_finding",
           "survival_finding"]

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
"""Okabe & Ito (2008) colour-blind-safe palette; scenario i always gets colour i."""

SOURCE_COLOURS = {"grant": "#0072B2", "subscriptions": "#009E73", "host_support": "#CC79A7"}
SOURCE_LABELS = {"grant": "Grants", "subscriptions": "LA subscriptions", "host_support": "Host support"}
DPI = 200


def gbp(value: float, _pos: object = None) -> str:
    """Format pounds as £k / £m for axes and titles."""
    sign = "−" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        return f"{sign}£{v / 1e6:.1f}m"
    if v >= 1e3:
        return f"{sign}£{v / 1e3:.0f}k"
    return f"{sign}£{v:.0f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.0f}%"


def _series(ts: pd.DataFrame, scenario: str, metric: str) -> pd.DataFrame:
    return ts[(ts["scenario"] == scenario) & (ts["metric"] == metric)].sort_values("month")


def _fy_axis(ax: Any, frame: pd.DataFrame) -> None:
    """Ticks at each April, labelled with the fiscal year that starts there."""
    aprils = frame[frame["date"].str.endswith("-04")]
    ax.set_xticks(aprils["month"].to_numpy())
    ax.set_xticklabels(aprils["fiscal_year"].tolist(), rotation=45, ha="right", fontsize=7)
    ax.set_xlim(frame["month"].min(), frame["month"].max())
    ax.grid(axis="y", alpha=0.3)


def _footer(fig: Any, scenarios: Sequence[str], replicates: int, seed: int) -> None:
    fig.text(0.01, 0.005, f"Scenarios: {', '.join(scenarios)} · {replicates:,} replicates each · "
             f"seed {seed} · bands: 10th–90th percentile of replicates; lines: median unless stated",
             fontsize=7, color="#555555", ha="left", va="bottom")


def _month_label(ts: pd.DataFrame, month: float) -> str:
    row = ts[ts["month"] == int(month)]
    if row.empty:
        return f"month {int(month)}"
    year, mon = row["date"].iloc[0].split("-")
    return f"{['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'][int(mon) - 1]} {year}"


def cliff_finding(ts: pd.DataFrame, scenario: str, kpis: Mapping[str, Mapping[str, float | None]]) -> str:
    """One sentence on the funding cliff of a scenario, from its KPI summary."""
    cliff = kpis["cliff_month"]["mean"]
    y10 = kpis["survival_prob_y10"]["mean"]
    if cliff is None or cliff != cliff:
        return f"No grant ends within the horizon; survival to year 10: {_pct(y10)}"
    drop = kpis["cliff_drop_gbp_per_month"]["p50"] or 0.0
    share = kpis["cliff_drop_share"]["p50"]
    runway = kpis["runway_months_at_cliff"]["p50"]
    runway_text = "n/a" if runway is None or runway != runway else (
        "no deficit" if runway >= 120 else f"{runway:.0f} months")
    return (f"Income falls {gbp(drop)}/month ({_pct(share)}) in {_month_label(ts, cliff)}; "
            f"runway {runway_text}; survives to year 5 in {_pct(kpis['survival_prob_y5']['mean'])} "
            f"and to year 10 in {_pct(y10)} of runs")


def survival_finding(summary: Mapping[str, Mapping[str, Mapping[str, float | None]]]) -> str:
    """Title sentence ranking scenarios by survival to year 10."""
    ranked = sorted(summary.items(), key=lambda kv: -(kv[1]["survival_prob_y10"]["mean"] or 0.0))
    parts = [f"{name} {_pct(k['survival_prob_y10']['mean'])}" for name, k in ranked]
    return "Survival to year 10: " + ", ".join(parts)


def funding_cliff_chart(path: Path, ts: pd.DataFrame, events: pd.DataFrame,
                        summary: Mapping[str, Any], replicates: int, seed: int) -> Path:
    """Income by source against costs, and reserves with their band, one column per scenario."""
    scenarios = list(summary)
    n = len(scenarios)
    fig, axes = plt.subplots(2, n, figsize=(5.2 * n + 0.6, 7.2), sharex="col", sharey="row",
                             squeeze=False, gridspec_kw={"height_ratios": [1.15, 1]})
    for col, name in enumerate(scenarios):
        top, bottom = axes[0, col], axes[1, col]
        frame = _series(ts, name, "costs_total_gbp")
        months = frame["month"].to_numpy()
        stack = [_series(ts, name, f"income_{s}_gbp")["mean"].to_numpy() for s in SOURCE_COLOURS]
        top.stackplot(months, *stack, colors=list(SOURCE_COLOURS.values()), alpha=0.85,
                      labels=[SOURCE_LABELS[s] for s in SOURCE_COLOURS])
        top.plot(months, frame["mean"].to_numpy(), color="black", lw=1.6, label="Total costs")
        top.set_title(name, fontsize=11, fontweight="bold")
        top.yaxis.set_major_formatter(FuncFormatter(gbp))
        reserves = _series(ts, name, "reserves_gbp")
        bottom.fill_between(months, reserves["p10"], reserves["p90"], color=PALETTE[col % 8],
                            alpha=0.25, lw=0, label="10–90% of runs")
        bottom.plot(months, reserves["p50"], color=PALETTE[col % 8], lw=2, label="Median reserves")
        bottom.axhline(0, color="#444444", lw=0.8)
        bottom.yaxis.set_major_formatter(FuncFormatter(gbp))
        for ax in (top, bottom):
            _fy_axis(ax, frame)
            for _, ev in events[(events["scenario"] == name)
                                & events["event"].str.startswith("grant ends")].iterrows():
                ax.axvline(ev["month"], color="#D55E00", ls="--", lw=1.2)
        for _, ev in events[(events["scenario"] == name)
                            & events["event"].str.startswith("grant ends")].iterrows():
            top.annotate(ev["event"].replace("grant ends: ", "ends: "), (ev["month"], 1.0),
                         xycoords=("data", "axes fraction"), fontsize=7, color="#D55E00",
                         rotation=90, va="top", ha="right")
        text = cliff_finding(ts, name, summary[name]).replace("; ", "\n")
        bottom.text(0.98, 0.97, text, transform=bottom.transAxes, fontsize=7.5, va="top", ha="right",
                    bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "lw": 0.5})
    axes[0, 0].set_ylabel("£ per month (mean of runs)")
    axes[1, 0].set_ylabel("Reserves at month end")
    axes[0, 0].legend(loc="upper right", fontsize=7, framealpha=0.9)
    axes[1, 0].legend(loc="lower left", fontsize=7, framealpha=0.9)
    title = (cliff_finding(ts, scenarios[0], summary[scenarios[0]]) if n == 1
             else survival_finding(summary))
    fig.suptitle("Funding cliff — " + title, fontsize=11.5, x=0.01, ha="left")
    _footer(fig, scenarios, replicates, seed)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    return _save(fig, path)


TRAJECTORY_PANELS = [
    ("las_member", "Member LAs", "p50", None),
    ("reserves_gbp", "Reserves", "p50", gbp),
    ("staff_fte", "Staff in post (FTE)", "p50", None),
    ("live_services", "Live services", "p50", None),
    ("operating", "Still operating (share of runs)", "mean", None),
    ("value_delivered_gbp", "Value to member LAs per month", "p50", gbp),
]


def trajectories_chart(path: Path, ts: pd.DataFrame, summary: Mapping[str, Any], replicates: int,
                       seed: int) -> Path:
    """Small multiples of the key trajectories, one line and band per scenario."""
    scenarios = list(summary)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.6), sharex=True)
    for ax, (metric, label, centre, fmt) in zip(axes.flat, TRAJECTORY_PANELS):
        for i, name in enumerate(scenarios):
            frame = _series(ts, name, metric)
            months = frame["month"].to_numpy()
            colour = PALETTE[i % len(PALETTE)]
            if centre != "mean":
                ax.fill_between(months, frame["p10"], frame["p90"], color=colour, alpha=0.15, lw=0)
            ax.plot(months, frame[centre], color=colour, lw=2, label=name)
            _fy_axis(ax, frame)
        ax.set_title(label + (" (mean)" if centre == "mean" else ""), fontsize=10)
        if fmt is not None:
            ax.yaxis.set_major_formatter(FuncFormatter(fmt))
        if metric == "operating":
            ax.set_ylim(-0.02, 1.02)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=min(len(scenarios), 4), fontsize=9,
               bbox_to_anchor=(0.99, 0.925))
    members = sorted(((s, summary[s]["members_y10"]["p50"] or 0.0) for s in scenarios),
                     key=lambda kv: -kv[1])
    finding = "Median member LAs in year 10: " + ", ".join(f"{s} {m:.0f}" for s, m in members)
    fig.suptitle(f"{finding}\n{survival_finding(summary)}", fontsize=11, x=0.01, ha="left")
    _footer(fig, scenarios, replicates, seed)
    fig.tight_layout(rect=(0, 0.03, 1, 0.89))
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    try:
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    finally:
        plt.close(fig)
