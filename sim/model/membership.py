"""A membership body's levy (issue #13; docs/model.md §7.9).

The LGA and ADCS are membership bodies, not charities: a Centre they run is paid for from
their members' subscriptions. The body's board sets aside a levy for it from each member
council's subscription, whether or not that council uses the Centre, and reviews the line
each April in its budget round. The review weighs the Centre's record as any funder does
(the case factor of docs/model.md §7.4: value for money and reach); a levy stopped is not
restored. LAs use the Centre as part of their membership: there is no separate price, so
the approval gate is the free route (§2.6).

The levy is an income source of its own (``membership_levy``); it is not earned from LAs
one by one, so an eligible-spend grant does not offset it, but it meets costs before a
grant is claimed (no cost is funded twice, §5.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.parameters import Parameters
from sim.model.performance import case_multiplier, with_odds_scaled

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["LevyBook", "levy_gbp_per_month", "review_levy"]


@dataclass
class LevyBook:
    """``on`` bool[R]: the body's board still funds the Centre."""

    on: np.ndarray

    @classmethod
    def initial(cls, params: Parameters, replicates: int) -> LevyBook:
        return cls(on=np.full(replicates, params.membership_body.enabled, dtype=bool))


def levy_gbp_per_month(state: BatchState, params: Parameters) -> np.ndarray:
    """The levy due a month, float[R] in £: ``levy per member LA × body's member LAs ÷ 12 ×
    CPI index`` where the board still funds the Centre, else 0."""
    terms = params.membership_body
    if not terms.enabled:
        return np.zeros(state.replicates)
    rate = terms.levy_gbp_per_member_la_per_year * terms.body_member_las / 12.0
    return np.where(state.levy.on, rate * state.cpi_index, 0.0)


def review_levy(state: BatchState, params: Parameters, streams: MonthStreams,
                month: int) -> None:
    """April: the body's board keeps the levy with chance ``continue_prob``, its odds
    multiplied by the Centre's case factor (docs/model.md §7.4); one uniform per replicate
    (stream ``membership_levy``). A stopped levy is stopped for good."""
    terms = params.membership_body
    keep = with_odds_scaled(terms.continue_prob, case_multiplier(state, params))
    u = streams("membership_levy").random()
    stopped = state.levy.on & state.operating & (u >= keep)
    state.levy.on[stopped] = False
    state.flows.levy_stops += stopped
