"""Shared fixtures of the explorer tests: one small explorer over two shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.explorer import Explorer

ROOT = Path(__file__).resolve().parents[2]
LA_HOSTED = ROOT / "scenarios" / "la_hosted.toml"
ADAPTIVE = ROOT / "scenarios" / "policies" / "independent_company_adaptive.toml"
NO_BANDS = ROOT / "scenarios" / "government_hosted.toml"
REPLICATES = 40
SEED = 11


@pytest.fixture(scope="session")
def explorer() -> Explorer:
    """An explorer of three shipped scenarios, 40 replicates, seed 11."""
    return Explorer([LA_HOSTED, ADAPTIVE, NO_BANDS], REPLICATES, SEED)
