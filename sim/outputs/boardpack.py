"""The board pack: a PDF whose first pages are, for a comparison, the ranked table of the models
and what drives each, then the scorecard, and each further page one chart with a two-line
reading guide; a chart too tall for one page (a grid of many scenarios) is cut between its rows
of panels onto several (A4 landscape, matplotlib's PdfPages; written atomically)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages

from sim.files import atomic_write
from sim.outputs.boardpage import drivers_figures, ranking_figures
from sim.outputs.charts import SavedChart
from sim.outputs.ranking import ranking
from sim.outputs.rundata import RunData
from sim.outputs.scorecard import ScoreRow, scorecard_figures
from sim.outputs.style import DPI, RC

__all__ = ["A4_LANDSCAPE", "board_pack_pages", "front_pages", "write_board_pack"]

A4_LANDSCAPE = (11.69, 8.27)
"""Page size in inches."""


MIN_SCALE = 0.45
"""A chart that would be printed at less than this share of its size (a grid of many
scenarios) is cut between its rows of panels onto several pages, each as wide as the page."""
ROOM = (0.96, 0.80)
"""Share of the page's width and height a chart may fill (the guide takes the rest)."""


def _widest_gap(blank: np.ndarray) -> int:
    """The middle of the longest run of blank rows (the latest of equal runs): the space
    between two rows of panels is wider than any space inside one; the end if none."""
    best, best_len, run = len(blank), 0, 0
    for i, empty in enumerate(blank):
        run = run + 1 if empty else 0
        if run and run >= best_len:
            best, best_len = i - run // 2, run
    return best


def _pieces(image: np.ndarray, cuts: Sequence[float] = ()) -> list[np.ndarray]:
    """The chart image (drawn at :data:`~sim.outputs.style.DPI`) cut, when it would be printed
    below :data:`MIN_SCALE` on one page, into pieces that each fit the page at full width; each
    cut falls at the lowest of the chart's ``cuts`` (fractions of its height from the top,
    between rows of panels) that fits, else in the widest band of plain background in the lower
    half of the piece."""
    height, width = image.shape[:2]
    room_w, room_h = ROOM[0] * A4_LANDSCAPE[0], ROOM[1] * A4_LANDSCAPE[1]
    scale = min(room_w * DPI / width, room_h * DPI / height)
    if scale >= MIN_SCALE or room_w * DPI / width <= scale:
        return [image]
    most = int(width * room_h / room_w)
    blank = np.all(image[..., :3] >= 0.99, axis=(1, 2))
    pieces, start = [], 0
    rows = [round(c * height) for c in cuts]
    while height - start > 1.15 * most:  # a last piece a little too tall is shrunk instead
        fits = [r for r in rows if start + most // 3 < r <= start + most]
        cut = (fits[-1] if fits
               else start + most // 2 + _widest_gap(blank[start + most // 2:start + most]))
        pieces.append(image[start:cut])
        start = cut
    if not blank[start:].all():
        pieces.append(image[start:])
    return pieces


def _chart_images(charts: Sequence[SavedChart]) -> list[tuple[SavedChart, list[np.ndarray]]]:
    return [(chart, _pieces(mpimg.imread(chart.png), chart.cuts)) for chart in charts]


def front_pages(data: RunData, rows: list[ScoreRow]) -> list[plt.Figure]:
    """The pages before the charts: with two or more scenarios the ranked table and what drives
    each model, then the scorecard (best first; several pages for many scenarios)."""
    if len(data.scenarios) < 2:
        return scorecard_figures(data, rows)
    order = ranking(data)
    return [*ranking_figures(data, rows), *drivers_figures(data, order),
            *scorecard_figures(data, rows, order)]


def board_pack_pages(data: RunData, rows: list[ScoreRow], charts: Sequence[SavedChart]) -> int:
    """Pages in the board pack: the front pages, then one or more per chart."""
    front = front_pages(data, rows)
    for fig in front:
        plt.close(fig)
    return len(front) + sum(len(pieces) for _, pieces in _chart_images(charts))


def _guide_box(fig: plt.Figure, guide: str, top: float) -> None:
    """The two-line reading guide in a box whose top edge is at ``top`` (figure fraction)."""
    fig.text(0.03, top, "How to read this chart", fontsize=9.5, fontweight="bold", ha="left",
             va="top")
    fig.text(0.03, top - 0.03, guide, fontsize=8.5, ha="left", va="top", linespacing=1.45)
    fig.add_artist(plt.Rectangle((0.02, top - 0.1), 0.96, 0.11, facecolor="#F4F4F4",
                                 edgecolor="#BBBBBB", lw=0.8, zorder=-1))


def _page_number(fig: plt.Figure, page: int, pages: int) -> None:
    fig.text(0.985, 0.012, f"{page} / {pages}", fontsize=7, ha="right", va="bottom",
             color="#666666")


def _chart_page(chart: SavedChart, image: np.ndarray, part: int, parts: int) -> plt.Figure:
    """A page holding (a piece of) the chart's PNG, scaled to fit, with its reading guide right
    below the last piece."""
    fig = plt.figure(figsize=A4_LANDSCAPE)
    room_w, room_h = ROOM
    aspect = (image.shape[1] / image.shape[0]) / (A4_LANDSCAPE[0] / A4_LANDSCAPE[1])
    w, h = (room_w, room_w / aspect) if room_w / aspect <= room_h else (room_h * aspect, room_h)
    bottom = 0.98 - h
    ax = fig.add_axes(((1 - w) / 2, bottom, w, h))
    ax.imshow(image, interpolation="lanczos")
    ax.axis("off")
    if part > 1:
        heading = chart.title.partition("\n")[0][:110]
        fig.text(0.02, 0.995, f"{heading} (part {part} of {parts})", fontsize=7,
                 color="#666666", va="top")
    if part == parts:
        _guide_box(fig, chart.guide, bottom - 0.025)
    return fig


def write_board_pack(path: Path, data: RunData, rows: list[ScoreRow],
                     charts: Sequence[SavedChart]) -> Path:
    """Write ``board_pack.pdf``: the ranked table and the drivers (comparisons), the scorecard,
    then each chart on one page (a tall chart on several)."""
    images = _chart_images(charts)

    def write(tmp: Path) -> None:
        with plt.rc_context(RC), PdfPages(tmp, metadata={
                "Title": "Centre of Excellence — board pack: " + ", ".join(data.scenarios),
                "Author": "coe-sim", "Subject": data.footer(), "CreationDate": None}) as pdf:
            front = front_pages(data, rows)
            pages = len(front) + sum(len(pieces) for _, pieces in images)
            page = 0
            for fig in front:
                page += 1
                _page_number(fig, page, pages)
                pdf.savefig(fig)
                plt.close(fig)
            for chart, pieces in images:
                for part, image in enumerate(pieces, start=1):
                    page += 1
                    fig = _chart_page(chart, image, part, len(pieces))
                    _page_number(fig, page, pages)
                    pdf.savefig(fig)
                    plt.close(fig)

    return atomic_write(Path(path), write)
