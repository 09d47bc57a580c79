"""Discovery of sources, fiscal-year tables, paired differences and intervals on small
hand-made tables whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.outputs.fiscal import fiscal_table
from sim.outputs.paired import paired_differences
from sim.outputs.rundata import run_data_from_tables
from sim.outputs.scorecard import scorecard_rows, wilson_interval
from sim.outputs.tables import EVENT_COLUMNS, calendar_columns

MONTHS = 18
"""Months from November 2026: 5 months of 2026/27, all of 2027/28, April 2028."""


def _data(kpis: pd.DataFrame | None = None):
    """Two scenarios with made-up monthly means; every statistic equals the mean."""
    cal = calendar_columns("2026-11", MONTHS)
    t = np.arange(MONTHS, dtype=float)
    metrics = {
        "income_grant_gbp": 1000 + 0 * t, "income_commissions_gbp": 10 * t,
        "costs_staff_gbp": 700 + 0 * t, "costs_redundancy_gbp": np.where(t == 3, 50.0, 0.0),
        "staff_delivery_fte": 3 + 0 * t, "staff_engagement_fte": 1 + 0 * t,
        "las_member": 5 + t, "members": 7 + t, "operating": 1 + 0 * t,
        "live_services_culture_and_leadership": 0 * t, "live_services": 0 * t,
    }
    metrics["income_total_gbp"] = metrics["income_grant_gbp"] + metrics["income_commissions_gbp"]
    metrics["costs_total_gbp"] = metrics["costs_staff_gbp"] + metrics["costs_redundancy_gbp"]
    metrics["staff_fte"] = metrics["staff_delivery_fte"] + metrics["staff_engagement_fte"]
    metrics["reserves_gbp"] = 5000 + np.cumsum(metrics["income_total_gbp"]
                                               - metrics["costs_total_gbp"])
    frames = []
    for scenario in ("A", "B"):
        for name, values in metrics.items():
            frame = cal.copy()
            frame.insert(0, "scenario", scenario)
            frame["metric"] = name
            for col in ("mean", "p10", "p50", "p90"):
                frame[col] = values
            frames.append(frame)
    ts = pd.concat(frames, ignore_index=True)
    stats = {"mean": 1.0, "p10": 1.0, "p50": 1.0, "p90": 1.0, "defined_share": 1.0}
    summary = {s: {"survival_prob_y5": dict(stats), "members_y10": dict(stats)} for s in "AB"}
    if kpis is None:
        kpis = pd.DataFrame({"scenario": ["A", "B"], "replicate": [0, 0],
                             "survival_prob_y5": [1.0, 1.0], "members_y10": [1.0, 1.0]})
    events = pd.DataFrame(columns=list(EVENT_COLUMNS))
    declared = {"income_sources": ["grant", "commissions"], "cost_types": ["staff", "redundancy"],
                "roles": ["delivery", "engagement"], "strands": ["culture_and_leadership"]}
    return run_data_from_tables(ts, summary, kpis, events,
                                {"seed": 1, "replicates": 2, "dimensions": declared})


def test_sources_costs_roles_and_strands_are_the_declared_lists() -> None:
    """Income sources, cost types, roles and strands are the lists the manifest declares, in
    their order (metric names are never parsed for them)."""
    data = _data()
    assert data.income_sources() == ["grant", "commissions"]
    assert data.cost_types() == ["staff", "redundancy"]
    assert data.staff_roles() == ["delivery", "engagement"]
    assert data.strands() == ["culture_and_leadership"]
    assert data.members_metric() == "members"


def test_fiscal_table_sums_part_years_and_carries_reserves() -> None:
    """A run starting in November has a part first year; flows sum over its months, totals sum
    their lines, and reserves open at the pre-run balance and close at March."""
    table = fiscal_table(_data(), "A")
    assert table.years == ["2026/27", "2027/28", "2028/29"]
    assert table.line("Months of this year inside the run").values == [5, 12, 1]
    commissions = [10 * sum(range(0, 5)), 10 * sum(range(5, 17)), 10 * 17]
    assert table.line("Commissioned projects").values == pytest.approx(commissions)
    assert table.line("Total income").values == pytest.approx(
        [1000 * 5 + commissions[0], 1000 * 12 + commissions[1], 1000 + commissions[2]])
    assert table.line("Redundancy").values == pytest.approx([50, 0, 0])
    assert table.line("Total costs").total == pytest.approx(700 * 18 + 50)
    assert table.line("Reserves at start of year (mean)").values[0] == pytest.approx(5000)
    surplus = table.line("Surplus (deficit)").values
    ends = table.line("Reserves at end of year (mean)").values
    assert ends == pytest.approx(list(5000 + np.cumsum(surplus)))
    assert table.line("Total staff (FTE)").values == pytest.approx([4, 4, 4])
    assert table.line("Member LAs at year end (mean)").values == pytest.approx([11, 23, 24])


def test_paired_differences_pair_by_replicate_not_by_row() -> None:
    """Differences are taken replicate by replicate even when rows are in another order, and
    replicates undefined in either scenario are left out."""
    kpis = pd.DataFrame({
        "scenario": ["A"] * 4 + ["B"] * 4,
        "replicate": [0, 1, 2, 3, 3, 2, 1, 0],
        "members_y10": [10.0, 20.0, 30.0, 40.0, 41.0, 33.0, 18.0, math.nan],
        "survival_prob_y5": [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    })
    diffs = paired_differences(_data(kpis), kpis=("members_y10", "survival_prob_y5"))
    members = diffs[diffs["kpi"] == "members_y10"].iloc[0]
    expected = np.array([-2.0, 3.0, 1.0])  # replicates 1, 2, 3: B − A
    assert members["scenario"] == "B" and members["pairs"] == 3
    assert members["mean"] == pytest.approx(expected.mean())
    half = 1.959964 * expected.std(ddof=1) / math.sqrt(3)
    assert members["ci_high"] - members["mean"] == pytest.approx(half, rel=1e-6)
    assert members["share_higher"] == pytest.approx(2 / 3)
    survival = diffs[diffs["kpi"] == "survival_prob_y5"].iloc[0]
    assert survival["mean"] == pytest.approx(0.0)  # +1 in replicate 2, −1 in replicate 0
    assert survival["share_higher"] == survival["share_lower"] == pytest.approx(0.25)


def test_wilson_interval_matches_the_closed_form_at_zero() -> None:
    """For 0 successes in n, the Wilson upper bound is z² / (n + z²)."""
    lo, hi = wilson_interval(0.0, 10, z=1.959964)
    assert lo == 0.0 and hi == pytest.approx(1.959964 ** 2 / (10 + 1.959964 ** 2))
    lo, hi = wilson_interval(0.5, 100)
    assert lo == pytest.approx(1 - hi) and lo < 0.5 < hi


def test_scorecard_marks_no_best_when_every_scenario_ties() -> None:
    """Equal values on a row mark nothing: no scenario stands out."""
    rows = scorecard_rows(_data())
    assert [r.kpi for r in rows] == ["survival_prob_y5", "members_y10"]
    assert not any(c.best for r in rows for c in r.cells)
    assert rows[0].words == "Chance the Centre is still running after 5 years"


def test_every_chart_draws_from_tables_missing_most_kpis() -> None:
    """Charts still draw, with findings saying what is unknown, when the tables lack most KPIs,
    any grant end and the value metric (older or partial run folders)."""
    import matplotlib.pyplot as plt

    from sim.outputs.charts import draw_charts

    kpis = pd.DataFrame({"scenario": ["A", "A", "B", "B"], "replicate": [0, 1, 0, 1],
                         "survival_prob_y5": [1.0, 1.0, 1.0, 0.0],
                         "members_y10": [3.0, 4.0, 5.0, 6.0]})
    charts = draw_charts(_data(kpis))
    try:
        assert [c.name for c in charts] == ["funding_cliff", "trajectories", "survival",
                                            "growth_path", "paired_differences"]
        assert charts[0].title.startswith("Funding cliff — No funding cliff within the run")
        assert "not recorded" in charts[3].title
        assert "+2" in charts[4].title  # members: B − A = +2 in both replicates
    finally:
        for chart in charts:
            plt.close(chart.figure)
