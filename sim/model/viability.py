"""Viability: whether a running Centre is a working one (docs/model.md §5.10).

Operating is not the same as working: a Centre can keep its doors open with one person, no
reliable service and a handful of members. A replicate is **viable** in a month when it
operates *and* has at least the minimum team, enough reliable live services and enough member
LAs (``viability`` in the scenario, each with its reason). The host closes a Centre that stays
not viable too long (:func:`sim.model.host.close_if_not_viable`); the outputs report
viability beside survival.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import row_counts
from sim.model.codes import Role, ServiceStatus, Tally
from sim.model.finance import running_cost_rates
from sim.model.parameters import Parameters
from sim.model.performance import keep, kept

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["months_of_cover", "running_costs_now", "viable"]


def viable(state: BatchState, params: Parameters) -> np.ndarray:
    """bool[R]: operating, with the minimum team, reliable services and members now. Kept
    from one call to the next while nothing it reads has changed (the host's rule and the
    record read it at each month end, :class:`~sim.model.performance.PerformanceBook`)."""
    if not state.operating.any():  # operating is the first condition
        return np.zeros(state.replicates, dtype=bool)
    port = state.portfolio
    reliability = port.reliability  # read-only, the same array while the debt is the same
    key = (params, state.counts, state.counts.version, state.staff.tobytes(),
           port.status.tobytes(), reliability, state.operating.tobytes())
    now = kept(state, "viable", key)
    if now is not None:
        return now
    rules = params.viability
    team = (row_counts(state.staff) >= rules.min_staff_fte) & (
        state.staff[:, Role.DELIVERY] >= rules.min_delivery_fte)
    reliable = row_counts((port.status == ServiceStatus.LIVE)
                          & (reliability >= rules.reliable_threshold))
    members = state.tally()[Tally.MEMBERS]
    return keep(state, "viable", key,
                state.operating & team & (reliable >= rules.min_reliable_services)
                & (members >= rules.min_members))


def running_costs_now(state: BatchState, params: Parameters) -> np.ndarray:
    """£/month, float[R]: the running costs of the team now in post under each replicate's
    host (no one-off costs), 0 where closed."""
    fixed, per_head = running_cost_rates(state, params)
    costs = fixed + (state.staff * per_head).sum(axis=1)
    return np.where(state.operating, costs, 0.0)


def months_of_cover(state: BatchState, params: Parameters) -> np.ndarray:
    """float[R]: reserves ÷ running costs now, in months (NaN where closed or costs are 0;
    negative when reserves are)."""
    if not state.operating.any():  # every row's costs are 0: all NaN, without pricing the team
        return np.full(state.replicates, np.nan)
    costs = running_costs_now(state, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(costs > 0, state.reserves / np.where(costs > 0, costs, 1.0), np.nan)
