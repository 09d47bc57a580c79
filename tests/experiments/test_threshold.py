"""The threshold search (sim/experiments/threshold.py) against closed forms, and on the model
against the definition of a threshold: the target holds at the answer and not one step before,
on the same seed."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.experiments.threshold import (
    Target,
    ThresholdError,
    find_threshold,
    parse_target,
    statistic,
)

KPIS = ["viable_prob_y10", "min_reserves_gbp", "reserves_exhausted_month"]
ROOT = Path(__file__).resolve().parents[2]


def _linear(noise: np.ndarray, slope: float = 1.0):
    """KPI_r(x) = slope·x + e_r: its mean is slope·x + mean(e), a closed-form root."""
    calls: list[int] = []

    def evaluate(values: Sequence[float]) -> np.ndarray:
        calls.append(len(values))
        return slope * np.asarray(values, dtype=float)[:, None] + noise[None, :]

    return evaluate, calls


def test_parse_target_reads_statistic_operator_and_value() -> None:
    assert parse_target("viable_prob_y10>=0.9", KPIS) == Target("viable_prob_y10", ">=", 0.9)
    assert parse_target(" p10( min_reserves_gbp ) >= 0 ", KPIS) == Target(
        "min_reserves_gbp", ">=", 0.0, "p10")
    assert parse_target("share(reserves_exhausted_month)<0.1", KPIS).statistic == "share"
    for bad in ("viable_prob_y10 = 0.9", "nope>=1", "p42(viable_prob_y10)>=1",
                "viable_prob_y10>=x", "viable_prob_y10>=inf"):
        with pytest.raises(ThresholdError):
            parse_target(bad, KPIS)


def test_statistic_leaves_out_undefined_replicates() -> None:
    values = np.array([[1.0, 2.0, np.nan, 5.0]])
    assert statistic(values, "mean")[0] == pytest.approx(8 / 3)
    assert statistic(values, "share")[0] == 0.75
    assert statistic(values, "p50")[0] == 2.0


def test_recovers_the_closed_form_root_of_a_linear_response() -> None:
    """mean(x + e) >= 5 first holds at x* = 5 − mean(e): found within tol, on the holding side;
    the bootstrap interval has about the width of 2 × 1.645 standard errors of the mean."""
    R = 4000
    noise = np.random.default_rng(1).normal(0.0, 1.0, R)
    evaluate, calls = _linear(noise)
    result = find_threshold(evaluate, "x", Target("k", ">=", 5.0), 0.0, 10.0, tol=1e-4,
                            replicates=R, seed=3, resamples=400)
    exact = 5.0 - noise.mean()
    assert result.found and result.monotone
    assert exact <= result.value <= exact + 1e-4  # holds at the answer, within tol of the root
    lo, hi = result.interval
    assert lo <= exact <= hi
    assert (hi - lo) == pytest.approx(2 * 1.645 * noise.std() / math.sqrt(R), rel=0.35)
    assert sum(calls) == len(result.evaluations) < 40  # no value is simulated twice


def test_a_falling_response_reports_where_the_target_stops_holding() -> None:
    noise = np.random.default_rng(2).normal(0.0, 1.0, 500)
    evaluate, _ = _linear(noise, slope=-1.0)
    result = find_threshold(evaluate, "x", Target("k", ">=", -5.0), 0.0, 10.0, tol=1e-4)
    exact = 5.0 + noise.mean()  # −x + mean(e) >= −5 holds up to x = 5 + mean(e)
    assert "stops" in result.message
    assert exact - 1e-4 <= result.value <= exact


def test_whole_number_inputs_give_the_first_whole_number_that_meets_the_target() -> None:
    """KPI_r(x) = 1[x >= k_r]: the mean reaches 0.9 exactly at the 90th percentile order
    statistic of the k_r, a whole number."""
    k = np.random.default_rng(4).integers(0, 100, 1000)

    def evaluate(values: Sequence[float]) -> np.ndarray:
        return (np.asarray(values)[:, None] >= k[None, :]).astype(float)

    result = find_threshold(evaluate, "n", Target("k", ">=", 0.9), 0.0, 100.0, integer=True)
    expected = int(np.sort(k)[math.ceil(0.9 * k.size) - 1])
    assert result.value == expected
    assert all(float(e["value"]).is_integer() for e in result.evaluations)


def test_no_crossing_and_several_crossings_are_said_plainly() -> None:
    flat, _ = _linear(np.zeros(10), slope=0.0)
    nowhere = find_threshold(flat, "x", Target("k", ">=", 1.0), 0.0, 1.0)
    assert not nowhere.found and nowhere.value is None and "at no value" in nowhere.message
    everywhere = find_threshold(flat, "x", Target("k", "<=", 1.0), 0.0, 1.0)
    assert not everywhere.found and "at every value" in everywhere.message

    def wave(values: Sequence[float]) -> np.ndarray:
        return np.sin(np.asarray(values, dtype=float))[:, None] * np.ones((1, 5))

    result = find_threshold(wave, "x", Target("k", ">=", 0.5), 0.0, 4 * math.pi, grid=25,
                            tol=1e-6)
    assert not result.monotone and len(result.crossings) >= 3
    assert result.value == pytest.approx(math.pi / 6, abs=1e-5)  # the first, from the low end


def test_bad_ranges_are_refused() -> None:
    flat, _ = _linear(np.zeros(3))
    for low, high in ((1.0, 1.0), (2.0, 1.0), (0.0, math.inf)):
        with pytest.raises(ThresholdError):
            find_threshold(flat, "x", Target("k", ">=", 0.0), low, high)
    with pytest.raises(ThresholdError):
        find_threshold(flat, "x", Target("k", ">=", 0.0), 0.5, 3.0, integer=True)


def _kpi_mean(end_month: int, seed: int) -> float:
    from sim.data import load_la_population
    from sim.experiments import run_ensemble
    from sim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "la_hosted.toml",
                             ["time.horizon_months=60", f"finance.grants[0].end_month={end_month}"])
    return float(run_ensemble(scenario, load_la_population(), 60, seed).kpis[
        "viable_prob_y5"].mean())


def test_the_command_finds_a_grant_length_that_meets_the_target_and_one_less_does_not(
        tmp_path: Path) -> None:
    args = ["threshold", str(ROOT / "scenarios" / "la_hosted.toml"),
            "--vary", "finance.grants[0].end_month", "--range", "12", "60",
            "--target", "viable_prob_y5>=0.5", "-n", "60", "--seed", "5", "--grid", "3",
            "--set", "time.horizon_months=60", "--workers", "1", "--out", str(tmp_path)]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0, outcome.output
    folder = next(tmp_path.glob("threshold-la_hosted-*"))
    record = json.loads((folder / "threshold.json").read_text())
    for name in ("threshold_evaluations.csv", "threshold.png", "threshold.svg"):
        assert (folder / name).stat().st_size > 0
    assert record["found"], record["message"]
    value = int(record["value"])
    # The definition of the answer, checked by running the model afresh on the same seed.
    assert _kpi_mean(value, 5) >= 0.5
    assert _kpi_mean(value - 1, 5) < 0.5
    assert record["check"]["seed"] == 6 and 0 <= record["check"]["statistic"] <= 1


@pytest.mark.parametrize("change, words", [
    (["--vary", "finance.no_such_key"], "no such key"),
    (["--target", "viable_prob_y5 = 0.5"], "--target"),
    (["--range", "-5", "60"], "finance.grants[0].end_month"),
    (["--range", "60", "12"], "--range"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, change: list[str],
                                          words: str) -> None:
    options = {"--vary": ["finance.grants[0].end_month"], "--target": ["viable_prob_y5>=0.5"],
               "--range": ["12", "60"]}
    options[change[0]] = change[1:]
    args = ["threshold", str(ROOT / "scenarios" / "la_hosted.toml"), "-n", "10",
            "--out", str(tmp_path)]
    for option, values in options.items():
        args += [option, *values]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 2, outcome.output
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]
    assert "Traceback" not in outcome.output
