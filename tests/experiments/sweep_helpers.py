"""Small sweep files for the experiment tests (short horizons, few points: fast)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "scenarios" / "base.toml").as_posix()

SMALL = f"""
name = "small"
base = "{BASE}"
set = ["time.horizon_months=36"]
design = "lhs"
samples = 7
replicates = 3
seed = 99
common_random_numbers = false
kpis = ["survival_prob_y5", "min_reserves_gbp", "members_y10", "breakeven_month"]

[[parameters]]
path = "finance.grants[0].end_month"
label = "grant end month"
low = 12
high = 30

[[parameters]]
path = "finance.subscription_gbp_per_year"
distribution = "triangular"
low = 2000
mode = 7500
high = 15000

[[parameters]]
path = "portfolio.policy"
values = ["gall", "big_bang"]
"""


def write_sweep(folder: Path, text: str = SMALL, name: str = "small.toml") -> Path:
    """Write a sweep file into ``folder`` and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def read_table(path: Path) -> dict[str, object]:
    """A results table as {column: numpy array}, for bitwise comparisons."""
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def assert_tables_equal(a: dict[str, object], b: dict[str, object]) -> None:
    """Same columns in the same order, each equal to the bit (NaN equal to NaN)."""
    import numpy as np

    assert list(a) == list(b)
    for name in a:
        x, y = a[name], b[name]
        if np.asarray(x).dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
            assert np.array_equal(np.asarray(x).view(np.int64), np.asarray(y).view(np.int64)), name
        else:
            assert np.array_equal(x, y), name
