"""Skill against naive baselines, honest initial conditions, `--observed` options and the
predictive check (issue #16), on series with a known truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from calibration_helpers import CALIBRATION, write_count_spec
from click.testing import CliRunner

from sim.cli import main
from sim.experiments.calibration import calibrate, load_spec
from sim.experiments.calibration.report import _predictive_check
from sim.experiments.calibration.skill import holdout_split, skill_report

POPULATION = 153


def bass_counts(years: np.ndarray, p: float, q: float, m: float) -> np.ndarray:
    e = np.exp(-(p + q) * years)
    return m * POPULATION * (1 - e) / (1 + (q / p) * e)


def test_a_straight_line_cannot_be_beaten_by_a_curve_that_misses_it() -> None:
    """Data on an exact line: the line baseline has zero error, so a model off the line does
    not beat both baselines, in sample or out."""
    x = np.arange(6.0)
    y = 3 + 2 * x
    report = skill_report(x, y, y + 1.0, lambda keep: y[keep:] + 1.0)
    assert report["in_sample"]["line_rmse"] == pytest.approx(0, abs=1e-9)
    out = report["out_of_sample"]
    assert out["computed"] and out["held_out"] == 2 and not out["beats_both"]
    assert out["line_rmse"] == pytest.approx(0, abs=1e-9)
    assert out["persistence_rmse"] == pytest.approx(np.sqrt((2**2 + 4**2) / 2))


def test_the_true_curve_beats_both_baselines_on_an_s_curve() -> None:
    """An S-curve predicted by its own closed form beats a line and persistence."""
    x = np.arange(12.0)
    y = bass_counts(x, 0.02, 0.9, 0.5)
    report = skill_report(x, y, y, lambda keep: y[keep:])
    assert report["out_of_sample"]["beats_both"]
    assert report["out_of_sample"]["model_rmse"] == 0


def test_too_short_a_series_is_not_split() -> None:
    assert holdout_split(2) == 0 and holdout_split(3) == 1 and holdout_split(9) == 3
    report = skill_report(np.arange(2.0), np.array([1.0, 2.0]), np.array([1.0, 2.0]), None)
    assert not report["out_of_sample"]["computed"]


def test_predictive_check_flags_too_many_points_outside() -> None:
    y = np.array([1.0, 5.0, 9.0, 2.0])
    inside = _predictive_check(y, y - 1, y + 1, 0.9)
    assert inside["outside"] == 0 and not inside["flag"]
    outside = _predictive_check(y, y + 1, y + 2, 0.9)
    assert outside["outside"] == 4 and outside["flag"]
    assert outside["binomial_tail"] == pytest.approx(0.1**4)


def _write(folder: Path, months: list[int], counts: np.ndarray, model_extra: str = "",
           parameters: str | None = None) -> Path:
    parameters = parameters or (
        '[[parameters]]\npath = "uptake.p_per_year"\nlower = 0.001\nupper = 0.5\nscale = "log"\n'
        '\n[[parameters]]\npath = "uptake.q_per_year"\nlower = 0.0\nupper = 2.0\n\n'
        '[[parameters]]\npath = "calibration.market_share"\nlower = 0.1\nupper = 1.0\n')
    method = ('kind = "bass"\nseed = 2\n\n[method.small]\nreplicates = 8\nevaluations = 20\n'
              'rounds = 3\npolish = 10\nposterior_samples = 400\n')
    return write_count_spec(folder, months, counts, model_extra=model_extra,
                            parameters=parameters, method=method)


@pytest.mark.slow
def test_bass_fit_finds_the_truth_and_reports_skill(tmp_path: Path) -> None:
    """Twelve annual points from the closed-form Bass curve (p 0.02, q 0.8, m 0.7) with Poisson
    noise, fitted through `calibrate` with the closed form: the intervals contain the truth, the
    fit beats both naive baselines out of sample, and the predictive check is not flagged."""
    rng = np.random.default_rng(11)
    truth = {"uptake.p_per_year": 0.02, "uptake.q_per_year": 0.8,
             "calibration.market_share": 0.7}
    months = [2015 * 12 + 12 * i for i in range(12)]
    years = (np.arange(12) * 12 + 1) / 12
    counts = rng.poisson(bass_counts(years, 0.02, 0.8, 0.7))
    fit = calibrate(load_spec(_write(tmp_path, months, counts)), "small", workers=1).fit
    for p in fit["parameters"]:
        assert p["lower"] <= truth[p["path"]] <= p["upper"], p
    assert fit["skill"]["out_of_sample"]["beats_both"], fit["skill"]
    assert not fit["predictive_check"]["flag"], fit["predictive_check"]
    assert fit["goodness_of_fit"]["points"] == 12
    assert fit["method"]["model_check"]["max_abs_gap"] < 4  # the model agrees with the curve


@pytest.mark.slow
def test_seeded_point_is_not_scored_and_estimated_seeding_is_a_parameter(tmp_path: Path) -> None:
    """first_observation: the first point is the seed, outside the fit measures; estimated:
    calibration.initial_share is fitted and contains the true initial adopters."""
    rng = np.random.default_rng(4)
    months = [2015 * 12 + 12 * i for i in range(8)]
    f0, q, m = 0.1, 0.9, 0.5  # a logistic from 10% of the market: 7.65 LAs at the start
    t = (np.arange(8) * 12 + 1) / 12
    counts = rng.poisson(m * POPULATION / (1 + (1 - f0) / f0 * np.exp(-q * t)))
    seeded = calibrate(load_spec(_write(tmp_path, months, counts,
                                        'initial_adopters = "first_observation"\n')),
                       "small", workers=1).fit
    assert seeded["goodness_of_fit"]["points"] == 7
    assert seeded["observed"]["seed"]["date"] == "2015-01"
    estimated = calibrate(load_spec(_write(tmp_path, months, counts,
                                           'initial_adopters = "estimated"\n')),
                          "small", workers=1).fit
    found = {p["path"]: p for p in estimated["parameters"]}
    assert estimated["goodness_of_fit"]["points"] == 8
    share = found["calibration.initial_share"]
    assert share["lower"] <= f0 * m <= share["upper"], share


@pytest.mark.slow
def test_observed_takes_population_seeding_and_names_the_file(tmp_path: Path) -> None:
    """--observed with --population and --initial-adopters: the fit uses them, and fit.json,
    the chart's title and description name the file fitted, not the spec's data."""
    series = tmp_path / "new_service.csv"
    series.write_text("when,las\n2019-04,0\n2020-04,3\n2021-04,9\n2022-04,21\n2023-04,33\n"
                      "2024-04,38\n", encoding="utf-8")
    result = CliRunner().invoke(main, [
        "calibrate", str(CALIBRATION / "uptake_contextual_safeguarding.toml"),
        "--observed", str(series), "--date-column", "when", "--value-column", "las",
        "--population", "120", "--initial-adopters", "none", "--budget", "small",
        "--workers", "1", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "out").iterdir())
    fit = json.loads((folder / "fit.json").read_text(encoding="utf-8"))
    assert fit["name"] == "new_service" and "new_service.csv" in fit["description"]
    assert "FDAC" not in fit["description"] and "Contextual" not in fit["description"]
    assert fit["model"]["initial_adopters"] == "none"
    assert {v["population"] for v in fit["observed"]["values"]} == {120.0}
    assert fit["goodness_of_fit"]["points"] == 6
    assert "calibration.initial_share" not in [p["path"] for p in fit["parameters"]]


def test_observed_three_points_is_a_clear_error(tmp_path: Path) -> None:
    """Three points for a spec fitting three parameters: one line saying how many points there
    are and how many are needed, exit code 2, never a confident interval."""
    series = tmp_path / "three.csv"
    series.write_text("date,n\n2020,4\n2021,10\n2022,19\n", encoding="utf-8")
    result = CliRunner().invoke(main, [
        "calibrate", str(CALIBRATION / "uptake_contextual_safeguarding.toml"), "--observed",
        str(series), "--date-column", "date", "--value-column", "n", "--out",
        str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "has 3 usable points" in result.output and "needs at least 4" in result.output
    again = CliRunner().invoke(main, [
        "calibrate", str(CALIBRATION / "uptake_fdac.toml"), "--population", "100"])
    assert again.exit_code == 2 and "need --observed" in again.output


def test_observed_options_reach_the_spec(tmp_path: Path) -> None:
    """with_observed sets the population, seeding and likelihood options on the spec it
    returns; estimated seeding adds calibration.initial_share, any other drops it."""
    from sim.experiments.calibration import with_observed

    loaded = load_spec(CALIBRATION / "uptake_contextual_safeguarding.toml")
    assert "calibration.initial_share" in [p.path for p in loaded.spec.parameters]
    new = with_observed(loaded, tmp_path / "x.csv", "d", "v", population=90,
                        initial_adopters="first_observation", loss="binomial",
                        model_variance=True).spec
    assert new.observed.population == 90 and new.loss.kind == "binomial"
    assert new.loss.model_variance and new.model is not None
    assert new.model.initial_adopters == "first_observation"
    assert "calibration.initial_share" not in [p.path for p in new.parameters]
    again = with_observed(load_spec(CALIBRATION / "uptake_fdac.toml"), tmp_path / "y.csv", "d",
                          "v", initial_adopters="estimated").spec
    assert [p.path for p in again.parameters][-1] == "calibration.initial_share"
    assert again.meta.name == "y" and "uptake_fdac" in again.meta.description


def test_the_template_spec_finds_the_truth_of_its_synthetic_data() -> None:
    """calibration/uptake_bass.toml ships a fit of SYNTHETIC data drawn with p 0.02, q 0.8 and
    market 0.5 (calibration/data/SOURCES.md): its 90% intervals contain all three, and the fit
    beats both naive baselines out of sample."""
    fit = json.loads((CALIBRATION / "fitted" / "uptake_bass" / "fit.json").read_text(
        encoding="utf-8"))
    truth = {"uptake.p_per_year": 0.02, "uptake.q_per_year": 0.8,
             "calibration.market_share": 0.5}
    for p in fit["parameters"]:
        assert p["lower"] <= truth[p["path"]] <= p["upper"], p
    assert fit["skill"]["out_of_sample"]["beats_both"]
