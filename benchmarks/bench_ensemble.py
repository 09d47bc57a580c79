"""Throughput of the base scenario: replicate-months per second at several ensemble sizes.

Run: ``python benchmarks/bench_ensemble.py [--sizes 1 100 1000 10000] [--repeats 3]``.
Prints one line per size (best of the repeats) — a measurement, never a test assertion.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from sim.experiments import run_ensemble
from sim.scenario import load_la_population, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "base.toml"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    las = load_la_population()
    months = scenario.time.horizon_months
    run_ensemble(scenario, las, 10, seed=1)  # warm-up: imports, caches
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; scenario {scenario.meta.name}, {months} months; "
          "one process")
    print(f"{'replicates':>10} {'seconds':>9} {'replicate-months/s':>19} {'ms/replicate':>13}")
    for size in args.sizes:
        best = float("inf")
        for repeat in range(args.repeats):
            t0 = time.perf_counter()
            run_ensemble(scenario, las, size, seed=repeat)
            best = min(best, time.perf_counter() - t0)
        print(f"{size:>10,} {best:>9.3f} {size * months / best:>19,.0f} {1000 * best / size:>13.3f}")


if __name__ == "__main__":
    main()
