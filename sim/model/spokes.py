"""Hub and spoke: a small hub with spokes run by LAs, suppliers or volunteers (issue #13;
docs/model.md §7.12).

The CoE proposal's existing organisations could host "all or part" of the Centre, and
Achieving for Children ran a "hub and cluster" model (DfE 2016 workshop record, §3). Here the
Centre is a hub (any host: its staff, costs and rules are the scenario's) with spokes of three
kinds — in house at an LA, outsourced to a supplier, volunteer-run — each adding delivery time
to the Centre's services:

* **capacity**: ``S = Σ_k active_k × fte_k`` FTE, usable only as far as the hub's productive
  delivery staff ``P`` can coordinate them: each active spoke takes ``c`` FTE of the hub, so
  with ``need = c × Σ_k active_k`` the spokes add ``S × min(1, P ÷ need) − min(need, P)`` to
  the delivery capacity of §4.1 (nothing with no hub staff to coordinate them);
* **cost** (cost line ``spokes``, paid by an eligible-spend grant like the staff): the
  outsourced spokes' time at ``cost_gbp_per_fte_per_year`` (× the pay index) and a
  coordination cost per active spoke (× the CPI index);
* **churn**: at each month start an active spoke withdraws with chance
  ``1 − exp(−exit_rate / 12)`` and a missing one (below its kind's ``count``) is replaced with
  chance ``1 − exp(−1 / replacement_months)`` (binomial by kind, streams ``spoke_exits`` and
  ``spoke_joins``); a hub that is cutting (staff under redundancy notice, or a host cut in
  force) ends the spokes it pays for; a closed Centre has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model._kernels import binomial_from_uniform
from sim.model.parameters import Parameters

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["SpokeBook", "advance_spokes", "spoke_cost_gbp_per_month", "spoke_net_fte"]


@dataclass
class SpokeBook:
    """``active`` int64[R, 3]: spokes of each kind (LA, outsourced, volunteer) in place."""

    active: np.ndarray

    @classmethod
    def initial(cls, params: Parameters, replicates: int) -> SpokeBook:
        terms = params.spokes
        count = terms.count if terms.enabled else np.zeros(3, dtype=np.int64)
        return cls(active=np.tile(count.astype(np.int64), (replicates, 1)))


def _binomial(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    n = np.ascontiguousarray(n, dtype=np.int64)
    p = np.ascontiguousarray(np.broadcast_to(p, n.shape), dtype=float)
    return binomial_from_uniform(n, p, np.ascontiguousarray(u))


def advance_spokes(state: BatchState, params: Parameters, streams: MonthStreams,
                   month: int) -> None:
    """Month start: spokes withdraw and are replaced (binomial by kind, one uniform each per
    replicate and kind from streams ``spoke_exits`` and ``spoke_joins``); none where closed."""
    terms = params.spokes
    if not terms.enabled:
        return
    book = state.spokes
    if month > 0:
        leave = _binomial(book.active, -np.expm1(-terms.exit_rate_per_year / 12.0),
                          streams("spoke_exits").random(3))
        missing = np.maximum(terms.count - (book.active - leave), 0)
        months = terms.replacement_months
        chance = 1.0 if months <= 0 else -np.expm1(-1.0 / months)
        join = _binomial(missing, np.full(3, chance), streams("spoke_joins").random(3))
        book.active[:] = book.active - leave + join
        state.flows.spoke_exits += leave.sum(axis=1)
        state.flows.spoke_joins += join.sum(axis=1)
    # A hub that is cutting (staff under redundancy notice, or a host cut in force) ends the
    # spokes it pays for first: a supplier's contract goes before its own staff.
    cutting = (state.notices.under_notice.sum(axis=1) > 0) | state.host_cut
    paid = terms.cost_gbp_per_fte_per_year > 0
    ended = np.where(cutting[:, None] & paid, book.active, 0)
    book.active[:] -= ended
    state.flows.spoke_exits += ended.sum(axis=1)
    book.active[~state.operating] = 0


def spoke_net_fte(state: BatchState, params: Parameters, productive: np.ndarray) -> np.ndarray:
    """Delivery FTE the spokes add, float[R]: their time, as far as the hub's ``productive``
    delivery FTE can coordinate them, less the hub time that coordination takes (0 without
    spokes)."""
    terms = params.spokes
    if not terms.enabled:
        return np.zeros(state.replicates)
    active = state.spokes.active
    supply = (active * terms.fte_per_spoke).sum(axis=1)
    need = terms.coordination_fte_per_spoke * active.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        coordinated = np.where(need > 0, np.minimum(productive / np.where(need > 0, need, 1.0),
                                                    1.0), 1.0)
    return supply * coordinated - np.minimum(need, productive)


def spoke_cost_gbp_per_month(state: BatchState, params: Parameters) -> np.ndarray:
    """What the spokes cost the hub a month, float[R] in £: the paid spokes' time at this
    year's pay and the coordination of each active spoke at this year's prices."""
    terms = params.spokes
    if not terms.enabled:
        return np.zeros(state.replicates)
    active = state.spokes.active
    time = (active * terms.fte_per_spoke * terms.cost_gbp_per_fte_per_year).sum(axis=1) / 12.0
    coordination = active.sum(axis=1) * terms.coordination_gbp_per_spoke_per_year / 12.0
    return time * state.pay_index + coordination * state.cpi_index
