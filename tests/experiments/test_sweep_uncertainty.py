"""Sweeps with calibrated parameter uncertainty (--parameter-uncertainty)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sweep_helpers import ROOT, assert_tables_equal, read_table, write_sweep

from sim.data import LAPopulation
from sim.experiments.executors import LocalExecutor
from sim.experiments.sweep import SweepError, run_sweep
from sim.experiments.sweepfile import load_sweep
from sim.experiments.uncertainty import load_parameter_distribution

FIT = ROOT / "calibration" / "fitted" / "recommended"


def test_drawn_parameters_change_results_and_stay_deterministic(
        tmp_path: Path, las: LAPopulation) -> None:
    """Drawing the calibrated q and resignation hazard changes the KPIs; the table is the same
    with one worker and one point per chunk as with two workers and three points per chunk."""
    sweep = load_sweep(write_sweep(tmp_path))
    dists = [load_parameter_distribution(FIT)]
    plain = run_sweep(sweep, tmp_path / "plain", las=las)
    drawn = run_sweep(sweep, tmp_path / "a", chunk_size=1, las=las, uncertainty=dists)
    with LocalExecutor(2) as pool:
        again = run_sweep(sweep, tmp_path / "b", executor=pool, chunk_size=3, las=las,
                          uncertainty=dists)
    assert_tables_equal(read_table(drawn.results), read_table(again.results))
    a = pq.read_table(plain.results).to_pandas()
    b = pq.read_table(drawn.results).to_pandas()
    assert not np.array_equal(a["min_reserves_gbp"].to_numpy(), b["min_reserves_gbp"].to_numpy())


def test_a_swept_parameter_cannot_also_be_drawn(tmp_path: Path, las: LAPopulation) -> None:
    text = write_sweep(tmp_path).read_text().replace(
        'path = "finance.subscription_gbp_per_year"', 'path = "uptake.q_per_year"').replace(
        "low = 2000\nmode = 7500\nhigh = 15000", "low = 0.2\nmode = 0.3\nhigh = 0.5")
    sweep = load_sweep(write_sweep(tmp_path, text, "clash.toml"))
    with pytest.raises(SweepError, match="uptake.q_per_year"):
        run_sweep(sweep, tmp_path / "c", las=las,
                  uncertainty=[load_parameter_distribution(FIT)])


def test_a_swept_median_cannot_also_be_drawn_as_a_market_ceiling(tmp_path: Path,
                                                                 las: LAPopulation) -> None:
    """A drawn market ceiling sets market.wtp_median_gbp_per_year (docs/calibration.md §7)."""
    text = write_sweep(tmp_path).read_text().replace(
        'path = "finance.subscription_gbp_per_year"',
        'path = "market.wtp_median_gbp_per_year"')
    sweep = load_sweep(write_sweep(tmp_path, text, "clash.toml"))
    with pytest.raises(SweepError, match="market.wtp_median_gbp_per_year"):
        run_sweep(sweep, tmp_path / "c", las=las, uncertainty=[load_parameter_distribution(
            ROOT / "calibration" / "fitted" / "market_ceiling")])
