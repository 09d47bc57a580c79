"""Latency of the live explorer: from a slider's release to the update callback's answer, for
an ensemble of ``--replicates`` (default 1,000) against an unchanged baseline, after warm-up.

Run: ``python benchmarks/bench_explorer.py [--replicates 1000] [--changes 5] [--workers 2]
[--scenario scenarios/la_hosted.toml] [--restarts]``. The explorer runs as the app does: its
ensembles on a warm pool of ``--workers`` processes (1: in this process), in random-stream
blocks of 500. Each change moves one slider to a value not seen before (so its ensemble is run,
not recalled) and times, end to end on the server, the callback the page calls
(``sim.explorer.render``: scenario file, ensemble, tables, figures, scorecard and paired table)
plus the JSON encoding Dash sends back; the browser's drawing is not included. Prints each
change, then the median and the worst, split into simulation and the rest, the CPU time the
callback used in this process and in each worker, what that makes on idle cores (this
process's CPU plus the busiest worker's: on a shared machine the wall clock says more about
the other jobs), and the machine's load average (the machines are shared: compare runs made
together). ``--restarts`` also starts two fresh processes one after the other and prints how
long each takes to start its workers and load the model: the second loads numba's on-disk
cache (``cache=True`` in sim/model/_kernels.py) instead of compiling.
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
        "e = Explorer([Path({path!r})], 20, workers={workers}); warm_up(e); e.close(); "
        "print(time.perf_counter() - t)")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux's /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "la_hosted.toml"))
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--restarts", action="store_true")
    args = parser.parse_args()

    if args.restarts:
        for attempt in (1, 2):
            out = subprocess.run([sys.executable, "-c",
                                  LOAD.format(path=args.scenario, workers=args.workers)],
                                 capture_output=True, text=True, check=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
            print(f"fresh process {attempt}: workers started, model loaded and first screen "
                  f"run in {float(out.stdout.strip().splitlines()[-1]):.1f} s")

    name = args.scenario
    explorer = Explorer([Path(name)], args.replicates, workers=args.workers)
    values = base_values(explorer.scenario(Path(name)))
    baseline = {"file": name, "values": None}
    t0 = time.perf_counter()
    explorer.start()
    render(explorer, name, values, baseline)  # warm-up: the baseline's ensemble
    print(f"warm-up ({args.workers} worker(s) started, model loaded, the baseline's ensemble): "
          f"{time.perf_counter() - t0:.1f} s")
    totals, simulations, cpus, worker_cpus, idle = [], [], [], [], []
    pids = explorer.pool.pids
    for i in range(args.changes):
        changed = {**values, "wtp_median": values["wtp_median"] + 250 * (i + 1)}
        w0 = [_cpu_seconds(p) for p in pids]
        t0, c0 = time.perf_counter(), time.process_time()
        outputs = render(explorer, name, changed, baseline)
        json.dumps(outputs, cls=plotly.utils.PlotlyJSONEncoder)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        used = [_cpu_seconds(p) - w for p, w in zip(pids, w0, strict=True)]
        cpus.append(cpu)
        worker_cpus.append(sum(used))
        # On idle cores the change takes about this process's CPU time plus the busiest
        # worker's (the workers run at once while this process waits for them).
        idle.append(cpu + max(used, default=0.0))
        totals.append(total)
        simulations.append(_simulated(outputs))
        print(f"change {i + 1}: {total:.3f} s end to end ({simulations[-1]:.3f} s simulating "
              f"{args.replicates:,} replicates); CPU {cpu:.3f} s here, "
              f"{' + '.join(f'{u:.2f}' for u in used) or '0'} s in the workers")
    rest = [t - s for t, s in zip(totals, simulations, strict=True)]
    t0, c0 = time.perf_counter(), time.process_time()
    json.dumps(render(explorer, name, changed, baseline), cls=plotly.utils.PlotlyJSONEncoder)
    print(f"the same change again (ensembles recalled, so only the rest): "
          f"{time.perf_counter() - t0:.3f} s, {time.process_time() - c0:.3f} s of CPU")
    explorer.close()
    print(f"median {statistics.median(totals):.3f} s, worst {max(totals):.3f} s "
          f"(simulation median {statistics.median(simulations):.3f} s, the rest "
          f"{statistics.median(rest):.3f} s); CPU time median {statistics.median(cpus):.3f} s "
          f"here and {statistics.median(worker_cpus):.2f} s in {len(pids)} worker(s); on idle "
          f"cores about {statistics.median(idle):.2f} s (median of this process's CPU plus "
          f"the busiest worker's); load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores")


def _simulated(outputs: list[object]) -> float:
    """The simulation time the status line reports ("simulated in X s")."""
    status = str(outputs[7])
    return float(status.split("simulated in ")[1].split(" s")[0])


if __name__ == "__main__":
    main()
