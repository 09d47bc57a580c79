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
BLOCK_SIZE = 15
"""Small blocks (the app's are 500), so the tests' 40 replicates are three blocks, as 1,000
replicates are two in the app: the screen must equal a run with the same block size."""


@pytest.fixture(scope="session")
def explorer() -> Explorer:
    """An explorer of three shipped scenarios, 40 replicates in blocks of 15, seed 11, in this
    process."""
    return Explorer([LA_HOSTED, ADAPTIVE, NO_BANDS], REPLICATES, SEED, block_size=BLOCK_SIZE)
