"""Sensitivity: known indices come back out of the same code path the model uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import SMALL, write_sweep

from sim.data import LAPopulation
from sim.experiments.sensitivity import oat_points, run_sensitivity
from sim.experiments.sweepfile import load_sweep
from sim.experiments.testfunctions import (
    TEST_FUNCTIONS,
    ishigami_indices,
    linear_indices,
    sobol_g_indices,
)
from sim.outputs.sensitivity_charts import write_sensitivity_charts

SWEEPS = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps"


def _indices(frame, index: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    rows = frame[(frame["index"] == index) & (frame["fiscal_year"] == "")]
    return dict(zip(rows["parameter"], rows["estimate"], strict=True))


def test_sobol_recovers_the_ishigami_indices(tmp_path: Path) -> None:
    """Ishigami through sweep file, design, chunks, Parquet and SALib: S1 ranks x2 > x1 > x3,
    ST ranks x1 > x2 > x3, each within 0.06 of the exact value."""
    result = run_sensitivity(load_sweep(SWEEPS / "ishigami.toml"), "sobol", tmp_path,
                             chunk_size=1000)
    exact = ishigami_indices()
    s1, st = _indices(result.indices, "S1"), _indices(result.indices, "ST")
    assert sorted(s1, key=s1.get, reverse=True) == ["x2", "x1", "x3"]
    assert sorted(st, key=st.get, reverse=True) == ["x1", "x2", "x3"]
    for name in ("x1", "x2", "x3"):
        assert s1[name] == pytest.approx(exact["S1"][name], abs=0.06)
        assert st[name] == pytest.approx(exact["ST"][name], abs=0.06)
    s2 = result.indices[result.indices["index"] == "S2"].set_index(["parameter", "parameter_2"])
    assert s2.loc[("x1", "x3"), "estimate"] == pytest.approx(exact["ST"]["x3"], abs=0.08)
    assert (result.indices["conf"][result.indices["index"] != "S2"] > 0).all()
    assert result.run.points == 1024 * 8 + 7 and result.run.chunks == 9


def test_sobol_g_indices_are_exact_in_closed_form() -> None:
    """The G function's closed-form indices: S1 ≤ ST, falling with the input number."""
    exact = sobol_g_indices(["x1", "x2", "x3"])
    assert exact["S1"]["x1"] > exact["S1"]["x2"] > exact["S1"]["x3"]
    assert all(exact["S1"][k] <= exact["ST"][k] for k in exact["S1"])
    assert linear_indices({"x1": 1.0, "x2": 1.0})["S1"]["x2"] == pytest.approx(0.8)
    g = TEST_FUNCTIONS["sobol_g"].evaluate({"x1": [0.25], "x2": [0.25]})["y"]
    assert g.tolist() == [1.0]


def test_morris_ranks_a_linear_function(tmp_path: Path) -> None:
    """Morris mu* of Σ i·x_i on the unit cube is i: the ranking x4 > x3 > x2 > x1 comes back."""
    text = """
name = "linear"
test_function = "linear"
design = "random"
samples = 10
replicates = 1
seed = 5
""" + "".join(f'\n[[parameters]]\npath = "x{i}"\nlow = 0\nhigh = 1\n' for i in range(1, 5))
    result = run_sensitivity(load_sweep(write_sweep(tmp_path, text)), "morris", tmp_path,
                             samples=12)
    mu = _indices(result.indices, "mu_star")
    assert mu == pytest.approx({"x1": 1.0, "x2": 2.0, "x3": 3.0, "x4": 4.0})
    tornado = result.tornado.set_index("parameter")
    assert tornado.loc["x4", "swing"] == pytest.approx(4.0)
    assert tornado.loc["x1", "low_value"] == "0" and tornado.loc["x1", "high_value"] == "1"


def test_model_sensitivity_writes_indices_per_fiscal_year_tornado_and_charts(
        tmp_path: Path, las: LAPopulation) -> None:
    """On the model (short horizon, Morris): KPI and per-fiscal-year indices, a tornado with a
    base, low and high run per parameter; the analysis writes tables only, and the charts are
    drawn from those tables as PNG and SVG."""
    sweep = load_sweep(write_sweep(tmp_path, SMALL.replace(
        'kpis = ["survival_prob_y5", ', 'kpis = [')))
    oat = oat_points(sweep)
    assert oat["finance.grants[0].end_month"] == [36, 12, 30, 36, 36, 36, 36]
    assert oat["portfolio.policy"] == ["gall"] * 5 + ["gall", "big_bang"]
    result = run_sensitivity(sweep, "morris", tmp_path, samples=3, las=las)
    years = set(result.indices["fiscal_year"]) - {""}
    assert years == {"fy2026_27", "fy2027_28", "fy2028_29"}
    assert set(result.indices["output"]) >= {"min_reserves_gbp", "reserves_gbp"}
    assert len(result.tornado) == 3 * len(sweep.kpis)
    tables = {p.name for p in result.files}
    assert tables == {"indices.csv", "indices.parquet", "tornado.csv", "tornado.parquet"}
    assert not list(result.run.folder.glob("*.png")), "experiments compute; they never draw"
    charts = write_sensitivity_charts(result.indices, result.tornado, result.chart_meta,
                                      result.run.folder)
    names = {p.name for p in charts}
    for stem in ("sensitivity_indices", "sensitivity_over_time", "tornado_min_reserves_gbp"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert result.chart_meta["tornado_kpi"] == "min_reserves_gbp"
    assert result.chart_meta["labels"]["finance.grants[0].end_month"] == "grant end month"
