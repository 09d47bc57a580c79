"""Throughput of the base scenario: replicate-months per second at several ensemble sizes, in
one process and on a local process pool (or a Dask LocalCluster).

Run: ``python benchmarks/bench_ensemble.py [--sizes 1 100 1000 10000] [--workers 1 2]
[--repeats 3] [--executor local|dask]``. Prints one line per size and worker count (best of the
repeats, so a busy machine shows its quietest moment) — a measurement, never a test assertion.
A size of one block (1,000 replicates or fewer) cannot be split, so it always runs in one
process. With ``local`` each run starts its own pool, as ``run --workers N`` does, so the times
include starting the workers; with ``dask`` one LocalCluster per worker count is started before
the clock and reused.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from sim.data import load_la_population
from sim.experiments import make_executor, resolve_workers, run_ensemble
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "base.toml"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000, 10000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1],
                        help="worker counts to measure (default: 1 and every core)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--executor", choices=["local", "dask"], default="local")
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    las = load_la_population()
    months = scenario.time.horizon_months
    run_ensemble(scenario, las, 10, seed=1)  # warm-up: imports, caches
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; scenario {scenario.meta.name}, {months} months; "
          f"{args.executor} executor; best of {args.repeats}; load average "
          f"{os.getloadavg()[0]:.1f} at start")
    print(f"{'replicates':>10} {'workers':>7} {'seconds':>9} {'replicate-months/s':>19} "
          f"{'ms/replicate':>13}")
    for size in args.sizes:
        for workers in dict.fromkeys(resolve_workers(w, [size]) for w in args.workers):
            best = float("inf")
            cluster = make_executor("dask", workers) if args.executor == "dask" else None
            for repeat in range(args.repeats):
                t0 = time.perf_counter()
                result = run_ensemble(scenario, las, size, seed=repeat, workers=workers,
                                      executor=cluster)
                best = min(best, time.perf_counter() - t0)
                del result  # freeing the result's memory is the caller's time, not the run's
            if cluster is not None:
                cluster.close()
            print(f"{size:>10,} {workers:>7} {best:>9.3f} {size * months / best:>19,.0f} "
                  f"{1000 * best / size:>13.3f}", flush=True)


if __name__ == "__main__":
    main()
