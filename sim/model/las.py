"""The local authorities: their fixed attributes and the engagement-ladder states."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LAPopulation", "LADDER_STATES", "OFSTED_GRADES",
           "UNAWARE", "AWARE", "EVALUATING", "MEMBER", "LAPSED"]

OFSTED_GRADES = ("Outstanding", "Good", "Requires improvement", "Inadequate")
"""Ofsted ILACS overall grades, best first (index = code in :attr:`LAPopulation.ofsted`)."""

UNAWARE, AWARE, EVALUATING, MEMBER, LAPSED = range(5)
LADDER_STATES = ("unaware", "aware", "evaluating", "member", "lapsed")
"""Ladder states by code: each LA is in exactly one in every month of every replicate."""


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
    """

    names: tuple[str, ...]
    codes: np.ndarray
    region: np.ndarray
    region_names: tuple[str, ...]
    ofsted: np.ndarray
    child_population: np.ndarray
    sw_turnover_rate_per_year: np.ndarray
    statistical_neighbours: np.ndarray
    region_onehot: np.ndarray = field(init=False, repr=False)
    region_size: np.ndarray = field(init=False, repr=False)
    region_mean_weights: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        onehot = np.zeros((len(self.names), len(self.region_names)))
        onehot[np.arange(len(self.names)), self.region] = 1.0
        size = onehot.sum(axis=0)
        object.__setattr__(self, "region_onehot", onehot)
        object.__setattr__(self, "region_size", size)
        # float32 is exact for the 0/1 counts it multiplies and halves the matmul cost.
        object.__setattr__(self, "region_mean_weights", (onehot / size).astype(np.float32))

    @property
    def count(self) -> int:
        """Number of LAs."""
        return len(self.names)

    @property
    def low_rated(self) -> np.ndarray:
        """bool[N]: rated requires improvement or inadequate."""
        return self.ofsted >= OFSTED_GRADES.index("Requires improvement")
