"""Fingerprint every number the model produces, to prove a refactor changed none of them.

Runs every shipped scenario (200 replicates, seed 7, one and two sub-steps a month) and one
scenario with calibrated parameter uncertainty through the Python API, and three sweeps
through the command line (the base sweep, whose design points share batches; a small one with
parameter uncertainty and one without common random numbers, which run their points one at a
time), and prints a sha256 of every metric, KPI and result column as JSON. Run it before and
after a change that must leave outputs unchanged to the bit, and compare:

    python tools/output_hashes.py > before.json
    ... change ...
    python tools/output_hashes.py --compare before.json

This is a development tool, not a test: it states no expected values, only sameness.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REPLICATES, SEED = 200, 7
SWEEPS = (
    ("sweep-base", ["scenarios/sweeps/base.toml"]),
    ("sweep-uncertain", ["{tmp}/uncertain.toml",
                         "--parameter-uncertainty", "calibration/fitted/recommended"]),
    ("sweep-independent-points", ["{tmp}/independent.toml"]),
)
SMALL_SWEEP = """
name = "{name}"
base = "{root}/scenarios/{base}.toml"
design = "lhs"
samples = 12
replicates = 30
seed = 11
common_random_numbers = {crn}
kpis = ["survival_prob_y10", "min_reserves_gbp", "members_y10", "breakeven_month"]

[[parameters]]
path = "finance.grants[0].end_month"
low = 24
high = 72

[[parameters]]
path = "finance.subscription_bands[1].price_gbp_per_year"
low = 3000
high = 12000
"""


def digest(values: Any) -> str:
    array = np.ascontiguousarray(np.asarray(values))
    return hashlib.sha256(array.dtype.str.encode() + str(array.shape).encode()
                          + array.tobytes()).hexdigest()


def ensemble(path: Path, substeps: int, uncertainty: bool) -> tuple[dict, dict]:
    """(metrics name → float[R, T], KPIs name → float[R]) of one scenario run."""
    import sim

    scenario = sim.load_scenario(path, [f"time.substeps_per_month={substeps}"])
    result = sim.run(scenario, replicates=REPLICATES, seed=SEED, workers=1,
                     parameter_uncertainty=[ROOT / "calibration/fitted/recommended"]
                     if uncertainty else ()).ensembles[0]
    return result.metrics, result.kpis


def ensembles() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    cases = [(p, s, False) for p in sorted((ROOT / "scenarios").glob("*.toml")) for s in (1, 2)]
    cases.append((ROOT / "scenarios" / "la_hosted.toml", 1, True))
    for path, substeps, uncertain in cases:
        metrics, kpis = ensemble(path, substeps, uncertain)
        key = f"{path.stem}/substeps={substeps}" + ("/uncertainty" if uncertain else "")
        out[key] = {**{f"metric:{k}": digest(v) for k, v in sorted(metrics.items())},
                    **{f"kpi:{k}": digest(v) for k, v in sorted(kpis.items())}}
        print(f"{key}: {len(metrics)} metrics, {len(kpis)} KPIs", file=sys.stderr)
    return out


def sweeps() -> dict[str, dict[str, str]]:
    import pyarrow.parquet as pq

    out: dict[str, dict[str, str]] = {}
    for key, args in SWEEPS:
        with tempfile.TemporaryDirectory() as tmp:
            for name, base, crn in (("uncertain", "la_hosted", "true"),
                                    ("independent", "independent_company", "false")):
                Path(tmp, f"{name}.toml").write_text(SMALL_SWEEP.format(
                    name=name, root=ROOT, base=base, crn=crn))
            subprocess.run([sys.executable, "run.py", "sweep",
                            *(a.format(tmp=tmp) for a in args), "--out", tmp],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            (table,) = list(Path(tmp).glob("*/results.parquet"))
            frame = pq.read_table(table)
            out[key] = {name: digest(frame.column(name).to_numpy()) for name in frame.column_names}
        print(f"{key}: {len(out[key])} columns", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="a JSON file printed by an earlier run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    hashes = {"ensembles": ensembles(), "sweeps": sweeps()}
    if args.compare is None:
        json.dump(hashes, sys.stdout, indent=1, sort_keys=True)
        print()
        return
    before = json.loads(args.compare.read_text())
    differences = [f"{group}/{case}/{name}"
                   for group in sorted(set(before) | set(hashes))
                   for case in sorted(set(before.get(group, {})) | set(hashes.get(group, {})))
                   for name in sorted(set(before.get(group, {}).get(case, {}))
                                      | set(hashes.get(group, {}).get(case, {})))
                   if before.get(group, {}).get(case, {}).get(name)
                   != hashes.get(group, {}).get(case, {}).get(name)]
    total = sum(len(v) for g in hashes.values() for v in g.values())
    if differences:
        print(f"{len(differences)} of {total} hashes differ:", *differences[:50], sep="\n  ")
        sys.exit(1)
    print(f"all {total} hashes equal")


if __name__ == "__main__":
    main()
