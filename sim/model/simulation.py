"""One batch of replicates of one scenario: state, calendar events, the monthly step, records.

:func:`simulate` builds the state of all replicates in the batch as arrays with the replicate
axis first, registers the organisational events on a simpy :class:`~sim.engine.Calendar`
(April renewals, grant starts and ends, launch decisions), runs the monthly stock-flow step
and returns per-month metrics and per-replicate KPIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sim.data import OFSTED_GRADES, REGION_NAMES, LAPopulation, region_slug
from sim.engine import Calendar, RandomStreams
from sim.model._kernels import (
    CHAMPIONS,
    ENGAGED,
    GRADES,
    LOW_RATED_MEMBERS,
    LOW_RATED_REACHED,
    MEMBER_PRICES,
    MEMBERS,
)
from sim.model.batching import column, per_replicate
from sim.model.events import (
    MAX_PROGRAMMES_PER_MONTH,
    core_budget_at_risk,
    demand_boost,
    general_election,
    poisson_from_uniform,
    spending_review,
)
from sim.model.finance import (
    COST_TYPES,
    INCOME_SOURCES,
    CommissionBook,
    GrantBook,
    add_commissions,
    charitable_income,
    commission_rate_per_month,
    decide_renewals,
    grant_income,
    grant_income_at_risk,
    lognormal_factor,
    monthly_cashflow,
    renewal_decision_months,
    sigma_from_cv,
    subscription_prices,
)
from sim.model.kpis import compute_kpis
from sim.model.las import (
    AWARE,
    EVALUATING,
    LADDER_STATES,
    LAPSED,
    UNAWARE,
    is_member,
)
from sim.model.portfolio import (
    BUILDING,
    LIVE,
    PLANNED,
    PortfolioState,
    ServiceTable,
    start_builds,
    step_portfolio,
)
from sim.model.reorganisation import merge_groups, merge_las
from sim.model.uptake import LadderCounts, renew, step_uptake
from sim.model.workforce import (
    ROLES,
    NoticeBook,
    binomial_draw,
    effective_fte,
    redundancies_needed,
    step_workforce,
)
from sim.scenario.schema import STRANDS, Scenario

__all__ = ["BatchResult", "METRICS", "simulate", "first_april"]

METRICS: dict[str, str] = {
    **{f"las_{s}": f"LAs in ladder state '{s}' at month end (count)" for s in LADDER_STATES},
    "las_reached": "LAs no longer unaware (count; merged LAs excluded)",
    "members": "member LAs: members, contributors and champions (count)",
    "members_low_rated": "member LAs rated requires improvement or inadequate (count)",
    **{f"members_ofsted_{g.lower().replace(' ', '_')}": f"member LAs rated {g} by Ofsted (count)"
       for g in OFSTED_GRADES},
    **{f"members_region_{region_slug(r)}": f"member LAs in {r} (count)" for r in REGION_NAMES},
    "low_rated_reached": "share of LAs rated requires improvement or inadequate that are no longer "
                         "unaware (0–1)",
    "champions": "engaged champions across member LAs (people)",
    "champion_losses": "champions who left their LA in the month (people)",
    "orphan_lapses": "member LAs that lapsed because their last champion left (count)",
    "joins": "LAs that became members in the month (count)",
    "renewal_lapses": "member LAs that did not renew in April (count; 0 in other months)",
    "volunteer_fte": "delivery capacity volunteered by contributor and champion LAs (FTE)",
    "effective_fte": "productive staff: experienced staff plus new starters at their "
                     "productivity (FTE)",
    "experienced_share": "share of staff in post past their ramp-up (0–1; NaN with no staff)",
    "experienced_leavers": "resignations of staff past their ramp-up in the month (people)",
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
    # Finance, hosting and external events.
    "value_delivered_hours": "value delivered to member LAs in LA analyst hours "
                             "(value_delivered_gbp ÷ finance.la_analyst_cost_gbp_per_hour)",
    "cost_per_member_gbp": "all costs in the month ÷ member LAs at month end "
                           "(£; NaN with no members)",
    "benefit_cost_ratio": "value delivered ÷ all costs in the month (NaN when costs are 0)",
    "core_budget_gbp_per_year": "core budget set by spending reviews and the election (£/year; "
                                "0 before it starts and after closure)",
    "grant_renewals": "grant renewals granted in the month (count)",
    "commissions_won": "commissioned projects won in the month (count)",
    "commissions_active": "commissioned projects running in the month (count)",
    "commission_fte": "delivery FTE committed to running commissions (FTE)",
    "national_programmes": "new national programmes starting in the month (count)",
    "demand_multiplier": "LA demand for help relative to its baseline, raised by national "
                         "programmes (x)",
    "policy_changed": "1 once a general election has changed policy on the CoE",
    "host_cut": "1 while a host-imposed cut is in force",
    "cut_redundancies": "staff given redundancy notice by a host-imposed cut in the month (people)",
    "redundancies": "staff who left at the end of a redundancy notice in the month (people; not "
                    "in leavers)",
    "under_notice": "staff serving redundancy notice at month end (people; still in post)",
    "redundancy_notices": "redundancy notices served in the month, for lack of cash or by a "
                          "host-imposed cut (people)",
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


def simulate(scenario: Scenario, las: LAPopulation, streams: RandomStreams,
             out: Mapping[str, np.ndarray] | None = None) -> BatchResult:
    """Simulate every replicate of the batch described by ``streams``.

    Parameters
    ----------
    scenario : the validated scenario.
    las : the LA population.
    streams : random streams for the batch's replicate blocks (R = ``streams.replicates``).
    out : optional storage for the metrics, name → float64[T, R] holding zeros (month-major;
        e.g. this batch's columns of an ensemble's arrays, or of a shared file): the model
        fills it in place, so nothing is copied afterwards.
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
    ladder[streams.month("initial", 0).random(N) < column(uptake.initial_aware_share)] = AWARE
    # Funded posts per replicate and role: cuts and redundancies delete posts in some replicates.
    funded_posts = np.array([r.establishment_fte for r in workforce.roles()], dtype=np.int64)
    establishment = np.tile(funded_posts, (R, 1))
    notices = NoticeBook.empty(R, workforce.notice_months)  # staff under redundancy notice
    redundancy_pay = np.zeros(R)  # redundancy pay falling due this month (£)
    staff = np.tile(np.array([r.initial_fte for r in workforce.roles()], dtype=np.int64), (R, 1))
    novices = np.zeros_like(staff)  # new starters among the staff, not yet fully productive
    port = PortfolioState.initial(R, S, portfolio.initial_reputation)
    reserves = per_replicate(finance.opening_reserves_gbp, R).copy()
    operating = np.ones(R, dtype=bool)
    # Finance and external events (sim/model/finance.py, sim/model/events.py).
    events = scenario.events
    grants = GrantBook.initial(finance.grants, R)  # per-replicate ends once renewals are drawn
    prices = subscription_prices(finance, las.child_population)  # £/year by band: [N] or [R, N]
    counts = LadderCounts(las, prices, R)  # tally of the ladder, refreshed as it changes
    core_budget = np.full(R, float(finance.core_budget_gbp_per_year))  # £/year, set at reviews
    commissions = CommissionBook.initial(R, finance.commissions.max_active)
    commission_fte_demand = np.zeros(R)  # delivery FTE committed to commissions (for the portfolio)
    # This year's charitable income relative to its mean, per replicate (drawn only if some
    # host of the scenario has charitable income: otherwise it is never used).
    charitable = any(h.charitable_income_gbp_per_year > 0
                     for h in (scenario.hosting, *(c.hosting for c in scenario.host_changes)))
    charity_factor = (lognormal_factor(streams.month("charity", 0).random(),
                                       sigma_from_cv(scenario.hosting.charitable_income_cv))
                      if charitable else np.ones(R))
    programme_boost = np.zeros(R)  # demand_multiplier = 1 + programme_boost
    programme_rate_factor = np.ones(R)  # raised by an election policy change
    policy_changed = np.zeros(R, dtype=bool)
    host_cut = np.zeros(R, dtype=bool)  # a host-imposed cut is in force (hiring frozen)
    deficit_months = np.zeros(R, dtype=np.int64)  # consecutive month ends beyond the tolerance
    event_counts = {"grant_renewals": np.zeros(R)}  # flows of this month's calendar events
    # Grant and core-budget income due before closure, for the KPIs (month-major, like metrics).
    schedule = np.zeros((T, R))
    window = workforce.funding_uncertainty_window_months
    last = {"income": np.zeros(R), "utilisation": np.zeros(R)}
    # Per host: fixed £/month and £/month per head by role (running_costs).
    team_costs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    one_off = np.zeros(R)  # set-up and transition costs due this month
    event_leavers = np.zeros(R)  # staff lost at a host change this month
    champions = np.zeros((R, N), dtype=np.int8)  # engaged champions per member LA
    demand_multiplier = np.ones(R)  # LA demand for help (raised by national programmes)
    renewal_lapses = np.zeros(R)

    # Filled a month at a time, so kept month-major ([T, R]: each month's values contiguous) and
    # handed back transposed ([R, T] views).
    metrics = ({name: out[name] for name in METRICS} if out is not None
               else {name: np.zeros((T, R)) for name in METRICS})
    calendar = Calendar(T)

    # ---------------------------------------------------------------- events
    def price_at(month: int) -> np.ndarray:
        """Each LA's subscription price in a month, £/year by size band, float[N] (float[R, N]
        when prices differ by replicate); the offer is free before subscriptions start."""
        return np.where(month >= column(finance.subscriptions_from_month), prices, 0.0)

    def member_value_per_year() -> np.ndarray:
        """Value of the live services to one ordinary member LA, £/year, float[R]."""
        live = port.status == LIVE
        return (live * port.reliability * table.value_gbp_per_member_per_year).sum(axis=1)

    def volunteer_fte() -> np.ndarray:
        """Delivery time that contributor and champion LAs give the CoE, FTE float[R]."""
        return uptake.volunteer_fte_per_contributor * counts.now(ladder, champions)[ENGAGED]

    def delivery_capacity() -> np.ndarray:
        """Delivery FTE for services, float[R]: productive delivery staff (new starters count
        less) plus volunteered time, minus the staff committed to commissioned projects."""
        productive = effective_fte(staff[:, :1], novices[:, :1], workforce)[:, 0]
        return np.maximum(productive + volunteer_fte() - commission_fte_demand, 0.0)

    def fiscal_year_start(month: int) -> None:
        if month > 0:
            lapses = renew(ladder, champions, las, uptake, port.reputation, member_value_per_year(),
                           price_at(month), operating, streams.month("renewal", month))
            counts.changed()
            renewal_lapses[:] = lapses.sum(axis=1)

    def grant_milestone(month: int) -> None:
        """Grant starts and ends: payments follow from the grant book (finance.grant_income)."""

    def grant_renewal(index: int):
        def action(month: int) -> None:
            renewed = decide_renewals(grants, index, month,
                                      streams.month("grant_renewal", month).random())
            event_counts["grant_renewals"] += renewed & operating
        return action

    def review(month: int) -> None:
        new, _, stopped = spending_review(core_budget, events.spending_review,
                                          streams.month("spending_review", month).random())
        core_budget[:] = new
        ended = stopped & operating
        if host["now"].failure_rule == "spending_review" and ended.any():
            close(ended)  # the department does not renew the unit

    def election(month: int) -> None:
        changed = general_election(events.election, streams.month("election", month).random())
        policy_changed[changed] = True
        core_budget[changed] *= events.election.core_budget_multiplier
        programme_rate_factor[changed] *= events.election.programme_rate_multiplier
        for g, grant in enumerate(finance.grants):
            if grant.government_funded:
                grants.renewal_prob[changed, g] = np.minimum(
                    grants.renewal_prob[changed, g] * events.election.grant_renewal_multiplier, 1.0)

    def charity_year(month: int) -> None:
        if month > 0:  # month 0's draw is made with the initial state
            charity_factor[:] = lognormal_factor(streams.month("charity", month).random(),
                                                 sigma_from_cv(host["now"].charitable_income_cv))

    def launch_decisions(month: int) -> None:
        start_builds(port, table, portfolio, delivery_capacity(), operating, month)

    def host_set_up(month: int) -> None:
        one_off[operating] += scenario.hosting.setup_cost_gbp

    def host_change(index: int):
        change = scenario.host_changes[index]

        def action(month: int) -> None:
            host["now"] = change.hosting
            lost = binomial_draw(streams.month("host_change", month), staff,
                                 change.staff_loss_share)
            lost[~operating] = 0
            staff[:] -= lost
            np.minimum(novices, staff, out=novices)  # new starters are among those who may go
            event_leavers[:] += lost.sum(axis=1)
            one_off[operating] += change.transition_cost_gbp
        return action

    calendar.every(first_april(scenario.time.start), 12, "fiscal year start: renewals", fiscal_year_start)
    for i, grant in enumerate(finance.grants):
        calendar.at(grant.start_month, f"grant starts: {grant.name}", grant_milestone)
        decisions = renewal_decision_months(grant)
        for k, decision in enumerate(decisions):
            calendar.at(decision, f"grant renewal decision: {grant.name}", grant_renewal(i))
            calendar.at(decision + grant.taper_months + grant.renewal_months,
                        f"grant ends if renewed{' again' * k}: {grant.name}", grant_milestone)
        for end in np.unique(np.asarray(grant.end_month)):  # one per replicate when stacked
            calendar.at(int(end), f"grant ends: {grant.name}"
                        + (" (unless renewed)" if decisions else ""), grant_milestone)
    if finance.core_budget_gbp_per_year > 0:
        calendar.every(events.spending_review.first_month, events.spending_review.period_months,
                       "spending review", review)
    calendar.at(events.election.month, "general election", election)
    if charitable:
        calendar.every(first_april(scenario.time.start), 12, "fiscal year start: charitable income",
                       charity_year)
    calendar.every(0, 1, "launch decisions", launch_decisions)
    calendar.at(0, f"host set-up: {scenario.hosting.model}", host_set_up)
    for i, change in enumerate(scenario.host_changes):
        calendar.at(change.month, f"host change: {change.hosting.model}", host_change(i))
    for reorganisation in events.reorganisations:
        groups = merge_groups(las, reorganisation.merges)
        calendar.at(reorganisation.month,
                    f"local government reorganisation: {len(groups)} merger(s)",
                    lambda month, groups=groups: (merge_las(ladder, champions, groups),
                                                  counts.changed()))

    # ---------------------------------------------------------------- monthly step
    def close(rows: np.ndarray) -> None:
        """The host's failure rule has closed these replicates: everything stops."""
        operating[rows] = False
        staff[rows] = 0
        novices[rows] = 0
        notices.clear(rows)
        commissions.clear(rows)
        host_cut[rows] = False
        sub = ladder[rows]
        sub[is_member(sub)] = LAPSED
        sub[(sub == EVALUATING)] = AWARE
        ladder[rows] = sub
        champions[rows] = 0
        counts.changed()
        port.status[rows] = PLANNED
        port.progress[rows] = 0.0

    def income_due(month: int, hosting) -> dict[str, np.ndarray]:
        """Income due this month from each external source before closure, £/month float[R]:
        grants (with tapers and renewals), the core budget, members' subscriptions by size band,
        running commissions and charitable income (host support follows from the host)."""
        zero = np.zeros(R)
        return {
            "grant": grant_income(grants, month).sum(axis=1),
            "core_budget": core_budget / 12.0 if month >= finance.core_budget_from_month else zero,
            "subscriptions": np.where(month >= finance.subscriptions_from_month,
                                      counts.now(ladder, champions)[MEMBER_PRICES] / 12.0, 0.0),
            "commissions": commissions.income(),
            "charitable": charitable_income(hosting, charity_factor),
        }

    def affordable(hosting, income_now: np.ndarray) -> np.ndarray:
        """Replicates that can afford a full team for the freeze horizon, bool[R].

        Recruitment goes ahead only if reserves plus the income now contracted (grants paying,
        core budget, members' subscriptions, running commissions, charitable and host support)
        over the next ``hiring_freeze_reserve_months`` cover the running costs of a fully
        staffed CoE over the same months. One-off costs are not running costs and do not count.
        """
        fixed, per_head = running_costs(hosting)
        full_team = fixed + (establishment * per_head).sum(axis=1)
        income = income_now + hosting.in_kind_support_gbp_per_year / 12.0
        horizon = workforce.hiring_freeze_reserve_months
        return reserves + horizon * (income - full_team) >= 0.0

    def running_costs(hosting) -> tuple[np.ndarray, np.ndarray]:
        """Monthly running costs under a host: the fixed part (£/month, float[R]) and the cost
        of one person in each role (£/month, float[R, 3]; per replicate, as cost parameters may
        differ by replicate); one-off costs excluded. Costs are linear in staff, so a team's
        running costs are ``fixed + Σ staff × per_head``."""
        key = id(hosting)
        if key not in team_costs:
            def cost_of(team: np.ndarray) -> np.ndarray:
                return monthly_cashflow(finance, hosting, workforce, np.tile(team, (R, 1)), {},
                                        np.zeros(R), np.ones(R, dtype=bool), 1.0).costs_total

            fixed = cost_of(np.zeros((1, 3), dtype=np.int64))
            per_head = np.stack([cost_of(np.eye(3, dtype=np.int64)[k:k + 1]) - fixed
                                 for k in range(3)], axis=1)
            team_costs[key] = (fixed, per_head)
        return team_costs[key]

    def serve_notices(counts: np.ndarray, month: int) -> None:
        """Give redundancy notice to ``counts`` people (int64[R, 3]) and delete their posts
        (and any vacant posts in those replicates): nobody is hired back into them."""
        notices.serve(month, counts)
        cutting = counts.sum(axis=1) > 0
        establishment[cutting] = np.minimum(establishment[cutting], staff[cutting])
        establishment[:] -= counts

    def restore_posts(hosting, income_now: np.ndarray) -> None:
        """Re-fund posts deleted by cuts or redundancies once the full scenario team is
        affordable again (the hiring-freeze test of §3.3 for the original establishment), no
        host cut is in force and nobody is under notice: a recovered CoE rebuilds its team."""
        short = (establishment < funded_posts).any(axis=1) & operating & ~host_cut
        if not short.any():
            return
        fixed, per_head = running_costs(hosting)
        income = income_now + hosting.in_kind_support_gbp_per_year / 12.0
        full = fixed + (funded_posts * per_head).sum(axis=1)
        k = workforce.hiring_freeze_reserve_months
        able = short & (reserves + k * (income - full) >= 0) & (notices.under_notice.sum(axis=1) == 0)
        establishment[able] = funded_posts

    def redundancies(month: int, hosting, income_now: np.ndarray, flows: dict[str, np.ndarray]) -> None:
        """Cash-shortage redundancies, then departures whose notice ends this month.

        A replicate that cannot pay ``redundancy_trigger_months`` of its current team's running
        costs from reserves plus that many months of contracted income serves notice on enough
        people to close the gap (docs/model.md §3.4). People leave when their notice ends, and
        their redundancy pay falls due then.
        """
        k = workforce.redundancy_trigger_months
        fixed, per_head = running_costs(hosting)
        if k > 0:
            income = income_now + hosting.in_kind_support_gbp_per_year / 12.0
            costs_now = fixed + (staff * per_head).sum(axis=1)
            leaving_anyway = (notices.under_notice * per_head).sum(axis=1)
            shortfall = costs_now - leaving_anyway - income - reserves / k
            shortfall[~operating] = 0.0
            if (shortfall > 0).any():
                counts = redundancies_needed(shortfall, staff, notices.under_notice, per_head,
                                             workforce)
                serve_notices(counts, month)
                flows["redundancy_notices"] += counts.sum(axis=1)
        leaving = np.minimum(notices.leaving(month), staff)
        leaving[~operating] = 0
        from_novices = np.minimum(leaving, novices)
        staff[:] -= leaving
        novices[:] -= from_novices
        weekly_pay = np.array([r.salary_gbp_per_year for r in workforce.roles()]) / 52.0
        redundancy_pay[:] = (leaving * weekly_pay * workforce.redundancy_pay_weeks).sum(axis=1)
        flows["redundancies"] += leaving.sum(axis=1)

    def impose_cut(rows: np.ndarray, month: int, hosting, flows: dict[str, np.ndarray]) -> None:
        """A host-imposed cut: each role's establishment falls by ``cut_share``; staff above the
        cut establishment are given redundancy notice (they leave when it ends, §3.4) and
        hiring is frozen until reserves are back above £0."""
        host_cut[rows] = True
        target = np.floor(establishment * (1.0 - hosting.cut_share)).astype(np.int64)
        cut = np.where(rows[:, None], np.maximum(staff - notices.under_notice - target, 0), 0)
        establishment[rows] = np.minimum(establishment[rows], target[rows])
        notices.serve(month, cut)
        flows["cut_redundancies"] += cut.sum(axis=1)
        flows["redundancy_notices"] += cut.sum(axis=1)

    def apply_failure_rule(month: int, hosting, flows: dict[str, np.ndarray]) -> None:
        """The host's failure rule after a sub-step's cash flow (docs/model.md §5.4)."""
        below = operating & (reserves < -hosting.deficit_tolerance_gbp)
        if hosting.failure_rule == "insolvency":
            if below.any():
                close(below)
            return
        newly = below & ~host_cut
        if newly.any():
            impose_cut(newly, month, hosting, flows)
        if hosting.failure_rule == "deficit_tolerance":
            failing = operating & (reserves < -hosting.closure_deficit_gbp)
            if failing.any():
                close(failing)

    def month_end_failure_rule(hosting) -> None:
        """Count months beyond the tolerance; lift cuts once reserves are back above £0."""
        beyond = operating & (reserves < -hosting.deficit_tolerance_gbp)
        deficit_months[:] = np.where(beyond, deficit_months + 1, 0)
        host_cut[reserves >= 0] = False
        if hosting.failure_rule == "deficit_tolerance":
            failing = operating & (deficit_months >= hosting.max_deficit_months)
            if failing.any():
                close(failing)

    def step(month: int) -> None:
        rng_uptake = streams.month("uptake", month)
        rng_staff = streams.month("workforce", month)
        rng_portfolio = streams.month("portfolio", month)
        flows = {k: np.zeros(R) for k in ("leavers", "hires", "launches", "failed_launches", "incidents",
                                          "joins", "champion_losses", "orphan_lapses",
                                          "experienced_leavers", "redundancies",
                                          "redundancy_notices")}
        money: dict[str, np.ndarray] = {f"income_{s}_gbp": np.zeros(R) for s in INCOME_SOURCES}
        money.update({f"costs_{c}_gbp": np.zeros(R) for c in COST_TYPES})
        # Before subscriptions start the offer is free, and LAs decide on a free offer.
        price = price_at(month)
        hosting = host["now"]
        flows["leavers"] += event_leavers
        event_leavers[:] = 0.0
        # Income due now; refreshed after each sub-step's uptake (members change), so the next
        # sub-step's signals see it without computing it again.
        due_now = external_month_start(month, hosting, flows)
        income_now = sum(due_now.values())
        redundancies(month, hosting, income_now, flows)
        restore_posts(hosting, income_now)
        for sub in range(substeps):
            at_risk = (grant_income_at_risk(grants, month, window)
                       + core_budget_at_risk(due_now["core_budget"], month, events.spending_review,
                                             window))
            income_ending_share = np.clip(at_risk / np.maximum(last["income"], 1.0), 0.0, 1.0)
            overload = np.maximum(last["utilisation"] - 1.0, 0.0)
            frozen = ~affordable(hosting, sum(due_now.values())) | host_cut
            staff_flows = step_workforce(staff, novices, establishment, workforce, hosting,
                                         income_ending_share, overload, frozen, operating, dt,
                                         rng_staff)
            flows["leavers"] += staff_flows.leavers.sum(axis=1)
            flows["hires"] += staff_flows.hires.sum(axis=1)
            flows["experienced_leavers"] += staff_flows.experienced_leavers.sum(axis=1)

            la_flows = step_uptake(ladder, champions, las, uptake, hosting, price,
                                   effective_fte(staff[:, 1:2], novices[:, 1:2], workforce)[:, 0],
                                   demand_multiplier, port.reputation,
                                   operating, dt, rng_uptake, counts)
            flows["joins"] += la_flows.joins
            flows["champion_losses"] += la_flows.champion_losses
            flows["orphan_lapses"] += la_flows.orphan_lapses

            pf = step_portfolio(port, table, portfolio, delivery_capacity(), operating, dt,
                                rng_portfolio)
            flows["launches"] += pf.launches
            flows["failed_launches"] += pf.failed_launches
            flows["incidents"] += pf.incidents
            last["utilisation"] = pf.utilisation

            first = sub == 0  # one-offs and redundancy pay fall in the first sub-step
            due_now = income_due(month, hosting)
            cash = monthly_cashflow(finance, hosting, workforce, staff, due_now,
                                    one_off if first else np.zeros(R), operating, dt,
                                    redundancy_pay if first else None)
            income, costs = cash.income_total, cash.costs_total
            reserves[:] = reserves + income - costs
            for s, v in cash.income.items():
                money[f"income_{s}_gbp"] += v
            for c, v in cash.costs.items():
                money[f"costs_{c}_gbp"] += v
            last["income"] = income / dt

            apply_failure_rule(month, hosting, flows)
        month_end_failure_rule(hosting)
        one_off[:] = 0.0
        flows["renewal_lapses"] = renewal_lapses.copy()
        renewal_lapses[:] = 0.0
        record(month, flows, money, frozen)
        record_finance(month)
        commissions.age()

    def external_month_start(month: int, hosting,
                             flows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """National programmes arrive and fade; commissions arrive; the month's flows of the
        calendar's events are moved into ``flows``; the grant schedule is noted for the KPIs.
        Returns the income due at the start of the month (:func:`income_due`)."""
        programmes = events.national_programmes
        arrivals = poisson_from_uniform(programmes.rate_per_year / 12.0 * programme_rate_factor,
                                        streams.month("national_programmes", month).random(),
                                        MAX_PROGRAMMES_PER_MONTH)
        programme_boost[:] = demand_boost(programme_boost, arrivals, programmes)
        demand_multiplier[:] = 1.0 + programme_boost
        terms = finance.commissions
        rate = commission_rate_per_month(terms, port.reputation,
                                         counts.now(ladder, champions)[MEMBERS], N)
        # A commission is taken only while delivery staff exceed the FTE already committed.
        accepting = (operating & hosting.commissions_allowed
                     & (staff[:, 0] > commissions.fte_demand()))
        won = add_commissions(commissions, terms, rate,
                              streams.month("commissions", month).random(1 + terms.max_active),
                              accepting)
        commission_fte_demand[:] = commissions.fte_demand()
        flows["national_programmes"] = arrivals.astype(float)
        flows["commissions_won"] = won.astype(float)
        flows["grant_renewals"] = event_counts["grant_renewals"].copy()
        flows["cut_redundancies"] = np.zeros(R)
        event_counts["grant_renewals"][:] = 0.0
        due = income_due(month, hosting)
        schedule[month] = due["grant"] + due["core_budget"]
        return due

    def record_finance(month: int) -> None:
        """Finance, hosting and external-event metrics at month end (flows are in ``flows``)."""
        m = metrics
        m["core_budget_gbp_per_year"][month] = np.where(
            month >= finance.core_budget_from_month, core_budget, 0.0) * operating
        m["commissions_active"][month] = commissions.active * operating
        m["commission_fte"][month] = commissions.fte_demand() * operating
        m["demand_multiplier"][month] = demand_multiplier
        m["policy_changed"][month] = policy_changed
        m["host_cut"][month] = host_cut & operating
        value = m["value_delivered_gbp"][month]
        costs = m["costs_total_gbp"][month]
        members = m["members"][month]
        m["value_delivered_hours"][month] = value / finance.la_analyst_cost_gbp_per_hour
        with np.errstate(invalid="ignore", divide="ignore"):
            m["cost_per_member_gbp"][month] = np.where(members > 0, costs / members, np.nan)
            m["benefit_cost_ratio"][month] = np.where(costs > 0, value / costs, np.nan)

    # Which tally row each ladder metric is, and other metric names, spelt out once.
    tally_metrics = [
        *((code, f"las_{name}") for code, name in enumerate(LADDER_STATES)),
        (MEMBERS, "members"), (LOW_RATED_MEMBERS, "members_low_rated"), (CHAMPIONS, "champions"),
        *((GRADES + code, f"members_ofsted_{grade.lower().replace(' ', '_')}")
          for code, grade in enumerate(OFSTED_GRADES)),
        *((GRADES + len(OFSTED_GRADES) + code, f"members_region_{region_slug(region)}")
          for code, region in enumerate(las.region_names)),
    ]
    role_metrics = [f"staff_{r}_fte" for r in ROLES]
    strand_metrics = [f"live_services_{s}" for s in STRANDS]

    def record(month: int, flows: dict[str, np.ndarray], money: dict[str, np.ndarray],
               frozen: np.ndarray) -> None:
        m = metrics
        tally = counts.now(ladder, champions)  # [counts, R]
        for row, name in tally_metrics:
            m[name][month] = tally[row]
        m["las_reached"][month] = N - m["las_unaware"][month] - m["las_merged"][month]
        m["low_rated_reached"][month] = tally[LOW_RATED_REACHED] / max(int(las.low_rated.sum()), 1)
        m["volunteer_fte"][month] = volunteer_fte()
        m["under_notice"][month] = notices.under_notice.sum(axis=1)
        m["effective_fte"][month] = effective_fte(staff, novices, workforce).sum(axis=1)
        in_post = staff.sum(axis=1)
        m["experienced_share"][month] = np.where(
            in_post > 0, 1 - novices.sum(axis=1) / np.maximum(in_post, 1), np.nan)
        m["staff_fte"][month] = in_post
        for i, name in enumerate(role_metrics):
            m[name][month] = staff[:, i]
        m["vacancies"][month] = np.where(operating, np.maximum(establishment - staff, 0).sum(axis=1), 0)
        for k, v in flows.items():
            m[k][month] = v
        m["hiring_frozen"][month] = frozen & operating
        live = port.status == LIVE
        m["live_services"][month] = live.sum(axis=1)
        for i, name in enumerate(strand_metrics):
            m[name][month] = (live & (table.strand == i)).sum(axis=1)
        m["services_building"][month] = (port.status == BUILDING).sum(axis=1)
        n_live = live.sum(axis=1)
        reliability = port.reliability
        with np.errstate(invalid="ignore", divide="ignore"):
            m["reliability_mean"][month] = np.where(
                n_live > 0, (live * reliability).sum(axis=1) / n_live, np.nan)
        m["reputation"][month] = port.reputation
        for k, v in money.items():
            m[k][month] = v
        income = sum(money[f"income_{s}_gbp"] for s in INCOME_SOURCES)
        costs = sum(money[f"costs_{c}_gbp"] for c in COST_TYPES)
        m["income_total_gbp"][month] = income
        m["costs_total_gbp"][month] = costs
        m["net_gbp"][month] = income - costs
        m["reserves_gbp"][month] = reserves
        m["operating"][month] = operating
        value = (live * reliability * table.value_gbp_per_member_per_year).sum(axis=1) / 12.0
        # Members weighted by value (low-rated LAs gain more), from whole-number counts.
        low_members = tally[LOW_RATED_MEMBERS]
        weighted_members = (tally[MEMBERS] - low_members
                            + uptake.low_rated_value_multiplier * low_members)
        m["value_delivered_gbp"][month] = value * weighted_members * operating

    calendar.monthly_step(step)
    calendar.run()
    by_replicate = {name: values.T for name, values in metrics.items()}  # [R, T] views
    kpis = compute_kpis(by_replicate, schedule.T, scenario)
    return BatchResult(metrics=by_replicate, kpis=kpis, events=calendar.log)
