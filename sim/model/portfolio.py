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
from sim.model._portfolio_kernel import portfolio_step
from sim.model.batching import per_replicate
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
    """Maintain, build, launch, accumulate debt, have incidents; update reputation. In place.

    Per replicate, with ``D`` the maintenance demand of live services and ``F`` the delivery FTE:
    cover ``min(1, F ÷ D)``; utilisation ``min(D ÷ F, 2)``; what is left (``max(F − D, 0)``)
    is shared equally by the builds. Debt of a live service grows by ``debt_growth_per_month ·
    (1 − cover) − debt_repayment_per_month · cover · debt`` per month. A build that reaches its
    effort launches unless ``u < complexity · (launch_failure_prob + strain · utilisation +
    concurrency · complexity of the other builds)`` (capped at 0.95), in which case it loses
    ``failed_launch_rework_share`` of its progress. A service live before the step has an
    incident with ``1 − (1 − incident_prob_per_month · (1 − reliability))^dt``. Reputation
    moves toward the mean reliability of live services by an exact first-order lag and loses
    the hits of failed launches and incidents (docs/model.md §4). The loop runs compiled
    (:func:`sim.model._portfolio_kernel.portfolio_step`).
    """
    R, S = state.status.shape
    u = rng.random(2, S)  # [R, 2, S]: launch outcome, incident
    out = np.empty((R, 5))
    portfolio_step(state.status, state.progress, state.debt, state.reputation, u,
                   table.maintenance_fte, table.build_effort, table.complexity,
                   np.ascontiguousarray(delivery_fte, dtype=float),
                   np.ascontiguousarray(operating, dtype=bool), float(dt_months),
                   float(portfolio.debt_growth_per_month),
                   float(portfolio.debt_repayment_per_month),
                   per_replicate(portfolio.launch_failure_prob, R),
                   float(portfolio.launch_failure_strain),
                   float(portfolio.launch_failure_concurrency),
                   float(portfolio.failed_launch_rework_share),
                   float(portfolio.incident_prob_per_month),
                   float(-np.expm1(-dt_months / portfolio.reputation_time_months)),
                   float(portfolio.reputation_hit_failed_launch),
                   float(portfolio.reputation_hit_incident), out)
    return PortfolioFlows(launches=out[:, 0], failed_launches=out[:, 1], incidents=out[:, 2],
                          maintenance_demand_fte=out[:, 3], utilisation=out[:, 4])
