"""Local government reorganisation: LAs merge, and the LA count falls.

When a group of LAs merges, the successor (the first LA of the group) takes the most engaged
ladder state of the group and its most champions; the others move to ``merged`` and leave the
population for good. The successor keeps its own fixed attributes (region, Ofsted grade,
child population, budget pressure): a simplification documented in docs/model.md.
"""

from __future__ import annotations

import numpy as np

from sim.data import LAPopulation
from sim.model.las import (
    AWARE,
    CHAMPION,
    CONTRIBUTOR,
    EVALUATING,
    LAPSED,
    MEMBER,
    MERGED,
    UNAWARE,
)

__all__ = ["ENGAGEMENT_RANK", "merge_groups", "merge_las"]

ENGAGEMENT_RANK = np.zeros(MERGED + 1, dtype=np.int8)
"""How engaged each ladder state is, for choosing a merged LA's state (higher wins)."""
for _rank, _state in enumerate((MERGED, UNAWARE, LAPSED, AWARE, EVALUATING, MEMBER, CONTRIBUTOR,
                                CHAMPION)):
    ENGAGEMENT_RANK[_state] = _rank


def merge_groups(las: LAPopulation, merges: tuple[tuple[int, ...], ...]) -> list[np.ndarray]:
    """Merge groups as LA indices (successor first). Raises ValueError for an unknown code."""
    index = {int(code): i for i, code in enumerate(las.codes)}
    groups = []
    for group in merges:
        unknown = [code for code in group if code not in index]
        if unknown:
            raise ValueError(f"unknown LA code(s) {unknown} in a reorganisation")
        groups.append(np.array([index[code] for code in group]))
    return groups


def merge_las(ladder: np.ndarray, champions: np.ndarray, groups: list[np.ndarray]) -> None:
    """Apply the merges to every replicate at once, in place."""
    by_state = np.array([s for s in range(MERGED + 1)])
    best_state_for_rank = np.empty_like(ENGAGEMENT_RANK)
    best_state_for_rank[ENGAGEMENT_RANK] = by_state
    for group in groups:
        ranks = ENGAGEMENT_RANK[ladder[:, group]]  # [R, k]
        best = best_state_for_rank[ranks.max(axis=1)]
        successor, others = group[0], group[1:]
        ladder[:, successor] = best
        champions[:, successor] = np.where(
            (best >= MEMBER) & (best <= CHAMPION), np.maximum(champions[:, group].max(axis=1), 1), 0)
        ladder[:, others] = MERGED
        champions[:, others] = 0
