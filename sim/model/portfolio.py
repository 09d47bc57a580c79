"""The portfolio of services and Gall's law.

Each service is planned, building or live (float and int8 arrays [R, S]). Delivery staff
maintain live services first; what is left builds services in progress, shared equally. A
service whose build completes launches; the launch fails with a probability that grows with
its complexity, with how stretched the delivery team is, and with the complexity of other
services in build at the same time (a failed launch goes back to build and costs reputation).
Live services accumulate technical debt when maintenance cover is short; reliability is
``exp(−debt)``; unreliable services have incidents; reputation follows reliability.

Nothing here says that starting small wins: with ample capacity ``big_bang`` finishes sooner;
with scarce capacity its concurrent complex launches and thin maintenance fail more often.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine import BatchGenerator
from sim.model.batching import column
from sim.scenario.schema import Portfolio

__all__ = ["PLANNED", "BUILDING", "LIVE", "PortfolioFlows", "PortfolioState", "ServiceTable",
           "start_builds", "step_portfolio"]

PLANNED, BUILDING, LIVE = 0, 1, 2


@dataclass(frozen=True)
class ServiceTable:
    """Service attributes as arrays of length S (in the scenario's order)."""

    build_effort: np.ndarray
    maintenance_fte: np.ndarray
    complexity: np.ndarray
    value_gbp_per_member_per_year: np.ndarray
    strand: np.ndarray
    schedule_month: np.ndarray  # -1 where a service has no scheduled month

    @classmethod
    def from_portfolio(cls, portfolio: Portfolio, strands: tuple[str, ...]) -> ServiceTable:
        s = portfolio.services
        return cls(
            build_effort=np.array([x.build_effort_fte_months for x in s], dtype=float),
            maintenance_fte=np.array([x.maintenance_fte for x in s], dtype=float),
            complexity=np.array([x.complexity for x in s], dtype=float),
            value_gbp_per_member_per_year=np.array([x.value_gbp_per_member_per_year for x in s],
                                                   dtype=float),
            strand=np.array([strands.index(x.strand) for x in s]),
            schedule_month=np.array([-1 if x.schedule_month is None else x.schedule_month
                                     for x in s], dtype=np.int64),
        )


@dataclass
class PortfolioState:
    """Stocks per replicate and service, float64/int8[R, S]; reputation float64[R]."""

    status: np.ndarray
    progress: np.ndarray
    debt: np.ndarray
    reputation: np.ndarray

    @classmethod
    def initial(cls, replicates: int, services: int, reputation: float) -> PortfolioState:
        return cls(
            status=np.zeros((replicates, services), dtype=np.int8),
            progress=np.zeros((replicates, services)),
            debt=np.zeros((replicates, services)),
            reputation=np.full(replicates, reputation),
        )

    @property
    def reliability(self) -> np.ndarray:
        """float[R, S]: ``exp(−debt)``, meaningful for live services."""
        return np.exp(-self.debt)


@dataclass
class PortfolioFlows:
    """What happened in one step, per replicate (float64[R])."""

    launches: np.ndarray
    failed_launches: np.ndarray
    incidents: np.ndarray
    maintenance_demand_fte: np.ndarray
    utilisation: np.ndarray


def start_builds(state: PortfolioState, table: ServiceTable, portfolio: Portfolio,
                 delivery_fte: np.ndarray, mask: np.ndarray, month: int) -> np.ndarray:
    """Launch decisions (a calendar event): start building services, in place.

    ``big_bang`` starts every planned service; ``schedule`` starts each planned service whose
    ``schedule_month`` has come (a plan followed whatever the state); ``gall`` starts the next planned service only
    where nothing is in build, every live service is at least ``gall_reliability_threshold``
    reliable and at least ``gall_spare_fte`` delivery FTE is free after maintenance. Returns
    bool[R]: replicates that started a build.
    """
    planned = state.status == PLANNED
    if portfolio.policy == "schedule":
        due = (table.schedule_month >= 0) & (table.schedule_month <= month)
        start = planned & mask[:, None] & due[None, :]
        state.status[start] = BUILDING
        return start.any(axis=1)
    if portfolio.policy == "big_bang":
        start = planned & mask[:, None]
        state.status[start] = BUILDING
        return start.any(axis=1)
    live = state.status == LIVE
    building = (state.status == BUILDING).any(axis=1)
    reliable = np.where(live, state.reliability >= portfolio.gall_reliability_threshold, True).all(axis=1)
    demand = (live * table.maintenance_fte).sum(axis=1)
    spare = delivery_fte - demand
    ready = mask & ~building & reliable & (spare >= portfolio.gall_spare_fte) & planned.any(axis=1)
    first = np.argmax(planned, axis=1)
    rows = np.nonzero(ready)[0]
    state.status[rows, first[rows]] = BUILDING
    return ready


def step_portfolio(state: PortfolioState, table: ServiceTable, portfolio: Portfolio,
                   delivery_fte: np.ndarray, operating: np.ndarray, dt_months: float,
                   rng: BatchGenerator) -> PortfolioFlows:
    """Maintain, build, launch, accumulate debt, have incidents; update reputation. In place."""
    R, S = state.status.shape
    u = rng.random(2, S)  # [R, 2, S]: launch outcome, incident
    live = state.status == LIVE
    building = state.status == BUILDING

    demand = (live * table.maintenance_fte).sum(axis=1)
    cover = np.where(demand > 0, np.minimum(1.0, delivery_fte / np.maximum(demand, 1e-12)), 1.0)
    utilisation = np.minimum(demand / np.maximum(delivery_fte, 1e-12), 2.0)
    utilisation = np.where(delivery_fte > 0, utilisation, np.where(demand > 0, 2.0, 0.0))
    spare = np.maximum(delivery_fte - demand, 0.0)
    n_building = building.sum(axis=1)
    share = np.where(n_building > 0, spare / np.maximum(n_building, 1), 0.0)
    state.progress += building * (share * dt_months)[:, None]

    # Technical debt: grows with the uncovered share, is paid down with cover.
    debt_change = (portfolio.debt_growth_per_month * (1 - cover)[:, None]
                   - portfolio.debt_repayment_per_month * cover[:, None] * state.debt)
    state.debt += live * debt_change * dt_months
    np.maximum(state.debt, 0.0, out=state.debt)

    # Launches: builds that reached their effort.
    done = building & (state.progress >= table.build_effort) & operating[:, None]
    complexity_building = (building * table.complexity).sum(axis=1, keepdims=True)
    others = complexity_building - building * table.complexity
    fail_prob = np.clip(
        table.complexity * (column(portfolio.launch_failure_prob)
                            + portfolio.launch_failure_strain * utilisation[:, None]
                            + portfolio.launch_failure_concurrency * others),
        0.0, 0.95)
    failed = done & (u[:, 0] < fail_prob)
    launched = done & ~failed
    state.status[launched] = LIVE
    state.debt[launched] = 0.0
    state.progress[failed] *= 1 - portfolio.failed_launch_rework_share

    # Incidents on live services (before this step's launches).
    # A monthly chance p over a sub-step of dt months: 1 − (1 − p)^dt (exactly p when dt = 1).
    incident_prob = 1.0 - (1.0 - portfolio.incident_prob_per_month * (1 - state.reliability)) ** dt_months
    incidents = live & operating[:, None] & (u[:, 1] < incident_prob)

    # Reputation moves towards mean reliability of live services, less hits.
    live_now = state.status == LIVE
    n_live = live_now.sum(axis=1)
    mean_rel = np.where(n_live > 0, (live_now * state.reliability).sum(axis=1) / np.maximum(n_live, 1),
                        state.reputation)
    n_failed = failed.sum(axis=1).astype(float)
    n_incidents = incidents.sum(axis=1).astype(float)
    # Exact first-order lag over the step: never overshoots, whatever the time constant.
    state.reputation += (mean_rel - state.reputation) * -np.expm1(-dt_months / portfolio.reputation_time_months)
    state.reputation -= (portfolio.reputation_hit_failed_launch * n_failed
                         + portfolio.reputation_hit_incident * n_incidents)
    np.clip(state.reputation, 0.0, 1.0, out=state.reputation)
    return PortfolioFlows(
        launches=launched.sum(axis=1).astype(float),
        failed_launches=n_failed,
        incidents=n_incidents,
        maintenance_demand_fte=demand,
        utilisation=utilisation,
    )
