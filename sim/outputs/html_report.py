"""``report.html``: the scorecard and every chart in one self-contained page (images inline as
base64 PNG, styles inline, no scripts, nothing fetched from the network)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path

from sim.files import write_text
from sim.outputs.boardpage import DRIVERS_GUIDE, ranking_title
from sim.outputs.charts import SavedChart
from sim.outputs.ranking import (
    RANKING_GUIDE,
    column_heading,
    rank_text,
    ranked_columns,
    ranked_rows,
    ranking,
)
from sim.outputs.rundata import RunData
from sim.outputs.scorecard import SCORECARD_GUIDE, ScoreCell, ScoreRow, scorecard_title
from sim.outputs.style import scenario_colour

__all__ = ["report_html", "write_html_report"]

CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 24px; color: #1a1a1a; background: #ffffff; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin: 1.8em 0 0.2em; }
p.sub { margin: 0 0 0.6em; color: #333; }
p.meta, p.guide { color: #444; font-size: 0.92em; }
p.guide { background: #f4f4f4; border-left: 4px solid #999; padding: 8px 12px; }
img { width: 100%; height: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; font-size: 0.93em; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 8px; vertical-align: top; }
th { text-align: center; border-bottom: 2px solid #222; }
th.measure, td.measure { text-align: left; }
td.cell { text-align: center; }
td.best { background: #d7efe4; font-weight: bold; }
tr:nth-child(even) td { background-color: #f7f7f7; }
tr:nth-child(even) td.best { background: #cbe8da; }
code { color: #666; font-size: 0.85em; }
small { color: #555; font-weight: normal; }
nav a { margin-right: 1em; }
h3 { font-size: 1.0em; margin: 1.2em 0 0.2em; }
div.wide { overflow-x: auto; }
td.rank { text-align: center; font-weight: bold; font-size: 1.1em; }
table.drivers td { font-size: 0.95em; }
"""


def _scorecard_table(data: RunData, rows: list[ScoreRow]) -> str:
    head = "".join(f'<th style="color:{scenario_colour(j)}">{escape(data.title(s))}<br>'
                   f"<code>{escape(s)}</code></th>" for j, s in enumerate(data.scenarios))
    body = []
    for row in rows:
        cells = [_cell_html(cell) for cell in row.cells]
        body.append(f'<tr><td class="measure">{escape(row.words)}<br><code>{escape(row.kpi)}'
                    f"</code></td>{''.join(cells)}</tr>")
    return (f'<div class="wide"><table><thead><tr><th class="measure">Measure (technical name)'
            f"</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _cell_html(cell: ScoreCell) -> str:
    small = " · ".join(p for p in (cell.interval, cell.note) if p)
    mark = "★ " if cell.best else ""
    return (f'<td class="cell{" best" if cell.best else ""}">{mark}{escape(cell.text)}'
            + (f"<br><small>{escape(small)}</small>" if small else "") + "</td>")


def _ranking_section(data: RunData, rows: list[ScoreRow]) -> str:
    """The ranked table: every model best first, with its plain title and key KPIs."""
    ranked = ranked_rows(data, rows)
    columns = ranked_columns(data, rows)
    first, _, rest = ranking_title(data, ranked).partition("\n")
    end = data.end_label()
    head = "".join(f"<th>{escape(column_heading(c, end))}</th>" for c in columns)
    body = "".join(
        f'<tr><td class="rank">{escape(rank_text(r))}</td><td class="measure">'
        f'<b style="color:{scenario_colour(r.index)}">{escape(r.title)}</b><br>'
        f"<code>{escape(r.scenario)}</code></td>{''.join(_cell_html(c) for c in r.cells)}</tr>"
        for r in ranked)
    guide = "<br>".join(escape(line) for line in RANKING_GUIDE.split("\n"))
    return (f'<section id="ranking"><h2>{escape(first)}</h2><p class="sub">{escape(rest)}</p>'
            f'<div class="wide"><table><thead><tr><th>Rank</th><th class="measure">Delivery '
            f"model</th>{head}</tr></thead><tbody>{body}</tbody></table></div>"
            f'<p class="guide"><b>How to read the ranking.</b> {guide}</p></section>')


def _drivers_section(data: RunData) -> str:
    """What drives each model: its declared drivers against the reference scenario."""
    reference = data.reference or "the reference scenario"
    blocks = []
    for rank, name in enumerate(ranking(data), start=1):
        colour = scenario_colour(data.scenarios.index(name))
        drivers = data.drivers(name)
        rows = "".join(
            f'<tr><td class="measure">{escape(str(d.get("meaning", "")))}<br>'
            f'<code>{escape(str(d.get("path", "")))}</code></td>'
            f'<td>{escape(str(d.get("value", "")))}</td>'
            f'<td>{escape(str(d.get("reference_value") or "—"))}</td></tr>' for d in drivers)
        described = data.description(name)
        blocks.append(
            f'<h3 style="color:{colour}">{rank}. {escape(data.title(name))} '
            f"<code>{escape(name)}</code></h3>"
            + (f'<p class="sub">{escape(described)}</p>' if described else "")
            + (f'<table class="drivers"><thead><tr><th class="measure">Assumption [parameter]'
               f"</th><th>In this model</th><th>In {escape(reference)}</th></tr></thead>"
               f"<tbody>{rows}</tbody></table>" if drivers
               else "<p class=\"meta\">No drivers declared (meta.drivers).</p>"))
    guide = escape(DRIVERS_GUIDE)
    return ('<section id="drivers"><h2>What drives each model</h2>'
            f'<p class="guide">{guide}</p>{"".join(blocks)}</section>')


def _chart_section(chart: SavedChart) -> str:
    first, _, rest = chart.title.partition("\n")
    image = base64.b64encode(chart.png.read_bytes()).decode("ascii")
    guide = "<br>".join(escape(line) for line in chart.guide.split("\n"))
    return (f'<section id="{chart.name}"><h2>{escape(first)}</h2>'
            + (f'<p class="sub">{escape(rest)}</p>' if rest else "")
            + f'<img src="data:image/png;base64,{image}" alt="{escape(chart.title)}">'
            f'<p class="guide"><b>How to read this chart.</b> {guide}</p></section>')


def report_html(data: RunData, rows: list[ScoreRow], charts: Sequence[SavedChart]) -> str:
    """The whole report as one HTML document."""
    m = data.manifest
    title = "Centre of Excellence simulation — " + (
        ", ".join(data.titles()) if len(data.scenarios) <= 3
        else f"{len(data.scenarios)} delivery models compared")
    many = len(data.scenarios) > 1
    first, _, rest = scorecard_title(data, rows).partition("\n")
    commit = m.get("git_commit") or "not recorded"
    files = ("board_pack.pdf (the same, for printing), workbook.xlsx (fiscal-year tables for "
             "finance leads), timeseries.csv, summary.json, kpis.parquet, events.csv, "
             "manifest.json; each chart also as PNG and SVG")
    nav = " ".join(f'<a href="#{c.name}">{escape(c.name.replace("_", " "))}</a>' for c in charts)
    guide = "<br>".join(escape(line) for line in SCORECARD_GUIDE.split("\n"))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(data.footer())} · command: {escape(str(m.get("command", "")))}'
        f" · finished {escape(str(m.get('finished_utc', '')))} UTC · commit {escape(commit)}</p>",
        "<nav>" + ('<a href="#ranking">ranking</a> <a href="#drivers">drivers</a> '
                   if many else "") + f'<a href="#scorecard">scorecard</a> {nav}</nav>',
        *([_ranking_section(data, rows), _drivers_section(data)] if many else []),
        f'<section id="scorecard"><h2>{escape(first)}</h2><p class="sub">{escape(rest)}</p>',
        _scorecard_table(data, rows),
        f'<p class="guide"><b>How to read the scorecard.</b> {guide}</p></section>',
        *[_chart_section(c) for c in charts],
        f'<p class="meta">Files in this folder: {escape(files)}. What every file and column '
        "means: docs/outputs.md in the coe-sim repository.</p>",
        "</body></html>", ""])


def write_html_report(path: Path, data: RunData, rows: list[ScoreRow],
                      charts: Sequence[SavedChart]) -> Path:
    """Write ``report.html`` atomically."""
    return write_text(Path(path), report_html(data, rows, charts))
