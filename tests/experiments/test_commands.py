"""The sweep and sensitivity commands end to end (small, in one process)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sweep_helpers import write_sweep

from sim.cli import main

SWEEPS = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps"


def test_sweep_command_writes_results_and_resumes(tmp_path: Path) -> None:
    """`sweep` prints the plan, a KPI table and the folder; `--resume` of a finished sweep
    runs nothing."""
    sweep = write_sweep(tmp_path)
    out = tmp_path / "out"
    args = ["sweep", str(sweep), "--out", str(out), "--workers", "1", "--no-progress"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "Sweep small: 7 points × 3 replicates = 21 runs, seed 99, on in-process" in first.output
    assert "min_reserves_gbp" in first.output
    folder = next(out.glob("sweep-small-*"))
    assert f"Results written to {folder}/" in first.output
    assert (folder / "results.parquet").is_file()
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert "Resuming sweep small" in again.output
    assert "0 of" in again.output and "(all were already done)" in again.output
    assert len(list(out.glob("sweep-small-*"))) == 1


def test_sensitivity_command_prints_the_ranking(tmp_path: Path) -> None:
    """`sensitivity ishigami.toml` ranks x1, x2, x3 by total effect and lists its files."""
    result = CliRunner().invoke(main, ["sensitivity", str(SWEEPS / "ishigami.toml"), "-N", "256",
                                       "--workers", "1", "--out", str(tmp_path), "--no-charts"])
    assert result.exit_code == 0, result.output
    line = next(s for s in result.output.splitlines() if s.strip().startswith("y "))
    assert line.index("x1") < line.index("x2") < line.index("x3")
    assert "indices.csv" in result.output and "tornado.csv" in result.output
    odd = CliRunner().invoke(main, ["sensitivity", str(SWEEPS / "ishigami.toml"), "-N", "100",
                                    "--out", str(tmp_path)])
    assert odd.exit_code == 2 and "power of 2" in odd.output


def test_run_and_compare_take_workers() -> None:
    """run and compare accept --workers (the numbers never depend on it)."""
    for command in ("run", "compare"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert "--workers" in result.output


def test_sensitivity_command_draws_the_charts_from_the_tables(tmp_path: Path) -> None:
    """The command, not the analysis, draws the charts: with --charts they are written and
    listed beside the tables; with --no-charts there are none."""
    args = ["sensitivity", str(SWEEPS / "ishigami.toml"), "--method", "morris", "-N", "8",
            "--workers", "1", "--no-progress"]
    drawn = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert drawn.exit_code == 0, drawn.output
    folder = next((tmp_path / "a").glob("sensitivity-morris-ishigami-*"))
    assert {"sensitivity_indices.png", "sensitivity_indices.svg", "tornado_y.png"} <= {
        p.name for p in folder.iterdir()}
    assert "sensitivity_indices.png" in drawn.output and "indices.csv" in drawn.output
    plain = CliRunner().invoke(main, [*args, "--no-charts", "--out", str(tmp_path / "b")])
    assert plain.exit_code == 0, plain.output
    assert not list((tmp_path / "b").glob("*/*.png"))
