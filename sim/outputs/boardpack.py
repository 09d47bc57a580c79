"""The board pack: a PDF whose first page is the scorecard and each further page one chart with
a two-line reading guide (A4 landscape, matplotlib's PdfPages; written atomically)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages

from sim.files import atomic_write
from sim.outputs.charts import SavedChart
from sim.outputs.rundata import RunData
from sim.outputs.scorecard import ScoreRow, scorecard_figure
from sim.outputs.style import RC

__all__ = ["A4_LANDSCAPE", "board_pack_pages", "write_board_pack"]

A4_LANDSCAPE = (11.69, 8.27)
"""Page size in inches."""


def board_pack_pages(charts: Sequence[SavedChart]) -> int:
    """Pages in the board pack: the scorecard, then one per chart."""
    return 1 + len(charts)


def _guide_box(fig: plt.Figure, guide: str, top: float, page: int, pages: int) -> None:
    """The two-line reading guide in a box whose top edge is at ``top`` (figure fraction)."""
    fig.text(0.03, top, "How to read this chart", fontsize=9.5, fontweight="bold", ha="left",
             va="top")
    fig.text(0.03, top - 0.03, guide, fontsize=8.5, ha="left", va="top", linespacing=1.45)
    fig.add_artist(plt.Rectangle((0.02, top - 0.1), 0.96, 0.11, facecolor="#F4F4F4",
                                 edgecolor="#BBBBBB", lw=0.8, zorder=-1))
    fig.text(0.985, 0.012, f"{page} / {pages}", fontsize=7, ha="right", va="bottom",
             color="#666666")


def _chart_page(chart: SavedChart, page: int, pages: int) -> plt.Figure:
    """A page holding the chart's PNG, scaled to fit, with its reading guide right below."""
    image = mpimg.imread(chart.png)
    fig = plt.figure(figsize=A4_LANDSCAPE)
    room_w, room_h = 0.96, 0.80
    aspect = (image.shape[1] / image.shape[0]) / (A4_LANDSCAPE[0] / A4_LANDSCAPE[1])
    w, h = (room_w, room_w / aspect) if room_w / aspect <= room_h else (room_h * aspect, room_h)
    bottom = 0.98 - h
    ax = fig.add_axes(((1 - w) / 2, bottom, w, h))
    ax.imshow(image, interpolation="lanczos")
    ax.axis("off")
    _guide_box(fig, chart.guide, bottom - 0.025, page, pages)
    return fig


def write_board_pack(path: Path, data: RunData, rows: list[ScoreRow],
                     charts: Sequence[SavedChart]) -> Path:
    """Write ``board_pack.pdf``: the scorecard page, then one page per chart."""
    pages = board_pack_pages(charts)

    def write(tmp: Path) -> None:
        with plt.rc_context(RC), PdfPages(tmp, metadata={
                "Title": "Centre of Excellence — board pack: " + ", ".join(data.scenarios),
                "Author": "coe-sim", "Subject": data.footer(), "CreationDate": None}) as pdf:
            first = scorecard_figure(data, rows)
            pdf.savefig(first)
            plt.close(first)
            for page, chart in enumerate(charts, start=2):
                fig = _chart_page(chart, page, pages)
                pdf.savefig(fig)
                plt.close(fig)

    return atomic_write(Path(path), write)
