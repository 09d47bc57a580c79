"""The engagement-ladder states of an LA (its fixed attributes are in :mod:`sim.data`)."""

from __future__ import annotations

import numpy as np

__all__ = ["LADDER_STATES", "MEMBER_STATES", "is_member",
           "UNAWARE", "AWARE", "EVALUATING", "MEMBER", "CONTRIBUTOR", "CHAMPION", "LAPSED",
           "MERGED"]

UNAWARE, AWARE, EVALUATING, MEMBER, CONTRIBUTOR, CHAMPION, LAPSED, MERGED = range(8)
LADDER_STATES = ("unaware", "aware", "evaluating", "member", "contributor", "champion", "lapsed",
                 "merged")
"""Ladder states by code: each LA is in exactly one in every month of every replicate.
``merged`` holds LAs absorbed into another by local government reorganisation: they have left
the population, so the live LA count is N minus the merged ones."""

MEMBER_STATES = (MEMBER, CONTRIBUTOR, CHAMPION)
"""States in which an LA is a (paying, when subscriptions apply) member."""


def is_member(ladder: np.ndarray) -> np.ndarray:
    """bool mask of LAs that are members (member, contributor or champion)."""
    return (ladder >= MEMBER) & (ladder <= CHAMPION)


