"""``workbook.xlsx`` for finance leads: a summary sheet, then one sheet per scenario of
fiscal-year tables (income by source, costs by type, surplus, reserves, headcount, members).

Every figure is a number cell with a number format (£, FTE, %, dates), never text; totals are
written as values equal to the sums of the lines above them (no formulas, so any reader sees the
same numbers without recalculating).

Text is written as text, whatever it says: scenario, grant and KPI names are the user's own, so
a name such as ``=HYPERLINK(...)`` is stored as a string cell (never a formula) and marked with
Excel's quote prefix when it starts with ``=``, ``+``, ``-`` or ``@`` (so that editing the
cell keeps it text); control characters, which the file format cannot hold, are shown as
``\\xNN`` (:func:`literal_text`); sheet names are made valid and unique (:func:`sheet_name`).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sim.files import atomic_write
from sim.outputs.fiscal import FiscalTable, fiscal_table
from sim.outputs.kpi_text import kpi_text
from sim.outputs.rundata import RunData
from sim.outputs.scorecard import wilson_interval

__all__ = ["NUMBER_FORMATS", "HEADER_ROW", "literal_text", "sheet_name", "write_workbook"]

NUMBER_FORMATS = {"gbp": '"£"#,##0;[Red]-"£"#,##0', "fte": "0.0", "count": "#,##0.0",
                  "share": "0%", "chance": "0%", "months": "0", "month": "mmm yyyy",
                  "ratio": '"£"0.00'}
"""Excel number format of each kind of value."""

HEADER_ROW = 5
"""Row of the column headers on every sheet (rows 1–3 hold the title and notes)."""

BOLD = Font(bold=True)
SECTION_FILL = PatternFill("solid", fgColor="DDE7F0")
HEADER_FILL = PatternFill("solid", fgColor="1F3B57")
TOTAL_BORDER = Border(top=Side(style="thin"), bottom=Side(style="thin"))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Characters an xlsx file cannot hold (openpyxl raises IllegalCharacterError), and DEL."""
_FORMULA_START = ("=", "+", "-", "@")
"""First characters a spreadsheet reads as the start of a formula when a cell is edited."""


def literal_text(text: str) -> str:
    """``text`` with every control character an xlsx file cannot hold written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _put(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write ``value`` into a cell; text always as a string cell, never as a formula."""
    if isinstance(value, str):
        cell = ws.cell(row=row, column=column, value=literal_text(value))
        cell.data_type = "s"  # openpyxl would store text starting with "=" as a formula
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True
        return cell
    return ws.cell(row=row, column=column, value=value)


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name: at most 31 characters, none of ``[]:*?/\\`` or a
    control character, not starting or ending with ``'``, and not ``History`` (reserved)."""
    base = re.sub(r"[\[\]:*?/\\\x00-\x1f\x7f]", "_", name)[:31].strip("'")
    if not base or base.lower() == "history":
        base = f"scenario {base}".strip()[:31] if base else "scenario"
    candidate, n = base, 1
    while candidate.lower() in {t.lower() for t in taken}:
        n += 1
        candidate = f"{base[:31 - len(str(n)) - 1]}~{n}"
    taken.add(candidate)
    return candidate


def _number(cell: Cell, value: float | None, kind: str) -> None:
    """Write a number (blank if undefined) with its format."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    cell.value = float(value)
    cell.number_format = NUMBER_FORMATS[kind]


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = _put(ws, row, col, label)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="left" if col <= 2 else "right", wrap_text=True)


def _notes(ws: Worksheet, title: str, lines: list[str]) -> None:
    _put(ws, 1, 1, title).font = Font(bold=True, size=14)
    for i, text in enumerate(lines, start=2):
        _put(ws, i, 1, text).font = Font(italic=True, color="444444")


def _widths(ws: Worksheet, widths: list[float]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _scenario_sheet(ws: Worksheet, data: RunData, table: FiscalTable) -> None:
    _notes(ws, f"{table.scenario}: fiscal-year figures (April–March)", [
        f"Income, costs and surplus are totals over each fiscal year of the monthly means over "
        f"{data.replicates:,} runs; stocks are at the year's last month in the run.",
        f"Money in {data.money_label} ({_basis(data)}). Runs that closed count as £0 income "
        "and cost, and keep the reserves they closed with. " + data.footer()])
    _header(ws, HEADER_ROW, [f"Line (money in £, {table.prices})", "Where it comes from",
                             *table.years, "All years"])
    row = HEADER_ROW
    section = None
    for line in table.lines:
        if line.section != section:
            row += 1
            section = line.section
            for col in range(1, len(table.years) + 4):
                ws.cell(row=row, column=col).fill = SECTION_FILL
            _put(ws, row, 1, section).font = BOLD
        row += 1
        _put(ws, row, 1, line.label)
        _put(ws, row, 2, line.source).font = Font(color="666666", size=9)
        for i, value in enumerate(line.values):
            _number(ws.cell(row=row, column=3 + i), value, line.kind)
        _number(ws.cell(row=row, column=3 + len(table.years)), line.total, line.kind)
        if line.is_total:
            for col in range(1, len(table.years) + 4):
                ws.cell(row=row, column=col).font = Font(bold=True, color="666666" if col == 2
                                                         else "000000", size=9 if col == 2 else 11)
                ws.cell(row=row, column=col).border = TOTAL_BORDER
    _widths(ws, [44, 34, *[12.5] * len(table.years), 14])
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=3)


def _basis(data: RunData) -> str:
    """What the money's basis means, in words."""
    if data.prices == "nominal":
        return ("pounds of the day: pay, prices and subscriptions rise each April, grants as "
                "awarded in cash; cpi_index deflates them")
    return "each month's nominal pounds ÷ that month's CPI index (run with --real-terms)"


def _month_date(data: RunData, month: float) -> datetime | None:
    """The first day of the month nearest ``month`` (a month index), None if undefined."""
    date = data.month_date(round(month)) if month == month else None
    return datetime(date[0], date[1], 1) if date is not None else None


def _summary_sheet(ws: Worksheet, data: RunData, tables: dict[str, FiscalTable]) -> None:
    m = data.manifest
    _notes(ws, "Centre of Excellence simulation: summary", [
        f"Scenarios: {', '.join(data.scenarios)}; {data.replicates:,} runs each; seed "
        f"{data.seed}; command {m.get('command', '')}; finished {m.get('finished_utc', '')} UTC.",
        f"One sheet per scenario follows, with fiscal-year tables. Money in {data.money_label} "
        f"({_basis(data)}). " + data.footer()])
    _header(ws, HEADER_ROW, ["Over the whole run (mean of runs)", "Where it comes from",
                             *data.scenarios])
    months = data.horizon_months
    end = f"at the end of year {months // 12}" if months % 12 == 0 else f"after {months} months"
    picks = [("Total income", "total", "Total income over the run"),
             ("Total costs", "total", "Total costs over the run"),
             ("Surplus (deficit)", "total", "Surplus (deficit) over the run"),
             ("Reserves at end of year (mean)", "last", f"Reserves {end} (mean)"),
             ("Reserves at end of year, median run", "last", f"Reserves {end}, median run"),
             ("Total staff (FTE)", "last", f"Staff in post {end} (FTE, mean)"),
             ("Member LAs at year end (mean)", "last", f"Member LAs {end} (mean)"),
             ("Share of runs still operating at year end", "last",
              f"Share of runs still operating {end}")]
    row = HEADER_ROW
    for label, how, words in picks:
        row += 1
        kind = tables[data.scenarios[0]].line(label).kind
        _put(ws, row, 1, words)
        source = (f"'All years' of '{label}' on each scenario's sheet" if how == "total"
                  else f"last year of '{label}' on each scenario's sheet")
        _put(ws, row, 2, source).font = Font(color="666666", size=9)
        for j, s in enumerate(data.scenarios):
            line = tables[s].line(label)
            _number(ws.cell(row=row, column=3 + j),
                    line.total if how == "total" else line.values[-1], kind)
    row += 2
    kpi_header = row
    _header(ws, kpi_header, ["Key measure", "Technical name", "Scenario", "Typical value",
                             "Low (10th percentile)", "High (90th percentile)",
                             "Defined in (share of runs)", "Typical value is"])
    for kpi in data.kpi_names:
        text = kpi_text(kpi, data.end_label())
        for s in data.scenarios:
            row += 1
            stats = data.summary[s][kpi]
            defined = stats.get("defined_share", math.nan)
            _put(ws, row, 1, text.words)
            _put(ws, row, 2, kpi).font = Font(color="666666", size=9)
            _put(ws, row, 3, s)
            if text.kind == "chance":
                n = round(data.replicates * (defined if defined == defined else 1.0))
                lo, hi = wilson_interval(stats["mean"], n)
                values, what = [stats["mean"], lo, hi], "share of runs (low/high: 90% interval)"
            else:
                values, what = [stats["p50"], stats["p10"], stats["p90"]], "median run"
            for col, value in zip((4, 5, 6), values, strict=True):
                if text.kind == "month":
                    date = _month_date(data, value)
                    if date is not None:
                        cell = _put(ws, row, col, date)
                        cell.number_format = NUMBER_FORMATS["month"]
                else:
                    _number(ws.cell(row=row, column=col), value, text.kind)
            _number(ws.cell(row=row, column=7), defined, "share")
            _put(ws, row, 8, what).font = Font(color="666666", size=9)
    _widths(ws, [58, 30, *[max(16, len(s) + 2) for s in data.scenarios], 16, 16, 24, 34])
    for col in range(4, 8):
        ws.cell(row=kpi_header, column=col).alignment = Alignment(horizontal="right",
                                                                  wrap_text=True)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2)


def write_workbook(path: Path, data: RunData) -> Path:
    """Write ``workbook.xlsx`` atomically: ``Summary`` then one sheet per scenario."""
    tables = {s: fiscal_table(data, s) for s in data.scenarios}
    book = Workbook()
    summary = book.active
    taken: set[str] = set()
    summary.title = sheet_name("Summary", taken)
    _summary_sheet(summary, data, tables)
    for s in data.scenarios:
        _scenario_sheet(book.create_sheet(sheet_name(s, taken)), data, tables[s])
    book.properties.title = literal_text("Centre of Excellence simulation: "
                                         + ", ".join(data.scenarios))
    book.properties.creator = "coe-sim"
    return atomic_write(Path(path), lambda tmp: book.save(tmp))
