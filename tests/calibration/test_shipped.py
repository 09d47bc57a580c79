"""The shipped fits, the recommended overlay and the data notes agree with each other."""

from __future__ import annotations

import json
import tomllib

import pytest
from calibration_helpers import CALIBRATION, ROOT, SHIPPED_SPECS

from sim.experiments.calibration import load_spec
from sim.experiments.uncertainty import load_parameter_distribution
from sim.scenario import load_scenario

RECOMMENDED = {"uptake.q_per_year": "uptake_fdac",
               "workforce.resignation_rate_per_year": "workforce_turnover"}
"""Each value of calibration/calibrated.toml and the fit it comes from."""


def fit_of(name: str) -> dict:
    return json.loads((CALIBRATION / "fitted" / name / "fit.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_each_spec_has_a_shipped_fit_with_its_overlay(name: str) -> None:
    """calibration/fitted/<name>/ holds the full-budget fit of the spec, its overlay loads as a
    scenario, and its distribution (if any) can drive --parameter-uncertainty."""
    fit = fit_of(name)
    spec = load_spec(CALIBRATION / f"{name}.toml").spec
    assert fit["budget"] == "full" and fit["quality"]["passed"]
    assert [p["path"] for p in fit["parameters"]] == [p.path for p in spec.parameters]
    load_scenario(CALIBRATION / "fitted" / name / "calibrated.toml")
    if spec.parameters:
        dist = load_parameter_distribution(CALIBRATION / "fitted" / name)
        assert dist.paths == tuple(p.path for p in spec.parameters
                                   if not p.path.startswith("calibration.")
                                   or p.path == "calibration.market_share")


def test_recommended_overlay_matches_its_fits() -> None:
    """calibration/calibrated.toml sets exactly the recommended values, each its fit's
    marginal posterior median (the stable summary; the best particle rides the q–renewal ridge),
    and scenarios/base.toml, which every shipped CoE scenario extends, uses the same values."""
    data = tomllib.loads((CALIBRATION / "calibrated.toml").read_text(encoding="utf-8"))
    flat = {f"{section}.{key}": value for section, table in data.items()
            for key, value in table.items()}
    assert set(flat) == set(RECOMMENDED)
    base = tomllib.loads((ROOT / "scenarios" / "base.toml").read_text(encoding="utf-8"))
    for path, name in RECOMMENDED.items():
        median = next(p["median"] for p in fit_of(name)["parameters"] if p["path"] == path)
        assert flat[path] == pytest.approx(median, rel=1e-3), path
        section, key = path.split(".")
        assert base[section][key] == flat[path], path
    load_scenario(CALIBRATION / "calibrated.toml")


def test_every_data_file_has_a_source_note() -> None:
    """calibration/data/SOURCES.md names every shipped data file."""
    notes = (CALIBRATION / "data" / "SOURCES.md").read_text(encoding="utf-8")
    files = [p.relative_to(CALIBRATION / "data").as_posix()
             for p in (CALIBRATION / "data").rglob("*.csv")]
    assert files and all(f"`{f}`" in notes for f in files)


def test_docs_state_each_documented_fit_quality() -> None:
    """docs/calibration.md states the fit-quality threshold each spec is tested against."""
    docs = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    for name in SHIPPED_SPECS:
        quality = load_spec(CALIBRATION / f"{name}.toml").spec.quality
        if quality.min_r2 is not None:
            assert f"`{name}` | r² ≥ {quality.min_r2}" in docs, name
        if quality.max_rmse is not None:
            assert f"`{name}` | rmse ≤ {quality.max_rmse}" in docs, name


def test_recommended_distribution_pairs_the_shipped_draws() -> None:
    """calibration/fitted/recommended holds the FDAC q draws and the workforce hazard draws,
    row by row, for --parameter-uncertainty in CoE runs."""
    dist = load_parameter_distribution(CALIBRATION / "fitted" / "recommended")
    assert dist.paths == tuple(RECOMMENDED)
    for column, (path, name) in enumerate(RECOMMENDED.items()):
        source = fit_of(name)["distribution"]
        index = source["parameters"].index(path)
        expected = [row[index] for row in source["samples"]][: len(dist.samples)]
        assert dist.samples[:, column].tolist() == expected


def test_market_ceiling_distribution_is_the_network_fits_plateau() -> None:
    """calibration/fitted/market_ceiling holds the Contextual Safeguarding fit's m draws alone,
    row by row, so that it combines with recommended (which draws q) in one run."""
    dist = load_parameter_distribution(CALIBRATION / "fitted" / "market_ceiling")
    assert dist.paths == ("calibration.market_share",)
    assert dist.model_paths == ("market.wtp_median_gbp_per_year",)
    source = fit_of("uptake_contextual_safeguarding")["distribution"]
    index = source["parameters"].index("calibration.market_share")
    assert dist.samples[:, 0].tolist() == [row[index] for row in source["samples"]]
    recommended = load_parameter_distribution(CALIBRATION / "fitted" / "recommended")
    assert not set(dist.model_paths) & set(recommended.model_paths)
