"""The board scorecard: every KPI per scenario in plain words, with its interval and the best
value on each row marked; drawn as the first page of the board pack and as a table in the HTML
report from the same rows."""

from __future__ import annotations

import math
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from sim.engine.stats import Z90, wilson_interval
from sim.outputs.kpi_text import format_kpi, kpi_text
from sim.outputs.rundata import RunData
from sim.outputs.style import RC, add_footer, add_title, scenario_colour

__all__ = ["ScoreCell", "ScoreRow", "Z90", "wilson_interval", "scorecard_rows", "scorecard_title",
           "scorecard_figure", "scorecard_figures", "SCORECARD_COLUMNS", "SCORECARD_GUIDE"]

SCORECARD_GUIDE = (
    "Working (first rows) means open with a minimum team, a reliable service and enough members; "
    "open alone is not working. A cell: median run (chances: share of runs).\n"
    "Range: 8 runs in 10 (chances: the 90% interval of the estimate). ★ marks the best value "
    "where one side is plainly better; '—': not defined in any run.")


@dataclass(frozen=True)
class ScoreCell:
    """One scenario's value of one KPI as shown: ``text`` (centre), ``interval``, ``note``
    (e.g. "in 60% of runs"), ``value`` (the number compared), ``best``."""

    text: str
    interval: str
    note: str
    value: float
    best: bool


@dataclass(frozen=True)
class ScoreRow:
    """One KPI: technical name, plain words, which side is better, one cell per scenario."""

    kpi: str
    words: str
    better: str | None
    cells: list[ScoreCell]


def _cell(data: RunData, scenario: str, kpi: str, kind: str) -> tuple[str, str, str, float]:
    stats = data.summary[scenario][kpi]
    defined = stats.get("defined_share", 1.0)
    defined = 1.0 if defined != defined else defined
    label = data.month_label
    if defined == 0:
        text = {"closure_month": "never closes", "cliff_month": "no cliff"}.get(
            kpi, "never" if kind == "month" else "—")
        return text, "", "", math.nan
    note = ("" if defined >= 0.995 else f"in {100 * defined:.0f}% of runs" if defined >= 0.01
            else "in <1% of runs")
    if kind == "chance":
        share = stats["mean"]
        lo, hi = wilson_interval(share, round(data.replicates * defined))
        return format_kpi(share, kind), f"{100 * lo:.0f}–{100 * hi:.0f}%", note, share
    centre = stats["p50"]
    low, high = format_kpi(stats["p10"], kind, label), format_kpi(stats["p90"], kind, label)
    interval = "" if low == high else f"{low} – {high}" if kind == "month" else f"{low} to {high}"
    return format_kpi(centre, kind, label), interval, note, centre


def scorecard_rows(data: RunData) -> list[ScoreRow]:
    """One row per KPI of ``summary.json`` (in its order), with the best cells marked."""
    end = data.end_label()
    rows = []
    for kpi in data.kpi_names:
        text = kpi_text(kpi, end)
        raw = [_cell(data, s, kpi, text.kind) for s in data.scenarios]
        eligible = [i for i, s in enumerate(data.scenarios) if raw[i][3] == raw[i][3]
                    and (data.summary[s][kpi].get("defined_share") or 0) >= 0.5]
        best: set[int] = set()
        if text.better and len(data.scenarios) > 1 and eligible:
            pick = max if text.better == "high" else min
            top = pick(raw[i][3] for i in eligible)
            best_text = format_kpi(top, text.kind, data.month_label)
            best = {i for i in eligible if raw[i][0] == best_text}
            if len(best) == len(data.scenarios):
                best = set()  # every scenario is equally good: nothing to single out
        cells = [ScoreCell(t, iv, note, v, i in best) for i, (t, iv, note, v) in enumerate(raw)]
        rows.append(ScoreRow(kpi, text.words, text.better, cells))
    return rows


def scorecard_title(data: RunData, rows: list[ScoreRow]) -> str:
    """The scorecard's finding: which scenario is best on the most rows."""
    marked = [r for r in rows if any(c.best for c in r.cells)]
    if len(data.scenarios) == 1 or not marked:
        s = data.title(data.scenarios[0])
        working = next((r.cells[0].text for r in rows if r.kpi == "viable_prob_y10"), None)
        y10 = next((r.cells[0].text for r in rows if r.kpi == "survival_prob_y10"), None)
        first = f"Scorecard — {s}" + (
            f": working after 10 years in {working} of runs, still open in {y10}"
            if working and y10 else f": still running after 10 years in {y10} of runs"
            if y10 else "")
    else:
        wins = Counter(i for r in marked for i, c in enumerate(r.cells) if c.best)
        most = max(wins.values())
        leaders = [data.title(data.scenarios[i]) for i, w in sorted(wins.items()) if w == most]
        first = (f"Scorecard — {' and '.join(leaders)} {'is' if len(leaders) == 1 else 'are'} best "
                 f"on {most} of the {len(marked)} measures where one scenario stands out")
    return (f"{first}\nTypical value (median run, or share of runs for chances) and the range "
            f"covering 8 runs in 10; ★ best on the row")


SCORECARD_COLUMNS = 5
"""Most scenarios on one scorecard page; more flow onto further pages."""


def scorecard_figure(data: RunData, rows: list[ScoreRow], columns: Sequence[int] | None = None,
                     note: str = "") -> Figure:
    """The scorecard as one A4-landscape page: the scenarios at positions ``columns``
    (default: all), headed by their plain titles."""
    picked = list(range(len(data.scenarios))) if columns is None else list(columns)
    names = [data.scenarios[j] for j in picked]
    width, height = 11.69, 8.27
    with plt.rc_context(RC):
        fig = plt.figure(figsize=(width, height))
        below = add_title(fig, scorecard_title(data, rows), size=13)
        top, bottom = below - 0.2 / height, 0.45 / height
        label_w = 0.42 if len(names) <= 3 else 0.34
        col_w = (0.98 - 0.01 - label_w) / len(names)
        header_h = 0.62 / height
        y = top - header_h
        fig.text(0.01, y + 0.08 / height, "Measure (technical name below)", fontsize=9,
                 fontweight="bold", va="bottom")
        chars = max(14, int(col_w * width * 72 / (9.5 * 0.62)))
        for j, name in zip(picked, names, strict=True):
            x = 0.01 + label_w + (picked.index(j) + 0.5) * col_w
            fig.text(x, y + 0.17 / height, "\n".join(textwrap.wrap(data.title(name), chars)[:3]),
                     fontsize=9.5, fontweight="bold", color="#111111", ha="center", va="bottom",
                     linespacing=1.05)
            fig.text(x, y + 0.04 / height, name, fontsize=6.5, color=scenario_colour(j),
                     ha="center", va="bottom", family="DejaVu Sans Mono", fontweight="bold")
        fig.add_artist(plt.Line2D([0.01, 0.98], [y] * 2, color="black", lw=0.8))
        row_h = (y - bottom) / len(rows)
        top = y + row_h
        for k, row in enumerate(rows):
            y = top - (k + 1.5) * row_h
            if k % 2 == 0:
                fig.add_artist(plt.Rectangle((0.01, y - row_h / 2), 0.97, row_h, color="#F3F3F3",
                                             zorder=0, lw=0))
            fig.text(0.015, y + row_h * 0.14, row.words, fontsize=8.5, va="center")
            fig.text(0.015, y - row_h * 0.24, row.kpi, fontsize=7, va="center", color="#666666",
                     family="DejaVu Sans Mono")
            for col, j in enumerate(picked):
                cell = row.cells[j]
                x = 0.01 + label_w + (col + 0.5) * col_w
                if cell.best:
                    fig.add_artist(plt.Rectangle((x - col_w * 0.46, y - row_h * 0.45), col_w * 0.92,
                                                 row_h * 0.9, color="#D7EFE4", zorder=0.5, lw=0))
                star = "★ " if cell.best else ""
                fig.text(x, y + row_h * 0.15, star + cell.text, fontsize=10,
                         fontweight="bold" if cell.best else "normal", ha="center", va="center")
                small = "  ·  ".join(p for p in (cell.interval, cell.note) if p)
                if small:
                    fig.text(x, y - row_h * 0.24, small, fontsize=7, ha="center", va="center",
                             color="#444444")
        add_footer(fig, data.footer(), note or "Ranges: 10th–90th percentile of runs; chances: "
                   "90% interval of the estimate")
    return fig


def scorecard_figures(data: RunData, rows: list[ScoreRow],
                      order: Sequence[str] | None = None) -> list[Figure]:
    """The scorecard on as many pages as it takes, at most :data:`SCORECARD_COLUMNS` scenarios
    a page, in ``order`` (default: command-line order); ★ marks the best across all pages."""
    order = list(order) if order is not None else data.scenarios
    positions = [data.scenarios.index(s) for s in order]
    chunks = [positions[i:i + SCORECARD_COLUMNS]
              for i in range(0, len(positions), SCORECARD_COLUMNS)]
    if len(chunks) == 1:
        return [scorecard_figure(data, rows, chunks[0])]
    return [scorecard_figure(data, rows, chunk, f"Scorecard, page {n} of {len(chunks)}; ranges: "
                             "10th–90th percentile of runs; chances: 90% interval")
            for n, chunk in enumerate(chunks, start=1)]
