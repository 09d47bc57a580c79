"""Latency of the live explorer: from a slider's release to the update callback's answer, for
an ensemble of ``--replicates`` (default 1,000) against an unchanged baseline, after warm-up.

Run: ``python benchmarks/bench_explorer.py [--replicates 1000] [--changes 5]
[--scenario scenarios/la_hosted.toml] [--restarts]``. Each change moves one slider to a value
not seen before (so its ensemble is run, not recalled) and times, end to end on the server, the
callback the page calls (``sim.explorer.render``: scenario file, ensemble, tables, figures,
scorecard and paired table) plus the JSON encoding Dash sends back; the browser's drawing is
not included. Prints each change, then the median and the worst, split into simulation and the
rest, the CPU time the callback used (on a busy machine, about what it takes on an idle core),
and the machine's load average (the machines are shared: compare runs made together).
``--restarts`` also starts two fresh processes one after the other and prints how long each
takes to load the model: the second loads numba's on-disk cache (``cache=True`` in
sim/model/_kernels.py) instead of compiling.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import plotly.utils

from sim.explorer import Explorer, base_values, render

ROOT = Path(__file__).resolve().parents[1]
LOAD = ("import time; t = time.perf_counter(); from pathlib import Path; "
        "from sim.explorer import Explorer, warm_up; "
        "e = Explorer([Path({path!r})], 20); warm_up(e); print(time.perf_counter() - t)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "la_hosted.toml"))
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--restarts", action="store_true")
    args = parser.parse_args()

    if args.restarts:
        for attempt in (1, 2):
            out = subprocess.run([sys.executable, "-c", LOAD.format(path=args.scenario)],
                                 capture_output=True, text=True, check=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
            print(f"fresh process {attempt}: model loaded and first screens run in "
                  f"{float(out.stdout.strip().splitlines()[-1]):.1f} s")

    name = args.scenario
    explorer = Explorer([Path(name)], args.replicates)
    values = base_values(explorer.scenario(Path(name)))
    baseline = {"file": name, "values": None}
    t0 = time.perf_counter()
    render(explorer, name, values, baseline)  # warm-up: compiles or loads the kernels
    print(f"warm-up (model load and the baseline's ensemble): {time.perf_counter() - t0:.1f} s")
    totals, simulations, cpus = [], [], []
    for i in range(args.changes):
        changed = {**values, "wtp_median": values["wtp_median"] + 250 * (i + 1)}
        t0, c0 = time.perf_counter(), time.process_time()
        outputs = render(explorer, name, changed, baseline)
        json.dumps(outputs, cls=plotly.utils.PlotlyJSONEncoder)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        cpus.append(cpu)
        totals.append(total)
        simulations.append(_simulated(outputs))
        print(f"change {i + 1}: {total:.3f} s end to end ({simulations[-1]:.3f} s simulating "
              f"{args.replicates:,} replicates); {cpu:.3f} s of CPU")
    rest = [t - s for t, s in zip(totals, simulations, strict=True)]
    t0, c0 = time.perf_counter(), time.process_time()
    json.dumps(render(explorer, name, changed, baseline), cls=plotly.utils.PlotlyJSONEncoder)
    print(f"the same change again (ensembles recalled, so only the rest): "
          f"{time.perf_counter() - t0:.3f} s, {time.process_time() - c0:.3f} s of CPU")
    print(f"median {statistics.median(totals):.3f} s, worst {max(totals):.3f} s "
          f"(simulation median {statistics.median(simulations):.3f} s, the rest "
          f"{statistics.median(rest):.3f} s); CPU time median {statistics.median(cpus):.3f} s "
          f"(what it takes on an idle core); load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores")


def _simulated(outputs: list[object]) -> float:
    """The simulation time the status line reports ("simulated in X s")."""
    status = str(outputs[7])
    return float(status.split("simulated in ")[1].split(" s")[0])


if __name__ == "__main__":
    main()
