"""Read the 153 LAs and their statistical neighbours from the package data.

Sources are in ``sim/data/SOURCES.md``. The result is a :class:`sim.model.LAPopulation` of
plain arrays; the model never reads files itself.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources

import numpy as np

from sim.model.las import OFSTED_GRADES, REGION_NAMES, LAPopulation

__all__ = ["load_la_population"]


def _read_csv(name: str) -> list[dict[str, str]]:
    with resources.files("sim").joinpath("data", name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _ofsted(row: dict[str, str]) -> str:
    grade = row["ofsted_rating"].strip()
    if grade:
        return grade
    # Brent and Somerset: the 2026 grade was not parsed; the note gives the previous one.
    match = re.search(r"previous inspection overall = ([A-Za-z ]+?) \(", row["ofsted_note"])
    if match:
        return match.group(1).strip()
    raise ValueError(f"la_reference.csv: {row['la_name']} has no Ofsted grade and no previous one")


@lru_cache(maxsize=1)
def load_la_population() -> LAPopulation:
    """The 153 English LAs with children's services responsibilities (ONS/DfE/Ofsted data)."""
    rows = _read_csv("la_reference.csv")
    codes = np.array([int(r["la_code"]) for r in rows])
    regions = sorted({r["region_name"] for r in rows})
    if tuple(regions) != REGION_NAMES:
        raise ValueError(f"la_reference.csv: regions {regions} are not the nine English regions "
                         f"{list(REGION_NAMES)}")
    turnover = np.array(
        [float(r["sw_turnover_rate_fte_2025"]) / 100 if r["sw_turnover_rate_fte_2025"] else np.nan
         for r in rows]
    )
    turnover = np.where(np.isnan(turnover), np.nanmean(turnover), turnover)
    cla_rate = np.array([float(r["cla_rate_per_10k_2025"]) if r["cla_rate_per_10k_2025"] else np.nan
                         for r in rows])
    cla_rate = np.where(np.isnan(cla_rate), np.nanmedian(cla_rate), cla_rate)
    # Percentile rank in [0, 1] (ties share the mean rank): robust to the long right tail.
    order = cla_rate.argsort().argsort().astype(float)
    ranks = np.array([order[cla_rate == v].mean() for v in cla_rate])
    budget_pressure = ranks / max(len(rows) - 1, 1)
    index = {code: i for i, code in enumerate(codes)}
    neighbours = np.full((len(rows), 10), -1, dtype=np.int64)
    for row in _read_csv("dfe_statistical_neighbours_2025.csv"):
        i = index[int(row["old_la_code"])]
        neighbours[i] = [index[int(row[f"SN_{k}"])] for k in range(1, 11)]
    if (neighbours < 0).any():
        raise ValueError("dfe_statistical_neighbours_2025.csv does not cover every LA")
    return LAPopulation(
        names=tuple(r["la_name"] for r in rows),
        codes=codes,
        region=np.array([regions.index(r["region_name"]) for r in rows]),
        region_names=tuple(regions),
        ofsted=np.array([OFSTED_GRADES.index(_ofsted(r)) for r in rows]),
        child_population=np.array([int(r["child_population_0_17"]) for r in rows]),
        sw_turnover_rate_per_year=turnover,
        statistical_neighbours=neighbours,
        budget_pressure=budget_pressure,
    )
