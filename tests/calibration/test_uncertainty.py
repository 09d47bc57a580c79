"""Parameter uncertainty in ensembles: one calibrated draw per group of replicates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.experiments.uncertainty import (
    PARAMETER_GROUP_SIZE,
    draw_parameter_sets,
    group_seed,
    load_parameter_distribution,
    run_with_parameter_uncertainty,
)
from sim.scenario import Scenario, ScenarioError, scenario_from_dict

Q_VALUES = (0.1, 0.9, 2.0)


def fit_file(folder: Path, name: str = "fit.json", paths: tuple[str, ...] = (
        "uptake.q_per_year", "calibration.market_share"),
        samples: list[list[float]] | None = None) -> Path:
    """A minimal fit.json holding a calibrated distribution."""
    samples = samples if samples is not None else [[q, 0.5] for q in Q_VALUES]
    path = folder / name
    path.write_text(json.dumps({"name": "test", "distribution": {
        "kind": "test samples", "parameters": list(paths), "samples": samples}}), encoding="utf-8")
    return path


def short(**uptake: float) -> Scenario:
    return scenario_from_dict({"time": {"horizon_months": 24}, "uptake": dict(uptake)}, "<test>")


def test_distribution_drops_calibration_layer_parameters(tmp_path: Path) -> None:
    """Only model parameters are drawn; calibration.* columns are ignored, except the market
    ceiling, which is drawn as the median willingness to pay."""
    dist = load_parameter_distribution(fit_file(tmp_path, paths=(
        "uptake.q_per_year", "calibration.initial_share")))
    assert dist.paths == ("uptake.q_per_year",)
    assert dist.samples[:, 0].tolist() == list(Q_VALUES)
    assert load_parameter_distribution(tmp_path).paths == dist.paths  # a folder works too
    market = load_parameter_distribution(fit_file(tmp_path, "m.json"))
    assert market.paths == ("uptake.q_per_year", "calibration.market_share")
    assert market.model_paths == ("uptake.q_per_year", "market.wtp_median_gbp_per_year")


def test_bad_distribution_files_are_clear_errors(tmp_path: Path) -> None:
    """Missing file, a fit without a distribution, and only calibration-layer columns."""
    with pytest.raises(ScenarioError, match="file not found"):
        load_parameter_distribution(tmp_path / "nope.json")
    (tmp_path / "trend.json").write_text(json.dumps({"name": "t", "distribution": None}))
    with pytest.raises(ScenarioError, match="holds no calibrated parameter distribution"):
        load_parameter_distribution(tmp_path / "trend.json")
    only = fit_file(tmp_path, "only.json", ("calibration.initial_share",), [[0.5], [0.6]])
    with pytest.raises(ScenarioError, match="names no model parameter"):
        load_parameter_distribution(only)
    above = fit_file(tmp_path, "above.json", ("calibration.market_share",), [[0.5], [1.2]])
    with pytest.raises(ScenarioError, match="must be a share between 0 and 1"):
        load_parameter_distribution(above)


def test_draws_depend_only_on_seed_and_group(tmp_path: Path) -> None:
    """The same seed gives the same sets; a different seed different ones; files must not
    overlap."""
    dist = load_parameter_distribution(fit_file(tmp_path))
    first = draw_parameter_sets([dist], 7, 40)
    assert first == draw_parameter_sets([dist], 7, 40)
    assert first[:5] == draw_parameter_sets([dist], 7, 5)
    assert first != draw_parameter_sets([dist], 8, 40)
    assert {s["uptake.q_per_year"] for s in first} == set(Q_VALUES)
    with pytest.raises(ScenarioError, match="is also drawn from"):
        draw_parameter_sets([dist, dist], 7, 1)


def test_groups_run_with_their_draw_and_seed(tmp_path: Path, las: LAPopulation) -> None:
    """Each group of 25 replicates is exactly run_ensemble of the drawn scenario with the
    group's seed; results are deterministic and in replicate order."""
    dist = load_parameter_distribution(fit_file(tmp_path))
    scenario = short(initial_aware_share=0.2)
    result, rows = run_with_parameter_uncertainty(scenario, las, 60, 11, [dist])
    assert result.replicates == 60 and result.metrics["members"].shape == (60, 24)
    assert [r["replicates"] for r in rows] == [PARAMETER_GROUP_SIZE, PARAMETER_GROUP_SIZE, 10]
    assert result.scenario == scenario and result.seed == 11
    row = rows[1]
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["uptake"]["q_per_year"] = row["uptake.q_per_year"]
    data["market"]["wtp_median_gbp_per_year"] = row["market.wtp_median_gbp_per_year"]
    drawn = scenario_from_dict(data, "<drawn>")
    alone = run_ensemble(drawn, las, 25, group_seed(11, 1))
    np.testing.assert_array_equal(result.metrics["members"][25:50], alone.metrics["members"])
    again, _ = run_with_parameter_uncertainty(scenario, las, 60, 11, [dist])
    np.testing.assert_array_equal(again.metrics["members"], result.metrics["members"])


def test_compared_scenarios_share_parameter_draws(tmp_path: Path, las: LAPopulation) -> None:
    """Two scenarios run with one seed get the same draw in every group."""
    dist = load_parameter_distribution(fit_file(tmp_path))
    _, rows_a = run_with_parameter_uncertainty(short(), las, 50, 3, [dist])
    _, rows_b = run_with_parameter_uncertainty(short(p_per_year=0.1), las, 50, 3, [dist])
    assert rows_a == rows_b


def test_cli_run_writes_parameter_draws(tmp_path: Path) -> None:
    """run --parameter-uncertainty writes parameter_draws.csv and records the files."""
    scenario = tmp_path / "short.toml"
    scenario.write_text('[meta]\nname = "short"\n[time]\nhorizon_months = 24\n', encoding="utf-8")
    fit = fit_file(tmp_path)
    result = CliRunner().invoke(main, ["run", str(scenario), "-n", "30", "--out",
                                       str(tmp_path / "out"), "--parameter-uncertainty", str(fit)])
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "out").iterdir())
    draws = pd.read_csv(folder / "parameter_draws.csv")
    assert draws["replicates"].tolist() == [25, 5]
    assert set(draws["uptake.q_per_year"]) <= set(Q_VALUES)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "parameter_uncertainty" in json.dumps(manifest)
    bad = CliRunner().invoke(main, ["run", str(scenario), "-n", "5", "--parameter-uncertainty",
                                    str(tmp_path / "missing.json")])
    assert bad.exit_code == 2 and "missing.json: file not found" in bad.output
