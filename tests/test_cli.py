"""End-to-end tests of the command line on small ensembles."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
HOSTS = [str(SCENARIOS / f"{h}.toml")
         for h in ("la_hosted", "government_hosted", "independent_company")]


def _invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _only_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def test_run_writes_the_documented_files(tmp_path: Path) -> None:
    """`run` writes every file of the outputs contract into one new folder, named
    run-<scenario>-<UTC time>."""
    result = _invoke("run", HOSTS[0], "-n", "12", "--seed", "3", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    folder = _only_folder(tmp_path)
    assert re.fullmatch(r"run-la_hosted-\d{8}T\d{6}Z", folder.name), folder.name
    assert f"Results written to {folder}/" in result.output
    for name in ("scenario.resolved.toml", "manifest.json", "timeseries.csv", "summary.json",
                 "kpis.parquet", "events.csv", "funding_cliff.png", "trajectories.png"):
        assert (folder / name).stat().st_size > 0, name
    assert not list(tmp_path.glob(".*partial*")), "no partial folder may remain"
    ts = pd.read_csv(folder / "timeseries.csv")
    assert list(ts.columns) == ["scenario", "month", "date", "fiscal_year", "metric", "mean", "p10",
                                "p50", "p90", "prices"]
    assert set(ts.loc[ts["metric"] == "reserves_gbp", "prices"]) == {"nominal"}
    assert ts.loc[ts["metric"] == "members", "prices"].isna().all()
    assert json.loads((folder / "manifest.json").read_text())["prices"] == "nominal"
    required = {"las_aware", "las_member", "staff_fte", "vacancies", "leavers", "live_services",
                "income_grant_gbp", "income_subscriptions_gbp", "costs_total_gbp", "reserves_gbp",
                "operating"}
    assert required <= set(ts["metric"])
    assert ts.loc[ts["month"] == 0, "date"].iloc[0] == "2026-04"
    assert ts.loc[ts["month"] == 0, "fiscal_year"].iloc[0] == "2026/27"
    assert ts.loc[ts["month"] == 11, "fiscal_year"].iloc[0] == "2026/27"
    assert ts.loc[ts["month"] == 12, "fiscal_year"].iloc[0] == "2027/28"
    summary = json.loads((folder / "summary.json").read_text())
    kpis = summary["la_hosted"]
    for key in ("survival_prob_y5", "survival_prob_y10", "cliff_month", "cliff_drop_gbp_per_month",
                "runway_months_at_cliff", "breakeven_month", "members_y10", "min_reserves_gbp"):
        assert set(kpis[key]) >= {"mean", "p10", "p50", "p90"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["replicates"] == 12
    assert manifest["started_utc"] <= manifest["finished_utc"]
    assert {"numpy", "simpy", "pydantic"} <= set(manifest["libraries"])


def test_resolved_scenario_reproduces_the_run(tmp_path: Path) -> None:
    """Running the written scenario.resolved.toml with the same seed gives the same numbers."""
    first = tmp_path / "first"
    assert _invoke("run", HOSTS[2], "-n", "8", "--seed", "11", "--set",
                   "finance.subscription_gbp_per_year=9000", "--out", str(first)).exit_code == 0
    folder = _only_folder(first)
    resolved = folder / "scenario.resolved.toml"
    assert load_scenario(resolved).finance.subscription_gbp_per_year == 9000
    second = tmp_path / "second"
    assert _invoke("run", str(resolved), "-n", "8", "--seed", "11",
                   "--out", str(second)).exit_code == 0
    a = pd.read_csv(folder / "timeseries.csv")
    b = pd.read_csv(_only_folder(second) / "timeseries.csv")
    pd.testing.assert_frame_equal(a, b)


def test_compare_writes_one_scenario_value_per_input(tmp_path: Path) -> None:
    """`compare` writes one folder whose tables hold one scenario value per input file."""
    result = _invoke("compare", *HOSTS, "-n", "10", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    folder = _only_folder(tmp_path)
    ts = pd.read_csv(folder / "timeseries.csv")
    assert sorted(ts["scenario"].unique()) == ["government_hosted", "independent_company",
                                               "la_hosted"]
    assert set(json.loads((folder / "summary.json").read_text())) == set(ts["scenario"].unique())
    for name in ts["scenario"].unique():
        assert (folder / f"scenario.resolved.{name}.toml").exists()
    kpis = pd.read_parquet(folder / "kpis.parquet")
    assert kpis.groupby("scenario").size().tolist() == [10, 10, 10]


def test_same_seed_same_outputs(tmp_path: Path) -> None:
    """Two runs with the same seed write identical tables; another seed does not."""
    tables = []
    for i, seed in enumerate(("5", "5", "6")):
        out = tmp_path / str(i)
        result = _invoke("run", HOSTS[0], "-n", "15", "--seed", seed, "--out", str(out))
        assert result.exit_code == 0
        tables.append(pd.read_csv(_only_folder(out) / "timeseries.csv"))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert not tables[0].equals(tables[2])


def test_validate_reports_each_file(tmp_path: Path) -> None:
    """`validate` says ok for good files and exits 2 naming file, key and value for a bad one."""
    bad = tmp_path / "bad.toml"
    base = (SCENARIOS / "base.toml").as_posix()
    bad.write_text(f'extends = "{base}"\n[uptake]\nq_per_year = -1.0\n')
    result = CliRunner().invoke(main, ["validate", HOSTS[0], str(bad)])
    assert result.exit_code == 2
    assert f"ok: {HOSTS[0]}" in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert lines == [f"error: {bad}: uptake.q_per_year must be greater than or equal to 0, "
                     "got -1.0"]


def test_every_shipped_scenario_validates() -> None:
    """Every file under scenarios/ passes `validate`."""
    files = sorted(str(p) for p in SCENARIOS.glob("*.toml"))
    result = CliRunner().invoke(main, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok: ") == len(files)


@pytest.mark.parametrize("args, fragment", [
    (["--set", "uptake.p_per_yr=0.1"], "did you mean 'p_per_year'"),
    (["--set", "finance.grants[0].end_month=-3"], "finance.grants[0].end_month"),
    (["--set", "finance.grants[5].end_month=3"], "out of range"),
    (["--set", "nonsense"], "KEY.PATH=VALUE"),
])
def test_bad_overrides_exit_2_without_traceback(tmp_path: Path, args: list[str],
                                                fragment: str) -> None:
    """A bad --set stops with exit code 2 and a one-line message, never a traceback."""
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", HOSTS[0], "-n", "2",
                           "--out", str(tmp_path), *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and fragment in proc.stderr
    assert not any(tmp_path.iterdir()), "nothing may be written for a bad scenario"


def test_missing_scenario_file_is_a_clear_error(tmp_path: Path) -> None:
    """A scenario that does not exist is named in the error, exit code 2."""
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "run",
                           str(tmp_path / "nope.toml")], capture_output=True, text=True)
    assert proc.returncode == 2 and "nope.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    """An --out that is a file, not a folder, gives a message and a non-zero exit, no traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", HOSTS[0], "-n", "2",
                           "--out", str(blocker / "sub")], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "cannot write" in proc.stderr


def test_help_explains_every_option() -> None:
    """Each command's --help lists its options with an explanation."""
    for command, options in {"run": ["--replicates", "--seed", "--block-size", "--set", "--out"],
                             "compare": ["--replicates", "--seed", "--block-size", "--set",
                                         "--out"],
                             "validate": ["--set"]}.items():
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0
        for option in options:
            assert option in result.output


def test_summary_names_kpis_from_the_one_table(tmp_path: Path) -> None:
    """The printed headline table labels each KPI with its short name from KPI_TEXT and shows
    chances as percentages, in one column per scenario."""
    from sim.outputs.console import HEADLINE_KPIS
    from sim.outputs.kpi_text import KPI_TEXT

    result = _invoke("compare", HOSTS[0], HOSTS[2], "-n", "10", "--seed", "2",
                     "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["la_hosted",
                                                                        "independent_company"])
    rows = lines[header + 1:header + 1 + len(HEADLINE_KPIS)]
    for key, row in zip(HEADLINE_KPIS, rows, strict=True):
        assert row.startswith(KPI_TEXT[key].short), row
        if KPI_TEXT[key].kind == "chance":
            assert row.endswith("%") and row.rstrip().count("%") == 2, row


def test_help_lists_every_command() -> None:
    """`run.py --help` lists the fifteen commands, each defined in the sim.cli package."""
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = re.findall(r"^  ([\w-]+)\s", result.output.split("Commands:")[1], flags=re.M)
    assert listed == ["calibrate", "compare", "discover", "explore", "export-xmile", "optimise",
                      "params", "report", "robust", "run", "sensitivity", "structure", "sweep",
                      "threshold", "validate"]
    assert all(main.commands[name].callback.__module__.startswith("sim.cli.")
               for name in listed)


def test_python_dash_m_sim_is_the_same_program(tmp_path: Path) -> None:
    """`python -m sim` lists the commands `python run.py` lists, and validates alike."""
    root = Path(__file__).resolve().parents[1]
    runs = [subprocess.run([sys.executable, *entry, "--help"], cwd=root, capture_output=True,
                           text=True, check=True).stdout
            for entry in (["-m", "sim"], ["run.py"])]
    assert runs[0].startswith("Usage: python -m sim ")
    commands = [text.split("Commands:")[1] for text in runs]
    assert commands[0] == commands[1]
    bad = tmp_path / "bad.toml"
    bad.write_text("[uptake]\nq_per_year = -1\n")
    result = subprocess.run([sys.executable, "-m", "sim", "validate", str(bad)], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "uptake.q_per_year" in result.stderr
    assert "Traceback" not in result.stderr


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """The README's second command is the last line of .ci/run, word for word."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    ci_last = (root / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci_last in readme and "python -m pytest" in ci_last


def test_real_terms_writes_every_money_output_in_2026_27_prices(tmp_path: Path) -> None:
    """`run --real-terms`: each money metric's statistics are the nominal run's ÷ cpi_index
    (the index is the same in every replicate), other metrics unchanged, the KPIs of the
    deflated runs; the manifest, time series and printout say so. `report --real-terms` of a
    nominal folder is refused with one line and exit 2."""
    args = ("run", HOSTS[1], "-n", "12", "--seed", "3", "--set", "finance.cpi_rates=[0.1]")
    nominal_out, real_out = tmp_path / "nominal", tmp_path / "real"
    assert _invoke(*args, "--out", str(nominal_out)).exit_code == 0
    result = _invoke(*args, "--out", str(real_out), "--real-terms")
    assert result.exit_code == 0, result.output
    assert "Money in £, 2026/27 prices." in result.output
    nominal, real = _only_folder(nominal_out), _only_folder(real_out)
    manifest = json.loads((real / "manifest.json").read_text())
    assert manifest["prices"] == "2026/27 prices" and manifest["real_terms"] is True
    tn, tr = (pd.read_csv(f / "timeseries.csv").set_index(["metric", "month"])
              for f in (nominal, real))
    cpi = tn.loc["cpi_index", "mean"]
    assert cpi.iloc[-1] > 2.0
    for metric in ("reserves_gbp", "income_core_budget_gbp", "costs_staff_gbp"):
        for stat in ("mean", "p10", "p50", "p90"):
            pd.testing.assert_series_equal(tr.loc[metric, stat], tn.loc[metric, stat] / cpi,
                                           check_names=False, rtol=1e-9)
        assert set(tr.loc[metric, "prices"]) == {"2026/27 prices"}
    pd.testing.assert_frame_equal(tr.loc["members"], tn.loc["members"])
    kn, kr = (json.loads((f / "summary.json").read_text())["government_hosted"]
              for f in (nominal, real))
    assert kr["min_reserves_gbp"]["p50"] != kn["min_reserves_gbp"]["p50"]
    assert kr["members_y10"] == kn["members_y10"]
    refused = CliRunner().invoke(main, ["report", str(nominal), "--real-terms"])
    assert refused.exit_code == 2
    assert "nominal" in refused.output and "--real-terms" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    done = _invoke("report", str(real), "--real-terms")
    assert done.exit_code == 0, done.output
    assert (real / "workbook.xlsx").stat().st_size > 0


def test_block_size_fixes_the_numbers_whatever_the_workers(tmp_path: Path) -> None:
    """The same seed and --block-size give the same KPIs on 1 and 2 workers; another block size
    gives other numbers; the block size is recorded in the manifest."""
    runs = {}
    for label, args in {"1w": ["--block-size", "20", "--workers", "1"],
                        "2w": ["--block-size", "20", "--workers", "2"],
                        "40": ["--block-size", "40", "--workers", "1"]}.items():
        out = tmp_path / label
        result = _invoke("run", HOSTS[0], "-n", "40", "--seed", "9", "--out", str(out), *args)
        assert result.exit_code == 0, result.output
        folder = _only_folder(out)
        runs[label] = pd.read_parquet(folder / "kpis.parquet")
        assert json.loads((folder / "manifest.json").read_text())["block_size"] == int(args[1])
    pd.testing.assert_frame_equal(runs["1w"], runs["2w"])
    assert not runs["1w"]["min_reserves_gbp"].equals(runs["40"]["min_reserves_gbp"])


@pytest.mark.parametrize("value", ["0", "-3"])
def test_block_size_below_one_is_one_line_exit_2(tmp_path: Path, value: str) -> None:
    """--block-size below 1 stops with one line naming the option, the value and the rule."""
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", *HOSTS[:2], "-n", "2",
                           "--block-size", value, "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: --block-size: replicates per random-stream block must be at least 1, got {value}"]
    assert not any(tmp_path.iterdir())
