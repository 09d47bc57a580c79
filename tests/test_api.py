"""The public Python API (sim/api.py): what a notebook calls gives what the command line gives,
and the worked example in docs/examples/ runs from top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from nbclient import NotebookClient

import sim
from sim.cli import main
from sim.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
NOTEBOOK = ROOT / "docs" / "examples" / "hosting_models.ipynb"
SHORT = {"time.horizon_months": 36}


@pytest.fixture(scope="module")
def short_pair() -> sim.Results:
    """Two shipped scenarios over three years, 60 replicates, shared by the checks that read."""
    return sim.compare([sim.load_scenario(SCENARIOS / "la_hosted.toml", SHORT),
                        sim.load_scenario(SCENARIOS / "independent_company.toml", SHORT)],
                       replicates=60, seed=3)


def test_overrides_as_a_mapping_equal_set_strings() -> None:
    """{"key.path": value} gives the scenario that --set key.path=value gives."""
    by_mapping = sim.load_scenario(SCENARIOS / "la_hosted.toml",
                                   {"finance.grants[0].end_month": 48, "meta.name": "x y",
                                    "portfolio.policy": "big_bang"})
    by_strings = sim.load_scenario(SCENARIOS / "la_hosted.toml",
                                   ["finance.grants[0].end_month=48", 'meta.name="x y"',
                                    "portfolio.policy=big_bang"])
    assert by_mapping == by_strings
    assert by_mapping.finance.grants[0].end_month == 48


def test_bad_input_is_a_scenario_error_naming_the_key() -> None:
    with pytest.raises(ScenarioError, match="uptake.q_per_year"):
        sim.load_scenario(SCENARIOS / "la_hosted.toml", {"uptake.q_per_year": -1})
    scenario = sim.load_scenario(SCENARIOS / "la_hosted.toml", SHORT)
    with pytest.raises(ScenarioError, match="meta.name must differ"):
        sim.compare([scenario, scenario], replicates=5)


def test_tables_are_tidy_and_agree_with_the_arrays(short_pair: sim.Results) -> None:
    """kpis, runs, timeseries and metric() are views of the same ensembles."""
    results = short_pair
    assert results.scenarios == ["la_hosted", "independent_company"]
    arrays = results["independent_company"]
    runs = results.runs[results.runs["scenario"] == "independent_company"]
    np.testing.assert_array_equal(runs["members_y10"], arrays.kpis["members_y10"])
    row = results.kpis.query("scenario == 'independent_company' and kpi == 'min_reserves_gbp'")
    assert float(row["mean"].iloc[0]) == pytest.approx(arrays.kpis["min_reserves_gbp"].mean())
    reserves = results.metric("reserves_gbp", "la_hosted")
    assert reserves.shape == (60, 2 + 36)
    np.testing.assert_array_equal(reserves.iloc[:, 2:].to_numpy(),
                                  results["la_hosted"].metrics["reserves_gbp"])
    month_10 = results.timeseries.query("scenario == 'la_hosted' and metric == 'reserves_gbp' "
                                        "and month == 10")
    assert float(month_10["p50"].iloc[0]) == pytest.approx(
        np.median(results["la_hosted"].metrics["reserves_gbp"][:, 10]))
    assert set(results.events["kind"]) >= {"grant_start", "fiscal_year_start"}
    with pytest.raises(KeyError, match="no metric"):
        results.metric("no_such_metric")


def test_plots_are_figures(short_pair: sim.Results) -> None:
    for plot in (short_pair.plot_funding_cliff, short_pair.plot_trajectories,
                 short_pair.plot_survival, short_pair.plot_growth_path,
                 short_pair.plot_paired_differences):
        assert isinstance(plot(), Figure)
    alone = sim.run(sim.load_scenario(SCENARIOS / "la_hosted.toml", SHORT), replicates=5)
    with pytest.raises(ValueError, match="two or more scenarios"):
        alone.plot_paired_differences()


def test_the_api_gives_the_command_lines_numbers(tmp_path: Path,
                                                 short_pair: sim.Results) -> None:
    """compare on the command line with the same files, overrides, replicates and seed writes
    the per-run KPIs the API holds, to the bit; save() writes the same folder contents."""
    args = ["compare", str(SCENARIOS / "la_hosted.toml"),
            str(SCENARIOS / "independent_company.toml"), "--set", "time.horizon_months=36",
            "-n", "60", "--seed", "3", "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "cli").iterdir()
    cli = pd.read_parquet(folder / "kpis.parquet")
    pd.testing.assert_frame_equal(cli, short_pair.runs.reset_index(drop=True))
    saved = short_pair.save(tmp_path / "api")
    assert sorted(p.name for p in saved.iterdir()) == sorted(p.name for p in folder.iterdir())
    pd.testing.assert_frame_equal(pd.read_parquet(saved / "kpis.parquet"), cli)


def test_the_worked_example_runs_and_matches_the_command_line(tmp_path: Path) -> None:
    """docs/examples/hosting_models.ipynb runs top to bottom; its per-run KPIs of the shipped
    scenarios equal what `compare` on the command line writes for them."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    runs_file = tmp_path / "runs.parquet"
    notebook.cells.append(nbformat.v4.new_code_cell(f"results.runs.to_parquet({str(runs_file)!r})"))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    from_notebook = pd.read_parquet(runs_file)
    args = ["compare", str(SCENARIOS / "la_hosted.toml"),
            str(SCENARIOS / "independent_company.toml"), "-n", "300", "--seed", "20260401",
            "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "cli").iterdir()
    cli = pd.read_parquet(folder / "kpis.parquet")
    for name in ("la_hosted", "independent_company"):
        pd.testing.assert_frame_equal(
            from_notebook[from_notebook["scenario"] == name].reset_index(drop=True),
            cli[cli["scenario"] == name].reset_index(drop=True))
