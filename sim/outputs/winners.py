"""Which delivery model wins where: the winners table and map of a sweep with a scenario factor.

A sweep whose ``scenario`` factor lists scenario files (one delivery model each) runs every
scenario at the same values of the other parameters, under common random numbers by default
(docs/experiments.md §1.5). For each combination of those values the table gives every
scenario's mean KPI over its replicates and the scenario with the highest; the map draws the
winner for each pair of values of two chosen inputs, averaging over any others.

Data flow: ``results.parquet`` → :func:`winners_table` → ``winners.csv`` and the map.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.files import atomic_write
from sim.outputs.kpi_text import kpi_text, short_name
from sim.outputs.style import FOOTER_GREY, PALETTE, SCREEN_DPI, add_footer, gbp, pct, save_figure

__all__ = ["TIE", "WINNERS_CSV", "winners_map", "winners_table", "write_winners"]

WINNERS_CSV = "winners.csv"
TIE = "tie"
"""The ``winner`` of a combination where two or more scenarios share the highest mean."""
_TIE_GREY = "#BBBBBB"


def _value(kpi: str, value: float) -> str:
    kind = kpi_text(kpi).kind
    if value != value:
        return "n/a"
    if kind in ("chance", "share"):
        return pct(value)
    if kind == "gbp":
        return gbp(value)
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def winners_table(results: pd.DataFrame, factor: str, inputs: Sequence[str], kpi: str,
                  titles: Mapping[str, str]) -> pd.DataFrame:
    """Each combination of ``inputs``: every scenario's mean ``kpi`` and the winner.

    Parameters
    ----------
    results : one row per run: the factor's column (scenario files), ``inputs`` and ``kpi``.
    factor : the column naming each run's scenario file.
    inputs : the other columns to group by (the map averages over those not on its axes).
    titles : scenario file → the name shown (its ``meta.name``), in the sweep file's order.

    Returns
    -------
    One row per combination, sorted by ``inputs``: the inputs, ``mean <title>`` per scenario
    (NaN-aware mean over replicates), ``winner`` (the title with the highest mean, or
    :data:`TIE` when several share it), ``best`` (that mean) and ``margin`` (best minus the
    runner-up: 0 for a tie).
    """
    frame = results[[*inputs, factor, kpi]].copy()
    frame[factor] = frame[factor].astype(str).map(dict(titles))
    by = [*inputs, factor] if inputs else [factor]
    means = frame.groupby(by, sort=True, dropna=False)[kpi].mean()
    wide = means.unstack(factor) if inputs else means.to_frame().T
    order = [t for t in titles.values() if t in wide.columns]
    wide = wide[order]
    values = wide.to_numpy(dtype=float)
    filled = np.where(np.isnan(values), -np.inf, values)
    best = filled.max(axis=1)
    top = filled == best[:, None]
    ranked = np.sort(filled, axis=1)
    runner_up = ranked[:, -2] if values.shape[1] > 1 else np.full(len(values), -np.inf)
    winner = np.where(top.sum(axis=1) > 1, TIE, np.asarray(order)[filled.argmax(axis=1)])
    table = wide.rename(columns=lambda t: f"mean {t}").reset_index(drop=not inputs)
    if not inputs:
        table = table.reset_index(drop=True)
    table.columns.name = None
    table["winner"] = winner
    table["best"] = np.where(np.isfinite(best), best, np.nan)
    table["margin"] = np.where(np.isfinite(best) & np.isfinite(runner_up), best - runner_up,
                               np.nan)
    return table


def _margin(kpi: str, margin: float) -> str:
    """How far the winner leads the runner-up: points for a chance, else the KPI's unit."""
    if margin != margin:
        return ""
    if kpi_text(kpi).kind in ("chance", "share"):
        return f"+{100 * margin:.0f} pts"
    return "+" + _value(kpi, margin)


def _axis_values(values: pd.Series) -> list[Any]:
    return sorted(values.dropna().unique().tolist())


def _tick(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def winners_map(table: pd.DataFrame, x: str, y: str | None, kpi: str, titles: Sequence[str],
                labels: Mapping[str, str], grid: bool, note: str, footer: str) -> Figure:
    """The winner at each (x, y): cells coloured by scenario (a grid design) or points (a
    sampled one), each cell labelled with the winning mean; grey where scenarios tie.

    ``table`` is :func:`winners_table` over exactly ``x`` and ``y`` (a grid's other inputs
    averaged); ``note`` says what happened to the other inputs.
    """
    colours = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(titles)}
    colours[TIE] = _TIE_GREY
    fig, ax = plt.subplots(figsize=(8.0, 5.2))
    if grid:
        xs = _axis_values(table[x])
        ys = _axis_values(table[y]) if y is not None else [0]
        names = [*titles, TIE]
        codes = np.full((len(ys), len(xs)), np.nan)
        for row in table.itertuples(index=False):
            r = dict(zip(table.columns, row, strict=True))
            i = ys.index(r[y]) if y is not None else 0
            j = xs.index(r[x])
            codes[i, j] = names.index(r["winner"])
            text = (f"{_value(kpi, r['best'])}\n{_margin(kpi, r['margin'])}"
                    if r["winner"] != TIE else f"tie\n{_value(kpi, r['best'])}")
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white"
                    if r["winner"] != TIE else "black")
        cmap = ListedColormap([colours[n] for n in names])
        ax.imshow(codes, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, origin="lower",
                  aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(xs)), [_tick(v) for v in xs])
        if y is not None:
            ax.set_yticks(range(len(ys)), [_tick(v) for v in ys])
        else:
            ax.set_yticks([])
    else:
        for name in [*titles, TIE]:
            part = table[table["winner"] == name]
            if part.empty:
                continue
            ax.scatter(part[x], part[y] if y is not None else np.zeros(len(part)), s=28,
                       color=colours[name], edgecolor="white", linewidth=0.5)
        if y is None:
            ax.set_yticks([])
    ax.set_xlabel(labels.get(x, x))
    if y is not None:
        ax.set_ylabel(labels.get(y, y))
    present = [n for n in [*titles, TIE] if (table["winner"] == n).any()]
    ax.legend(handles=[Patch(color=colours[n], label=n) for n in present], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8,
              title="highest mean\n(and its lead)" if grid else "highest mean")
    words = short_name(kpi)
    asked = (f"is most often {words}" if kpi_text(kpi).kind in ("chance", "share")
             else f"has the highest {words}")
    title = (f"Which delivery model {asked}, by {labels.get(x, x)}"
             + (f" and {labels.get(y, y)}" if y is not None else ""))
    ax.set_title(textwrap.fill(title, 70, break_on_hyphens=False), fontsize=10)
    if note:
        ax.annotate(note, xy=(0, -0.16), xycoords="axes fraction", fontsize=8,
                    color=FOOTER_GREY)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    add_footer(fig, footer)
    return fig


def write_winners(results: pd.DataFrame, meta: Mapping[str, Any], folder: Path) -> list[Path]:
    """Write ``winners.csv`` (every combination of the other inputs) and ``winners.png`` /
    ``.svg`` (the map) into a sweep ``folder``; return the files written.

    ``meta`` holds ``factor`` (the column of scenario files), ``inputs`` (the other parameters'
    columns), ``x``, ``y`` (or None), ``kpi``, ``titles`` (file → name, in order), ``labels``
    (column → words), ``grid`` (whether the design is a grid) and ``footer``.
    """
    folder = Path(folder)
    factor, inputs, kpi = meta["factor"], list(meta["inputs"]), meta["kpi"]
    titles = dict(meta["titles"])
    table = winners_table(results, factor, inputs, kpi, titles)
    written = [atomic_write(folder / WINNERS_CSV,
                            lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))]
    axes = [a for a in (meta["x"], meta["y"]) if a is not None]
    drawn = winners_table(results, factor, axes, kpi, titles)
    labels = dict(meta["labels"])
    others = ", ".join(labels.get(c, c) for c in inputs if c not in axes)
    grid = bool(meta["grid"])
    note = ("" if not others else f"averaged over {others}" if grid
            else f"each point also has its own {others}")
    fig = winners_map(drawn, meta["x"], meta["y"], kpi, list(titles.values()), labels, grid,
                      note, str(meta["footer"]))
    written += save_figure(fig, lambda name: folder / name, "winners",
                           title=fig.axes[0].get_title().replace("\n", " "), dpi=SCREEN_DPI)
    return written
