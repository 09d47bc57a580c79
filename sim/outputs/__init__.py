"""Tables, charts, board pack, workbook, the KPIs in words and the text the commands print, all
built from result tables (never from model internals). Files are written through
:mod:`sim.files`."""

from __future__ import annotations

from sim.outputs.boardpack import write_board_pack
from sim.outputs.charts import CHART_BUILDERS, SavedChart, draw_charts, write_charts
from sim.outputs.fiscal import FiscalTable, fiscal_table
from sim.outputs.html_report import write_html_report
from sim.outputs.paired import paired_differences
from sim.outputs.report import (
    REPORT_FILES,
    ArtefactError,
    manifest,
    report_folder,
    write_report,
    write_run,
)
from sim.outputs.rundata import REQUIRED_FILES, RunData, RunFolderError, load_run
from sim.outputs.scorecard import scorecard_rows
from sim.outputs.style import gbp
from sim.outputs.tables import (
    calendar_columns,
    events_table,
    fiscal_year_label,
    kpi_table,
    summary_dict,
    timeseries_table,
)
from sim.outputs.workbook import write_workbook

__all__ = [
    "ArtefactError",
    "CHART_BUILDERS",
    "FiscalTable",
    "REPORT_FILES",
    "REQUIRED_FILES",
    "RunData",
    "RunFolderError",
    "SavedChart",
    "calendar_columns",
    "draw_charts",
    "events_table",
    "fiscal_table",
    "fiscal_year_label",
    "gbp",
    "kpi_table",
    "load_run",
    "manifest",
    "paired_differences",
    "report_folder",
    "scorecard_rows",
    "summary_dict",
    "timeseries_table",
    "write_board_pack",
    "write_charts",
    "write_html_report",
    "write_report",
    "write_run",
    "write_workbook",
]
