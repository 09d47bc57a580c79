"""Fixtures for the outputs tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import load_la_population, load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def las():
    """The 153 LAs from the package data."""
    return load_la_population()


@pytest.fixture(scope="session")
def base_scenario():
    """scenarios/base.toml, validated."""
    return load_scenario(ROOT / "scenarios" / "base.toml")
