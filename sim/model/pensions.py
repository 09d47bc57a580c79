"""Pensions and transitions between hosts (docs/model.md §6.1).

LGPS membership is a stock, ``state.lgps_members`` int64[R, 3] by role, never above the staff:

* under a host whose own scheme is the Local Government Pension Scheme (``hosting.lgps``, a
  council) every member of staff is a member: the initial team and every hire are enrolled;
* under any other host the LGPS members are those it took over at a change of host through a
  closed admission agreement (Best Value Authorities Staff Transfers (Pensions) Direction 2007;
  LGPS Regulations 2013 Schedule 2 Part 3): its hires join its own scheme, and the admission
  shrinks as the transferred members leave. Which leavers were members is a binomial draw
  (streams ``pension_resignation``, ``pension_redundancy``, ``pension_transfer``: one for each
  kind of departure, each used at most once a sub-step), clipped so that neither members nor
  non-members can leave more than there are; in a scenario where every member of staff is a
  member, or none is, there is nothing to draw.

Redundancy of an LGPS member aged 55 or over releases an unreduced pension, and the employer
pays the strain cost (LGPS Regulations 2013 reg. 30(7), 68(2)): each member made redundant is
55+ with chance ``workforce.share_aged_55_plus`` (a binomial draw, stream ``pension_strain``),
and costs ``workforce.pension_strain_years_of_pay`` years of their salary.

A change of host is followed by ``transition_months`` of bedding in: the outgoing host's
services keep running alongside the new host's (double running, £/month) and the staff deliver
less (``productivity_loss``, a share of productive FTE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import BatchGenerator, MonthStreams
from sim.model._kernels import binomial_from_uniform
from sim.model.parameters import HostParameters, Parameters

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["admission_cost_gbp_per_month", "admitted_members", "enrol", "mixed_membership",
           "members_leaving", "strain_cost_gbp", "transition"]


def mixed_membership(params: Parameters) -> bool:
    """Whether some replicate may ever hold LGPS members alongside staff who are not: only
    after a change to a non-LGPS host that keeps its transferred members in the LGPS. Fixed by
    the scenario, so whether the membership streams are drawn never depends on the batch."""
    table = params.hosting
    return (any(admission and not bool(table.hosts[i + 1].lgps.all())
                for i, admission in enumerate(table.change_lgps_admission))
            or any(rule.move is not None and rule.move.lgps_admission  # a rule's move (§12)
                   and not bool(table.hosts[rule.host].lgps.all()) for rule in params.policies))


def _binomial(rng: BatchGenerator, n: np.ndarray, p: np.ndarray | float) -> np.ndarray:
    """Binomial(n, p) counts int64[R, 3], one uniform each from ``rng``."""
    n = np.ascontiguousarray(n, dtype=np.int64)
    p = np.ascontiguousarray(np.broadcast_to(np.asarray(p, dtype=float), n.shape))
    return binomial_from_uniform(n, p, rng.random(*n.shape[1:]))


def members_leaving(leavers: np.ndarray, staff_before: np.ndarray, members: np.ndarray,
                    rng: BatchGenerator | None) -> np.ndarray:
    """LGPS members among ``leavers`` int64[R, 3], out of ``staff_before`` people of whom
    ``members`` are members.

    Binomial with the members' share, clipped to what is possible (at most the members, at
    least the leavers beyond the non-members); exact where all or none are members. ``rng``
    None: the scenario has no mixed membership (:func:`mixed_membership`), so nothing is drawn.
    """
    if rng is None:
        return np.where(members >= staff_before, leavers, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(staff_before > 0, members / np.maximum(staff_before, 1), 0.0)
    drawn = _binomial(rng, leavers, np.clip(share, 0.0, 1.0))
    low = np.maximum(leavers - (staff_before - members), 0)
    return np.clip(drawn, low, np.minimum(leavers, members))


def enrol(state: BatchState) -> None:
    """Under an LGPS host every member of staff is a member (hires are enrolled)."""
    np.copyto(state.lgps_members, state.staff, where=state.hosting.lgps[:, None])


def admitted_members(state: BatchState) -> np.ndarray:
    """LGPS members under a host that is not an LGPS employer: its admitted members, int64[R, 3]
    (0 under an LGPS host, whose members are its own)."""
    return np.where(state.hosting.lgps[:, None], 0, state.lgps_members)


def admission_costs(admitted: np.ndarray, hosting: HostParameters,
                    monthly_salaries: np.ndarray, cpi_index: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """What an admission agreement costs a month above the host's own scheme, float[R] each:
    the pension (the admitted-body rate less the host's own rate on the pay of the
    ``admitted`` members, int[R, 3], at ``monthly_salaries`` by role) and the bond while any
    admitted member remains (both 0.0 exactly when there are none)."""
    pension = ((admitted * monthly_salaries).sum(axis=1)
               * (hosting.admitted_body_pension_rate - hosting.pension_rate))
    bond = np.where(admitted.sum(axis=1) > 0,
                    hosting.admission_bond_gbp_per_year / 12.0 * cpi_index, 0.0)
    return pension, bond


def admission_cost_gbp_per_month(state: BatchState, params: Parameters) -> np.ndarray:
    """:func:`admission_costs` of each replicate now, pension and bond together, float[R]
    (read-only: kept, and computed again only when the host, the pay or price index or the
    LGPS members have changed since; the running costs ask several times a sub-step)."""
    key = (state.hosting, params.workforce, state.pay_index, state.cpi_index)
    last = state.admission_cost
    if (last is not None and last[0][0] is key[0] and last[0][1] is key[1]
            and last[0][2:] == key[2:] and np.array_equal(last[1], state.lgps_members)):
        return last[2]
    pension, bond = admission_costs(admitted_members(state), state.hosting,
                                    params.workforce.salary_gbp_per_year / 12.0
                                    * state.pay_index, state.cpi_index)
    value = pension + bond
    value.flags.writeable = False
    state.admission_cost = (key, state.lgps_members.copy(), value)
    return value


def strain_cost_gbp(members_made_redundant: np.ndarray, params: Parameters,
                    rng: BatchGenerator, pay_index: float = 1.0) -> np.ndarray:
    """Pension strain cost of LGPS members made redundant, £ float[R]: each is 55+ with chance
    ``share_aged_55_plus`` (binomial, drawn only when the cost can be non-zero) and costs
    ``pension_strain_years_of_pay`` × their annual salary at this year's pay (× ``pay_index``)."""
    workforce = params.workforce
    years, share = workforce.pension_strain_years_of_pay, workforce.share_aged_55_plus
    R = members_made_redundant.shape[0]
    if years <= 0 or share <= 0:
        return np.zeros(R)
    aged = _binomial(rng, members_made_redundant, share)
    return (aged * workforce.salary_gbp_per_year).sum(axis=1) * years * pay_index


def transition(state: BatchState, params: Parameters, streams: MonthStreams,
               month: int) -> None:
    """Month start: in the months ``change … change + transition_months − 1`` after a change of
    host (set by :func:`sim.model.events.host_change`), the staff's productivity is
    ``1 − productivity_loss`` and the outgoing host's services cost ``double_running`` a month;
    otherwise productivity is 1 and there is no double running."""
    during = state.operating & (month < state.transition_end)
    state.productivity = np.where(during, 1.0 - state.transition_loss, 1.0)
    state.double_running_gbp_per_month = np.where(during, state.transition_double_running, 0.0)
