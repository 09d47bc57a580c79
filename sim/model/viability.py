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

from sim.model.codes import Role, ServiceStatus, Tally
from sim.model.finance import running_cost_rates
from sim.model.parameters import Parameters
from sim.model.performance import keep, kept

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["months_of_cover", "row_counts", "running_costs_now", "viable"]


def row_counts(counts: np.ndarray) -> np.ndarray:
    """int64[R]: the row sums of a bool or integer array [R, k], as ``counts.sum(axis=1)``.

    Whole numbers add up exactly in any order, and numpy's reduction over a short last axis
    costs far more than adding k columns (integers) or an ``einsum`` over bytes (bools). Not
    for floats, whose sum depends on the order of the additions."""
    if counts.dtype.kind not in "biu":
        raise TypeError(f"row_counts adds whole numbers, not {counts.dtype}")
    if counts.dtype == np.bool_ and counts.shape[1] <= 255:  # at most 255: fits in a byte
        return np.einsum("ij->i", counts.view(np.uint8)).astype(np.int64)
    total = np.zeros(counts.shape[0], dtype=np.int64)
    for column in range(counts.shape[1]):
        total += counts[:, column]
    return total


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
