"""The board page of a comparison, as A4-landscape pages of the board pack: the ranked table
(every model best first, with its plain title and key KPIs) and what drives each model (its
declared ``meta.drivers``: meaning, value in the model, value in the reference scenario).

Both paginate, so 10–20 models stay readable: at most :data:`RANKED_PER_PAGE` models per
ranked page, and drivers blocks flow onto as many pages as they need.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from sim.outputs.ranking import (
    RANKING_GUIDE,
    RankedRow,
    column_heading,
    rank_text,
    ranked_columns,
    ranked_rows,
)
from sim.outputs.rundata import RunData
from sim.outputs.scorecard import ScoreRow
from sim.outputs.style import FOOTER_GREY, RC, add_footer, add_title, pct, scenario_colour

__all__ = ["RANKED_PER_PAGE", "ranking_title", "ranking_figures", "drivers_figures",
           "DRIVERS_GUIDE"]

A4 = (11.69, 8.27)
RANKED_PER_PAGE = 14
"""Most models on one page of the ranked table."""
DRIVERS_GUIDE = (
    "For each model, the two or three assumptions its author declared drive its result "
    "(meta.drivers in its scenario file): what each means, its value in this model and in the "
    "shared starting point (scenarios/base.toml).")


def _swatch(fig: Figure, x: float, y: float, colour: str) -> None:
    """A small square in the scenario's colour (its colour in every chart), centred on y."""
    size = 0.11 / A4[1]
    fig.add_artist(plt.Rectangle((x, y - size / 2), size * A4[1] / A4[0], size, color=colour,
                                 lw=0, zorder=2))


def ranking_title(data: RunData, ranked: list[RankedRow]) -> str:
    """The ranked table's finding: which model is most likely to be working."""
    best = ranked[0]
    share = data.kpi(best.scenario, "viable_prob_y10", "mean")
    when = "10 years"
    if share != share:
        share, when = data.kpi(best.scenario, "viable_prob_y5", "mean"), "5 years"
    leaders = [r.title for r in ranked if r.rank == 1]
    if share != share:
        first = f"Delivery models ranked: {leaders[0]} first"
    else:
        verb = "is" if len(leaders) == 1 else "are"
        first = (f"{' and '.join(leaders)} {verb} the most likely to be working after {when}: "
                 f"{pct(share)} of runs")
    return (f"{first}\n{len(ranked)} delivery models, best first, by the chance the Centre is "
            f"working; median run and range of 8 runs in 10")


def _ranked_page(data: RunData, title: str, columns: list[ScoreRow], rows: list[RankedRow],
                 page_note: str) -> Figure:
    width, height = A4
    end = data.end_label()
    fig = plt.figure(figsize=A4)
    below = add_title(fig, title, size=13)
    top, bottom = below - 0.2 / height, 0.75 / height
    rank_w, label_w = 0.05, 0.31
    col_w = (0.98 - 0.01 - rank_w - label_w) / max(1, len(columns))
    row_h = min((top - bottom) / (RANKED_PER_PAGE + 1), 0.62 / height)
    y = top - row_h / 2
    fig.text(0.01, y, "Rank", fontsize=8.5, fontweight="bold", va="center")
    fig.text(0.01 + rank_w, y, "Delivery model (scenario name below)", fontsize=8.5,
             fontweight="bold", va="center")
    for j, row in enumerate(columns):
        x = 0.01 + rank_w + label_w + (j + 0.5) * col_w
        fig.text(x, y, "\n".join(textwrap.wrap(column_heading(row, end), 18)), fontsize=8,
                 fontweight="bold", ha="center", va="center", linespacing=1.1)
    fig.add_artist(plt.Line2D([0.01, 0.98], [y - row_h / 2] * 2, color="black", lw=0.8))
    for k, ranked in enumerate(rows):
        y = top - (k + 1.5) * row_h
        if k % 2 == 0:
            fig.add_artist(plt.Rectangle((0.01, y - row_h / 2), 0.97, row_h, color="#F3F3F3",
                                         zorder=0, lw=0))
        fig.text(0.015, y, rank_text(ranked), fontsize=11, fontweight="bold", va="center")
        _swatch(fig, 0.01 + rank_w - 0.012, y + row_h * 0.15, scenario_colour(ranked.index))
        fig.text(0.01 + rank_w, y + row_h * 0.15, ranked.title,
                 fontsize=9 if len(ranked.title) <= 46 else 7.8, va="center", fontweight="bold")
        fig.text(0.01 + rank_w, y - row_h * 0.24, ranked.scenario, fontsize=7, va="center",
                 color="#666666", family="DejaVu Sans Mono")
        for j, cell in enumerate(ranked.cells):
            x = 0.01 + rank_w + label_w + (j + 0.5) * col_w
            star = "★ " if cell.best else ""
            fig.text(x, y + row_h * 0.15, star + cell.text, fontsize=9.5, ha="center",
                     va="center", fontweight="bold" if cell.best else "normal")
            small = "  ·  ".join(p for p in (cell.interval, cell.note) if p)
            if small:
                fig.text(x, y - row_h * 0.24, small, fontsize=6.5, ha="center", va="center",
                         color="#444444")
    fig.text(0.01, 0.42 / height, RANKING_GUIDE, fontsize=7.5, color="#333333", va="bottom",
             linespacing=1.4)
    add_footer(fig, data.footer(), page_note)
    return fig


def ranking_figures(data: RunData, rows: list[ScoreRow]) -> list[Figure]:
    """The ranked table as one or more A4-landscape pages (at most :data:`RANKED_PER_PAGE`
    models each)."""
    ranked = ranked_rows(data, rows)
    columns = ranked_columns(data, rows)
    title = ranking_title(data, ranked)
    chunks = [ranked[i:i + RANKED_PER_PAGE] for i in range(0, len(ranked), RANKED_PER_PAGE)]
    figures = []
    with plt.rc_context(RC):
        for n, chunk in enumerate(chunks, start=1):
            note = f"Ranked table, page {n} of {len(chunks)}" if len(chunks) > 1 else ""
            figures.append(_ranked_page(data, title if n == 1 else title.split("\n")[0]
                                        + " (continued)", columns, chunk, note))
    return figures


def _driver_lines(driver: dict[str, object], widths: tuple[int, int, int]) -> list[list[str]]:
    """The three wrapped cells of one driver: meaning (with its path), value, reference."""
    meaning = textwrap.wrap(str(driver.get("meaning", "")), widths[0]) + [
        f"[{driver.get('path', '')}]"]
    value = textwrap.wrap(str(driver.get("value", "")), widths[1]) or [""]
    ref = driver.get("reference_value")
    reference = textwrap.wrap("—" if ref is None else str(ref), widths[2]) or [""]
    return [meaning, value, reference]


def drivers_figures(data: RunData, order: list[str]) -> list[Figure]:
    """What drives each model, in ``order`` (best first), as A4-landscape pages; a model
    with no declared drivers says so in one line."""
    width, height = A4
    line = 0.155 / height
    xs, widths = (0.02, 0.46, 0.73), (70, 42, 42)
    reference = data.reference or "the reference scenario"
    title = ("What drives each model: the assumptions declared in its scenario file\n"
             f"Each assumption's value in the model and in {reference}; models best first")
    figures: list[Figure] = []
    with plt.rc_context(RC):
        fig, y, bottom = None, 0.0, 0.55 / height
        for rank, name in enumerate(order, start=1):
            drivers = data.drivers(name)
            cells = [_driver_lines(d, widths) for d in drivers]
            need = (2.4 + sum(max(len(c) for c in cell) + 0.5 for cell in cells)
                    + (1 if not drivers else 0)) * line
            if fig is None or y - need < bottom:
                fig = plt.figure(figsize=A4)
                figures.append(fig)
                y = add_title(fig, title if len(figures) == 1 else title.split("\n")[0]
                              + " (continued)", size=12) - 0.15 / height
                for x, head in zip(xs, ("Assumption [parameter]", "In this model",
                                        f"In {reference}"), strict=True):
                    fig.text(x, y, head, fontsize=8, fontweight="bold", va="top",
                             color=FOOTER_GREY)
                y -= 1.3 * line
            index = data.scenarios.index(name)
            _swatch(fig, 0.01, y - 0.55 * line, scenario_colour(index))
            fig.text(0.022, y, f"{rank}. {data.title(name)}", fontsize=10, fontweight="bold",
                     va="top")
            fig.text(0.98, y, name, fontsize=7, va="top", ha="right", color="#666666",
                     family="DejaVu Sans Mono")
            y -= 1.35 * line
            if not drivers:
                fig.text(xs[0], y, "No drivers declared (meta.drivers)", fontsize=8,
                         va="top", color=FOOTER_GREY, style="italic")
                y -= line
            for cell in cells:
                for x, lines, colour in zip(xs, cell, ("#1a1a1a", "#000000", "#444444"),
                                            strict=True):
                    fig.text(x, y, "\n".join(lines), fontsize=7.5, va="top", color=colour,
                             linespacing=1.25)
                y -= (max(len(c) for c in cell) + 0.5) * line
            fig.add_artist(plt.Line2D([0.01, 0.98], [y + 0.3 * line] * 2, color="#BBBBBB",
                                      lw=0.6))
            y -= 0.6 * line
        for n, page in enumerate(figures, start=1):
            note = f"Drivers, page {n} of {len(figures)}" if len(figures) > 1 else ""
            page.text(0.01, 0.3 / height, DRIVERS_GUIDE, fontsize=7.5, color="#333333",
                      va="bottom")
            add_footer(page, data.footer(), note)
    return figures
