"""The codes the model's arrays hold, each named once: ladder states, staff roles, service
states, host failure rules, host reserves rules and the rows of the ladder tally.

Every array of states holds these integers (``int8`` ladder and service states, role columns of
``[R, 3]`` staff arrays), and the compiled kernels compare against the same enum members, so
there is no second list of codes anywhere.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sim.data import OFSTED_GRADES

__all__ = ["FailureRule", "Ladder", "LADDER_STATES", "MEMBER_STATES", "ROLES", "ReservesRule",
           "Role", "ServiceStatus", "Tally", "is_member", "tally_width"]


class Ladder(IntEnum):
    """An LA's state on the engagement ladder (docs/model.md §2.2)."""

    UNAWARE = 0
    AWARE = 1
    EVALUATING = 2
    MEMBER = 3
    CONTRIBUTOR = 4
    CHAMPION = 5
    LAPSED = 6
    MERGED = 7
    """Absorbed into another LA by local government reorganisation: out of the population."""


LADDER_STATES = tuple(state.name.lower() for state in Ladder)
"""Ladder state names by code: each LA is in exactly one in every month of every replicate."""

MEMBER_STATES = (Ladder.MEMBER, Ladder.CONTRIBUTOR, Ladder.CHAMPION)
"""States in which an LA is a (paying, when subscriptions apply) member."""


def is_member(ladder: np.ndarray) -> np.ndarray:
    """bool mask of LAs that are members (member, contributor or champion)."""
    return (ladder >= Ladder.MEMBER) & (ladder <= Ladder.CHAMPION)


class Role(IntEnum):
    """A staff role: the column of every ``[R, 3]`` staff array (docs/model.md §3)."""

    DELIVERY = 0
    ENGAGEMENT = 1
    LEADERSHIP = 2


ROLES = tuple(role.name.lower() for role in Role)
"""Role names in column order; the scenario's ``workforce`` section has one table per role."""


class ServiceStatus(IntEnum):
    """A service's state in the portfolio (docs/model.md §4)."""

    PLANNED = 0
    BUILDING = 1
    LIVE = 2
    PAUSED = 3
    """taken out of service by an adaptive policy until one resumes it (docs/model.md §12):
    no maintenance, no value, its debt kept; not rebuilt"""
    RETIRED = 4
    """retired for good by an adaptive policy (§12): never rebuilt"""


class FailureRule(IntEnum):
    """How a host responds to a deficit (docs/model.md §5.4)."""

    INSOLVENCY = 0
    DEFICIT_TOLERANCE = 1
    SPENDING_REVIEW = 2


class ReservesRule(IntEnum):
    """What a host does with the CoE's balance at the fiscal year's turn (docs/model.md §5.11)."""

    NONE = 0
    ANNUALITY = 1
    """a department: a positive balance at 31 March is surrendered"""
    COST_RECOVERY = 2
    """a council: reserves above a cap go back to members as next year's price cut (s.93)"""
    RESERVES_POLICY = 3
    """a company or charity: the price moves towards a reserves target"""


class Tally(IntEnum):
    """Rows of the ladder tally (:func:`sim.model._kernels.ladder_tally`) after the one count
    per ladder state (rows ``0 … len(Ladder) − 1``)."""

    MEMBERS = len(Ladder)
    """member LAs (members, contributors, champions)"""
    LOW_RATED_MEMBERS = len(Ladder) + 1
    """member LAs rated requires improvement or inadequate"""
    LOW_RATED_REACHED = len(Ladder) + 2
    """low-rated LAs no longer unaware"""
    CHAMPIONS = len(Ladder) + 3
    """engaged champions (people)"""
    ENGAGED = len(Ladder) + 4
    """contributor and champion LAs"""
    MEMBER_PRICES = len(Ladder) + 5
    """the members' subscription prices (£/year)"""
    GRADES = len(Ladder) + 6
    """first of the members per Ofsted grade (``GRADES + grade``); members per region follow
    (``GRADES + len(OFSTED_GRADES) + region``)"""


def tally_width(n_regions: int) -> int:
    """Rows of a tally for a population with ``n_regions`` regions."""
    return Tally.GRADES + len(OFSTED_GRADES) + n_regions
