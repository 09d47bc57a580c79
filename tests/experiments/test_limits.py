"""Sweep designs are sized from the sweep file before they are built (issue #17, item 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sweep_helpers import BASE, ROOT, write_sweep

from sim.experiments.design import build_design
from sim.experiments.sensitivity import salib_unit_sample
from sim.experiments.sweepfile import (
    MAX_DESIGN_POINTS,
    design_bytes,
    design_points,
    load_sweep,
)
from sim.scenario import ScenarioError

GRID = f"""
name = "huge"
base = "{BASE}"
design = "grid"
replicates = 2

[[parameters]]
path = "finance.grants[0].end_month"
low = 12
high = 30
levels = LEVELS

[[parameters]]
path = "finance.subscription_gbp_per_year"
low = 2000
high = 15000
levels = LEVELS

[[parameters]]
path = "portfolio.policy"
values = ["gall", "big_bang"]
"""


def test_a_grid_above_the_limit_is_refused_when_the_file_is_read(tmp_path: Path) -> None:
    """1,000 × 1,000 × 2 levels is 2,000,000 points: refused by load_sweep (which every command
    calls before building a design), naming the count, the memory it would take and the
    limit."""
    path = write_sweep(tmp_path, GRID.replace("LEVELS", "1000"), "huge.toml")
    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: parameters makes a design of 2,000,000 points "
                              "(1,000 × 1,000 × 2 levels), about ")
    assert f"{design_bytes(2_000_000, 3) / 1e6:,.1f} MB" in message
    assert f"the limit is {MAX_DESIGN_POINTS:,} points" in message


def test_three_parameters_of_a_thousand_levels_exit_2_with_one_line(tmp_path: Path) -> None:
    """The example of issue #17: 3 parameters × 1,000 levels (10⁹ points, about 120 GB) is one
    error line and exit code 2 from the command."""
    text = GRID.replace("LEVELS", "1000").replace(
        'values = ["gall", "big_bang"]', "low = 0.1\nhigh = 1.0\nlevels = 1000").replace(
        '"portfolio.policy"', '"uptake.q_per_year"')
    path = write_sweep(tmp_path, text, "huge.toml")
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "sweep", str(path), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "1,000,000,000 points" in lines[0] and "120.0 GB" in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("levels", [2, 3, 5])
def test_the_counted_size_is_the_size_built(levels: int, tmp_path: Path) -> None:
    """For grids with no repeated levels, the points counted from the file are the rows
    build_design makes."""
    sweep = load_sweep(write_sweep(tmp_path, GRID.replace("LEVELS", str(levels)), "g.toml"))
    assert design_points(sweep.spec) == levels * levels * 2 == len(build_design(sweep))


def test_a_sensitivity_design_above_the_limit_is_refused_before_salib_builds_it(
        tmp_path: Path) -> None:
    """Sobol' with N = 2^20 and three parameters needs N(2d + 2) = 8,388,608 points."""
    sweep = load_sweep(write_sweep(tmp_path, GRID.replace("LEVELS", "2"), "s.toml"))
    with pytest.raises(ValueError, match=r"makes a design of 8,388,608 points"):
        salib_unit_sample(sweep, "sobol", 2**20)
