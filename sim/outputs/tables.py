"""Result tables: the long per-month time series, the KPI summary, per-replicate KPIs, events.

These tables are the contract between the simulation and everything that reads its results
(charts, reports, users' own analysis); ``docs/outputs.md`` documents every column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.experiments import EnsembleResult

__all__ = ["EVENT_COLUMNS", "TIMESERIES_COLUMNS", "calendar_columns", "events_table",
           "fiscal_year_label", "fiscal_year_of_key", "kpi_table", "summary_dict",
           "timeseries_table"]

TIMESERIES_COLUMNS = ["scenario", "month", "date", "fiscal_year", "metric", "mean", "p10", "p50",
                      "p90", "prices"]


def fiscal_year_label(year: int, month: int) -> str:
    """UK fiscal year (April–March) of a calendar month, written like ``2027/28``."""
    first = year if month >= 4 else year - 1
    return f"{first}/{(first + 1) % 100:02d}"


def fiscal_year_of_key(key: str) -> str:
    """A sweep's fiscal-year key (``fy2028_29``, the suffix of its per-year result columns)
    written as :func:`fiscal_year_label` writes it (``2028/29``); other text is unchanged."""
    match = re.fullmatch(r"fy(\d{4})_(\d{2})", key)
    return f"{match.group(1)}/{match.group(2)}" if match else key


def calendar_columns(start: str, months: int) -> pd.DataFrame:
    """``month``, ``date`` (YYYY-MM) and ``fiscal_year`` for months 0..months−1 from ``start``."""
    year0, month0 = int(start[:4]), int(start[5:7])
    index = np.arange(months)
    absolute = (year0 * 12 + month0 - 1) + index
    years, cal_months = absolute // 12, absolute % 12 + 1
    return pd.DataFrame({
        "month": index,
        "date": [f"{y:04d}-{m:02d}" for y, m in zip(years, cal_months, strict=True)],
        "fiscal_year": [fiscal_year_label(int(y), int(m))
                        for y, m in zip(years, cal_months, strict=True)],
    })


def timeseries_table(results: Sequence[EnsembleResult], prices: str = "nominal") -> pd.DataFrame:
    """Long table: one row per scenario, month and metric with mean, p10, p50, p90, and
    ``prices``: the basis of a money metric (``nominal`` or ``2026/27 prices``), empty for
    the others (:mod:`sim.outputs.prices`)."""
    from sim.outputs.prices import is_money

    frames = []
    for result in results:
        cal = calendar_columns(result.scenario.time.start, result.scenario.time.horizon_months)
        for metric, stats in result.metric_summary().items():
            frame = cal.copy()
            frame.insert(0, "scenario", result.name)
            frame["metric"] = metric
            for col in ("mean", "p10", "p50", "p90"):
                frame[col] = stats[col]
            frame["prices"] = prices if is_money(metric) else ""
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)[TIMESERIES_COLUMNS]


def summary_dict(results: Sequence[EnsembleResult]) -> dict[str, Any]:
    """``{scenario: {kpi: {mean, p10, p50, p90, defined_share}}}`` for summary.json."""
    return {result.name: result.kpi_summary() for result in results}


def kpi_table(results: Sequence[EnsembleResult]) -> pd.DataFrame:
    """One row per scenario and replicate, one column per KPI (for paired comparisons)."""
    frames = []
    for result in results:
        frame = pd.DataFrame(result.kpis)
        frame.insert(0, "replicate", np.arange(result.replicates))
        frame.insert(0, "scenario", result.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


EVENT_COLUMNS = ("scenario", "month", "date", "fiscal_year", "kind", "subject", "detail",
                 "event")
"""Columns of the events table: ``kind``, ``subject`` and ``detail`` are what code reads;
``event`` says the same in words for people."""


def events_table(results: Sequence[EnsembleResult]) -> pd.DataFrame:
    """Calendar events that fired, one row each (:data:`EVENT_COLUMNS`), without the routine
    monthly launch decisions."""
    rows = []
    for result in results:
        cal = calendar_columns(result.scenario.time.start, result.scenario.time.horizon_months)
        for event in result.events:
            if event.kind == "launch_decisions":
                continue
            rows.append({"scenario": result.name, "month": event.month,
                         "date": cal.at[event.month, "date"],
                         "fiscal_year": cal.at[event.month, "fiscal_year"],
                         "kind": str(event.kind), "subject": event.subject,
                         "detail": event.detail, "event": event.description})
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
