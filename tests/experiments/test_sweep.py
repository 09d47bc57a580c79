"""Sweeps: the result table is the same to the bit whatever the workers, chunk size, executor
or interruption; resume runs only missing chunks; common random numbers match `run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sweep_helpers import ROOT, SMALL, assert_tables_equal, read_table, write_sweep

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.experiments.executors import DaskExecutor, LocalExecutor, SerialExecutor
from sim.experiments.store import chunk_path, done_chunks, read_manifest
from sim.experiments.sweep import SweepError, fiscal_year_columns, run_sweep
from sim.experiments.sweepfile import load_sweep


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweepfile"))


@pytest.fixture(scope="module")
def reference(sweep_file: Path, tmp_path_factory: pytest.TempPathFactory,
              las: LAPopulation) -> Path:
    """One worker (in this process), one design point per chunk."""
    run = run_sweep(load_sweep(sweep_file), tmp_path_factory.mktemp("ref"),
                    executor=SerialExecutor(), chunk_size=1, las=las)
    return run.results


def test_result_table_has_one_row_per_point_and_replicate(reference: Path) -> None:
    """Rows point-major; columns: point, replicate, parameters, KPIs, metrics by fiscal year."""
    table = pq.read_table(reference).to_pandas()
    assert len(table) == 7 * 3
    assert table["point"].tolist() == [p for p in range(7) for _ in range(3)]
    assert table["replicate"].tolist() == [0, 1, 2] * 7
    assert list(table.columns[:5]) == ["point", "replicate", "finance.grants[0].end_month",
                                       "finance.subscription_gbp_per_year", "portfolio.policy"]
    assert "reserves_gbp_fy2028_29" in table.columns
    assert "min_reserves_gbp" in table.columns
    folder = reference.parent
    assert {p.name for p in folder.iterdir()} >= {"manifest.json", "design.parquet", "chunks",
                                                 "results.parquet", "sweep.toml",
                                                 "base.resolved.toml"}
    manifest = read_manifest(folder)
    assert manifest["runs"] == 21 and manifest["chunks"] == 7
    assert manifest["fiscal_years"] == ["fy2026_27", "fy2027_28", "fy2028_29"]


@pytest.mark.parametrize(("workers", "chunk_size"), [(1, 3), (2, 2), (2, 5)])
def test_same_table_whatever_the_workers_and_chunk_size(
        workers: int, chunk_size: int, sweep_file: Path, reference: Path, tmp_path: Path,
        las: LAPopulation) -> None:
    """1 or 2 worker processes, chunks of 1, 2, 3 or 5 points: the same table, to the bit."""
    executor = SerialExecutor() if workers == 1 else LocalExecutor(workers)
    with executor:
        run = run_sweep(load_sweep(sweep_file), tmp_path, executor=executor,
                        chunk_size=chunk_size, las=las)
    assert run.chunks == -(-7 // chunk_size)
    assert_tables_equal(read_table(reference), read_table(run.results))


def test_dask_local_cluster_gives_the_same_table(sweep_file: Path, reference: Path,
                                                 tmp_path: Path) -> None:
    """A Dask LocalCluster of two single-threaded processes reproduces the local table."""
    pytest.importorskip("dask.distributed")
    with DaskExecutor(workers=2) as executor:
        assert executor.workers == 2
        run = run_sweep(load_sweep(sweep_file), tmp_path, executor=executor, chunk_size=2)
    assert_tables_equal(read_table(reference), read_table(run.results))


def test_resume_runs_only_the_missing_chunks(sweep_file: Path, reference: Path, tmp_path: Path,
                                             las: LAPopulation) -> None:
    """Delete chunks 1 and 4 and the combined table: --resume reruns exactly those two."""
    sweep = load_sweep(sweep_file)
    first = run_sweep(sweep, tmp_path, chunk_size=1, las=las)
    for index in (1, 4):
        chunk_path(first.folder, index).unlink()
    first.results.unlink()
    (first.folder / "chunks" / ".part-00001.parquet.abc.tmp").write_bytes(b"half a file")
    again = run_sweep(sweep, tmp_path, chunk_size=None, resume=True, las=las)
    assert again.folder == first.folder and again.resumed
    assert again.chunks_run == 2
    assert not list((first.folder / "chunks").glob(".*.tmp"))
    assert_tables_equal(read_table(reference), read_table(again.results))
    done = run_sweep(sweep, tmp_path, resume=True, las=las)
    assert done.chunks_run == 0  # nothing left to do


def test_resume_refuses_a_changed_sweep_or_chunk_size(sweep_file: Path, tmp_path: Path,
                                                      las: LAPopulation) -> None:
    """A sweep file edited since the folder was started, or another chunk size, is refused."""
    run = run_sweep(load_sweep(sweep_file), tmp_path, chunk_size=2, las=las)
    chunk_path(run.folder, 0).unlink()
    with pytest.raises(SweepError, match="--chunk-size 3"):
        run_sweep(load_sweep(sweep_file), tmp_path, chunk_size=3, resume=True, las=las)
    edited = write_sweep(tmp_path, SMALL.replace("replicates = 3", "replicates = 4"))
    with pytest.raises(SweepError, match="has changed since it started"):
        run_sweep(load_sweep(edited), tmp_path, resume=True, las=las)


def _handle_ctrl_c() -> None:
    """In the child, before it starts: Ctrl-C's default action, so that Python turns it into
    KeyboardInterrupt even when this test runs with SIGINT ignored (as a background job of a
    shell does), which the child would otherwise inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sweep_process(sweep: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "sweep", str(sweep), "--out", str(out),
         "--no-progress", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=_handle_ctrl_c)


def _wait_for_chunks(out: Path, count: int, process: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        folders = list(out.glob("sweep-long-*"))
        if folders and len(done_chunks(folders[0])) >= count:
            return folders[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)
    raise AssertionError("the sweep wrote no chunks in time")


LONG = SMALL.replace('name = "small"', 'name = "long"').replace("samples = 7", "samples = 24") \
    .replace('set = ["time.horizon_months=36"]', 'set = ["time.horizon_months=60"]')


@pytest.mark.parametrize("how", ["kill", "ctrl-c"])
def test_a_sweep_stopped_part_way_resumes_to_the_same_table(how: str, tmp_path: Path,
                                                            las: LAPopulation) -> None:
    """SIGKILL (a crash) or SIGINT (Ctrl-C, exit 130) part-way, then --resume: the same table
    as an uninterrupted sweep."""
    sweep_file = write_sweep(tmp_path, LONG, "long.toml")
    out = tmp_path / "out"
    process = _sweep_process(sweep_file, out, "--workers", "1", "--chunk-size", "1")
    folder = _wait_for_chunks(out, 3, process)
    os.killpg(process.pid, signal.SIGKILL if how == "kill" else signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if how == "kill":
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 130, stderr.decode()
        assert "interrupted:" in stderr.decode() and "--resume" in stderr.decode()
    assert not (folder / "results.parquet").exists()
    left = 24 - len(done_chunks(folder))
    assert left > 0
    resumed = _sweep_process(sweep_file, out, "--resume", "--workers", "2")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr.decode()
    assert f"{left} of 24 chunks run" in stdout.decode()
    whole = run_sweep(load_sweep(sweep_file), tmp_path / "whole", chunk_size=7, las=las)
    assert_tables_equal(read_table(whole.results), read_table(folder / "results.parquet"))


def test_common_random_numbers_reproduce_run(tmp_path: Path, las: LAPopulation) -> None:
    """With common random numbers a point at the base values is exactly `run --seed` of the
    base scenario; without them, each point has streams of its own."""
    text = SMALL.replace("common_random_numbers = false", "common_random_numbers = true")
    text = text.replace("low = 12\nhigh = 30", "values = [36]").replace(
        'distribution = "triangular"\nlow = 2000\nmode = 7500\nhigh = 15000', "values = [7500.0]"
    ).replace('values = ["gall", "big_bang"]', 'values = ["gall"]').replace("samples = 7",
                                                                           "samples = 2")
    sweep = load_sweep(write_sweep(tmp_path, text))
    run = run_sweep(sweep, tmp_path, las=las)
    table = pq.read_table(run.results).to_pandas()
    assert sweep.base is not None
    plain = run_ensemble(sweep.base, las, 3, seed=99)
    for point in (0, 1):
        rows = table[table["point"] == point]
        for kpi in sweep.kpis:
            assert np.array_equal(rows[kpi].to_numpy(), plain.kpis[kpi], equal_nan=True), kpi
        for label, month in fiscal_year_columns("2026-04", 36):
            assert np.array_equal(rows[f"reserves_gbp_{label}"].to_numpy(),
                                  plain.metrics["reserves_gbp"][:, month])
    own = run_sweep(load_sweep(write_sweep(tmp_path, text.replace(
        "common_random_numbers = true", "common_random_numbers = false"), "own.toml")),
        tmp_path / "own", las=las)
    own_table = pq.read_table(own.results).to_pandas()
    # Members, not reserves: a grant paying eligible spend holds reserves at their opening value
    # for the whole 36 months, whatever the draws.
    a = own_table[own_table["point"] == 0]["members_y10"].to_numpy()
    b = own_table[own_table["point"] == 1]["members_y10"].to_numpy()
    assert not np.array_equal(a, b)


def test_fiscal_year_columns_follow_the_start_month() -> None:
    """Columns hold each March's month-end value, labelled by the year April–March."""
    assert fiscal_year_columns("2026-04", 36) == [("fy2026_27", 11), ("fy2027_28", 23),
                                                  ("fy2028_29", 35)]
    assert fiscal_year_columns("2026-01", 15) == [("fy2025_26", 2), ("fy2026_27", 14)]
    assert fiscal_year_columns("2026-04", 11) == []


def test_an_invalid_design_point_stops_the_sweep_with_its_values(tmp_path: Path,
                                                                 las: LAPopulation) -> None:
    """A combination the schema rejects names the point, its values and the rule."""
    text = SMALL.replace('path = "portfolio.policy"\nvalues = ["gall", "big_bang"]',
                         'path = "finance.grants[0].start_month"\nlow = 25\nhigh = 30')
    text = text.replace("low = 12\nhigh = 30", "low = 12\nhigh = 24")  # always before start
    with pytest.raises(SweepError, match=r"design point \d+ \(.*\) is not a valid scenario: "
                                         r"finance.grants\[0\].end_month must be after"):
        run_sweep(load_sweep(write_sweep(tmp_path, text)), tmp_path, las=las)
