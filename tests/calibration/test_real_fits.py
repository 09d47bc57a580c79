"""The shipped calibration specs run end to end on the reduced CI budget and meet the fit
quality documented in docs/calibration.md (each spec's [quality] table)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from calibration_helpers import ROOT, SHIPPED_SPECS
from click.testing import CliRunner

from sim.cli import main
from sim.scenario import load_scenario

MAX_PNG_BYTES = 200_000


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_shipped_spec_calibrates_on_the_small_budget(name: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`calibrate calibration/<spec>.toml --budget small` writes its folder, meets the
    documented fit quality, and its calibrated.toml loads as a scenario with the best fit."""
    monkeypatch.chdir(ROOT)  # specs are run from the project root, as in the README
    result = CliRunner().invoke(main, ["calibrate", f"calibration/{name}.toml", "--budget",
                                       "small", "--workers", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = next(tmp_path.iterdir())
    fit = json.loads((folder / "fit.json").read_text(encoding="utf-8"))
    checks = fit["quality"]["checks"]
    assert checks and fit["quality"]["passed"], checks
    assert 0 < (folder / "fit.png").stat().st_size < MAX_PNG_BYTES
    scenario = load_scenario(folder / "calibrated.toml").model_dump()
    for p in fit["parameters"]:
        assert p["bounds"][0] <= p["lower"] <= p["median"] <= p["upper"] <= p["bounds"][1], p
        if p["model_parameter"]:
            section, key = p["path"].split(".")
            assert scenario[section][key] == pytest.approx(p["best"], rel=1e-3)
    if fit["distribution"] is not None:
        assert len(fit["distribution"]["samples"]) >= 10
    assert os.path.basename(str(folder)).startswith(f"calibrate-{name}-")


@pytest.mark.slow
def test_calibrate_accepts_an_observed_series_without_a_spec_of_its_own(tmp_path: Path) -> None:
    """--observed/--date-column/--value-column fit a new series with a shipped spec's model,
    parameters and method; the folder is named after the spec and the file."""
    series = tmp_path / "my_service.csv"
    series.write_text("when,las\n2021-04,6\n2022-04,15\n2023-04,38\n2024-04,52\n2025-04,57\n",
                      encoding="utf-8")
    result = CliRunner().invoke(main, [
        "calibrate", str(ROOT / "calibration" / "uptake_contextual_safeguarding.toml"),
        "--observed", str(series), "--date-column", "when", "--value-column", "las",
        "--budget", "small", "--workers", "2", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "out").iterdir())
    assert folder.name.startswith("calibrate-uptake_contextual_safeguarding+my_service-")
    fit = json.loads((folder / "fit.json").read_text(encoding="utf-8"))
    assert fit["observed"]["points"] == 5 and fit["observed"]["first"] == "2021-04"
    assert fit["model"]["start"] == "2021-04"
    assert fit["goodness_of_fit"]["r2"] > 0.9
