"""The tables the command line prints are built from result tables, in the KPI words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.outputs.console import (
    HEADLINE_KPIS,
    calibration_lines,
    headline_lines,
    sensitivity_top_lines,
    sweep_kpi_lines,
)


def _stats(mean: float, p50: float) -> dict[str, float]:
    return {"mean": mean, "p10": p50, "p50": p50, "p90": p50, "defined_share": 1.0}


def test_headline_shows_chances_as_percent_medians_as_numbers_and_dashes() -> None:
    """Survival is the share of runs (%), the other KPIs the median run; an undefined KPI is a
    dash; one column per scenario."""
    summary = {k: _stats(0.5, 1234.4) for k in HEADLINE_KPIS}
    other = {**summary, "survival_prob_y10": _stats(0.925, math.nan),
             "breakeven_month": _stats(math.nan, math.nan)}
    lines = headline_lines({"a": summary, "longer_name": other})
    assert lines[0].split() == ["a", "longer_name"]
    rows = dict(zip(HEADLINE_KPIS, lines[1:], strict=True))
    assert rows["survival_prob_y10"].split()[-2:] == ["50%", "92%"]
    assert rows["survival_prob_y10"].startswith("survival to year 10 ")
    assert rows["min_reserves_gbp"].startswith("lowest reserves (£), median")
    assert rows["min_reserves_gbp"].split()[-2:] == ["1,234", "1,234"]
    assert rows["breakeven_month"].split()[-1] == "—"
    assert len({len(line) for line in lines}) == 1, "the columns line up"


def test_sweep_kpi_table_matches_numpy() -> None:
    """Mean and percentiles over the defined runs, and the share of runs defined."""
    values = np.array([1.0, 2.0, 3.0, np.nan])
    line = sweep_kpi_lines(pd.DataFrame({"k": values}), ["k"])[1]
    ok = values[:3]
    expected = [f"{x:,.3g}" for x in (ok.mean(), *np.percentile(ok, [10, 50, 90]))]
    assert line.split() == ["k", *expected, "75%"]


def test_sensitivity_top_three_by_total_effect() -> None:
    """The three largest ST per KPI, largest first, with labels and intervals."""
    rows = [{"output": "y", "fiscal_year": "", "parameter": f"x{i}", "index": "ST",
             "estimate": e, "conf": 0.01} for i, e in enumerate([0.1, 0.5, 0.3, 0.2])]
    indices = pd.DataFrame(rows)
    lines = sensitivity_top_lines(indices, ["y"], {"x1": "one"}, "sobol", 0.95)
    assert lines[0] == "Most influential parameters (total-effect Sobol index ST, 95% interval):"
    assert lines[1].split(None, 1)[1] == "one 0.50 ± 0.01; x2 0.30 ± 0.01; x3 0.20 ± 0.01"


def test_calibration_lines_flag_weakly_bound_parameters() -> None:
    """Each parameter with its interval; one the data bind weakly is flagged."""
    fit = {"method": {"interval": 0.9},
           "parameters": [{"path": "uptake.q_per_year", "best": 0.33, "median": 0.34,
                           "lower": 0.2, "upper": 0.5, "identified": False,
                           "identification": "weak"}],
           "goodness_of_fit": {"rmse": 1.5, "r2": 0.91, "points": 8},
           "quality": {"passed": True}, "warnings": ["w"]}
    lines = calibration_lines(fit)
    assert lines[0].endswith("90% interval")
    assert lines[1].split() == ["uptake.q_per_year", "0.33", "0.34", "0.2", "–", "0.5", "(weak)"]
    assert lines[2] == "fit: rmse 1.5, r² 0.910 on 8 points; documented quality met"
    assert lines[3] == "warning: w"
