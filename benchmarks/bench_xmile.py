"""Runs per second of PySD on the XMILE export of a scenario's aggregate core against ours
(sim.model.meanfield) on the same structure and constants, in one run (docs/structure.md).

    python benchmarks/bench_xmile.py [SCENARIO] [--runs N]

Each side runs the whole horizon from the start ``--runs`` times after one warm-up run;
PySD's model is read (translated to Python) once, outside the timing, and the time it took is
printed apart. The first columns of both runs are compared, so the two sides are seen to do
the same work.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from sim import api
from sim.data import load_la_population
from sim.model import compile_parameters
from sim.model.meanfield import STOCKS, mean_field_parameters, simulate_mean_field
from sim.model.xmile import xmile_text

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "base.toml"))
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    import pysd

    scenario = api.load_scenario(args.scenario)
    mf = mean_field_parameters(compile_parameters(scenario, load_la_population(), 1))
    horizon = scenario.time.horizon_months
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.xmile"
        path.write_text(xmile_text(mf, horizon), encoding="utf-8")
        start = time.perf_counter()
        model = pysd.read_xmile(str(path))
        read_s = time.perf_counter() - start
        columns = list(STOCKS)
        model.run(return_columns=columns)  # warm-up
        start = time.perf_counter()
        for _ in range(args.runs):
            table = model.run(return_columns=columns)
        pysd_s = (time.perf_counter() - start) / args.runs
    simulate_mean_field(mf, horizon)  # warm-up
    start = time.perf_counter()
    for _ in range(args.runs):
        ours = simulate_mean_field(mf, horizon)
    ours_s = (time.perf_counter() - start) / args.runs
    gap = max(float(np.max(np.abs(table[s].to_numpy()[1:] - ours[s])
                           / np.maximum(1.0, np.abs(ours[s])))) for s in STOCKS)
    print(f"scenario {scenario.meta.name}, {horizon} months, {len(STOCKS)} stocks, "
          f"{args.runs} runs each (largest relative gap {gap:.1e})")
    print(f"PySD {pysd.__version__} on the XMILE export: {1 / pysd_s:8.1f} runs/s "
          f"({pysd_s * 1e3:.2f} ms a run; reading the file {read_s:.2f} s once)")
    print(f"coe-sim mean-field (numpy, sequential): {1 / ours_s:8.1f} runs/s "
          f"({ours_s * 1e3:.2f} ms a run)")
    print(f"ratio ours / PySD: {pysd_s / ours_s:.1f}×")


if __name__ == "__main__":
    main()
