"""One batch of replicates of one scenario: state, calendar events, the monthly step, records.

:func:`simulate` builds the state of all replicates in the batch as arrays with the replicate
axis first, registers the organisational events on a simpy :class:`~sim.engine.Calendar`
(April renewals, grant starts and ends, launch decisions), runs the monthly stock-flow step
and returns per-month metrics and per-replicate KPIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engine import Calendar, RandomStreams
from sim.model.finance import COST_TYPES, INCOME_SOURCES, grant_schedule, monthly_cashflow
from sim.model.kpis import compute_kpis
from sim.model.las import (
    AWARE,
    EVALUATING,
    LADDER_STATES,
    LAPSED,
    MEMBER,
    UNAWARE,
    LAPopulation,
)
from sim.model.portfolio import BUILDING, LIVE, PLANNED, PortfolioState, ServiceTable, start_builds, step_portfolio
from sim.model.uptake import renew, step_uptake
from sim.model.workforce import ROLES, step_workforce
from sim.scenario.schema import STRANDS, Scenario

__all__ = ["BatchResult", "METRICS", "simulate", "first_april"]

METRICS: dict[str, str] = {
    **{f"las_{s}": f"LAs in ladder state '{s}' at month end (count)" for s in LADDER_STATES},
    "las_reached": "LAs no longer unaware (count)",
    "members_low_rated": "member LAs rated requires improvement or inadequate (count)",
    "staff_fte": "staff in post, all roles (FTE)",
    **{f"staff_{r}_fte": f"{r} staff in post (FTE)" for r in ROLES},
    "vacancies": "funded posts not filled at month end (FTE; 0 while closed)",
    "leavers": "resignations in the month (people)",
    "hires": "hires completed in the month (people)",
    "hiring_frozen": "1 if recruitment was frozen at month end",
    "live_services": "services live at month end (count)",
    **{f"live_services_{s}": f"live services in strand {s} (count)" for s in STRANDS},
    "services_building": "services in build at month end (count)",
    "launches": "successful launches in the month (count)",
    "failed_launches": "failed launches in the month (count)",
    "incidents": "service incidents in the month (count)",
    "reliability_mean": "mean reliability of live services (0–1; NaN when none is live)",
    "reputation": "CoE reputation (0–1)",
    **{f"income_{s}_gbp": f"income from {s.replace('_', ' ')} in the month (£)" for s in INCOME_SOURCES},
    "income_total_gbp": "all income in the month (£)",
    **{f"costs_{c}_gbp": f"{c.replace('_', ' ')} costs in the month (£)" for c in COST_TYPES},
    "costs_total_gbp": "all costs in the month (£)",
    "net_gbp": "income minus costs in the month (£)",
    "reserves_gbp": "cash reserves at month end (£)",
    "operating": "1 while the CoE operates, 0 after closure",
    "value_delivered_gbp": "value of live services to member LAs in the month (£)",
}
"""Every per-month metric, with its definition and unit (documented in docs/outputs.md)."""


@dataclass
class BatchResult:
    """Results of one batch: per-month metrics float64[R, T] and per-replicate KPIs float64[R]."""

    metrics: dict[str, np.ndarray]
    kpis: dict[str, np.ndarray]
    events: list[tuple[int, str]] = field(default_factory=list)


def first_april(start: str) -> int:
    """Month index of the first April on or after the scenario start (``YYYY-MM``)."""
    month = int(start[5:7])
    return (4 - month) % 12


def simulate(scenario: Scenario, las: LAPopulation, streams: RandomStreams) -> BatchResult:
    """Simulate every replicate of the batch described by ``streams``.

    Parameters
    ----------
    scenario : the validated scenario.
    las : the LA population.
    streams : random streams for the batch's replicate blocks (R = ``streams.replicates``).
    """
    R, N = streams.replicates, las.count
    T = scenario.time.horizon_months
    substeps = scenario.time.substeps_per_month
    dt = 1.0 / substeps
    uptake, workforce, portfolio = scenario.uptake, scenario.workforce, scenario.portfolio
    finance = scenario.finance
    host = {"now": scenario.hosting}  # swapped by host-change events
    table = ServiceTable.from_portfolio(portfolio, STRANDS)
    S = len(portfolio.services)

    # ---------------------------------------------------------------- stocks
    ladder = np.full((R, N), UNAWARE, dtype=np.int8)
    ladder[streams.month("initial", 0).random(N) < uptake.initial_aware_share] = AWARE
    establishment = np.array([r.establishment_fte for r in workforce.roles()], dtype=np.int64)
    staff = np.tile(np.array([r.initial_fte for r in workforce.roles()], dtype=np.int64), (R, 1))
    port = PortfolioState.initial(R, S, portfolio.initial_reputation)
    reserves = np.full(R, float(finance.opening_reserves_gbp))
    operating = np.ones(R, dtype=bool)
    grant_amounts = np.array([g.amount_gbp_per_year / 12.0 for g in finance.grants])
    grant_active = np.zeros((R, len(finance.grants)), dtype=bool)
    schedule = grant_schedule(finance, T)  # [G, T], used for the funding-uncertainty signal
    window = workforce.funding_uncertainty_window_months
    ending_soon = np.array([
        [(g.end_month > m) and (g.end_month <= m + window) for m in range(T)] for g in finance.grants
    ], dtype=bool).reshape(len(finance.grants), T)
    last = {"income": np.zeros(R), "utilisation": np.zeros(R)}
    full_team_costs: dict[int, float] = {}  # monthly running costs with every post filled, per host
    one_off = np.zeros(R)  # set-up and transition costs due this month
    event_leavers = np.zeros(R)  # staff lost at a host change this month

    metrics = {name: np.zeros((R, T)) for name in METRICS}
    calendar = Calendar(T)

    # ---------------------------------------------------------------- events
    def fiscal_year_start(month: int) -> None:
        if month > 0:
            renew(ladder, uptake, port.reputation, operating, streams.month("renewal", month))

    def grant_starts(index: int):
        def action(month: int) -> None:
            grant_active[operating, index] = True
        return action

    def grant_ends(index: int):
        def action(month: int) -> None:
            grant_active[:, index] = False
        return action

    def launch_decisions(month: int) -> None:
        start_builds(port, table, portfolio, staff[:, 0].astype(float), operating)

    def host_set_up(month: int) -> None:
        one_off[operating] += scenario.hosting.setup_cost_gbp

    def host_change(index: int):
        change = scenario.host_changes[index]

        def action(month: int) -> None:
            host["now"] = change.hosting
            lost = streams.month("host_change", month).binomial(
                staff, np.full(staff.shape, change.staff_loss_share))
            lost[~operating] = 0
            staff[:] -= lost
            event_leavers[:] += lost.sum(axis=1)
            one_off[operating] += change.transition_cost_gbp
        return action

    calendar.every(first_april(scenario.time.start), 12, "fiscal year start: renewals", fiscal_year_start)
    for i, grant in enumerate(finance.grants):
        calendar.at(grant.start_month, f"grant starts: {grant.name}", grant_starts(i))
        calendar.at(grant.end_month, f"grant ends: {grant.name}", grant_ends(i))
    calendar.every(0, 1, "launch decisions", launch_decisions)
    calendar.at(0, f"host set-up: {scenario.hosting.model}", host_set_up)
    for i, change in enumerate(scenario.host_changes):
        calendar.at(change.month, f"host change: {change.hosting.model}", host_change(i))

    # ---------------------------------------------------------------- monthly step
    def close(rows: np.ndarray) -> None:
        """The host's failure rule has closed these replicates: everything stops."""
        operating[rows] = False
        staff[rows] = 0
        grant_active[rows] = False
        sub = ladder[rows]
        sub[(sub == MEMBER)] = LAPSED
        sub[(sub == EVALUATING)] = AWARE
        ladder[rows] = sub
        port.status[rows] = PLANNED
        port.progress[rows] = 0.0

    def affordable(hosting, grants_now: np.ndarray, price: float, month: int) -> np.ndarray:
        """Replicates that can afford a full team for the freeze horizon, bool[R].

        Recruitment goes ahead only if reserves plus the income now contracted (grants paying,
        members' subscriptions, host support) over the next ``hiring_freeze_reserve_months``
        cover the running costs of a fully staffed CoE over the same months. One-off costs are
        not running costs and do not count.
        """
        key = id(hosting)
        if key not in full_team_costs:
            team = monthly_cashflow(finance, hosting, workforce, establishment[None, :], np.zeros(1),
                                    np.zeros(1), np.zeros(1), 0, np.ones(1, dtype=bool), 1.0)
            full_team_costs[key] = float(team.costs_total[0])
        paying = month >= finance.subscriptions_from_month
        members = (ladder == MEMBER).sum(axis=1)
        income = (grants_now + hosting.in_kind_support_gbp_per_year / 12.0
                  + (members * price / 12.0 if paying else 0.0))
        horizon = workforce.hiring_freeze_reserve_months
        return reserves + horizon * (income - full_team_costs[key]) >= 0.0

    def step(month: int) -> None:
        rng_uptake = streams.month("uptake", month)
        rng_staff = streams.month("workforce", month)
        rng_portfolio = streams.month("portfolio", month)
        flows = {k: np.zeros(R) for k in ("leavers", "hires", "launches", "failed_launches", "incidents")}
        money: dict[str, np.ndarray] = {f"income_{s}_gbp": np.zeros(R) for s in INCOME_SOURCES}
        money.update({f"costs_{c}_gbp": np.zeros(R) for c in COST_TYPES})
        # Before subscriptions start the offer is free, and LAs decide on a free offer.
        price = finance.subscription_gbp_per_year if month >= finance.subscriptions_from_month else 0.0
        hosting = host["now"]
        flows["leavers"] += event_leavers
        event_leavers[:] = 0.0
        for sub in range(substeps):
            # Elementwise sums, not matmuls: BLAS rounding depends on the row count, and results
            # must not depend on how replicates are batched.
            grants_now = (grant_active * grant_amounts).sum(axis=1)
            ending = ((grant_active & ending_soon[:, month]) * grant_amounts).sum(axis=1)
            income_ending_share = np.clip(ending / np.maximum(last["income"], 1.0), 0.0, 1.0)
            overload = np.maximum(last["utilisation"] - 1.0, 0.0)
            frozen = ~affordable(hosting, grants_now, price, month)
            staff_flows = step_workforce(staff, establishment, workforce, hosting, income_ending_share,
                                         overload, frozen, operating, dt, rng_staff)
            flows["leavers"] += staff_flows.leavers.sum(axis=1)
            flows["hires"] += staff_flows.hires.sum(axis=1)

            step_uptake(ladder, las, uptake, hosting, price, staff[:, 1].astype(float), operating, dt,
                        rng_uptake)

            pf = step_portfolio(port, table, portfolio, staff[:, 0].astype(float), operating, dt,
                                rng_portfolio)
            flows["launches"] += pf.launches
            flows["failed_launches"] += pf.failed_launches
            flows["incidents"] += pf.incidents
            last["utilisation"] = pf.utilisation

            members = (ladder == MEMBER).sum(axis=1).astype(float)
            due = one_off / dt if sub == 0 else np.zeros(R)  # one-offs fall in the first sub-step
            cash = monthly_cashflow(finance, hosting, workforce, staff, members, grants_now, due, month,
                                    operating, dt)
            income, costs = cash.income_total, cash.costs_total
            reserves[:] = reserves + income - costs
            for s, v in cash.income.items():
                money[f"income_{s}_gbp"] += v
            for c, v in cash.costs.items():
                money[f"costs_{c}_gbp"] += v
            last["income"] = income / dt

            failing = operating & (reserves < -hosting.deficit_tolerance_gbp)
            if failing.any():
                close(failing)
        one_off[:] = 0.0
        record(month, flows, money, frozen)

    def record(month: int, flows: dict[str, np.ndarray], money: dict[str, np.ndarray],
               frozen: np.ndarray) -> None:
        m = metrics
        for code, name in enumerate(LADDER_STATES):
            m[f"las_{name}"][:, month] = (ladder == code).sum(axis=1)
        members = ladder == MEMBER
        m["las_reached"][:, month] = N - m["las_unaware"][:, month]
        m["members_low_rated"][:, month] = (members & las.low_rated).sum(axis=1)
        m["staff_fte"][:, month] = staff.sum(axis=1)
        for i, r in enumerate(ROLES):
            m[f"staff_{r}_fte"][:, month] = staff[:, i]
        m["vacancies"][:, month] = np.where(operating, np.maximum(establishment - staff, 0).sum(axis=1), 0)
        for k, v in flows.items():
            m[k][:, month] = v
        m["hiring_frozen"][:, month] = frozen & operating
        live = port.status == LIVE
        m["live_services"][:, month] = live.sum(axis=1)
        for i, s in enumerate(STRANDS):
            m[f"live_services_{s}"][:, month] = (live & (table.strand == i)).sum(axis=1)
        m["services_building"][:, month] = (port.status == BUILDING).sum(axis=1)
        n_live = live.sum(axis=1)
        reliability = port.reliability
        with np.errstate(invalid="ignore", divide="ignore"):
            m["reliability_mean"][:, month] = np.where(
                n_live > 0, (live * reliability).sum(axis=1) / n_live, np.nan)
        m["reputation"][:, month] = port.reputation
        for k, v in money.items():
            m[k][:, month] = v
        income = sum(money[f"income_{s}_gbp"] for s in INCOME_SOURCES)
        costs = sum(money[f"costs_{c}_gbp"] for c in COST_TYPES)
        m["income_total_gbp"][:, month] = income
        m["costs_total_gbp"][:, month] = costs
        m["net_gbp"][:, month] = income - costs
        m["reserves_gbp"][:, month] = reserves
        m["operating"][:, month] = operating
        value = (live * reliability * table.value_gbp_per_member_per_year).sum(axis=1) / 12.0
        m["value_delivered_gbp"][:, month] = value * members.sum(axis=1) * operating

    calendar.monthly_step(step)
    calendar.run()
    kpis = compute_kpis(metrics, schedule, scenario)
    return BatchResult(metrics=metrics, kpis=kpis, events=calendar.log)
