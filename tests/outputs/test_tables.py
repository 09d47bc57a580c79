"""Result tables and chart findings against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from sim.experiments import run_ensemble
from sim.outputs.findings import cliff_box, survival_ranking
from sim.outputs.rundata import run_data_from_tables
from sim.outputs.style import gbp
from sim.outputs.tables import (
    calendar_columns,
    events_table,
    fiscal_year_label,
    kpi_table,
    summary_dict,
    timeseries_table,
)


@pytest.mark.parametrize("year, month, label", [(2026, 4, "2026/27"), (2027, 3, "2026/27"),
                                                 (2027, 4, "2027/28"), (1999, 12, "1999/00"),
                                                 (2030, 1, "2029/30")])
def test_fiscal_year_label(year: int, month: int, label: str) -> None:
    """UK fiscal years run April to March."""
    assert fiscal_year_label(year, month) == label


def test_calendar_columns_cross_year_ends() -> None:
    """Month indices map to calendar months across a December/January boundary."""
    cal = calendar_columns("2026-11", 4)
    assert cal["date"].tolist() == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_timeseries_quantiles_match_numpy(las, base_scenario) -> None:
    """Each row's mean and quantiles equal numpy's over the replicates of that month."""
    result = run_ensemble(base_scenario, las, 30, seed=2)
    ts = timeseries_table([result])
    row = ts[(ts["metric"] == "reserves_gbp") & (ts["month"] == 40)].iloc[0]
    values = result.metrics["reserves_gbp"][:, 40]
    assert row["mean"] == pytest.approx(values.mean())
    assert row["p10"] == pytest.approx(np.quantile(values, 0.1))
    assert row["p90"] == pytest.approx(np.quantile(values, 0.9))


def test_findings_quote_the_summary(las, base_scenario) -> None:
    """Chart annotations state numbers taken from the KPI summary, not fixed text."""
    result = run_ensemble(base_scenario, las, 40, seed=4)
    summary = summary_dict([result])
    data = run_data_from_tables(timeseries_table([result]), summary, kpi_table([result]),
                                events_table([result]), {"seed": 4, "replicates": 40})
    text = cliff_box(data, result.name)
    k = summary[result.name]
    assert f"{100 * k['survival_prob_y10']['mean']:.0f}%" in text
    assert gbp(k["cliff_drop_gbp_per_month"]["p50"]) in text
    assert survival_ranking(data).startswith(f"{data.title(result.name)} ")  # "Base": no meta


@pytest.mark.parametrize("value, text", [(950, "£950"), (12_345, "£12k"), (2_500_000, "£2.5m"),
                                         (-40_000, "−£40k")])
def test_gbp_format(value: float, text: str) -> None:
    """Pounds are shown as £, £k or £m."""
    assert gbp(value) == text
