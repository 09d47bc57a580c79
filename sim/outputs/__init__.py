"""Tables, charts and run folders, built from result tables (never from model internals)."""

from __future__ import annotations

from sim.outputs.charts import funding_cliff_chart, trajectories_chart
from sim.outputs.io import RunFolder, atomic_write, write_json, write_text
from sim.outputs.report import manifest, write_run
from sim.outputs.tables import (
    calendar_columns,
    events_table,
    fiscal_year_label,
    kpi_table,
    summary_dict,
    timeseries_table,
)

__all__ = [
    "RunFolder",
    "atomic_write",
    "calendar_columns",
    "events_table",
    "fiscal_year_label",
    "funding_cliff_chart",
    "kpi_table",
    "manifest",
    "summary_dict",
    "timeseries_table",
    "trajectories_chart",
    "write_json",
    "write_run",
    "write_text",
]
