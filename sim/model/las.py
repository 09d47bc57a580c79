"""The local authorities: their fixed attributes and the engagement-ladder states."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LAPopulation", "LADDER_STATES", "OFSTED_GRADES", "MEMBER_STATES", "REGION_NAMES",
           "is_member", "region_slug",
           "UNAWARE", "AWARE", "EVALUATING", "MEMBER", "CONTRIBUTOR", "CHAMPION", "LAPSED",
           "MERGED"]

OFSTED_GRADES = ("Outstanding", "Good", "Requires improvement", "Inadequate")
"""Ofsted ILACS overall grades, best first (index = code in :attr:`LAPopulation.ofsted`)."""

UNAWARE, AWARE, EVALUATING, MEMBER, CONTRIBUTOR, CHAMPION, LAPSED, MERGED = range(8)
LADDER_STATES = ("unaware", "aware", "evaluating", "member", "contributor", "champion", "lapsed",
                 "merged")
"""Ladder states by code: each LA is in exactly one in every month of every replicate.
``merged`` holds LAs absorbed into another by local government reorganisation: they have left
the population, so the live LA count is N minus the merged ones."""

REGION_NAMES = ("East Midlands", "East of England", "London", "North East", "North West",
                "South East", "South West", "West Midlands", "Yorkshire and The Humber")
"""The nine English regions (ONS), in the order of :attr:`LAPopulation.region` codes."""


def region_slug(name: str) -> str:
    """A region's name as a metric-name fragment, e.g. ``yorkshire_and_the_humber``."""
    return name.lower().replace(" ", "_")


MEMBER_STATES = (MEMBER, CONTRIBUTOR, CHAMPION)
"""States in which an LA is a (paying, when subscriptions apply) member."""


def is_member(ladder: np.ndarray) -> np.ndarray:
    """bool mask of LAs that are members (member, contributor or champion)."""
    return (ladder >= MEMBER) & (ladder <= CHAMPION)


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
