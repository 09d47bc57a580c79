"""Fixtures for the outputs tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.data import load_la_population
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def las():
    """The 153 LAs from the package data."""
    return load_la_population()


@pytest.fixture(scope="session")
def base_scenario():
    """scenarios/base.toml, validated."""
    return load_scenario(ROOT / "scenarios" / "base.toml")


HOSTS = [str(ROOT / "scenarios" / f"{h}.toml") for h in
         ("la_hosted", "government_hosted", "independent_company")]


def _only_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


@pytest.fixture(scope="session")
def compare_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real `compare --report` of the three hosting models (60 replicates, 10 years)."""
    from click.testing import CliRunner

    from sim.cli import main

    out = tmp_path_factory.mktemp("compare")
    result = CliRunner().invoke(main, ["compare", *HOSTS, "-n", "60", "--seed", "7", "--report",
                                       "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return _only_folder(out)


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real `run` of one scenario over 60 months, without --report (report added later
    by the tests of the `report` command)."""
    from click.testing import CliRunner

    from sim.cli import main

    out = tmp_path_factory.mktemp("run")
    result = CliRunner().invoke(main, ["run", HOSTS[2], "-n", "40", "--seed", "3", "--set",
                                       "time.horizon_months=60", "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return _only_folder(out)
