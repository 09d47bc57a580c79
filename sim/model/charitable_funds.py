"""A host charity's designated fund (issue #13; docs/model.md §7.10).

A charity such as Coram can back a new activity from its own unrestricted funds: its
trustees designate a sum to it (a designated fund, Charity Commission CC19). The fund is drawn
in each sub-step, after the money has moved and before the host's failure rule acts, to bring
the Centre's reserves back up to ``floor_gbp``, until it is spent; it is never topped up.
Drawings are charitable income (``income_charitable_gbp``). Once the fund is spent the
trustees' deficit rule (cut, then close, §5.4) takes over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.finance import pennies
from sim.model.parameters import Parameters

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["FundBook", "draw_designated_fund"]


@dataclass
class FundBook:
    """``left`` float[R], £: what is left of the designated fund."""

    left: np.ndarray

    @classmethod
    def initial(cls, params: Parameters, replicates: int) -> FundBook:
        terms = params.charitable_funds
        return cls(left=np.full(replicates, terms.designated_fund_gbp if terms.enabled
                                else 0.0))


def draw_designated_fund(state: BatchState, params: Parameters, streams: MonthStreams,
                         month: int) -> None:
    """Sub-step, before the failure rule: ``draw = min(max(floor − reserves, 0), left)`` in
    whole pennies, in operating replicates; reserves rise and the fund falls by it."""
    terms = params.charitable_funds
    if not terms.enabled:
        return
    fund = state.funds
    need = np.where(state.operating, np.maximum(terms.floor_gbp - state.reserves, 0.0), 0.0)
    draw = np.minimum(np.ceil(np.round(need * 100.0, 6)) / 100.0, fund.left)
    draw = pennies(np.maximum(draw, 0.0))
    if not draw.any():
        return
    fund.left[:] = pennies(fund.left - draw)
    state.reserves[:] = state.reserves + draw
    state.flows.income["charitable"] += draw
