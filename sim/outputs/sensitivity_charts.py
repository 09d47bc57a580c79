"""Charts of a sensitivity analysis, drawn from its tables (``indices``, ``tornado``) only.

* ``sensitivity_indices`` — per KPI, each parameter's first-order and total Sobol' index (or
  Morris ``mu*`` and ``sigma``) with its confidence interval, largest first;
* ``sensitivity_over_time`` — per time-series metric, each parameter's total index (or ``mu*``)
  at each fiscal year end, with its interval as a band;
* ``tornado_<kpi>`` — for finance leads: the KPI with every parameter at its base value, and
  each parameter alone moved to its low and its high value, widest swing on top.

Each is written as PNG (at :data:`~sim.outputs.style.SCREEN_DPI`) and SVG, titled with its
finding, in the shared colour-blind-safe palette (:mod:`sim.outputs.style`), with a footer
naming the sweep, method, sample size, replicates and seed. KPIs and metrics are named from the
one table of KPI words (:func:`sim.outputs.kpi_text.short_name`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.outputs.kpi_text import kpi_text, short_name
from sim.outputs.style import PALETTE, SCREEN_DPI, add_footer, gbp, pct, save_figure
from sim.outputs.tables import fiscal_year_of_key

__all__ = ["index_bars_chart", "indices_over_time_chart", "tornado_chart",
           "write_sensitivity_charts"]


def _value(kpi: str, value: float) -> str:
    """A replicate mean of ``kpi``: a chance as %, money as £k/£m, else one decimal below 100
    (means of whole numbers, such as months, differ by less than one)."""
    if value != value:
        return "n/a"
    kind = kpi_text(kpi).kind
    if kind in ("chance", "share"):
        return pct(value)
    if kind == "gbp":
        return gbp(value)
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def _footer(fig: Figure, meta: Mapping[str, Any]) -> None:
    add_footer(fig, f"Sweep {meta.get('sweep', '?')} · {meta.get('method', '?')}, N = "
               f"{meta.get('samples', '?')} · {meta.get('points', '?')} points × "
               f"{meta.get('replicates', '?')} replicates · seed {meta.get('seed', '?')} · "
               f"coe-sim {meta.get('version', '')}")


def _save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    title = fig.get_suptitle() or next((ax.get_title() for ax in fig.axes), "")
    return save_figure(fig, lambda name: Path(folder) / name, stem, title=title, dpi=SCREEN_DPI)


def _label(meta: Mapping[str, Any]) -> Callable[[str], str]:
    labels = meta.get("labels", {})
    return lambda path: labels.get(path, path)


def index_bars_chart(indices: pd.DataFrame, meta: Mapping[str, Any]) -> Figure:
    """Bars per KPI: S1 and ST (Sobol) or mu* and sigma (Morris), with intervals."""
    label = _label(meta)
    kpis = indices[indices["fiscal_year"] == ""]
    outputs = [k for k in meta.get("kpis", []) if k in set(kpis["output"])] or \
        list(dict.fromkeys(kpis["output"]))
    sobol = meta.get("method") == "sobol"
    main, second = ("ST", "S1") if sobol else ("mu_star", "sigma")
    ncols = min(3, max(1, len(outputs)))
    nrows = max(1, int(np.ceil(len(outputs) / ncols)))
    n_params = max(1, kpis["parameter"].nunique())
    height = 0.9 + (0.38 * n_params + 0.9) * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, height), squeeze=False)
    finding = "No KPI varied across the design"
    for k, output in enumerate(outputs):
        ax = axes[k // ncols][k % ncols]
        frame = kpis[kpis["output"] == output]
        a = frame[frame["index"] == main].set_index("parameter")
        b = frame[frame["index"] == second].set_index("parameter")
        order = a["estimate"].sort_values().index.tolist()
        y = np.arange(len(order))
        ax.barh(y + 0.2, a.loc[order, "estimate"], height=0.38, color=PALETTE[0],
                xerr=a.loc[order, "conf"].fillna(0).clip(lower=0), ecolor="#333333", capsize=2,
                label="total effect (ST)" if sobol else "mu* (mean |effect|)")
        ax.barh(y - 0.2, b.loc[order, "estimate"], height=0.38, color=PALETTE[1],
                xerr=b.loc[order, "conf"].fillna(0).clip(lower=0) if sobol else None,
                ecolor="#333333", capsize=2,
                label="first order (S1)" if sobol else "sigma (interactions)")
        ax.set_yticks(y)
        ax.set_yticklabels([label(p) for p in order], fontsize=8)
        ax.set_title(short_name(output), fontsize=10)
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.grid(axis="x", alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7, loc="lower right")
            if order:
                finding = f"{label(order[-1])} matters most for {short_name(output)}"
    for k in range(len(outputs), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    index_name = "Sobol' indices" if sobol else "Morris screening"
    fig.suptitle(f"{finding} ({index_name}, {int(round(100 * _confidence(indices)))}% intervals)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    _footer(fig, meta)
    return fig


def _confidence(indices: pd.DataFrame) -> float:
    values = indices["confidence"].dropna()
    return float(values.iloc[0]) if len(values) else 0.95


def indices_over_time_chart(indices: pd.DataFrame, meta: Mapping[str, Any]) -> Figure | None:
    """Lines per metric: each parameter's ST (or mu*) at each fiscal year end."""
    label = _label(meta)
    series = indices[indices["fiscal_year"] != ""]
    if series.empty:
        return None
    main = "ST" if meta.get("method") == "sobol" else "mu_star"
    metrics = list(dict.fromkeys(series["output"]))
    fig, axes = plt.subplots(len(metrics), 1, figsize=(8.5, 3.2 * len(metrics)), squeeze=False)
    params = list(dict.fromkeys(series["parameter"]))
    for r, metric in enumerate(metrics):
        ax = axes[r][0]
        frame = series[(series["output"] == metric) & (series["index"] == main)]
        years = list(dict.fromkeys(frame["fiscal_year"]))
        x = np.arange(len(years))
        for i, p in enumerate(params):
            line = frame[frame["parameter"] == p].set_index("fiscal_year").reindex(years)
            colour = PALETTE[i % len(PALETTE)]
            style = "-" if i < len(PALETTE) else "--"
            ax.plot(x, line["estimate"], style, color=colour, marker="o", markersize=3,
                    label=label(p))
            ax.fill_between(x, line["ci_low"], line["ci_high"], color=colour, alpha=0.12,
                            linewidth=0)
        ax.set_xticks(x)
        ax.set_xticklabels([fiscal_year_of_key(y) for y in years], rotation=45, ha="right",
                           fontsize=7)
        ax.set_ylabel("total-effect index" if main == "ST" else "mu*", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        if r == 0:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        title = f"{short_name(metric)} at each fiscal year end"
        if years:
            first = frame[frame["fiscal_year"] == years[0]].set_index("parameter")["estimate"]
            last = frame[frame["fiscal_year"] == years[-1]].set_index("parameter")["estimate"]
            if len(first.dropna()) and len(last.dropna()):
                a, b = first.idxmax(), last.idxmax()
                words = short_name(metric)
                first_year, last_year = (fiscal_year_of_key(years[0]),
                                         fiscal_year_of_key(years[-1]))
                title = (f"{label(a)} drives {words} in every year" if a == b else
                         f"{label(a)} drives {words} in {first_year}, {label(b)} by {last_year}")
        ax.set_title(title, fontsize=10)
    index_name = "total-effect Sobol' index" if main == "ST" else "Morris mu*"
    fig.suptitle(f"Which assumptions matter, year by year ({index_name}, "
                 f"{int(round(100 * _confidence(indices)))}% bands)", fontsize=11)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    _footer(fig, meta)
    return fig


def tornado_chart(tornado: pd.DataFrame, kpi: str, meta: Mapping[str, Any]) -> Figure | None:
    """One-at-a-time tornado for ``kpi``: bars from the base value to the low and high runs."""
    frame = tornado[tornado["kpi"] == kpi].copy()
    if frame.empty:
        return None
    frame = frame.sort_values("swing", na_position="first")
    base = float(frame["kpi_base"].iloc[0])
    y = np.arange(len(frame))
    fig, ax = plt.subplots(figsize=(8.5, 1.2 + 0.45 * len(frame)))
    low = frame["kpi_low"].to_numpy(dtype=float) - base
    high = frame["kpi_high"].to_numpy(dtype=float) - base
    ax.barh(y, low, left=base, color=PALETTE[5], height=0.6, label="parameter at its low value")
    ax.barh(y, high, left=base, color=PALETTE[0], height=0.6, label="parameter at its high value")
    ax.axvline(base, color="#333333", linewidth=1)
    for i, row in enumerate(frame.itertuples()):
        # Low value's label just below the bar's middle, high value's just above: they never
        # overlap, even when both runs land on the same side of the base.
        for value, text, dy in ((row.kpi_low, row.low_value, -0.17),
                                (row.kpi_high, row.high_value, 0.17)):
            if value == value:
                ax.annotate(text, (value, i + dy), xytext=(3 if value >= base else -3, 0),
                            textcoords="offset points", ha="left" if value >= base else "right",
                            va="center", fontsize=6.5, color="#333333")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{r.label} (base {r.base_value})" for r in frame.itertuples()], fontsize=8)
    ax.set_xlabel(f"{short_name(kpi)} (replicate mean; base {_value(kpi, base)})", fontsize=8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _value(kpi, v)))
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.15)
    ax.legend(fontsize=7, loc="best")
    top = frame.iloc[-1]
    title = (f"{top['label']} moves {short_name(kpi)} most: {_value(kpi, top['kpi_low'])} to "
             f"{_value(kpi, top['kpi_high'])} (base {_value(kpi, base)})")
    # Centred over the plot, which is narrower than the figure: wrap to the plot's width.
    ax.set_title(textwrap.fill(title, 70, break_on_hyphens=False), fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _footer(fig, meta)
    return fig


def write_sensitivity_charts(indices: pd.DataFrame, tornado: pd.DataFrame,
                             meta: Mapping[str, Any], folder: Path) -> list[Path]:
    """Draw every chart into ``folder`` as PNG and SVG; return the files written."""
    files: list[Path] = []
    if not indices.empty:
        files += _save(index_bars_chart(indices, meta), folder, "sensitivity_indices")
        fig = indices_over_time_chart(indices, meta)
        if fig is not None:
            files += _save(fig, folder, "sensitivity_over_time")
    kpi = str(meta.get("tornado_kpi") or (tornado["kpi"].iloc[0] if len(tornado) else ""))
    fig = tornado_chart(tornado, kpi, meta) if kpi else None
    if fig is not None:
        files += _save(fig, folder, f"tornado_{kpi}")
    return files
