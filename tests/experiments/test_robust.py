"""run.py robust: regret and satisficing against hand-computed values, a test function with a
known best lever, candidates × futures under common random numbers (the same for 1 and 2
workers and on resume), and one-line errors for bad candidates and roles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.data import LAPopulation
from sim.engine.stats import wilson_interval
from sim.experiments.candidates import load_robust
from sim.experiments.executors import make_executor
from sim.experiments.robust import (
    cell_table,
    explain_futures,
    regret,
    robustness_table,
    run_robust,
)
from sim.experiments.store import chunk_path
from sim.experiments.threshold import Target

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

# --------------------------------------------------------------------------- hand-computed


def _cells(values: dict[str, list[float]], target: Target) -> pd.DataFrame:
    rows = [{"candidate": name, "future": f, "statistic": v}
            for name, column in values.items() for f, v in enumerate(column)]
    cells = pd.DataFrame(rows)
    cells["meets_target"] = target.holds(cells["statistic"].to_numpy())
    cells["regret"] = regret(cells, target)
    return cells


def test_regret_and_satisficing_match_hand_computed_values() -> None:
    """3 candidates × 4 futures, target ≥ 0.8: shares, regrets, their max, 90th percentile
    and mean, best-in counts and the ranking, all worked out by hand."""
    target = Target("viable_prob_y10", ">=", 0.8)
    cells = _cells({"A": [0.9, 0.7, 0.85, 0.5], "B": [0.8, 0.9, 0.6, 0.6],
                    "C": [0.95, 0.75, 0.7, 0.4]}, target)
    # best per future: 0.95, 0.9, 0.85, 0.6
    expected_regret = {"A": [0.05, 0.2, 0.0, 0.1], "B": [0.15, 0.0, 0.25, 0.0],
                       "C": [0.0, 0.15, 0.15, 0.2]}
    for name, column in expected_regret.items():
        got = cells.loc[cells["candidate"] == name, "regret"].to_numpy()
        assert got == pytest.approx(column, abs=1e-12)
    table = robustness_table(cells, ["A", "B", "C"]).set_index("candidate")
    assert table["futures_meeting_target"].to_dict() == {"A": 2, "B": 2, "C": 1}
    assert table["satisficing_share"].to_dict() == {"A": 0.5, "B": 0.5, "C": 0.25}
    assert table["max_regret"].to_dict() == pytest.approx({"A": 0.2, "B": 0.25, "C": 0.2})
    # 90th percentile by linear interpolation at position 0.9 × 3 = 2.7 of the sorted regrets
    assert table["p90_regret"].to_dict() == pytest.approx({"A": 0.17, "B": 0.22, "C": 0.185})
    assert table["mean_regret"].to_dict() == pytest.approx({"A": 0.0875, "B": 0.1, "C": 0.125})
    assert table["best_in_futures"].to_dict() == {"A": 1, "B": 2, "C": 1}
    # A and B tie on the share; A has the lower maximum regret
    assert table["rank"].to_dict() == {"A": 1, "B": 2, "C": 3}
    # Wilson 90% interval of 2/4: centre 0.5, half-width z·sqrt(1/16 + z²/64) / (1 + z²/4)
    z = 1.6448536269514722
    half = z * math.sqrt(1 / 16 + z * z / 64) / (1 + z * z / 4)
    assert (table.loc["A", "satisficing_low"], table.loc["A", "satisficing_high"]) == \
        pytest.approx((0.5 - half, 0.5 + half))


def test_a_lower_is_better_target_measures_regret_from_the_lowest() -> None:
    """For a ≤ target the best candidate in a future is the lowest; regret is own − lowest."""
    target = Target("cost", "<=", 10.0)
    cells = _cells({"A": [8.0, 12.0], "B": [9.0, 11.0]}, target)
    assert cells["regret"].tolist() == pytest.approx([0.0, 1.0, 1.0, 0.0])
    assert cells["meets_target"].tolist() == [True, False, True, False]


def test_wilson_interval_edges() -> None:
    """0 of n and n of n stay inside [0, 1] and are not degenerate."""
    low, high = wilson_interval(0 / 10, 10)
    assert low == 0.0 and 0 < high < 0.3
    low, high = wilson_interval(10 / 10, 10)
    assert high == 1.0 and 0.7 < low < 1


# --------------------------------------------------------------------------- test function

LINEAR = """
name = "lin"
test_function = "linear"
design = "lhs"
samples = 40
replicates = 2
threshold = "y>=1.5"
{candidates}
[[parameters]]
path = "x1"
role = "lever"
low = 0.0
high = 1.0

[[parameters]]
path = "x2"
low = 0.0
high = 1.0
"""


def test_test_function_finds_the_known_best_lever(tmp_path: Path) -> None:
    """y = x1 + 2·x2, x1 the lever (grid 0, 0.5, 1), x2 the uncertainty: x1 = 1 is best in every
    future (regret 0), x1 = 0 has regret exactly 1; each satisfices where x2 ≥ (1.5 − x1)/2,
    and PRIM puts its failures below that line."""
    sweep = tmp_path / "lin.toml"
    sweep.write_text(LINEAR.format(candidates=""))
    study = load_robust(sweep)
    assert [c.values["x1"] for c in study.candidates] == [0.0, 0.5, 1.0]
    run = run_robust(study, tmp_path / "out")
    cells = cell_table(run.folder, study)
    table = robustness_table(cells, [c.name for c in study.candidates])
    assert table["candidate"].tolist() == ["c3", "c2", "c1"]
    by_name = table.set_index("candidate")
    assert by_name.loc["c3", "max_regret"] == pytest.approx(0.0, abs=1e-12)
    assert by_name.loc["c1", "max_regret"] == pytest.approx(1.0, abs=1e-12)
    assert by_name.loc["c1", "p90_regret"] == pytest.approx(1.0, abs=1e-12)
    for c in study.candidates:
        part = cells[cells["candidate"] == c.name]
        x2 = part["x2"].to_numpy()
        expected = x2 >= (1.5 - c.values["x1"]) / 2
        assert by_name.loc[c.name, "satisficing_share"] == pytest.approx(expected.mean())
        assert part["statistic"].to_numpy() == pytest.approx(c.values["x1"] + 2 * x2)
    explained = {e.candidate: e for e in explain_futures(cells, study)}
    box = explained["c3"].fails
    assert box is not None and [r.column for r in box.restrictions] == ["x2"]
    assert box.restrictions[0].high is not None and box.restrictions[0].high < 0.25
    assert box.density == 1.0 and box.coverage == 1.0


def test_listed_candidates_of_a_test_function(tmp_path: Path) -> None:
    """[[candidates]] with set = ["x1=…"] run those inputs; an input not set keeps its default."""
    sweep = tmp_path / "lin.toml"
    sweep.write_text(LINEAR.format(candidates='''
[[candidates]]
name = "timid"
set = ["x1=0.2"]

[[candidates]]
name = "bold"
set = ["x1=0.9", "x3=0.1"]
'''))
    study = load_robust(sweep)
    run = run_robust(study, tmp_path / "out")
    cells = cell_table(run.folder, study)
    for name, extra in (("timid", 0.2), ("bold", 0.9 + 3 * 0.1)):
        part = cells[cells["candidate"] == name]
        assert part["statistic"].to_numpy() == pytest.approx(extra + 2 * part["x2"].to_numpy())


# --------------------------------------------------------------------------- the model

MODEL = f"""
name = "tiny"
base = "{(SCENARIOS / 'la_hosted.toml').as_posix()}"
set = ["time.horizon_months=24"]
design = "lhs"
samples = 3
replicates = 5
seed = 11
threshold = "min_reserves_gbp>=0"
kpis = ["min_reserves_gbp", "viable_months"]

[[candidates]]
name = "council"

[[candidates]]
name = "council_again"

[[candidates]]
name = "council_adaptive"
policies = "{(SCENARIOS / 'policies' / 'independent_company_adaptive.toml').as_posix()}"

[[candidates]]
name = "company"
scenario = "{(SCENARIOS / 'independent_company.toml').as_posix()}"
set = ["finance.subscription_gbp_per_year=6000"]

[[parameters]]
path = "market.wtp_median_gbp_per_year"
low = 2500.0
high = 10000.0

[[parameters]]
path = "finance.grants[0].amount_gbp_per_year"
low = 400000.0
high = 900000.0
"""


@pytest.fixture(scope="module")
def model_run(tmp_path_factory: pytest.TempPathFactory, las: LAPopulation
              ) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("robust")
    sweep = folder / "tiny.toml"
    sweep.write_text(MODEL)
    run = run_robust(load_robust(sweep), folder / "one", chunk_size=2, las=las)
    return sweep, pd.read_parquet(run.results)


def test_candidates_meet_the_same_draws_in_every_future(model_run: tuple[Path, pd.DataFrame]
                                                        ) -> None:
    """Common random numbers: two candidates that are the same scenario give the same KPI in
    every replicate of every future; a different candidate does not."""
    sweep, results = model_run
    design = pd.read_parquet(next((sweep.parent / "one").glob("robust-tiny-*")) /
                             "design.parquet")
    table = results.merge(design[["point", "future"]], on="point")
    def kpi(name: str) -> np.ndarray:
        part = table[table["candidate"] == name].sort_values(["future", "replicate"])
        return part["min_reserves_gbp"].to_numpy()
    assert np.array_equal(kpi("council"), kpi("council_again"))
    assert not np.array_equal(kpi("council"), kpi("company"))
    assert len(kpi("council")) == 3 * 5


def test_two_workers_and_resume_give_the_same_table(model_run: tuple[Path, pd.DataFrame],
                                                    tmp_path: Path, las: LAPopulation) -> None:
    """The result table is the same to the bit with two worker processes, and after deleting
    a chunk and the combined table and resuming."""
    sweep, reference = model_run
    study = load_robust(sweep)
    with make_executor("local", 2) as pool:
        two = run_robust(study, tmp_path, chunk_size=2, executor=pool, las=las)
    pd.testing.assert_frame_equal(pd.read_parquet(two.results), reference)
    chunk_path(two.folder, 1).unlink()
    two.results.unlink()
    again = run_robust(study, tmp_path, resume=True, las=las)
    assert again.folder == two.folder and again.chunks_run == 1
    pd.testing.assert_frame_equal(pd.read_parquet(again.results), reference)
    cells = cell_table(again.folder, study)
    assert set(cells["candidate"]) == {"council", "council_again", "council_adaptive", "company"}
    assert len(cells) == 4 * 3


def test_the_command_writes_the_board_outputs(model_run: tuple[Path, pd.DataFrame],
                                              tmp_path: Path) -> None:
    """`robust` writes robustness.csv (one ranked row per candidate), cells.csv, failures,
    the chart and the what-must-be-true page, and quotes a threshold answer."""
    sweep, _ = model_run
    answer = tmp_path / "threshold.json"
    answer.write_text('{"key": "finance.subscription_gbp_per_year", "target": "x", '
                      '"statistic": "mean", "kpi": "viable_prob_y10", "operator": ">=", '
                      '"target_value": 0.8, "range": [1000, 9000], "integer": false, '
                      '"found": true, "value": 4321.0, "interval_90": [4000, 4600], '
                      '"statistic_at_value": 0.81, "crossings": [[3000, 5000]], '
                      '"check": null, "replicates": 100, "seed": 1, "message": "found", '
                      '"scenario": "scenarios/la_hosted.toml", "overrides": []}')
    result = CliRunner().invoke(main, ["robust", str(sweep), "--out", str(tmp_path / "o"),
                                       "--workers", "1", "--no-progress",
                                       "--break-even", str(answer)])
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "o").glob("robust-tiny-*"))
    table = pd.read_csv(folder / "robustness.csv")
    assert sorted(table["rank"]) == [1, 2, 3, 4]
    assert len(pd.read_csv(folder / "cells.csv")) == 12
    failures = pd.read_csv(folder / "failures.csv")
    assert set(failures["outcome"]) == {"misses", "meets"} and len(failures) == 8
    for name in ("failures.md", "robustness.png", "robustness.svg", "what_must_be_true.md",
                 "what_must_be_true.html"):
        assert (folder / name).is_file(), name
    page = (folder / "what_must_be_true.md").read_text()
    assert "4,321" in page and "council_adaptive" in page


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("edit", "words"), [
    (lambda t: t.replace('name = "council_again"', 'name = "council"'),
     "candidates[1].name is repeated"),
    (lambda t: t.replace('set = ["finance.subscription_gbp_per_year=6000"]',
                         'set = ["market.wtp_median_gbp_per_year=6000"]'),
     "candidates[3].set[0] sets market.wtp_median_gbp_per_year, an uncertainty"),
    (lambda t: t.replace('set = ["finance.subscription_gbp_per_year=6000"]',
                         'set = ["finance.subscription_gbp_per_yr=6000"]'),
     "candidates[3]"),
    (lambda t: t.replace('name = "company"', 'name = "company"\ncolour = "red"'),
     "candidates[3].colour"),
    (lambda t: t.replace("low = 2500.0", 'role = "choice"\nlow = 2500.0'),
     "parameters[0].role"),
    (lambda t: t.replace("policies = \"", "policies = \"../nowhere/"),
     "candidates[2].policies"),
    (lambda t: t.replace('threshold = "min_reserves_gbp>=0"', 'threshold = "min_reserves>=0"'),
     "threshold"),
])
def test_bad_candidates_and_roles_are_one_line_errors(tmp_path: Path, edit: object,
                                                      words: str) -> None:
    """A bad candidate, role or target: exit code 2 and one line naming the file and key."""
    sweep = tmp_path / "bad.toml"
    sweep.write_text(edit(MODEL))  # type: ignore[operator]
    result = CliRunner().invoke(main, ["robust", str(sweep), "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {sweep}"), result.output
    assert words in lines[0]


def test_a_study_needs_candidates_and_futures(tmp_path: Path) -> None:
    """No candidates and no levers, or no uncertainty: exit code 2, one line."""
    sweep = tmp_path / "bare.toml"
    sweep.write_text(LINEAR.format(candidates="").replace('role = "lever"', ""))
    result = CliRunner().invoke(main, ["robust", str(sweep), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "robust needs candidates" in result.output
    sweep.write_text(LINEAR.format(candidates="").replace('path = "x2"', 'path = "x2"\n'
                                                          'role = "lever"'))
    result = CliRunner().invoke(main, ["robust", str(sweep), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "role = 'uncertainty'" in result.output
