"""The explorer's warm pool of worker processes: the same numbers as one process and as `run`
with the same block size, a dead worker replaced, and no worker left when the app stops."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sim.experiments import run_ensemble
from sim.experiments.pool import EnsemblePool
from sim.explorer import Explorer, base_values
from sim.explorer.compute import CHART_PATTERNS
from tests.explorer.conftest import BLOCK_SIZE, LA_HOSTED, REPLICATES, ROOT, SEED


@pytest.fixture(scope="module")
def pooled() -> Iterator[Explorer]:
    """The conftest's explorer, but on a warm pool of two worker processes."""
    explorer = Explorer([LA_HOSTED], REPLICATES, SEED, workers=2, block_size=BLOCK_SIZE)
    explorer.start()
    try:
        yield explorer
    finally:
        explorer.close()


def _workers(pool: EnsemblePool) -> list[int]:
    pids = pool.pids
    assert pids, "the pool has no workers"
    return pids


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == [k for k in b if k in a]
    for name, values in a.items():
        assert np.array_equal(values, b[name], equal_nan=True), name


def test_two_workers_give_the_numbers_of_one_process(pooled: Explorer, explorer: Explorer,
                                                     ) -> None:
    """Two workers and one process, blocks of the same size: every KPI and chart metric equal
    to the bit, and equal to run_ensemble with that block size; the workers send back only
    the chart metrics, unless every metric is asked for."""
    scenario = pooled.scenario(LA_HOSTED)
    values = {**base_values(scenario), "wtp_median": 6_500}
    name = str(LA_HOSTED)
    two = pooled.screen(name, values, (name, None)).results.ensembles[1]
    one = explorer.screen(name, values, (name, None)).results.ensembles[1]
    reference = run_ensemble(two.scenario, pooled.pool._context.las, REPLICATES, SEED,
                             BLOCK_SIZE)
    _equal(two.kpis, one.kpis)
    _equal(two.kpis, reference.kpis)
    _equal(two.metrics, reference.metrics)
    assert "reserves_gbp" in two.metrics and "income_grant_gbp" in two.metrics
    assert "leavers" not in two.metrics and len(two.metrics) < 40
    assert [e.kind for e in two.events] == [e.kind for e in reference.events]
    full = pooled.pool.run(two.scenario, REPLICATES, SEED)
    _equal(full.metrics, reference.metrics)
    assert list(full.metrics) == list(reference.metrics)


def test_a_dead_worker_is_replaced_and_said(pooled: Explorer) -> None:
    """A worker killed (SIGKILL) between changes: the next change restarts the pool, gives the
    same numbers as before, and its status says so; the change after it says nothing."""
    name = str(LA_HOSTED)
    values = {**base_values(pooled.scenario(LA_HOSTED)), "turnover": 0.3}
    before = pooled.pool.run(pooled.prepare(name, values)[0], REPLICATES, SEED, CHART_PATTERNS)
    os.kill(_workers(pooled.pool)[0], signal.SIGKILL)
    time.sleep(0.5)
    screen = pooled.screen(name, values, (name, {**values, "turnover": 0.31}))
    assert "worker process died" in screen.notice and pooled.pool.restarts == 1
    _equal(screen.results.ensembles[1].kpis, before.kpis)
    assert len(set(_workers(pooled.pool))) == 2
    again = pooled.screen(name, {**values, "turnover": 0.32}, (name, None))
    assert again.notice == ""


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(p) for p in text}
    return found


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs Linux's /proc/PID/task/TID/children")
def test_ctrl_c_stops_the_app_and_its_workers() -> None:
    """`explore` says it starts its workers, serves, and on Ctrl-C (SIGINT) exits and leaves
    no worker process behind."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "explore", str(LA_HOSTED),
                             "--port", "0", "-n", "20", "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    guard = threading.Timer(600, proc.kill)  # never hang the suite on a stuck start
    guard.start()
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Explorer at http://127.0.0.1:" in line:
                break
        text = "".join(lines)
        assert re.search(r"Starting 2 worker processes, each loading the model", text), text
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists()
                                                  and "Z" not in _state(p) for p in workers):
            time.sleep(0.2)
        left = [p for p in workers if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]
        assert not left, left
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
