"""Compiled portfolio step (numba): one pass over the services of each replicate.

The arithmetic of docs/model.md §4.1–4.6 and §4.9 written out per replicate and service, in one pass
instead of dozens of array passes over ``[R, S]``. Sums over services run in service order, so
each replicate's numbers depend on that replicate alone, whatever the batch. The plain version
is :func:`sim.model.reference.portfolio_step`; the tests check the two agree to the bit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.codes import ServiceStatus

__all__ = ["PortfolioRates", "portfolio_step"]


class PortfolioRates(NamedTuple):
    """The portfolio parameters one sub-step needs (docs/model.md §4): per service (float64[S])
    ``maintenance_fte``, ``complexity``; per replicate and service ``build_effort`` float64[R,
    S] (FTE-months, after learning, §4.10); per replicate ``launch_failure_prob``
    float64[R]; and the constants of the step. ``reputation_step`` is ``1 − exp(−dt ÷
    reputation_time_months)``; ``retirement_debt`` (``−ln`` of the retirement
    reliability floor; inf: never) and ``retirement_months`` say when an unreliable live
    service is retired, ``hit_retired`` what it costs in reputation (§4.9)."""

    maintenance_fte: np.ndarray
    build_effort: np.ndarray
    complexity: np.ndarray
    dt: float
    debt_growth: float
    debt_repayment: float
    launch_failure_prob: np.ndarray
    strain: float
    concurrency: float
    rework_share: float
    incident_prob: float
    reputation_step: float
    hit_failed: float
    hit_incident: float
    retirement_debt: float
    retirement_months: float
    hit_retired: float


@njit(cache=True, nogil=True)
def portfolio_step(status: np.ndarray, progress: np.ndarray, debt: np.ndarray,
                   low_months: np.ndarray, reputation: np.ndarray, u: np.ndarray,
                   delivery_fte: np.ndarray, operating: np.ndarray, rates: PortfolioRates,
                   out: np.ndarray) -> None:
    """Maintain, build, launch, accumulate debt, have incidents, retire services that stay
    unreliable and move reputation, in place.

    ``status`` int8[R, S] (:class:`~sim.model.codes.ServiceStatus`), ``progress``, ``debt``
    and ``low_months`` (time a live service has spent below the retirement floor) float64[R,
    S], ``reputation`` float64[R]; ``u`` is float[R, 2, S] (launch outcome, incident);
    ``delivery_fte`` float64[R]; ``operating`` bool[R]. ``out`` float[R, 6] receives
    launches, failed launches, incidents, maintenance demand (FTE), utilisation and
    retirements. Maintenance is staffed in service order: each live service takes what it
    needs of the delivery FTE left by the services before it.
    """
    maintenance_fte, build_effort = rates.maintenance_fte, rates.build_effort
    complexity, dt = rates.complexity, rates.dt
    debt_growth, debt_repayment = rates.debt_growth, rates.debt_repayment
    launch_failure_prob, strain = rates.launch_failure_prob, rates.strain
    concurrency, rework_share = rates.concurrency, rates.rework_share
    incident_prob, reputation_step = rates.incident_prob, rates.reputation_step
    hit_failed, hit_incident = rates.hit_failed, rates.hit_incident
    retire_debt, retire_after, hit_retired = (rates.retirement_debt, rates.retirement_months,
                                              rates.hit_retired)
    R, S = status.shape
    for r in range(R):
        delivery = delivery_fte[r]
        demand = 0.0
        n_building = 0
        complexity_building = 0.0
        for j in range(S):
            if status[r, j] == ServiceStatus.LIVE:
                demand += maintenance_fte[j]
            elif status[r, j] == ServiceStatus.BUILDING:
                n_building += 1
                complexity_building += complexity[j]
        if delivery > 0:
            utilisation = min(demand / max(delivery, 1e-12), 2.0)
        else:
            utilisation = 2.0 if demand > 0 else 0.0
        spare = max(delivery - demand, 0.0)
        share = spare / max(n_building, 1) if n_building > 0 else 0.0
        launches = failed = incidents = retired = 0.0
        reliable_sum = 0.0
        n_live = 0
        unstaffed = delivery  # delivery FTE not yet given to maintenance, in service order
        for j in range(S):
            state = status[r, j]
            live = state == ServiceStatus.LIVE
            if state == ServiceStatus.BUILDING:
                progress[r, j] += share * dt
            before = debt[r, j]
            if live:
                need = maintenance_fte[j]
                if need > 0:
                    cover = min(1.0, unstaffed / need)
                    unstaffed = max(unstaffed - need, 0.0)
                else:
                    cover = 1.0
                change = debt_growth * (1 - cover) - debt_repayment * cover * before
                debt[r, j] = max(before + change * dt, 0.0)
            if (state == ServiceStatus.BUILDING and progress[r, j] >= build_effort[r, j]
                    and operating[r]):
                others = complexity_building - complexity[j]
                fail_prob = complexity[j] * (launch_failure_prob[r] + strain * utilisation
                                             + concurrency * others)
                fail_prob = min(max(fail_prob, 0.0), 0.95)
                if u[r, 0, j] < fail_prob:
                    failed += 1.0
                    progress[r, j] *= 1 - rework_share
                else:
                    launches += 1.0
                    status[r, j] = ServiceStatus.LIVE
                    debt[r, j] = 0.0
            # Reliability counts only for services live now (incidents, and the mean reliability
            # of those still live at the end): most services are planned, and need none.
            reliability = (math.exp(-debt[r, j]) if status[r, j] == ServiceStatus.LIVE
                           else 0.0)
            # Incidents on services live before this step's launches.
            if live and operating[r]:
                chance = 1.0 - (1.0 - incident_prob * (1 - reliability)) ** dt
                if u[r, 1, j] < chance:
                    incidents += 1.0
            # A live service below the floor (debt above retirement_debt) for
            # retirement_months is retired (§4.9); the time below counts from the crossing,
            # found on the sub-step's straight-line debt path.
            if live and operating[r] and debt[r, j] > retire_debt:
                if before > retire_debt:
                    low_months[r, j] += dt
                else:
                    low_months[r, j] += dt * ((debt[r, j] - retire_debt) / (debt[r, j] - before))
                if low_months[r, j] >= retire_after:
                    retired += 1.0
                    status[r, j] = ServiceStatus.PLANNED
                    progress[r, j] = 0.0
                    debt[r, j] = 0.0
                    low_months[r, j] = 0.0
            else:
                low_months[r, j] = 0.0
            if status[r, j] == ServiceStatus.LIVE:
                n_live += 1
                reliable_sum += reliability
        mean_reliability = reliable_sum / n_live if n_live > 0 else reputation[r]
        value = reputation[r] + (mean_reliability - reputation[r]) * reputation_step
        value -= hit_failed * failed + hit_incident * incidents + hit_retired * retired
        reputation[r] = min(max(value, 0.0), 1.0)
        out[r, 0] = launches
        out[r, 1] = failed
        out[r, 2] = incidents
        out[r, 3] = demand
        out[r, 4] = utilisation
        out[r, 5] = retired
