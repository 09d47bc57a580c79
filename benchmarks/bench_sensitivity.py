"""A 20-parameter Sobol' analysis at N = 1024: sampling, runs, Parquet, SALib indices (first,
total and second order with bootstrap intervals).

Run: ``python benchmarks/bench_sensitivity.py [--target g|model|both] [--samples 1024]
[--workers N]``.

* ``g``: the Sobol' G function of 20 inputs (``test_function = "sobol_g"``), N (2D + 2) =
  43,008 evaluations through exactly the sweep machinery (chunks, pool, Parquet, analysis):
  the cost of the machinery and of SALib.
* ``model``: the base scenario with the 20 parameters of ``benchmarks/sobol20.toml``, one
  replicate per point (43,008 ten-year runs at N = 1024). Use ``--samples 32`` for a quick
  figure (1,344 runs); the time scales with N.

Prints the wall time of each stage — a measurement, never a test assertion.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

G_SWEEP = """
name = "g20"
test_function = "sobol_g"
design = "random"
samples = 8
replicates = 1
seed = 1
""" + "".join(f'\n[[parameters]]\npath = "x{i}"\nlow = 0\nhigh = 1\n' for i in range(1, 21)) + """
[sensitivity]
samples = 1024
bootstrap = 100
"""


def measure(path: Path, samples: int, workers: int | None, out: Path) -> None:
    from sim.experiments.executors import make_executor
    from sim.experiments.sensitivity import (
        _outputs,
        _point_means,
        analyse,
        sensitivity_design,
    )
    from sim.experiments.sweep import run_design
    from sim.experiments.sweepfile import load_sweep

    sweep = load_sweep(path)
    t0 = time.perf_counter()
    design, unit = sensitivity_design(sweep, "sobol", samples)
    t1 = time.perf_counter()
    with make_executor("local", workers) as pool:
        run = run_design(sweep, design, out, kind="sensitivity-sobol", executor=pool)
        described = pool.describe()
    t2 = time.perf_counter()
    years = list(run.manifest.get("fiscal_years", []))
    means = _point_means(run.folder, [c for c, _, _ in _outputs(sweep, years)])
    indices, skipped = analyse(sweep, "sobol", unit, means, years)
    t3 = time.perf_counter()
    print(f"{sweep.name:>8} {len(sweep.parameters):>6} {samples:>6} {len(design):>8,} "
          f"{t1 - t0:>8.2f} {t2 - t1:>8.1f} {t3 - t2:>9.1f} {t3 - t0:>8.1f}  "
          f"{len(indices):,} indices, {len(skipped)} outputs skipped; {described}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=["g", "model", "both"], default="g")
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'sweep':>8} {'params':>6} {'N':>6} {'points':>8} {'sample s':>8} {'runs s':>8} "
          f"{'analyse s':>9} {'total s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if args.target in ("g", "both"):
            g = out / "g20.toml"
            g.write_text(G_SWEEP, encoding="utf-8")
            measure(g, args.samples, args.workers, out)
        if args.target in ("model", "both"):
            measure(ROOT / "benchmarks" / "sobol20.toml", args.samples, args.workers, out)


if __name__ == "__main__":
    main()
