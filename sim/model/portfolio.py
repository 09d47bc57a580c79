"""The portfolio of services and Gall's law.

Each service is planned, building or live (float and int8 arrays [R, S]). Delivery staff serve
the members first (support and onboarding), then maintain live services in the portfolio's
order; what is left builds services in progress, shared equally. A
service whose build completes launches; the launch fails with a probability that grows with
its complexity, with how stretched the delivery team is, and with the complexity of other
services in build at the same time (a failed launch goes back to build and costs reputation).
Live services accumulate technical debt when maintenance cover is short; reliability is
``exp(−debt)``; unreliable services have incidents, and a service that stays below the
retirement floor is retired (planned again); reputation follows reliability.

Nothing here says that starting small wins: with ample capacity ``big_bang`` finishes sooner;
with scarce capacity its concurrent complex launches and thin maintenance fail more often.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import BatchGenerator, MonthStreams, row_counts
from sim.model._portfolio_kernel import PortfolioRates, portfolio_step
from sim.model.codes import Role, ServiceStatus, Tally
from sim.model.parameters import Parameters, PortfolioParameters
from sim.model.performance import bundle_factor
from sim.model.spokes import spoke_net_fte
from sim.model.workforce import effective_fte

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["PortfolioFlows", "PortfolioState", "advance_portfolio", "build_effort",
           "decide_launches",
           "delivery_capacity", "member_support_fte", "member_value_per_year",
           "onboarding_due_fte", "productive_delivery_fte", "start_builds", "step_portfolio",
           "volunteer_fte"]


@dataclass
class PortfolioState:
    """Stocks per replicate and service: ``status`` int8[R, S]
    (:class:`~sim.model.codes.ServiceStatus`), ``progress`` (FTE-months built), ``debt`` and
    ``low_months`` (months a live service has been below the retirement floor) float64[R, S];
    ``reputation`` float64[R] (0–1); ``launched`` float64[R], successful launches so far (the
    team's experience, §4.10)."""

    status: np.ndarray
    progress: np.ndarray
    debt: np.ndarray
    reputation: np.ndarray
    low_months: np.ndarray
    launched: np.ndarray

    @classmethod
    def initial(cls, replicates: int, services: int, reputation: float) -> PortfolioState:
        return cls(
            status=np.full((replicates, services), ServiceStatus.PLANNED, dtype=np.int8),
            progress=np.zeros((replicates, services)),
            debt=np.zeros((replicates, services)),
            reputation=np.full(replicates, reputation),
            low_months=np.zeros((replicates, services)),
            launched=np.zeros(replicates),
        )

    _reliability: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False,
                                                                 compare=False)
    """the last :attr:`reliability` and the debt it was computed from"""

    @property
    def reliability(self) -> np.ndarray:
        """float[R, S]: ``exp(−debt)``, meaningful for live services (read-only: kept, and
        computed again only when the debt has changed since)."""
        last = self._reliability
        if last is not None and np.array_equal(last[0], self.debt):  # ±0 give the same exp
            return last[1]
        value = np.exp(-self.debt)
        value.flags.writeable = False
        self._reliability = (self.debt.copy(), value)
        return value

    _effort: tuple[np.ndarray, float, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False)
    """the last :meth:`effort`: the services' efforts and learning rate it was computed
    for, the launches it was computed from, and the result"""

    def effort(self, effort_fte_months: np.ndarray, learning_rate: float) -> np.ndarray:
        """:func:`build_effort` after the launches so far, float64[R, S] (not to be written to:
        kept, and computed again only when the launches or the parameters have changed since;
        most steps launch nothing)."""
        last = self._effort
        if (last is not None and last[0] is effort_fte_months and last[1] == learning_rate
                and np.array_equal(last[2], self.launched)):  # ±0 launches give the same effort
            return last[3]
        value = build_effort(effort_fte_months, self.launched, learning_rate)
        self._effort = (effort_fte_months, learning_rate, self.launched.copy(), value)
        return value


@dataclass
class PortfolioFlows:
    """What happened in one step, per replicate (float64[R])."""

    launches: np.ndarray
    failed_launches: np.ndarray
    incidents: np.ndarray
    maintenance_demand_fte: np.ndarray
    utilisation: np.ndarray
    retirements: np.ndarray


def start_builds(state: PortfolioState, portfolio: PortfolioParameters,
                 delivery_fte: np.ndarray, mask: np.ndarray, month: int) -> np.ndarray:
    """Launch decisions: start building services, in place (docs/model.md §4.7).

    ``big_bang`` starts every planned service; ``schedule`` starts each planned service whose
    ``schedule_month`` has come (a plan followed whatever the state); ``gall`` starts the next
    planned service only where nothing is in build, every live service is at least
    ``gall_reliability_threshold`` reliable and at least ``gall_spare_fte`` delivery FTE is
    free after maintenance. Returns bool[R]: replicates that started a build.
    """
    table = portfolio.services
    planned = state.status == ServiceStatus.PLANNED
    if portfolio.policy == "schedule":
        due = (table.schedule_month >= 0) & (table.schedule_month <= month)
        start = planned & mask[:, None] & due[None, :]
        state.status[start] = ServiceStatus.BUILDING
        return start.any(axis=1)
    if portfolio.policy == "big_bang":
        start = planned & mask[:, None]
        state.status[start] = ServiceStatus.BUILDING
        return start.any(axis=1)
    live = state.status == ServiceStatus.LIVE
    # any() and all() over a row as counts of its services (row_counts: the same answers
    # faster than a reduction over the short last axis)
    building = row_counts(state.status == ServiceStatus.BUILDING) > 0
    reliable = row_counts(live & ~(state.reliability >= portfolio.gall_reliability_threshold)
                          ) == 0
    demand = (live * table.maintenance_fte).sum(axis=1)
    spare = delivery_fte - demand
    ready = (mask & ~building & reliable & (spare >= portfolio.gall_spare_fte)
             & (row_counts(planned) > 0))
    first = np.argmax(planned, axis=1)
    rows = np.nonzero(ready)[0]
    state.status[rows, first[rows]] = ServiceStatus.BUILDING
    return ready


def step_portfolio(state: PortfolioState, portfolio: PortfolioParameters,
                   delivery_fte: np.ndarray, operating: np.ndarray, dt_months: float,
                   rng: BatchGenerator) -> PortfolioFlows:
    """Maintain, build, launch, accumulate debt, have incidents; update reputation. In place.

    Per replicate, with ``D`` the maintenance demand of live services and ``F`` the delivery FTE:
    maintenance is staffed in service order, so live service ``j`` has cover ``min(1, F_j ÷
    m_j)`` with ``F_j`` the FTE the live services before it left; utilisation ``min(D ÷ F,
    2)``; what is left (``max(F − D, 0)``) is shared equally by the builds. Debt of a live
    service grows by ``debt_growth_per_month · (1 − cover) − debt_repayment_per_month · cover ·
    debt`` per month. A build that reaches its
    effort launches unless ``u < complexity · (launch_failure_prob + strain · utilisation +
    concurrency · complexity of the other builds)`` (capped at 0.95), in which case it loses
    ``failed_launch_rework_share`` of its progress. A service live before the step has an
    incident with ``1 − (1 − incident_prob_per_month · (1 − reliability))^dt``. Reputation
    moves toward the mean reliability of live services by an exact first-order lag and loses
    the hits of failed launches, incidents and retirements; a live service whose reliability
    stays below ``retirement_reliability_floor`` for ``retirement_months`` is retired: planned
    again with no progress (docs/model.md §4). The loop runs compiled
    (:func:`sim.model._portfolio_kernel.portfolio_step`).
    """
    R, S = state.status.shape
    if operating.any():
        u = rng.random(2, S)  # [R, 2, S]: launch outcome, incident
    else:  # closed replicates neither launch nor have incidents: no uniform would be read
        rng.skip(2, S)
        u = np.zeros((R, 2, S))
    out = np.empty((R, 6))
    table = portfolio.services
    rates = PortfolioRates(
        maintenance_fte=table.maintenance_fte,
        build_effort=state.effort(table.build_effort_fte_months, portfolio.learning_rate),
        complexity=table.complexity, dt=float(dt_months),
        debt_growth=float(portfolio.debt_growth_per_month),
        debt_repayment=float(portfolio.debt_repayment_per_month),
        launch_failure_prob=portfolio.launch_failure_prob,
        strain=float(portfolio.launch_failure_strain),
        concurrency=float(portfolio.launch_failure_concurrency),
        rework_share=float(portfolio.failed_launch_rework_share),
        incident_prob=float(portfolio.incident_prob_per_month),
        reputation_step=float(-np.expm1(-dt_months / portfolio.reputation_time_months)),
        hit_failed=float(portfolio.reputation_hit_failed_launch),
        hit_incident=float(portfolio.reputation_hit_incident),
        retirement_debt=(float(-np.log(portfolio.retirement_reliability_floor))
                         if portfolio.retirement_reliability_floor > 0 else float(np.inf)),
        retirement_months=float(portfolio.retirement_months),
        hit_retired=float(portfolio.reputation_hit_retirement))
    portfolio_step(state.status, state.progress, state.debt, state.low_months, state.reputation,
                   u, np.ascontiguousarray(delivery_fte, dtype=float),
                   np.ascontiguousarray(operating, dtype=bool), rates, out)
    state.launched += out[:, 0]
    return PortfolioFlows(launches=out[:, 0], failed_launches=out[:, 1], incidents=out[:, 2],
                          maintenance_demand_fte=out[:, 3], utilisation=out[:, 4],
                          retirements=out[:, 5])


def build_effort(effort_fte_months: np.ndarray, launched: np.ndarray,
                 learning_rate: float) -> np.ndarray:
    """Build effort of each service after the team's experience, float64[R, S] in FTE-months.

    Wright's experience curve: each doubling of the services launched so far (``1 +
    launched``) cuts the effort of the next build by ``learning_rate``, ``effort_j · (1 +
    launched_r)^log2(1 − learning_rate)`` (docs/model.md §4.10); no learning at rate 0.
    """
    if learning_rate <= 0:
        return np.ascontiguousarray(
            np.broadcast_to(effort_fte_months, (len(launched), len(effort_fte_months))))
    factor = (1.0 + launched) ** np.log2(1.0 - learning_rate)
    return np.ascontiguousarray(factor[:, None] * effort_fte_months[None, :])


# --------------------------------------------------------------------------- rules


def volunteer_fte(state: BatchState, params: Parameters) -> np.ndarray:
    """Delivery time that contributor and champion LAs give the CoE, FTE float[R]."""
    return params.uptake.volunteer_fte_per_contributor * state.tally()[Tally.ENGAGED]


def productive_delivery_fte(state: BatchState, params: Parameters) -> np.ndarray:
    """Productive delivery FTE, float[R]: experienced staff, new starters at their
    productivity, and the cover of vacated delivery posts at new-starter productivity; less
    the share lost in a transition after a change of host (docs/model.md §6.1)."""
    workforce = params.workforce
    return (effective_fte(state.staff[:, Role.DELIVERY], state.novices[:, Role.DELIVERY],
                          workforce)
            + workforce.new_starter_productivity * state.vacancy_cover_fte[:, Role.DELIVERY]
            ) * state.productivity


def member_support_fte(state: BatchState, params: Parameters) -> np.ndarray:
    """Delivery FTE the member LAs take in support, float[R] (docs/model.md §4.1)."""
    return params.market.support_delivery_fte_per_member * state.tally()[Tally.MEMBERS]


def onboarding_due_fte(state: BatchState, params: Parameters) -> np.ndarray:
    """Delivery FTE the onboarding backlog asks for this sub-step, float[R]: the backlog
    falls due at the rate ``1 ÷ onboarding_months`` (a first-order delay, integrated exactly
    over the sub-step; all of it when the delay is 0)."""
    dt = params.time.dt_months
    months = params.market.onboarding_months
    with np.errstate(divide="ignore"):
        share = np.where(months > 0, -np.expm1(-dt / np.where(months > 0, months, 1.0)), 1.0)
    return state.onboarding_backlog * share / dt


def _capacity(state: BatchState, params: Parameters) -> tuple[np.ndarray, np.ndarray]:
    """(delivery FTE for services, delivery FTE onboarding this sub-step), float[R] each.

    Productive delivery FTE plus the volunteered time it can coordinate (at most
    ``volunteer_fte_per_staff_fte`` per productive FTE), less the FTE committed to
    commissions and the members' support; onboarding takes what it is due of the rest, and
    what then remains maintains and builds services (docs/model.md §4.1)."""
    productive = productive_delivery_fte(state, params)
    volunteers = np.minimum(volunteer_fte(state, params),
                            params.uptake.volunteer_fte_per_staff_fte * productive)
    spokes = spoke_net_fte(state, params, productive)  # issue #13: a hub's spokes (§7.12)
    available = np.maximum(productive + volunteers + spokes - state.commission_fte_demand
                           - member_support_fte(state, params), 0.0)
    onboarding = np.minimum(onboarding_due_fte(state, params), available)
    return available - onboarding, onboarding


def delivery_capacity(state: BatchState, params: Parameters) -> np.ndarray:
    """Delivery FTE for services, float[R]: productive delivery staff (new starters and cover
    count less) plus the volunteered time they can coordinate, minus the staff committed to
    commissioned projects, to the members' support and to onboarding new members."""
    return _capacity(state, params)[0]


def member_value_per_year(state: BatchState, params: Parameters) -> np.ndarray:
    """Value of the live services to one ordinary member LA, £/year, float[R] (with the
    bundle's uplift while the offer is complete)."""
    port = state.portfolio
    live = port.status == ServiceStatus.LIVE
    return (live * port.reliability
            * params.portfolio.services.value_gbp_per_member_per_year).sum(axis=1) * (
        bundle_factor(state, params))


def decide_launches(state: BatchState, params: Parameters, streams: MonthStreams,
                    month: int) -> None:
    """Calendar event, every month: the growth policy decides which builds start."""
    if state.operating.any():  # a closed Centre starts nothing
        start_builds(state.portfolio, params.portfolio, delivery_capacity(state, params),
                     state.operating, month)


def advance_portfolio(state: BatchState, params: Parameters, streams: MonthStreams,
                      month: int) -> None:
    """Sub-step: onboarding work is done, then the portfolio step runs with the delivery
    capacity left."""
    capacity, onboarding = _capacity(state, params)
    dt = params.time.dt_months
    onboarding = onboarding * state.operating
    state.onboarding_backlog[:] = np.maximum(state.onboarding_backlog - onboarding * dt, 0.0)
    state.flows.onboarding_fte += onboarding * dt
    flows = step_portfolio(state.portfolio, params.portfolio, capacity, state.operating, dt,
                           streams("portfolio"))
    # The month's first launches hold the launch event; launches later that month join it.
    first = (flows.launches > 0) & (state.flows.launches == 0)
    state.launch_cost_gbp = np.where(first, params.portfolio.launch_event_cost_gbp
                                     * state.cpi_index, 0.0)
    state.flows.launches += flows.launches
    state.flows.failed_launches += flows.failed_launches
    state.flows.incidents += flows.incidents
    state.flows.retirements += flows.retirements
    state.utilisation_last = flows.utilisation
