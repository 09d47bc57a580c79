"""The look shared by every chart: colour-blind-safe palettes, £ and % formats, fiscal-year axes,
the provenance footer, and saving as PNG (200 dpi) and SVG, each written atomically. The run
charts, the sensitivity charts and the calibration fit chart all take their colours, resolution
and saving from here.

Every text is drawn literally (``text.parse_math`` off): a ``$`` in a name is a dollar sign,
never the start of mathtext.

Scenario ``i`` (command-line order) is always drawn in ``PALETTE[i]`` (Okabe & Ito 2008).
Categories inside one panel (income sources, service strands) use Paul Tol's "muted" scheme,
so they are never confused with scenarios; known categories keep a fixed colour and new ones
take the next free colour.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
# Text is drawn literally, never as mathtext: scenario, grant and parameter names are the
# user's own text, and a name such as "$$" or "a $b" would otherwise be parsed as TeX and
# crash the chart after the whole simulation. No chart of ours uses mathtext. This must hold
# when each Text is made (tight_layout measures text before saving), so it is set here, for
# the process, as the backend is; RC below repeats it for the saving context.
matplotlib.rcParams["text.parse_math"] = False

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter  # noqa: E402

from sim.files import atomic_write  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.typing import RcKeyType

__all__ = ["PALETTE", "CATEGORY_PALETTE", "DPI", "SCREEN_DPI", "FOOTER_GREY", "RC", "Chart",
           "gbp", "pct", "points", "humanise", "category_colours", "scenario_colour",
           "scenario_linestyle", "fy_axis", "add_footer", "add_title", "title_height",
           "save_chart", "save_figure", "gbp_axis", "MAX_COLUMNS", "grid_shape", "mark_panel",
           "panel_grid", "mark_part", "row_cuts"]

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
"""Okabe & Ito (2008) colour-blind-safe palette; scenario i always gets colour i."""

CATEGORY_PALETTE = ["#332288", "#44AA99", "#DDCC77", "#CC6677", "#88CCEE", "#117733", "#AA4499",
                    "#999933", "#882255"]
"""Paul Tol's "muted" colour-blind-safe scheme, for categories within a panel."""

_KNOWN_CATEGORIES = {"grant": 0, "subscriptions": 1, "commissions": 2, "host_support": 3,
                     "charitable": 4, "culture_and_leadership": 5, "skills_and_capacity": 6,
                     "collaboration_and_impact": 7}
"""Stable colours for categories known today; others take the remaining colours in order."""

_LABELS = {"grant": "Grants", "subscriptions": "LA subscriptions", "host_support": "Host support",
           "commissions": "Commissioned projects", "charitable": "Charitable income",
           "non_pay": "Non-pay", "vat": "Irrecoverable VAT", "setup": "Set-up and transition"}

DPI = 200
"""Resolution of every PNG of a run folder (the board pack and the HTML report embed them)."""
SCREEN_DPI = 150
"""Resolution of the analysis charts (sensitivity indices and tornado, the calibration fit):
tall multi-panel figures read on screen and never printed in the board pack, kept small."""
FOOTER_GREY = "#555555"
"""Colour of footers, notes and other secondary text."""
RC: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans", "svg.fonttype": "none", "svg.hashsalt": "coe-sim",
    "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10,
    "axes.titleweight": "bold", "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8, "legend.frameon": False, "text.parse_math": False}
"""Matplotlib settings used (as a context, never globally) for every chart. SVG text stays text.
``text.parse_math`` is also set for the process when this module is imported (see above)."""


@dataclass(frozen=True)
class Chart:
    """A drawn chart before saving.

    Attributes
    ----------
    name : file stem (``funding_cliff`` → ``funding_cliff.png`` and ``.svg``).
    figure : the matplotlib figure.
    title : the computed finding shown as the title (lines separated by ``\\n``).
    guide : a two-line reading guide for the board pack and the HTML report.
    cuts : where the board pack may cut the chart across pages, as fractions of its height from
        the top (between rows of panels, :func:`row_cuts`); empty: anywhere blank.
    """

    name: str
    figure: Figure
    title: str
    guide: str
    cuts: tuple[float, ...] = ()


def gbp(value: float, _pos: object = None) -> str:
    """Pounds as £, £k or £m (``12345`` → ``£12k``, ``2.5e6`` → ``£2.5m``)."""
    if value != value:
        return "n/a"
    sign = "−" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        return f"{sign}£{v / 1e6:.1f}m"
    if v >= 1e3:
        return f"{sign}£{v / 1e3:.0f}k"
    return f"{sign}£{v:.0f}"


def pct(share: float | None) -> str:
    """A share 0–1 as a whole percentage (``0.905`` → ``90%``); ``n/a`` if undefined."""
    return "n/a" if share is None or share != share else f"{100 * share:.0f}%"


def points(diff: float) -> str:
    """A difference of two shares in percentage points with its sign (``-0.1`` → ``−10``)."""
    value = round(100 * diff)
    return f"+{value}" if value > 0 else ("0" if value == 0 else f"−{-value}")


def humanise(name: str) -> str:
    """A metric part as words: ``host_support`` → ``Host support``."""
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def category_colours(names: Sequence[str]) -> dict[str, str]:
    """A colour per category: fixed for known names, the next free colour for new ones."""
    taken = {_KNOWN_CATEGORIES[n] for n in names if n in _KNOWN_CATEGORIES}
    free = iter([i for i in range(len(CATEGORY_PALETTE)) if i not in taken] * 4)
    colours = {}
    for name in names:
        index = _KNOWN_CATEGORIES[name] if name in _KNOWN_CATEGORIES else next(free)
        colours[name] = CATEGORY_PALETTE[index % len(CATEGORY_PALETTE)]
    return colours


def scenario_colour(index: int) -> str:
    """The colour of the scenario at position ``index`` on the command line."""
    return PALETTE[index % len(PALETTE)]


def scenario_linestyle(index: int) -> str | tuple[int, tuple[float, float]]:
    """Solid for the first eight scenarios; past the palette's eight colours the colours repeat,
    so later scenarios are dashed (9–16) or dotted, and no two lines look alike."""
    return ("-", (0, (5, 2)), (0, (1, 1.5)))[(index // len(PALETTE)) % 3]


MAX_COLUMNS = 4
"""Most columns of panels in a chart with one panel (or block of panels) per scenario: more
scenarios wrap onto further rows, so 10–20 stay readable."""


def grid_shape(n: int, max_columns: int = MAX_COLUMNS) -> tuple[int, int]:
    """(rows, columns) of a grid holding ``n`` panels, at most ``max_columns`` wide and as
    even as it can be: 4 → 1 × 4, 5 → 2 × 3, 10 → 3 × 4, 20 → 5 × 4."""
    rows = -(-max(n, 1) // max_columns)
    return rows, -(-max(n, 1) // rows)


def mark_panel(ax: Axes, scenario: str) -> None:
    """Tag ``ax`` as the main panel of ``scenario``, so :func:`panel_grid` can find it."""
    ax.set_gid(f"panel:{scenario}")


def mark_part(ax: Axes, scenario: str) -> None:
    """Tag ``ax`` as a further part of ``scenario``'s block (below or beside its main panel)."""
    ax.set_gid(f"part:{scenario}")


def row_cuts(figure: Figure) -> tuple[float, ...]:
    """Fractions of the figure's height, from the top, midway between consecutive rows of
    scenario blocks (:func:`mark_panel`, :func:`mark_part`), measured on the drawn extents of
    their axes with tick labels and titles: where a page break cuts no panel or label."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    rows: dict[float, list[str]] = {}
    for ax in figure.axes:
        gid = ax.get_gid() or ""
        if gid.startswith("panel:"):
            rows.setdefault(round(ax.get_position().y0, 3), []).append(gid[6:])
    extents: dict[str, list[float]] = {}
    for ax in figure.axes:
        gid = ax.get_gid() or ""
        if gid.startswith(("panel:", "part:")):
            box = ax.get_tightbbox(renderer)
            if box is not None:
                extents.setdefault(gid.partition(":")[2], []).extend([box.y0, box.y1])
    ordered = [rows[y] for y in sorted(rows, reverse=True)]
    height = figure.bbox.height
    cuts = []
    for upper, lower in zip(ordered, ordered[1:], strict=False):
        low = min(v for s in upper for v in extents.get(s, [height]))
        high = max(v for s in lower for v in extents.get(s, [0.0]))
        cuts.append(float(1 - (low + high) / 2 / height))
    return tuple(cuts)


def panel_grid(figure: Figure) -> tuple[int, int]:
    """(rows, columns) of the scenario panels of a drawn figure, read from where its tagged
    axes sit (:func:`mark_panel`), not from pixels."""
    boxes = [ax.get_position() for ax in figure.axes if (ax.get_gid() or "").startswith("panel:")]
    rows = {round(box.y0, 3) for box in boxes}
    columns = {round(box.x0, 3) for box in boxes}
    return len(rows), len(columns)


def gbp_axis(ax: Axes) -> None:
    """Format the y axis in £k / £m."""
    ax.yaxis.set_major_formatter(FuncFormatter(gbp))


def fy_axis(ax: Axes, calendar: pd.DataFrame, label: bool = True) -> None:
    """Gridlines at each April and each fiscal year's label (``2027/28``) centred on its span.

    Parameters
    ----------
    calendar : rows with ``month``, ``date`` and ``fiscal_year`` for every month of the run.
    """
    months = calendar["month"].to_numpy()
    aprils = calendar[calendar["date"].str.endswith("-04")]["month"].tolist()
    ax.xaxis.set_major_locator(FixedLocator(aprils))
    ax.xaxis.set_major_formatter(NullFormatter())
    ax.tick_params(axis="x", which="major", length=4)
    spans = calendar.groupby("fiscal_year", sort=False)["month"].agg(["min", "max"])
    centres = ((spans["min"] + spans["max"] + 1) / 2).tolist()
    ax.xaxis.set_minor_locator(FixedLocator(centres))
    if label:
        ax.set_xticks(centres, spans.index.tolist(), minor=True, rotation=40, ha="right",
                      rotation_mode="anchor", fontsize=7)
        ax.tick_params(axis="x", which="minor", labelbottom=True)
    else:
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", which="minor", length=0)
    ax.set_xlim(months.min(), months.max() + 1)
    ax.grid(axis="y", alpha=0.3)
    ax.grid(axis="x", which="major", alpha=0.15)


def _title_blocks(title: str, width_in: float, size: float) -> list[tuple[list[str], float, str]]:
    """The title's lines as (wrapped lines, font size, weight): the finding bold, the rest not."""
    first, _, rest = title.partition("\n")
    blocks = []
    for text, fontsize, weight, em in ((first, size, "bold", 0.64),
                                       (rest, size - 1.5, "normal", 0.56)):
        if text:
            chars = max(40, int(0.98 * width_in * 72 / (fontsize * em)))
            blocks.append((textwrap.wrap(text, chars, break_on_hyphens=False), fontsize, weight))
    return blocks


def title_height(title: str, width_in: float, size: float = 12.0) -> float:
    """Inches taken by :func:`add_title` on a figure ``width_in`` wide."""
    return 0.1 + sum((len(lines) * fs * 1.45 + 2) / 72 for lines, fs, _ in
                     _title_blocks(title, width_in, size))


def add_title(fig: Figure, title: str, size: float = 12.0) -> float:
    """The finding as the figure title, flush left and wrapped to the figure's width: the first
    line bold, the rest regular. Returns the figure fraction just below the title block."""
    height = fig.get_figheight()
    y = 1 - 0.1 / height
    for lines, fontsize, weight in _title_blocks(title, fig.get_figwidth(), size):
        fig.text(0.01, y, "\n".join(lines), fontsize=fontsize, fontweight=weight, ha="left",
                 va="top", linespacing=1.2, color="black" if weight == "bold" else "#222222")
        y -= (len(lines) * fontsize * 1.45 + 2) / 72 / height
    return y


def add_footer(fig: Figure, footer: str, note: str = "") -> None:
    """Scenarios, replicates, seed and provenance at the bottom left (and a note on the right).

    A long footer wraps before it reaches the note (about 16 characters of 7-pt text per inch).
    """
    room = fig.get_figwidth() * 16 - (len(note) + 6 if note else 0)
    if len(footer) > room:
        footer = textwrap.fill(footer, width=max(int(room), 40))
    fig.text(0.01, 0.006, footer, fontsize=7, color=FOOTER_GREY, ha="left", va="bottom")
    if note:
        fig.text(0.99, 0.006, note, fontsize=7, color=FOOTER_GREY, ha="right", va="bottom")


def finish_plot(fig: Figure, ax: Axes, title: str, footer: str, note: str) -> Figure:
    """The end of a one-panel decision chart (threshold, optimise): a light grid, the legend
    where it covers least, the title at the top left, the footer and its note, the x label grey.
    """
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, frameon=False)
    ax.set_title(title, loc="left", fontsize=11)
    fig.subplots_adjust(bottom=0.16, top=0.9)
    add_footer(fig, footer, note)
    ax.xaxis.label.set_color(FOOTER_GREY)
    return fig


def save_figure(figure: Figure, path_for: Callable[[str], Path], stem: str, *, title: str = "",
                dpi: int = DPI, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``<stem>.png`` (at ``dpi``) and ``<stem>.svg``, each atomically, and close the
    figure.

    The title is stored in the PNG's ``Title`` text chunk and in the SVG's metadata; the SVG
    carries no date, so the same chart gives the same file. ``path_for(filename)`` says where
    each file goes.
    """
    metadata: dict[str, dict[str, Any]] = {
        "png": {"Title": title, "Software": "coe-sim (matplotlib)"},
        "svg": {"Title": title, "Date": None}}
    written = []
    try:
        with plt.rc_context(RC):
            for fmt in formats:
                # Only the PNG is rasterised: the SVG keeps the figure's own resolution.
                options: dict[str, Any] = {"format": fmt, "metadata": metadata[fmt]}
                if fmt == "png":
                    options["dpi"] = dpi
                written.append(atomic_write(Path(path_for(f"{stem}.{fmt}")),
                                            _saver(figure, options)))
    finally:
        plt.close(figure)
    return written


def _saver(figure: Figure, options: dict[str, Any]) -> Callable[[Path], None]:
    def save(tmp: Path) -> None:
        figure.savefig(tmp, **options)

    return save


def save_chart(chart: Chart, path_for: Callable[[str], Path]) -> list[Path]:
    """Write a run chart as ``<name>.png`` (200 dpi) and ``<name>.svg`` (see
    :func:`save_figure`)."""
    return save_figure(chart.figure, path_for, chart.name, title=chart.title)
