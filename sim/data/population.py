"""The 153 local authorities with children's services: their fixed attributes, read from the
package data in this folder (sources and licences in ``sim/data/SOURCES.md``).

The lowest domain layer: the scenario schema and the model both use it, and it uses neither.
The model receives a :class:`LAPopulation` of plain arrays and never reads files itself.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["LAPopulation", "OFSTED_GRADES", "REGION_NAMES", "load_la_population", "region_slug"]

OFSTED_GRADES = ("Outstanding", "Good", "Requires improvement", "Inadequate")
"""Ofsted ILACS overall grades, best first (index = code in :attr:`LAPopulation.ofsted`)."""

REGION_NAMES = ("East Midlands", "East of England", "London", "North East", "North West",
                "South East", "South West", "West Midlands", "Yorkshire and The Humber")
"""The nine English regions (ONS), in the order of :attr:`LAPopulation.region` codes."""


def region_slug(name: str) -> str:
    """A region's name as a metric-name fragment, e.g. ``yorkshire_and_the_humber``."""
    return name.lower().replace(" ", "_")


@dataclass(frozen=True)
class LAPopulation:
    """Fixed attributes of the N local authorities (arrays of length N).

    Attributes
    ----------
    names, codes : LA names and old 3-digit DfE codes.
    region : int[N], index into ``region_names``.
    ofsted : int[N], index into :data:`OFSTED_GRADES`.
    child_population : int[N], children aged 0–17 (ONS mid-2024).
    sw_turnover_rate_per_year : float[N], 2025 children's social-worker turnover (share/year).
    statistical_neighbours : int[N, 10], indices of each LA's DfE statistical neighbours.
    budget_pressure : float[N] in [0, 1], percentile rank of the LA's rate of children looked
        after per 10,000 (DfE, 31 March 2025), a proxy for pressure on its budget.
    """

    names: tuple[str, ...]
    codes: np.ndarray
    region: np.ndarray
    region_names: tuple[str, ...]
    ofsted: np.ndarray
    child_population: np.ndarray
    sw_turnover_rate_per_year: np.ndarray
    statistical_neighbours: np.ndarray
    budget_pressure: np.ndarray
    region_onehot: np.ndarray = field(init=False, repr=False)
    region_size: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        onehot = np.zeros((len(self.names), len(self.region_names)))
        onehot[np.arange(len(self.names)), self.region] = 1.0
        size = onehot.sum(axis=0)
        object.__setattr__(self, "region_onehot", onehot)
        object.__setattr__(self, "region_size", size)

    @property
    def count(self) -> int:
        """Number of LAs."""
        return len(self.names)

    @property
    def low_rated(self) -> np.ndarray:
        """bool[N]: rated requires improvement or inadequate."""
        return self.ofsted >= OFSTED_GRADES.index("Requires improvement")


def _read_csv(name: str) -> list[dict[str, str]]:
    with resources.files("sim.data").joinpath(name).open(encoding="utf-8") as handle:
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
