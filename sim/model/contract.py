"""A provider under contract (issue #13; docs/model.md §7.11).

The Centre as a contract: a commissioner pays a provider (a consultancy, a social enterprise,
a spun-out company) a contract price (``finance.grants[contract_grant]``, basis ``fixed``)
for a term, then re-procures. Rules of its own:

* **corporation tax** on the provider's profit for each fiscal year, at the rates of the
  Finance Act 2021 (19% up to £50,000, 25% from £250,000, marginal relief between), with a
  trading loss carried forward against later profits (Corporation Tax Act 2010 s.45), paid at
  the year end (cost line ``corporation_tax``);
* **margin**: a for-profit provider plans its team on the contract price less its margin
  (``margin``, docs/model.md §3.6), so the margin shows as profit;
* **distributions**: each March a for-profit provider pays its owners
  ``distribution_share`` of the year's post-tax profit, keeping ``retained_reserve_months``
  of running costs as working capital (cost line ``distribution``: the margin the supplier
  takes, a cost of buying the service);
* **bid costs** at each re-procurement, paid by the incumbent whether it wins or not (cost
  line ``bid``);
* **the service moves** when the incumbent loses the re-tender (``on_loss = "move"``): at
  the end of its term the service passes to the successor (a council or department: brought
  back in house; or another supplier) with its member LAs and its services. Under TUPE
  (Transfer of Undertakings (Protection of Employment) Regulations 2006 reg. 3(1)(b), a
  service provision change) the staff transfer; a share ``1 − tupe_transfer_share`` leave
  instead (binomial, stream ``contract_move``). The outgoing provider keeps its balance (cost
  line ``provider_exit``, after its part-year tax), the successor starts at £0, pays the
  transition cost, and its staff deliver less for ``transition_months``; the contract price
  pays on for ``successor_term_months``. With ``on_loss = "close"`` the income ends and the
  provider closes when its cash runs out (the behaviour before issue #13).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.finance import grant_income, pennies
from sim.model.parameters import Parameters
from sim.model.reserves import running_costs
from sim.model.workforce import binomial_draw

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["CT_LOWER_LIMIT_GBP", "CT_MAIN_RATE", "CT_SMALL_PROFITS_RATE", "CT_UPPER_LIMIT_GBP",
           "ContractBook", "NOT_DEDUCTIBLE", "corporation_tax_gbp", "margin_withheld_gbp",
           "move_service",
           "retender_bid", "settle_year"]

CT_SMALL_PROFITS_RATE = 0.19
"""Finance Act 2021 s.7, from 1 April 2023: profits up to the lower limit."""
CT_MAIN_RATE = 0.25
"""Finance Act 2021 s.6: the main rate, profits at or above the upper limit."""
CT_LOWER_LIMIT_GBP = 50_000.0
CT_UPPER_LIMIT_GBP = 250_000.0
CT_MARGINAL_RELIEF_FRACTION = 3.0 / 200.0
"""Corporation Tax Act 2010 s.18B: relief = fraction × (upper limit − profits) between the
limits (one company, no associated companies, a twelve-month period)."""

NOT_DEDUCTIBLE = ("corporation_tax", "distribution", "provider_exit")
"""Cost lines that are not expenses of the trade: the tax itself, and what passes to owners."""


def corporation_tax_gbp(profit: np.ndarray) -> np.ndarray:
    """Corporation tax on a year's taxable profit (£, float[R]; 0 on a loss)::

        P ≤ 50,000            0.19 P
        50,000 < P < 250,000  0.25 P − 3/200 × (250,000 − P)
        P ≥ 250,000           0.25 P
    """
    p = np.maximum(np.asarray(profit, dtype=float), 0.0)
    relief = CT_MARGINAL_RELIEF_FRACTION * (CT_UPPER_LIMIT_GBP - p)
    return np.where(p <= CT_LOWER_LIMIT_GBP, CT_SMALL_PROFITS_RATE * p,
                    np.where(p >= CT_UPPER_LIMIT_GBP, CT_MAIN_RATE * p,
                             CT_MAIN_RATE * p - relief))


@dataclass
class ContractBook:
    """Each replicate's contract: ``profit_ytd`` float[R] (the provider's profit so far this
    fiscal year, £), ``losses`` float[R] (trading losses carried forward, £), ``pending``
    bool[R] (bid at a re-procurement whose result falls due), ``pending_end`` int64[R] (the
    term's end at the bid), ``moved`` bool[R] (the service has passed to the successor)."""

    profit_ytd: np.ndarray
    losses: np.ndarray
    pending: np.ndarray
    pending_end: np.ndarray
    moved: np.ndarray

    @classmethod
    def initial(cls, replicates: int) -> ContractBook:
        return cls(profit_ytd=np.zeros(replicates), losses=np.zeros(replicates),
                   pending=np.zeros(replicates, dtype=bool),
                   pending_end=np.full(replicates, -1, dtype=np.int64),
                   moved=np.zeros(replicates, dtype=bool))


def _settle(state: BatchState, params: Parameters, rows: np.ndarray) -> None:
    """Tax and distribution on the profit so far in ``rows`` (bool[R]); the tally restarts."""
    terms, book = params.contract, state.contract
    profit = book.profit_ytd
    used = np.where(profit > 0, np.minimum(book.losses, profit), 0.0)
    taxable = np.maximum(profit - used, 0.0)
    losses = np.where(profit > 0, book.losses - used, book.losses - profit)
    book.losses[:] = np.where(rows, losses, book.losses)
    taxed = np.where(book.moved, terms.successor_corporation_tax, terms.corporation_tax)
    tax = np.where(rows & taxed, pennies(corporation_tax_gbp(taxable)), 0.0)
    share = np.where(book.moved, terms.successor_distribution_share, terms.distribution_share)
    room = state.reserves - tax - terms.retained_reserve_months * running_costs(state, params)
    paid = pennies(share * np.maximum(np.minimum(profit - tax, room), 0.0))
    paid = np.where(rows, paid, 0.0)
    state.reserves[:] = state.reserves - tax - paid
    state.flows.costs["corporation_tax"] += tax
    state.flows.costs["distribution"] += paid
    book.profit_ytd[rows] = 0.0


def margin_withheld_gbp(state: BatchState, params: Parameters, month: int,
                        horizon_months: int) -> np.ndarray:
    """What the provider keeps out of its team's budget over the planning horizon, float[R]
    in £: ``margin × Σ_{k = m … m + H − 1} contract price profile(k)`` (the successor's margin
    after a move); 0 without a contract (docs/model.md §7.11)."""
    terms = params.contract
    if not terms.enabled:
        return np.zeros(state.replicates)
    g = terms.contract_grant
    profile = sum((grant_income(state.grants, k)[:, g]
                   for k in range(month, month + horizon_months)), np.zeros(state.replicates))
    return np.where(state.contract.moved, terms.successor_margin, terms.margin) * profile


def settle_year(state: BatchState, params: Parameters, streams: MonthStreams,
                month: int) -> None:
    """Month end: add the month's profit (income less the deductible costs) to the year's;
    in a March, operating providers pay corporation tax and distribute (docs/model.md §7.11)."""
    if not params.contract.enabled:
        return
    flows = state.flows
    income = sum(flows.income.values())
    costs = sum(v for k, v in flows.costs.items() if k not in NOT_DEDUCTIBLE)
    state.contract.profit_ytd += income - costs
    if params.time.is_year_end(month):
        _settle(state, params, state.operating.copy())


def retender_bid(state: BatchState, params: Parameters, streams: MonthStreams,
                 month: int) -> None:
    """The re-procurement opens (just before the commissioner decides, docs/model.md §5.5):
    every operating incumbent whose term ends in a decision now bids, paying ``bid_cost_gbp``
    (at this year's prices), and awaits the result."""
    terms = params.contract
    g = terms.contract_grant
    book, grants = state.contract, state.grants
    taper = int(grants.taper[g])
    bidding = (state.operating & ~book.moved & (grants.renewals_left[:, g] > 0)
               & (grants.end[:, g] - taper == month))
    cost = np.where(bidding, pennies(np.asarray(terms.bid_cost_gbp * state.cpi_index)), 0.0)
    state.reserves[:] = state.reserves - cost
    state.flows.costs["bid"] += cost
    book.pending[bidding] = True
    book.pending_end[bidding] = grants.end[bidding, g]


def move_service(state: BatchState, params: Parameters, streams: MonthStreams,
                 month: int) -> None:
    """The term ends: where the incumbent lost the re-tender the service passes to the
    successor with its members and services; staff transfer under TUPE (docs/model.md §7.11)."""
    terms, book, grants = params.contract, state.contract, state.grants
    g = terms.contract_grant
    due = book.pending & (book.pending_end == month)
    lost = due & state.operating & (grants.end[:, g] == month) & ~book.moved
    book.pending[due] = False
    if not lost.any():
        return
    _settle(state, params, lost)  # the outgoing provider's part year
    exit_gbp = np.where(lost & (state.reserves > 0), state.reserves, 0.0)
    state.reserves[:] = state.reserves - exit_gbp
    state.flows.costs["provider_exit"] += exit_gbp
    book.profit_ytd[lost] = 0.0
    book.losses[lost] = 0.0
    book.moved[lost] = True
    table = params.hosting
    state.host[lost] = terms.successor_host
    state.hosting = table.select(state.host)
    leave = binomial_draw(streams("contract_move"), state.staff, 1.0 - terms.tupe_transfer_share)
    leave[~lost] = 0
    state.staff[:] -= leave
    np.minimum(state.novices, state.staff, out=state.novices)
    state.backfill += leave  # their posts are vacated like any leaver's
    state.flows.leavers += leave.sum(axis=1)
    lgps = state.hosting.lgps[:, None]
    state.lgps_members[:] = np.where(lost[:, None], np.where(lgps, state.staff, 0),
                                     state.lgps_members)
    state.one_off_gbp[lost] += terms.transition_cost_gbp * state.cpi_index
    state.transition_end[lost] = month + terms.transition_months
    state.transition_loss[lost] = terms.productivity_loss
    state.transition_double_running[lost] = 0.0
    grants.end[lost, g] = month + terms.successor_term_months
    grants.renewals_left[lost, g] = 0
    state.flows.service_moves += lost
