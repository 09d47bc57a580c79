"""Local government reorganisation: LAs merge, and the LA count falls.

When a group of LAs merges, the successor (the first LA of the group) takes the most engaged
ladder state of the group and its most champions; the others move to ``merged`` and leave the
population for good. The successor keeps its own fixed attributes (region, Ofsted grade,
child population, budget pressure): a simplification documented in docs/model.md §2.9. The
merge groups come from the compiled parameters (LA codes turned into indices there).
"""

from __future__ import annotations

import numpy as np

from sim.model.codes import Ladder

__all__ = ["ENGAGEMENT_RANK", "merge_las"]

ENGAGEMENT_RANK = np.zeros(len(Ladder), dtype=np.int8)
"""How engaged each ladder state is, for choosing a merged LA's state (higher wins)."""
for _rank, _state in enumerate((Ladder.MERGED, Ladder.UNAWARE, Ladder.LAPSED, Ladder.AWARE,
                                Ladder.EVALUATING, Ladder.MEMBER, Ladder.CONTRIBUTOR,
                                Ladder.CHAMPION)):
    ENGAGEMENT_RANK[_state] = _rank


def merge_las(ladder: np.ndarray, champions: np.ndarray,
              groups: tuple[np.ndarray, ...] | list[np.ndarray]) -> None:
    """Apply the merges (LA indices, successor first) to every replicate at once, in place."""
    by_state = np.arange(len(Ladder), dtype=np.int8)
    best_state_for_rank = np.empty_like(ENGAGEMENT_RANK)
    best_state_for_rank[ENGAGEMENT_RANK] = by_state
    for group in groups:
        ranks = ENGAGEMENT_RANK[ladder[:, group]]  # [R, k]
        best = best_state_for_rank[ranks.max(axis=1)]
        successor, others = group[0], group[1:]
        ladder[:, successor] = best
        champions[:, successor] = np.where(
            (best >= Ladder.MEMBER) & (best <= Ladder.CHAMPION),
            np.maximum(champions[:, group].max(axis=1), 1), 0)
        ladder[:, others] = Ladder.MERGED
        champions[:, others] = 0
