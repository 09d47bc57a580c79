"""``run.py optimise`` (sim/experiments/optimise.py) against closed forms — a noisy constrained
quadratic and ZDT1's known Pareto front — and on the model: the chosen policy's constraint holds
on fresh seeds; the same seed, any number of workers and a resumed run give the same files;
bad [optimise] input is one line and exit code 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.experiments.executors import LocalExecutor, SerialExecutor
from sim.experiments.optimise import nondominated, optimise_problem
from sim.experiments.optimise_run import run_optimise, settings_record
from sim.experiments.sweepfile import load_sweep
from sim.experiments.testfunctions import quadratic_optimum, zdt1_front
from sim.outputs.optimum import write_optimum

ROOT = Path(__file__).resolve().parents[2]

QUADRATIC = """
test_function = "quadratic"
design = "lhs"
samples = 4
replicates = 40
seed = 7

[[parameters]]
path = "x1"
role = "lever"
low = 0.0
high = 1.0

[[parameters]]
path = "x2"
role = "lever"
low = 0.0
high = {x2_high}

[[parameters]]
path = "u"
low = -0.05
high = 0.05

[optimise]
{optimise}
"""

MODEL = """
base = "{base}"
set = ["time.horizon_months=24", "finance.subscriptions_from_month=0"]
design = "lhs"
samples = 2
replicates = 20
seed = 11

[[parameters]]
path = "finance.subscription_bands[1].price_gbp_per_year"
role = "lever"
low = 1000
high = 15000

[[parameters]]
path = "uptake.q_per_year"
low = 0.3
high = 0.45

[optimise]
objective = "maximise finance.subscription_bands[1].price_gbp_per_year"
constraints = ["members_y10 >= 30"]
budget = 16
population = 8
fresh_seeds = 40
confidence = 0.95
"""


def _sweep(tmp_path: Path, text: str, name: str = "opt") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(path: Path, out: Path, workers: int = 1, resume: Path | None = None):
    problem = optimise_problem(load_sweep(path))
    executor = SerialExecutor() if workers == 1 else LocalExecutor(workers)
    with executor:
        folder, result = run_optimise(problem, out, executor=executor, resume=resume)
    write_optimum(result, folder, settings_record(problem), "title", "footer")
    return folder, result


def _futures_mean_u(path: Path) -> float:
    problem = optimise_problem(load_sweep(path))
    return float(np.mean([f[0] for f in problem.futures]))


def test_noisy_constrained_quadratic_recovers_its_projection(tmp_path: Path) -> None:
    """min (x1−.8)²+(x2−.6)² s.t. mean(x1+x2+u+noise) ≤ 1: the projection of the centre on the
    line x1 + x2 = 1 − mean(u), within the noise of 160 runs."""
    path = _sweep(tmp_path, QUADRATIC.format(x2_high=1.0, optimise='objective = "minimise y"\n'
                                             'constraints = ["g <= 1"]\nbudget = 600'))
    _, result = _run(path, tmp_path / "out")
    expected = quadratic_optimum(1.0 - _futures_mean_u(path))
    chosen = result.chosen_values
    assert result.found
    assert chosen["x1"] == pytest.approx(expected[0], abs=0.03)
    assert chosen["x2"] == pytest.approx(expected[1], abs=0.03)
    se = result.search["mean(g) <= 1"]["se"]
    assert se == pytest.approx(0.05 / np.sqrt(40), rel=0.35)  # noise sd ÷ sqrt(replicates)


def test_lever_objective_is_the_lowest_value_meeting_the_constraint(tmp_path: Path) -> None:
    """min x1 s.t. mean(x1+x2+u+noise) ≥ 0.9 with x2 ≤ 0.5: x1 = 0.4 − mean(u), to the noise."""
    path = _sweep(tmp_path, QUADRATIC.format(x2_high=0.5, optimise='objective = "minimise x1"\n'
                                             'constraints = ["g >= 0.9"]\nbudget = 600'))
    _, result = _run(path, tmp_path / "out")
    assert result.chosen_values["x1"] == pytest.approx(0.4 - _futures_mean_u(path), abs=0.03)
    assert result.chosen_values["x2"] == pytest.approx(0.5, abs=0.03)


def test_nsga2_finds_the_zdt1_front(tmp_path: Path) -> None:
    """ZDT1: the Pareto points found lie on f2 = 1 − sqrt(f1) and spread along it."""
    text = "\n".join(['test_function = "zdt1"', 'design = "grid"', "replicates = 1", "seed = 3",
                      *[f'[[parameters]]\npath = "x{i}"\nrole = "lever"\nlow = 0.0\nhigh = 1.0'
                        for i in (1, 2, 3)],
                      "[optimise]", 'objectives = ["minimise f1", "minimise f2"]',
                      "budget = 2400", "population = 40"])
    folder, result = _run(_sweep(tmp_path, text), tmp_path / "out")
    front = pd.read_csv(folder / "pareto.csv")
    f1, f2 = front["objective:mean(f1)"].to_numpy(), front["objective:mean(f2)"].to_numpy()
    assert len(front) >= 20
    assert np.median(np.abs(f2 - zdt1_front(f1))) < 0.02
    assert np.max(np.abs(f2 - zdt1_front(f1))) < 0.2
    assert f1.min() < 0.05 and f1.max() > 0.9
    assert result.table["chosen"].sum() == 1 and bool(front["chosen"].any())


def test_nondominated_against_a_hand_made_set() -> None:
    """A point is dropped exactly when another is no worse everywhere and better somewhere."""
    f = np.array([[1, 5], [2, 2], [3, 3], [5, 1], [2, 2], [1, 6]], dtype=float)
    assert nondominated(f).tolist() == [True, True, False, True, False, False]


@pytest.fixture(scope="module")
def model_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The tiny model problem run on 1 worker, again on 1, on 2, and resumed after a crash."""
    tmp = tmp_path_factory.mktemp("optimise_model")
    base = (ROOT / "scenarios" / "base.toml").as_posix()
    path = _sweep(tmp, MODEL.format(base=base), "model")
    runs: dict[str, object] = {}
    runs["one"] = _run(path, tmp / "one")
    runs["again"] = _run(path, tmp / "again")
    runs["two"] = _run(path, tmp / "two", workers=2)
    folder = runs["one"][0]  # type: ignore[index]
    partial = tmp / "partial" / folder.name
    shutil.copytree(folder, partial)
    batches = sorted((partial / "cache").glob("batch-*.parquet"))
    assert len(batches) >= 2
    for stale in batches[1:]:  # as if the run had stopped after its first generation
        stale.unlink()
    for output in ("optimum.json", "evaluations.parquet", "pareto.csv"):
        (partial / output).unlink()
    runs["resumed"] = _run(path, tmp / "unused", resume=partial)
    return runs


def _files(folder: Path) -> tuple[dict[str, object], pd.DataFrame, str]:
    return (json.loads((folder / "optimum.json").read_text()),
            pd.read_parquet(folder / "evaluations.parquet"),
            (folder / "pareto.csv").read_text())


def test_model_policy_meets_its_constraint_on_fresh_seeds(model_runs: dict) -> None:
    """The chosen price keeps 30 member LAs at month 24 on the search and on fresh seeds."""
    folder, result = model_runs["one"]
    record = json.loads((folder / "optimum.json").read_text())
    assert record["found"]
    check = record["constraints"][0]
    assert check["search"]["confidence_bound"] >= 30
    assert check["fresh"]["holds"] and check["fresh"]["value"] >= 30
    assert record["constraints_hold_on_fresh_seeds"]
    price = record["chosen"]["finance.subscription_bands[1].price_gbp_per_year"]
    table = result.table
    # No feasible candidate evaluated has a higher price (what "maximise" means).
    assert price == table.loc[table["feasible"], table.columns[2]].max()


def test_model_same_seed_workers_and_resume_give_the_same_files(model_runs: dict) -> None:
    """Same seed → same files; 2 workers → the same; a resumed partial run → the same."""
    reference = _files(model_runs["one"][0])
    for other in ("again", "two", "resumed"):
        record, table, pareto = _files(model_runs[other][0])
        assert record == reference[0], other
        pd.testing.assert_frame_equal(table, reference[1])
        assert pareto == reference[2]
    resumed = json.loads((model_runs["resumed"][0] / "manifest.json").read_text())
    assert resumed["attempts"][-1]["simulated"] < len(reference[1])  # the cache was used


@pytest.mark.parametrize(("optimise", "expected"), [
    ('objective = "minimise nothing_here"', "optimise.objective"),
    ('objective = "lower y"', "optimise.objective"),
    ('objective = "minimise y"\nconstraints = ["g => 1"]', "optimise.constraints[0]"),
    ('objective = "minimise y"\nconstraints = ["p42(g) <= 1"]', "optimise.constraints[0]"),
    ('objectives = ["minimise y"]', "optimise.objectives"),
    ('objective = "minimise y"\nmethod = "nsga2"', "optimise"),
    ('objective = "minimise y"\nbudget = 0', "optimise.budget"),
    ('objective = "minimise y"\nsurprise = 1', "optimise.surprise"),
])
def test_bad_optimise_table_is_one_line_exit_2(tmp_path: Path, optimise: str,
                                               expected: str) -> None:
    """Each mistake names the file and the key, on one line, exit code 2."""
    path = _sweep(tmp_path, QUADRATIC.format(x2_high=1.0, optimise=optimise))
    outcome = CliRunner().invoke(main, ["optimise", str(path), "--out", str(tmp_path / "o")])
    assert outcome.exit_code == 2, outcome.output
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], outcome.output


def test_no_lever_and_a_bad_lever_are_one_line_exit_2(tmp_path: Path) -> None:
    """A sweep with no lever, or a lever that is not a range or a choice, is refused."""
    text = QUADRATIC.format(x2_high=1.0, optimise='objective = "minimise y"')
    for bad, key in ((text.replace('role = "lever"\n', ""), "parameters"),
                     (text.replace('role = "lever"\nlow = 0.0\nhigh = 1.0',
                                   'role = "lever"\ndistribution = "normal"\nmean = 0.5\nsd = 0.1',
                                   1), "parameters[0].distribution")):
        path = _sweep(tmp_path, bad)
        outcome = CliRunner().invoke(main, ["optimise", str(path), "--out", str(tmp_path / "o")])
        assert outcome.exit_code == 2, outcome.output
        assert key in outcome.output and len(outcome.output.strip().splitlines()) == 1


def test_cli_runs_and_writes_every_file(tmp_path: Path) -> None:
    """The command writes optimum.json/.md, evaluations.parquet, pareto.csv and the chart."""
    path = _sweep(tmp_path, QUADRATIC.format(x2_high=1.0, optimise='objective = "minimise y"\n'
                                             'constraints = ["g <= 1"]\nbudget = 40'))
    outcome = CliRunner().invoke(main, ["optimise", str(path), "--out", str(tmp_path / "o"),
                                        "--workers", "1"])
    assert outcome.exit_code == 0, outcome.output
    folder = next((tmp_path / "o").iterdir())
    for name in ("optimum.json", "optimum.md", "evaluations.parquet", "pareto.csv",
                 "pareto.png", "pareto.svg", "manifest.json", "sweep.toml"):
        assert (folder / name).is_file(), name
    assert "Constraint mean(g) <= 1" in (folder / "optimum.md").read_text()


def test_plain_sweep_ignores_role(tmp_path: Path) -> None:
    """Marking a parameter as a lever changes nothing about a sweep's design."""
    from sim.experiments.design import build_design

    text = QUADRATIC.format(x2_high=1.0, optimise="").replace("[optimise]\n", "")
    plain = load_sweep(_sweep(tmp_path, text.replace('role = "lever"\n', ""), "plain"))
    marked = load_sweep(_sweep(tmp_path, text, "marked"))
    pd.testing.assert_frame_equal(build_design(plain), build_design(marked))


def test_every_optimise_key_is_documented() -> None:
    """Each key of [optimise] has a row in docs/experiments.md §12, and the files are in
    docs/outputs.md §7."""
    from sim.experiments.sweepfile import OptimiseSettings

    experiments = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    outputs = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    missing = [k for k in OptimiseSettings.model_fields if f"| `{k}`" not in experiments]
    assert not missing, missing
    for name in ("optimum.json", "optimum.md", "evaluations.parquet", "pareto.csv",
                 "pareto.png", "cache/batch-NNNNN.parquet"):
        assert name in outputs, name


def test_shipped_optimise_sweep_is_a_valid_problem() -> None:
    """scenarios/sweeps/optimise_grant.toml: two levers, four futures, one constraint."""
    problem = optimise_problem(load_sweep(ROOT / "scenarios" / "sweeps" / "optimise_grant.toml"))
    assert problem.method == "differential_evolution"
    assert [p.path for p in problem.levers] == ["finance.grants[0].end_month",
                                                "finance.subscription_bands[1].price_gbp_per_year"]
    assert problem.lever_integer == (True, False)
    assert len(problem.futures) == 4
    assert str(problem.constraints[0]) == "mean(viable_prob_y10) >= 0.8"


def test_shipped_pareto_sweep_is_a_two_objective_problem() -> None:
    """scenarios/sweeps/optimise_pareto.toml: NSGA-II on two levers for two objectives, one of
    them a KPI, with no constraint."""
    problem = optimise_problem(load_sweep(ROOT / "scenarios" / "sweeps" / "optimise_pareto.toml"))
    assert problem.method == "nsga2"
    assert len(problem.objectives) == 2 and not problem.constraints
    assert len(problem.levers) == 2 and len(problem.futures) == 2


def test_cli_resume_rewrites_the_same_answer_and_refuses_a_stranger(tmp_path: Path) -> None:
    """--resume of a finished folder simulates nothing new and writes the same optimum.json;
    a folder that is not an optimise run is one line, exit code 2."""
    path = _sweep(tmp_path, QUADRATIC.format(x2_high=1.0, optimise='objective = "minimise y"\n'
                                             'constraints = ["g <= 1"]\nbudget = 24'))
    args = ["optimise", str(path), "--out", str(tmp_path / "o"), "--workers", "1"]
    assert CliRunner().invoke(main, args).exit_code == 0
    folder = next((tmp_path / "o").iterdir())
    first = (folder / "optimum.json").read_text()
    again = CliRunner().invoke(main, [*args, "--resume", str(folder)])
    assert again.exit_code == 0, again.output
    assert (folder / "optimum.json").read_text() == first
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["attempts"][-1]["simulated"] == 0
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    outcome = CliRunner().invoke(main, [*args, "--resume", str(stranger)])
    assert outcome.exit_code == 2 and len(outcome.output.strip().splitlines()) == 1


def test_resume_hint_drops_the_old_resume_folder() -> None:
    """The hint after an interruption names one --resume folder: the old one and its value go,
    whichever way it was written, and nothing else does."""
    from sim.cli.decisions import _without_resume

    given = ["optimise", "s.toml", "--resume", "old", "--workers", "2", "--resume=older"]
    assert _without_resume(given) == ["optimise", "s.toml", "--workers", "2"]
