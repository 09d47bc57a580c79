"""The state of a batch: every stock of every replicate, replicate axis first, in one structure.

:class:`BatchState` is the only thing that changes while a batch runs: the rules of
:mod:`sim.model.simulation` (calendar events, host rules, uptake, workforce, portfolio,
finance) read and update it, and the month-end record reads it. :func:`initial_state` builds it
from the compiled parameters. Nothing else — no closure, no module global — carries model
state from one sub-step to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from sim.data import OFSTED_GRADES, LAPopulation
from sim.engine import RandomStreams
from sim.model._kernels import TallyLayout, ladder_tally
from sim.model.charitable_funds import FundBook
from sim.model.codes import Ladder, Role, Tally, tally_width
from sim.model.contract import ContractBook
from sim.model.finance import (
    COST_TYPES,
    INCOME_SOURCES,
    CommissionBook,
    GrantBook,
    InvoiceBook,
    lognormal_factor,
)
from sim.model.membership import LevyBook
from sim.model.parameters import HostParameters, Parameters
from sim.model.performance import PerformanceBook
from sim.model.policies import PolicyBook
from sim.model.portfolio import PortfolioState
from sim.model.spokes import SpokeBook
from sim.model.uptake import GateCache, PriceCache, price_refusals
from sim.model.workforce import NoticeBook

__all__ = ["BatchState", "LadderCounts", "MonthFlows", "initial_state"]


class LadderCounts:
    """Per-replicate counts of the ladder (a tally, float[rows, R], rows named by
    :class:`~sim.model.codes.Tally`), kept up to date cheaply.

    Whatever changes the ladder or the champions (the uptake step, renewals, mergers,
    closures) calls :meth:`changed`, and the next :meth:`now` counts afresh: the counts are
    taken about once a sub-step instead of at every use.
    """

    def __init__(self, las: LAPopulation, prices_gbp_per_year: np.ndarray, replicates: int):
        self.layout = TallyLayout(
            low_rated=np.ascontiguousarray(las.low_rated, dtype=bool),
            prices=np.broadcast_to(np.asarray(prices_gbp_per_year, dtype=float),
                                   (replicates, las.count)),
            ofsted=np.ascontiguousarray(las.ofsted, dtype=np.int64),
            region_row=(Tally.GRADES + len(OFSTED_GRADES) + las.region).astype(np.int64))
        self.tally = np.zeros((tally_width(len(las.region_names)), replicates))
        self.fresh = False
        self.stale: np.ndarray | None = None  # when not fresh: bool[R], the rows to count
        # afresh (None: every row)
        self.version = 0  # counts the changes: a key for what else is derived from the ladder
        # The ladder step may keep the counts current (taking each LA that moves out of its old
        # counts and into its new ones) only where that is exact: whole counts always, the
        # member prices when they are whole pounds whose sum is an exact float.
        prices = np.asarray(prices_gbp_per_year, dtype=float)
        self.exact_updates = bool(np.isfinite(prices).all() and (prices >= 0).all()
                                  and (prices == np.round(prices)).all()
                                  and prices.sum() < 2.0 ** 52)

    def changed(self, rows: np.ndarray | None = None) -> None:
        """The ladder or the champions changed (only in ``rows``, bool[R], when given): the
        next :meth:`now` counts afresh (those rows)."""
        self.version += 1
        if rows is not None and self.layout.prices.strides[0] == 0:
            # Each replicate's counts depend on its own row only, so the rows that changed can
            # be counted alone (prices the same in every row: any row's prices are theirs).
            if self.fresh:
                self.stale = np.array(rows, dtype=bool)
            elif self.stale is not None:
                self.stale = self.stale | rows
        else:
            self.stale = None
        self.fresh = False

    def kept_current(self) -> np.ndarray | None:
        """The tally for the ladder step to keep current in place as LAs move
        (:func:`~sim.model._kernels.ladder_step_tallied`), or None when the next :meth:`now`
        must count afresh anyway (the counts are stale, or updates would not be exact). Either
        way the ladder is about to change: the version moves on."""
        self.version += 1
        if self.fresh and self.exact_updates:
            return self.tally
        self.fresh, self.stale = False, None
        return None

    def now(self, ladder: np.ndarray, champions: np.ndarray) -> np.ndarray:
        """The tally of the ladder as it is now (do not modify)."""
        if not self.fresh:
            if self.stale is None:
                ladder_tally(ladder, champions, self.layout, self.tally)
            elif self.stale.any():
                rows = np.flatnonzero(self.stale)
                counts = np.empty((self.tally.shape[0], len(rows)))
                ladder_tally(ladder[rows], champions[rows], self.layout, counts)
                self.tally[:, rows] = counts
            self.fresh, self.stale = True, None
        return self.tally


@dataclass
class MonthFlows:
    """What happened in the month so far, float64[R] each (counts of people, LAs, services,
    events; money in £): filled by the calendar's events at the month boundary and by every
    sub-step, written out by the month-end record, then cleared."""

    leavers: np.ndarray
    hires: np.ndarray
    experienced_leavers: np.ndarray
    joins: np.ndarray
    champion_losses: np.ndarray
    orphan_lapses: np.ndarray
    launches: np.ndarray
    failed_launches: np.ndarray
    incidents: np.ndarray
    retirements: np.ndarray
    onboarding_fte: np.ndarray
    """delivery FTE-months spent onboarding new members (over a month: the mean FTE)"""
    redundancies: np.ndarray
    redundancy_notices: np.ndarray
    cut_redundancies: np.ndarray
    national_programmes: np.ndarray
    commissions_won: np.ndarray
    grant_renewals: np.ndarray
    grant_milestones_missed: np.ndarray
    renewal_lapses: np.ndarray
    hiring_frozen: np.ndarray
    """bool[R]: recruitment frozen in the month's last sub-step"""
    subscriptions_invoiced_gbp: np.ndarray
    """£ of subscription invoices raised (docs/model.md §5.6)"""
    bad_debts_gbp: np.ndarray
    """£ of subscription invoices written off, never to be paid"""
    subscription_refunds_gbp: np.ndarray
    """£ of subscriptions paid back to members for the rest of the year at a closure"""
    subscriptions_earned_gbp: np.ndarray
    """£ of subscriptions received that are earned in the month (what an offsetting grant
    deducts)"""
    # --- delivery models part 2 (issue #13) ---
    levy_stops: np.ndarray
    """a membership body's board stopped the levy (docs/model.md §7.9)"""
    service_moves: np.ndarray
    """the service passed to the successor after a lost re-tender (docs/model.md §7.11)"""
    spoke_exits: np.ndarray
    """a hub's spokes that withdrew (docs/model.md §7.12)"""
    spoke_joins: np.ndarray
    """spokes that replaced them"""
    income: dict[str, np.ndarray] = field(default_factory=dict)
    """£ by source of :data:`~sim.model.finance.INCOME_SOURCES`"""
    costs: dict[str, np.ndarray] = field(default_factory=dict)
    """£ by type of :data:`~sim.model.finance.COST_TYPES`"""

    @classmethod
    def zeros(cls, replicates: int) -> MonthFlows:
        counts = {f.name: np.zeros(replicates) for f in fields(cls)
                  if f.name not in ("hiring_frozen", "income", "costs")}
        return cls(**counts, hiring_frozen=np.zeros(replicates, dtype=bool),
                   income={s: np.zeros(replicates) for s in INCOME_SOURCES},
                   costs={c: np.zeros(replicates) for c in COST_TYPES})

    def counts(self) -> dict[str, np.ndarray]:
        """Every count by its metric name (money and the freeze flag excluded)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("hiring_frozen", "income", "costs")}


@dataclass
class BatchState:
    """Every stock of a batch of R replicates and N LAs (docs/model.md §1.3).

    LAs: ``ladder`` int8[R, N] (:class:`~sim.model.codes.Ladder`), ``champions`` int8[R, N]
    (engaged champions per member LA), ``counts`` (their tally). Staff by role
    (:class:`~sim.model.codes.Role` columns): ``staff``, ``novices`` (new starters not yet
    fully productive, among the staff), ``establishment`` (funded posts) int64[R, 3];
    ``lgps_members`` int64[R, 3] (staff in the Local Government Pension Scheme, docs/model.md
    §6.1); ``notices`` (people under redundancy notice); ``backfill`` float64[R, 3] (posts vacated
    by leavers and not yet refilled, an expected count) and ``vacancy_cover_fte``
    float64[R, 3] (agency or contractor cover in place this sub-step);
    ``recruitment_due_gbp`` float64[R] (hiring costs not yet paid). ``portfolio`` (services
    and reputation). Market: ``wtp_rank`` float[R, N] (each LA's rank in the distribution of
    willingness to pay, drawn once for the run), ``refuses_price`` bool[R, N] (its
    willingness to pay is below the price it is charged now), ``market_las``
    float64[R] (LAs, merged ones excepted, that would pay their price) and
    ``onboarding_backlog`` float64[R] (onboarding effort owed to new members, FTE-months).
    Money: ``reserves`` float64[R] (£), ``grants``, ``core_budget`` (£/year, set at spending
    reviews), ``commissions``, ``invoices`` (members' subscription invoices outstanding,
    per LA), ``charity_factor`` (this year's charitable income ÷ its mean),
    ``price_factor`` (this year's subscription price ÷ the list price, set each April by the
    host's reserves rule).
    Host: ``host`` int64[R] (index into the scenario's hosts), ``hosting`` (each replicate's
    current host parameters), ``operating`` bool[R], ``host_cut`` bool[R] (a host-imposed
    cut in force), ``deficit_months`` int64[R] (month ends in a row beyond the tolerance),
    ``nonviable_months`` int64[R] (month ends in a row not viable, after the grace period).
    External: ``programme_boost``, ``programme_rate_factor``, ``demand_multiplier``
    float64[R], ``policy_changed`` bool[R]. Signals carried from one sub-step to the next:
    ``income_last_gbp_per_month``, ``utilisation_last``. Due this month: ``one_off_gbp``
    (set-up and transition costs), ``redundancy_pay_gbp``, ``pension_strain_gbp`` (the
    pension strain cost of LGPS members aged 55+ made redundant), ``launch_cost_gbp`` (the
    launch event of this sub-step's launches), ``income_due`` (£/month by external
    source, refreshed after each sub-step's uptake), ``funding_due_gbp_per_month`` (grants
    and core budget due at the start of the month, for the cliff KPIs). ``flows`` is the
    month so far. Transition after a change of host (§6.1): ``transition_end`` int64[R]
    (first month after it), ``transition_loss`` and ``transition_double_running`` (its
    productivity loss and £/month), and this month's ``productivity`` (the factor on
    productive FTE, 1 outside a transition) and ``double_running_gbp_per_month``.
    ``performance`` the record funders judge (value delivered and costs of the
    last months); ``substep`` the sub-step running; ``gate`` the approval gate's chances, kept
    until the prices or the host change. Indices (one for every replicate, 1 in the first
    fiscal year, stepped each April, docs/model.md §5.13): ``pay_index``, ``cpi_index``,
    ``price_index`` (subscription list prices).
    """

    ladder: np.ndarray
    champions: np.ndarray
    counts: LadderCounts
    staff: np.ndarray
    novices: np.ndarray
    establishment: np.ndarray
    lgps_members: np.ndarray
    notices: NoticeBook
    backfill: np.ndarray
    vacancy_cover_fte: np.ndarray
    recruitment_due_gbp: np.ndarray
    portfolio: PortfolioState
    wtp_rank: np.ndarray
    refuses_price: np.ndarray
    market_las: np.ndarray
    onboarding_backlog: np.ndarray
    reserves: np.ndarray
    grants: GrantBook
    core_budget: np.ndarray
    commissions: CommissionBook
    invoices: InvoiceBook
    commission_fte_demand: np.ndarray
    charity_factor: np.ndarray
    price_factor: np.ndarray
    host: np.ndarray
    hosting: HostParameters
    operating: np.ndarray
    host_cut: np.ndarray
    deficit_months: np.ndarray
    nonviable_months: np.ndarray
    programme_boost: np.ndarray
    programme_rate_factor: np.ndarray
    demand_multiplier: np.ndarray
    policy_changed: np.ndarray
    income_last_gbp_per_month: np.ndarray
    utilisation_last: np.ndarray
    one_off_gbp: np.ndarray
    redundancy_pay_gbp: np.ndarray
    pension_strain_gbp: np.ndarray
    launch_cost_gbp: np.ndarray
    transition_end: np.ndarray
    transition_loss: np.ndarray
    transition_double_running: np.ndarray
    productivity: np.ndarray
    double_running_gbp_per_month: np.ndarray
    income_due: dict[str, np.ndarray]
    funding_due_gbp_per_month: np.ndarray
    flows: MonthFlows
    performance: PerformanceBook
    substep: int = 0
    gate: GateCache = field(default_factory=GateCache)
    charged: PriceCache = field(default_factory=PriceCache)
    pay_index: float = 1.0
    """nominal pay ÷ 2026/27 pay, stepped each April by the year's pay award (§5.13)"""
    cpi_index: float = 1.0
    """the CPI ÷ its 2026/27 level, stepped each April by the year's CPI rate"""
    price_index: float = 1.0
    """the subscription list prices ÷ their 2026/27 level, stepped each April"""
    # --- delivery models part 1 (issue #13) ---
    form_state: dict[str, Any] = field(default_factory=dict)
    """the legal form's own books by form name (``teckal``, ``partnership``), made when the
    form's host first acts (docs/model.md §7.5–§7.6)"""
    # --- delivery models part 2 (issue #13) ---
    levy: LevyBook = field(default_factory=lambda: LevyBook(np.zeros(0, dtype=bool)))
    """a membership body's levy (docs/model.md §7.9)"""
    funds: FundBook = field(default_factory=lambda: FundBook(np.zeros(0)))
    """a host charity's designated fund (§7.10)"""
    contract: ContractBook = field(default_factory=lambda: ContractBook.initial(0))
    """a provider's contract: tax, bids, the move to a successor (§7.11)"""
    spokes: SpokeBook = field(default_factory=lambda: SpokeBook(np.zeros((0, 3), np.int64)))
    """a hub's spokes (§7.12)"""
    policy: PolicyBook = field(default_factory=lambda: PolicyBook.empty(0, 0))
    """the adaptive policies' record (issue #14, docs/model.md §12)"""
    admission_cost: tuple[tuple[Any, ...], np.ndarray, np.ndarray] | None = None
    """the last :func:`~sim.model.pensions.admission_cost_gbp_per_month`: (its host, workforce
    parameters and indices; the LGPS members it was computed for; its value)"""
    history: dict[str, np.ndarray] | None = None
    """the metrics recorded so far, name → float[T, R] (month-major), which the adaptive
    policies read (None outside a simulation)"""

    @property
    def replicates(self) -> int:
        return int(self.reserves.shape[0])

    def tally(self) -> np.ndarray:
        """The ladder's counts now, float[rows, R] (see :class:`LadderCounts`)."""
        return self.counts.now(self.ladder, self.champions)


def initial_awareness(share: np.ndarray, count: np.ndarray, replicates: int, las: int,
                      streams: RandomStreams) -> np.ndarray:
    """Which LAs are aware at month 0, bool[R, N] (docs/model.md §2.1).

    Where ``count`` (float[R]) is NaN, the schema's unset, each LA is aware with probability
    ``share`` (float[R]), independently: the number aware is binomial, so a small share can
    leave a replicate with none. Where ``count`` = n (``uptake.initial_aware_count``, an exact
    seed) the replicate has floor(n) aware LAs plus one more with probability n − floor(n), so
    the count is within one LA of n and its mean is n; which LAs is random (the smallest of one
    uniform per LA). Each rule draws from its own fresh handle on the ``initial`` stream, so a
    replicate's LAs do not depend on which rule the other rows of its batch follow."""
    count = np.broadcast_to(np.asarray(count, dtype=float), (replicates,))
    unset = np.isnan(count)
    aware = np.zeros((replicates, las), dtype=bool)
    if unset.any():
        by_share = streams.month("initial", 0).random(las) < share[:, None]
        if unset.all():
            return by_share
        aware[unset] = by_share[unset]
    u = streams.month("initial", 0).random(las + 1)
    n = np.minimum(np.where(unset, 0.0, count), float(las))
    k = np.minimum(np.floor(n).astype(np.int64) + (u[:, las] < n - np.floor(n)), las)
    order = np.argsort(u[:, :las], axis=1, kind="stable")
    seeded = np.zeros((replicates, las), dtype=bool)
    np.put_along_axis(seeded, order, np.arange(las)[None, :] < k[:, None], axis=1)
    aware[~unset] = seeded[~unset]
    return aware


def initial_state(params: Parameters, las: LAPopulation, streams: RandomStreams) -> BatchState:
    """The state at month 0: LAs unaware except those drawn aware at launch, each LA's
    willingness to pay drawn (as its rank in the distribution), the initial team in post, no
    service built, the opening reserves, the first host."""
    R, N = params.replicates, las.count
    uptake, workforce, finance = params.uptake, params.workforce, params.finance
    ladder = np.full((R, N), Ladder.UNAWARE, dtype=np.int8)
    ladder[initial_awareness(uptake.initial_aware_share, uptake.initial_aware_count, R, N,
                             streams)] = Ladder.AWARE
    wtp_rank = streams.month("willingness_to_pay", 0).random(N)
    refuses = price_refusals(params.market, params.prices_gbp_per_year, wtp_rank)
    staff = np.tile(workforce.initial_fte, (R, 1))
    hosts = params.hosting.hosts
    host = np.zeros(R, dtype=np.int64)
    # This year's charitable income relative to its mean, drawn only if some host of the
    # scenario has charitable income (otherwise it is never used).
    charitable = any((h.charitable_income_gbp_per_year > 0).any() for h in hosts)
    charity_factor = (lognormal_factor(streams.month("charity", 0).random(),
                                       hosts[0].charitable_income_sigma)
                      if charitable else np.ones(R))
    assert staff.shape[1] == len(Role)
    return BatchState(
        ladder=ladder,
        champions=np.zeros((R, N), dtype=np.int8),
        counts=LadderCounts(las, params.prices_gbp_per_year, R),
        staff=staff,
        novices=np.zeros_like(staff),
        # Under the secured-income policy the first staff are the first posts (§3.6).
        establishment=np.tile(workforce.initial_fte if workforce.team_policy == "secured_income"
                              else workforce.establishment_fte, (R, 1)),
        lgps_members=np.where(hosts[0].lgps[:, None], staff, 0),
        notices=NoticeBook.empty(R, workforce.notice_months),
        backfill=np.zeros(staff.shape),
        vacancy_cover_fte=np.zeros(staff.shape),
        recruitment_due_gbp=np.zeros(R),
        portfolio=PortfolioState.initial(R, len(params.portfolio.services.complexity),
                                         params.portfolio.initial_reputation),
        wtp_rank=wtp_rank,
        refuses_price=refuses,
        market_las=(~refuses).sum(axis=1).astype(float),
        onboarding_backlog=np.zeros(R),
        reserves=np.array(finance.opening_reserves_gbp, dtype=float),
        grants=GrantBook.initial(finance.grants, R),
        core_budget=np.full(R, float(finance.core_budget_gbp_per_year)),
        commissions=CommissionBook.initial(R, finance.commissions.max_active),
        invoices=InvoiceBook.empty(R, N),
        commission_fte_demand=np.zeros(R),
        charity_factor=charity_factor,
        price_factor=np.ones(R),
        host=host,
        hosting=params.hosting.select(host),
        operating=np.ones(R, dtype=bool),
        host_cut=np.zeros(R, dtype=bool),
        deficit_months=np.zeros(R, dtype=np.int64),
        nonviable_months=np.zeros(R, dtype=np.int64),
        programme_boost=np.zeros(R),
        programme_rate_factor=np.ones(R),
        demand_multiplier=np.ones(R),
        policy_changed=np.zeros(R, dtype=bool),
        income_last_gbp_per_month=np.zeros(R),
        utilisation_last=np.zeros(R),
        one_off_gbp=np.zeros(R),
        redundancy_pay_gbp=np.zeros(R),
        pension_strain_gbp=np.zeros(R),
        launch_cost_gbp=np.zeros(R),
        transition_end=np.zeros(R, dtype=np.int64),
        transition_loss=np.zeros(R),
        transition_double_running=np.zeros(R),
        productivity=np.ones(R),
        double_running_gbp_per_month=np.zeros(R),
        income_due={},
        funding_due_gbp_per_month=np.zeros(R),
        flows=MonthFlows.zeros(R),
        performance=PerformanceBook.empty(params.events.funding_case.window_months, R),
        levy=LevyBook.initial(params, R),
        funds=FundBook.initial(params, R),
        contract=ContractBook.initial(R),
        spokes=SpokeBook.initial(params, R),
        policy=PolicyBook.empty(R, len(params.policies)),
    )
