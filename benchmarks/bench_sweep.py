"""Sweeps at scale: wall time, runs per second and peak memory, for 10,000 and 100,000 runs.

Run: ``python benchmarks/bench_sweep.py [--runs 10000 100000] [--replicates 100]
[--workers N] [--executor serial|local|dask]``.

Each size runs in a fresh process (peak memory is a high-water mark) on the example sweep
``scenarios/sweeps/base.toml`` (five parameters, 120 months) with ``samples = runs /
replicates``. It prints the time, runs per second, and the peak resident memory of the parent
process and of the largest worker: flat memory means these do not grow with the run count,
because finished chunks go to disk at once and the final table is combined one chunk at a time.
A measurement, never a test assertion.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "scenarios" / "sweeps" / "base.toml"


def one(runs: int, replicates: int, workers: int | None, executor: str, out: Path) -> dict:
    """Run one sweep in this process; return its figures."""
    from sim.experiments.executors import make_executor
    from sim.experiments.sweep import run_sweep
    from sim.experiments.sweepfile import load_sweep

    text = SWEEP.read_text(encoding="utf-8")
    base = (ROOT / "scenarios" / "base.toml").as_posix()
    text = text.replace('base = "../base.toml"', f'base = "{base}"')
    text = text.replace("samples = 128", f"samples = {runs // replicates}")
    text = text.replace("replicates = 20 ", f"replicates = {replicates} ")
    path = out / "bench.toml"
    path.write_text(text, encoding="utf-8")
    sweep = load_sweep(path)
    assert sweep.spec.samples * sweep.spec.replicates == runs, "sweep file layout changed"
    t0 = time.perf_counter()
    with make_executor(executor, workers) as pool:
        run = run_sweep(sweep, out, executor=pool)
        described = pool.describe()
    seconds = time.perf_counter() - t0
    for child in multiprocessing.active_children():  # the pool's workers exit on their own:
        child.join()  # reap them, so that their peak memory counts in RUSAGE_CHILDREN
    kib = 1 if sys.platform != "darwin" else 1 / 1024
    return {"runs": runs, "points": run.points, "replicates": run.replicates,
            "chunks": run.chunks, "seconds": seconds, "runs_per_s": runs / seconds,
            "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib / 1024,
            "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib / 1024,
            "results_mb": (run.results.stat().st_size) / 2**20, "executor": described}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--executor", choices=["serial", "local", "dask"], default="local")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as out:
            print(json.dumps(one(args.runs[0], args.replicates, args.workers, args.executor,
                                 Path(out))))
        return
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; sweep {SWEEP.name} (5 parameters, 120 months), "
          f"{args.replicates} replicates per point; load average {os.getloadavg()[0]:.1f}")
    print(f"{'runs':>8} {'points':>7} {'chunks':>7} {'seconds':>8} {'runs/s':>8} "
          f"{'parent MB':>10} {'worker MB':>10} {'results MB':>11}  executor")
    for runs in args.runs:
        command = [sys.executable, __file__, "--one", "--runs", str(runs), "--replicates",
                   str(args.replicates), "--executor", args.executor]
        if args.workers:
            command += ["--workers", str(args.workers)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['runs']:>8,} {r['points']:>7,} {r['chunks']:>7,} {r['seconds']:>8.1f} "
              f"{r['runs_per_s']:>8,.0f} {r['parent_peak_mb']:>10.0f} {r['worker_peak_mb']:>10.0f} "
              f"{r['results_mb']:>11.1f}  {r['executor']}", flush=True)


if __name__ == "__main__":
    main()
