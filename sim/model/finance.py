"""Money: income by source, costs by type, grants with tapers and renewals (paying eligible
spend, or their profile), subscriptions by LA size band, commissioned projects and charitable
income.

All amounts are pounds per step (a month, or a sub-step's share of it), rounded to the penny
before they touch reserves, so ``reserves = opening + Σ income − Σ costs`` holds to the penny.
State is held replicate-first (``[R]``, ``[R, G]`` grants, ``[R, K]`` commission slots); every
function acts on all replicates at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model import _invoice_kernels as invoice_kernels
from sim.model._invoice_kernels import NO_DUE, NOT_BILLED
from sim.model.codes import FailureRule, Role, Tally, is_member
from sim.model.external import poisson_from_uniform
from sim.model.membership import levy_gbp_per_month
from sim.model.parameters import (
    CommissionParameters,
    FinanceParameters,
    GrantParameters,
    HostParameters,
    Parameters,
    WorkforceParameters,
)
from sim.model.pensions import admission_cost_gbp_per_month, admission_costs, admitted_members
from sim.model.performance import with_odds_scaled
from sim.model.spokes import spoke_cost_gbp_per_month

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["Cashflow", "CommissionBook", "EARNED_INCOME", "GRANT_ELIGIBLE_COSTS", "GrantBook",
           "HALF_PENNY", "InvoiceBook", "NOT_BILLED", "TRANSFERS",
           "INCOME_SOURCES", "COST_TYPES", "EXTERNAL_INCOME", "add_commissions",
           "arrive_commissions", "charitable_income", "claim_grants",
           "commission_rate_per_month", "decide_renewals", "grant_income", "grant_income_at_risk",
           "grant_year_profile", "income_due", "lognormal_factor", "monthly_cashflow",
           "note_income_due", "pay_and_collect", "pennies", "renewal_decision_months",
           "recognise_subscriptions", "refund_unexpired", "running_cost_rates",
           "settle_invoices", "subscriptions_accrued", "write_off_leavers"]

INCOME_SOURCES = ("grant", "core_budget", "subscriptions", "commissions", "charitable",
                  "host_support",
                  "membership_levy")  # delivery models part 2 (issue #13)
COST_TYPES = ("staff", "overhead", "non_pay", "vat", "governance", "setup", "redundancy",
              "pension_strain", "recruitment", "vacancy_cover", "launch", "surrender",
              "dividend",  # delivery models part 1 (issue #13): a CIC's dividend (§7.7)
              # delivery models part 2 (issue #13): a provider under contract (§7.11)
              "corporation_tax", "distribution", "bid", "provider_exit",
              "spokes")  # issue #13: a hub's spokes (§7.12)
"""Cost lines. ``surrender`` is a transfer, not a cost of provision: a department's positive
balance handed back at 31 March (annuality, docs/model.md §5.11), charged by its year-end
rule rather than by :func:`monthly_cashflow`; so is ``dividend``, a community interest
company's capped distribution to its members (docs/model.md §7.7). A provider's
``corporation_tax``, ``distribution``, ``bid`` and ``provider_exit`` are charged by its own
rules too (:mod:`sim.model.contract`, §7.11)."""
TRANSFERS = ("surrender", "dividend", "distribution", "provider_exit")
"""Cost lines that are transfers, not costs of provision (left out of the cost per member and
the benefit–cost ratio): money handed back, or paid out to owners or members, or kept by an
outgoing provider; a provider's corporation tax and bid costs are costs of providing the
service under contract."""
EXTERNAL_INCOME = ("grant", "core_budget", "subscriptions", "commissions", "charitable",
                   "membership_levy")
"""Income sources the caller computes from the state; host support follows from the host."""

GRANT_ELIGIBLE_COSTS = ("staff", "overhead", "non_pay", "vat", "governance", "setup",
                        "recruitment", "vacancy_cover", "launch",
                        "spokes")  # issue #13: the spokes' time and coordination (§7.12)
"""Costs an ``eligible_spend`` grant pays (docs/model.md §5.5): the project's staff with their
on-costs, the host's overhead recharge, non-pay costs, VAT the body cannot recover, governance,
set-up, the recruitment and agency cover of the project's posts (§3.5) and launch events
(§4.10). Not redundancy pay nor the pension strain cost of a redundancy (liabilities of the
employer, usually ineligible unless agreed; docs/model.md §6.1) nor a surrender (a
transfer)."""

EARNED_INCOME = ("subscriptions", "commissions")
"""Income the CoE earns from LAs and commissioners: an ``offsets`` grant pays only the eligible
costs this income leaves uncovered."""


HALF_PENNY = 0.005
"""Reserves within half a penny of a threshold are at it: reserves are sums of whole pennies,
which floating point holds with dust (±1e−10), and a balance an eligible-spend grant keeps at
exactly £0 must not read as an overdraft."""


def pennies(x: np.ndarray) -> np.ndarray:
    """Round pounds to the penny."""
    return np.round(x, 2)


# ---------------------------------------------------------------------------- grants


@dataclass
class GrantBook:
    """The grants of every replicate.

    Attributes
    ----------
    start : int[G], first paying month.
    amount : float[R, G], £/month while paying in full.
    taper : int[G], taper months before the end.
    renewal_months : int[G], how far a renewal moves the end.
    end : int[R, G], current end month (moved by renewals, so per replicate).
    renewals_left : int[R, G], renewals still possible (0 once a renewal is refused).
    renewal_prob : float[R, G], chance of renewal at the next decision (an election may change it).
    eligible : bool[G], the grant pays eligible spend (``basis = "eligible_spend"``); else its
        profile (``fixed``).
    offsets : bool[G], earned income reduces what an eligible-spend grant pays.
    year_cap : float[R, G], £: the profile's total over the current fiscal year, the most an
        eligible-spend grant pays in it (read again at each April and after a renewal).
    year_cap_of : the fiscal year's first month and the ends ``year_cap`` was read for.
    paid_year : float[R, G], £ paid so far in the current fiscal year.
    paid_rate : float[R, G], £/month paid in the last sub-step (the income staff see at risk).
    """

    start: np.ndarray
    amount: np.ndarray
    taper: np.ndarray
    renewal_months: np.ndarray
    end: np.ndarray
    renewals_left: np.ndarray
    renewal_prob: np.ndarray
    eligible: np.ndarray
    offsets: np.ndarray
    year_cap: np.ndarray
    paid_year: np.ndarray
    paid_rate: np.ndarray
    year_cap_of: tuple[int, np.ndarray] | None = None

    @classmethod
    def initial(cls, grants: tuple[GrantParameters, ...], replicates: int) -> GrantBook:
        def column(values: list[float], dtype: type) -> np.ndarray:
            return np.tile(np.array(values, dtype=dtype).reshape(1, len(grants)), (replicates, 1))

        amount = (np.stack([g.amount_gbp_per_year / 12.0 for g in grants], axis=1)
                  if grants else np.zeros((replicates, 0)))
        return cls(
            start=np.array([g.start_month for g in grants], dtype=np.int64),
            amount=amount,
            taper=np.array([g.taper_months for g in grants], dtype=np.int64),
            renewal_months=np.array([g.renewal_months for g in grants], dtype=np.int64),
            end=np.stack([g.end_month for g in grants], axis=1).astype(np.int64)
            if grants else np.zeros((replicates, 0), np.int64),
            renewals_left=column([g.max_renewals if g.renewal_prob > 0 else 0 for g in grants],
                                 np.int64),
            renewal_prob=column([g.renewal_prob for g in grants], float),
            eligible=np.array([g.basis == "eligible_spend" for g in grants], dtype=bool),
            offsets=np.array([g.earned_income == "offsets" for g in grants], dtype=bool),
            year_cap=np.zeros((replicates, len(grants))),
            paid_year=np.zeros((replicates, len(grants))),
            paid_rate=np.array(amount, dtype=float),  # until the first payment: the profile
        )


def grant_income(book: GrantBook, month: int) -> np.ndarray:
    """Grant income due in ``month`` before any closure, float[R, G] in £/month.

    ``amount × clip((end − m) ÷ (taper + 1), 0, 1)`` from the start month on: the full amount
    until the taper, ``amount × (end − m) ÷ (taper + 1)`` in taper month ``m``, 0 from ``end``.
    """
    factor = np.clip((book.end - month) / (book.taper + 1.0), 0.0, 1.0)
    return np.where(month >= book.start, factor * book.amount, 0.0)


def renewal_decision_months(grant: GrantParameters) -> list[int]:
    """Months of a grant's possible renewal decisions (the start of each possible taper); with
    an end month per replicate (stacked design points), every month one of them may decide in."""
    if grant.renewal_prob <= 0:
        return []
    ends = np.unique(grant.end_month).astype(int)
    return sorted({int(end) + k * grant.renewal_months - grant.taper_months
                   for end in ends for k in range(grant.max_renewals)})


def decide_renewals(book: GrantBook, index: int, month: int, u: np.ndarray,
                    odds_factor: np.ndarray | None = None) -> np.ndarray:
    """Renewal decision of grant ``index`` where one is due this month, in place.

    Due where ``end − taper = month`` and renewals are left. Renewed (``u < renewal_prob``,
    whose odds are multiplied by ``odds_factor`` float[R] when given: the Centre's case,
    docs/model.md §7.4): the end moves ``renewal_months`` later and one renewal is used.
    Refused: no renewals are left and the taper, if any, begins. Returns bool[R], the
    replicates renewed.
    """
    g = index
    due = (book.end[:, g] - book.taper[g] == month) & (book.renewals_left[:, g] > 0)
    chance = book.renewal_prob[:, g]
    if odds_factor is not None:
        chance = with_odds_scaled(chance, odds_factor)
    renewed = due & (u < chance)
    book.end[renewed, g] += book.renewal_months[g]
    book.renewals_left[renewed, g] -= 1
    book.renewals_left[due & ~renewed, g] = 0
    return renewed


def grant_year_profile(book: GrantBook, first_month: int) -> np.ndarray:
    """The profile's total over the fiscal year starting at ``first_month`` (possibly
    negative), float[R, G] in £: ``Σ_{k = first … first + 11} grant_income(k)``, with the
    book's ends as they stand. The most an ``eligible_spend`` grant pays in that year: a grant
    starting or ending part-way through a year has a pro-rata cap, a taper a reduced one."""
    total = np.zeros_like(book.amount)
    for month in range(first_month, first_month + 12):
        total += grant_income(book, month)
    return total


def grant_income_at_risk(book: GrantBook, month: int, window_months: int) -> np.ndarray:
    """Expected grant income lost within the funding-uncertainty window, float[R] in £/month.

    Σ over grants paying now whose end falls in months ``month + 1 … month + window`` of the
    payment now × the chance the end is real: 1 once no renewal is left, else
    ``1 − renewal_prob``. The payment of an ``eligible_spend`` grant is what it paid in the
    last sub-step (at most its profile): a grant paying only part of its profile puts only
    that part at risk. Staff read this as the risk to their funding.
    """
    pay = grant_income(book, month)
    if book.eligible.any():
        pay = np.where(book.eligible, np.minimum(pay, book.paid_rate), pay)
    ending = (book.end > month) & (book.end <= month + window_months)
    p_end = np.where(book.renewals_left > 0, 1.0 - book.renewal_prob, 1.0)
    return (pay * ending * p_end).sum(axis=1)


# ---------------------------------------------------------------------------- commissions


@dataclass
class CommissionBook:
    """Commissioned projects in ``K`` slots per replicate.

    Attributes
    ----------
    remaining : int64[R, K], months left (0 = free slot).
    pay : float[R, K], £/month paid while running.
    fte : float[R, K], delivery FTE the project needs while running.
    """

    remaining: np.ndarray
    pay: np.ndarray
    fte: np.ndarray

    @classmethod
    def initial(cls, replicates: int, slots: int) -> CommissionBook:
        return cls(np.zeros((replicates, slots), dtype=np.int64), np.zeros((replicates, slots)),
                   np.zeros((replicates, slots)))

    @property
    def active(self) -> np.ndarray:
        """int[R]: commissions running."""
        return (self.remaining > 0).sum(axis=1)

    def income(self) -> np.ndarray:
        """float[R]: £/month due from running commissions."""
        return (self.pay * (self.remaining > 0)).sum(axis=1)

    def fte_demand(self) -> np.ndarray:
        """float[R]: delivery FTE committed to running commissions."""
        return (self.fte * (self.remaining > 0)).sum(axis=1)

    def age(self) -> None:
        """A month has passed: every running commission has a month less to run."""
        np.maximum(self.remaining - 1, 0, out=self.remaining)

    def clear(self, rows: np.ndarray) -> None:
        """Replicates that closed drop their commissions."""
        self.remaining[rows] = 0


def commission_rate_per_month(commissions: CommissionParameters, reputation: np.ndarray,
                              members: np.ndarray, n_las: int) -> np.ndarray:
    """Arrival rate of commissions, float[R] per month:
    ``rate_per_year ÷ 12 × reputation × (1 + member_effect × members ÷ N)``."""
    return (commissions.rate_per_year / 12.0 * reputation
            * (1.0 + commissions.member_effect * members / n_las))


_STANDARD_NORMAL = NormalDist()


def lognormal_factor(u: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """Lognormal multipliers with mean 1 and log-scale spread ``sigma`` from uniforms:
    ``exp(σ z − σ² / 2)``, ``z = Φ⁻¹(u)``.

    ``Φ⁻¹`` is the standard library's ``NormalDist.inv_cdf`` (Wichura's AS241, accurate to
    double precision), one value at a time: the draws are few (a year's factor per replicate,
    the value of each commission won), and it spares every worker process the 0.1 s import of
    ``scipy.special``.
    """
    clipped = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
    z = np.fromiter(map(_STANDARD_NORMAL.inv_cdf, clipped.ravel().tolist()), dtype=float,
                    count=clipped.size).reshape(clipped.shape)  # Python floats: faster scalars
    return np.exp(sigma * z - sigma * sigma / 2.0)


def add_commissions(book: CommissionBook, commissions: CommissionParameters,
                    rate_per_month: np.ndarray, u: np.ndarray, accepting: np.ndarray,
                    cpi_index: float = 1.0) -> np.ndarray:
    """Arrivals of one month, placed in free slots in place; returns the count won, int[R].

    Parameters
    ----------
    rate_per_month : float[R], expected arrivals this month.
    u : float[R, 1 + K], uniforms: column 0 gives the Poisson count (by inversion), columns
        1 … K the value of a project placed in slot k (lognormal, mean ``mean_value_gbp``).
    accepting : bool[R], replicates that take commissions (operating, and the host's form allows).
    cpi_index : the price index now (docs/model.md §5.13): a project's value and its charge
        per FTE-month are in 2026/27 prices × it, so the FTE a project needs does not drift.
    """
    slots = book.remaining.shape[1]
    arrivals = poisson_from_uniform(rate_per_month, u[:, 0], slots)
    free = book.remaining == 0
    take = free & (np.cumsum(free, axis=1) <= arrivals[:, None]) & accepting[:, None]
    if take.any():  # values only for the slots filled (most months, none)
        value = (commissions.mean_value_gbp * cpi_index
                 * lognormal_factor(u[:, 1:][take], commissions.value_sigma))
        pay = value / commissions.duration_months
        book.remaining[take] = commissions.duration_months
        book.pay[take] = pay
        book.fte[take] = pay / (commissions.charge_gbp_per_fte_month * cpi_index)
    return take.sum(axis=1)


# ---------------------------------------------------------------------------- charity


def charitable_income(hosting: HostParameters, factor: np.ndarray) -> np.ndarray:
    """Charitable income, float[R] in £/month: ``mean ÷ 12 × this year's factor`` under a host
    whose form allows it (:data:`~sim.scenario.schema.CHARITABLE_FORMS`), else 0."""
    return np.where(hosting.charitable_form,
                    hosting.charitable_income_gbp_per_year / 12.0 * factor, 0.0)


# ---------------------------------------------------------------------------- invoices


@dataclass
class InvoiceBook:
    """The subscription invoices of every LA of every replicate (docs/model.md §5.6).

    Each April every member LA is invoiced for the year at the year's price; an LA that
    becomes a member later in the year is invoiced then for the months left. An invoice is
    paid ``finance.invoice_payment_months`` after it is raised if the LA is still a member;
    an LA that leaves first never pays it (a bad debt). An LA's invoices sit in two slots, by
    the parity of their fiscal year: an invoice is paid or written off at most 11 months after
    it is raised, so at most last year's and this year's are outstanding at once. Months are
    held as int32 (they fit; the passes read the book every sub-step, and a narrower one
    is less to read).

    Attributes
    ----------
    amount : float[R, N, 2], £ outstanding, whole pennies (0: nothing outstanding).
    due : int32[R, N, 2], month the invoice in the slot falls due.
    billed_for : int32[R, N], first month of the fiscal year the LA was invoiced for as a
        member (:data:`NOT_BILLED` once it leaves): a member not billed for the year it is in
        is invoiced.
    paid : float[R, N], £ the LA has paid on its invoice of that year, and ``recognised``
        float[R, N] the part of it earned so far (the months served of those it pays for).
    pending : float[R], £ paid by LAs that left, not yet recognised (earned at once: no
        service is owed to them).
    covers : int32[R, N], months of that year its invoice covers (12 from April; fewer for a
        joiner).
    billed : int64[R], how many LAs of the replicate are billed for a year, and ``next_due``
        int64[R] a month no later than any of its non-zero invoices falls due (:data:`NO_DUE`:
        none); kept by the passes so that they leave alone the rows with nothing to do.
    month : the last month settled (:func:`settle_invoices`), and ``year_first`` the first
        month of its fiscal year: a closure refunds the months after it.
    """

    amount: np.ndarray
    due: np.ndarray
    billed_for: np.ndarray
    paid: np.ndarray
    covers: np.ndarray
    recognised: np.ndarray
    pending: np.ndarray
    billed: np.ndarray
    next_due: np.ndarray
    month: int = 0
    year_first: int = 0
    active: bool = False  # an invoice was ever raised: until then the rules have nothing to do
    version: int = 0  # counts changes to ``amount`` and ``billed_for``: a cache key
    accrued: tuple[tuple[object, ...], np.ndarray] | None = None  # the last accrual, by key

    @classmethod
    def empty(cls, replicates: int, n_las: int) -> InvoiceBook:
        return cls(np.zeros((replicates, n_las, 2)),
                   np.zeros((replicates, n_las, 2), dtype=np.int32),
                   np.full((replicates, n_las), NOT_BILLED, dtype=np.int32),
                   np.zeros((replicates, n_las)), np.ones((replicates, n_las), dtype=np.int32),
                   np.zeros((replicates, n_las)), np.zeros(replicates),
                   np.zeros(replicates, dtype=np.int64),
                   np.full(replicates, NO_DUE, dtype=np.int64))

    def outstanding(self) -> np.ndarray:
        """float[R]: £ invoiced and not yet paid or written off."""
        return self.amount.sum(axis=(1, 2))


def _paying_members(state: BatchState) -> np.ndarray:
    """bool[R, N]: member LAs of an operating Centre (the LAs whose invoices stand)."""
    return is_member(state.ladder) & state.operating[:, None]


def write_off_leavers(state: BatchState) -> None:
    """LAs that are no longer members of an operating Centre (they lapsed at renewal or when
    their last champion left, merged in a reorganisation, or their Centre closed) never pay
    what they owe: each outstanding invoice is written off as a bad debt (``flows.
    bad_debts_gbp``; no recovery, an assumption), and the LA is no longer billed for the year,
    so a return is invoiced afresh; what it paid for months not yet served is earned at once.
    Called wherever LAs leave and before every collection (the pass:
    :func:`sim.model._invoice_kernels.write_off`)."""
    book = state.invoices
    if not book.active:
        return
    lost = np.zeros(state.replicates)
    gone, owed = invoice_kernels.write_off(state.ladder, state.operating, book.amount,
                                           book.billed_for, book.paid, book.recognised,
                                           book.pending, lost, book.billed)
    if gone:
        book.version += 1
    if owed:
        state.flows.bad_debts_gbp += pennies(lost)


def recognise_subscriptions(state: BatchState, params: Parameters, month: int) -> np.ndarray:
    """Subscriptions received that are earned in this sub-step, float[R] in £: each member's
    payment for the year spread evenly over the months its invoice covers, the months
    already served recognised when the payment arrives; and at once what LAs that left had
    paid ahead. What an ``offsets`` grant deducts (:func:`claim_grants`): income received in
    advance is not income of the months before those it pays for (docs/model.md §5.6; the
    pass: :func:`sim.model._invoice_kernels.recognise`)."""
    book = state.invoices
    if not book.active:
        return np.zeros(state.replicates)
    dt = params.time.dt_months
    steps = np.zeros(state.replicates)
    invoice_kernels.recognise(book.paid, book.billed_for, book.covers, book.recognised,
                              params.time.fiscal_year_start(month),
                              month + (state.substep + 1) * dt, steps, book.billed)
    earned = pennies((steps + book.pending) * state.operating)
    book.pending = np.zeros(state.replicates)
    state.flows.subscriptions_earned_gbp += earned
    return earned


def refund_unexpired(state: BatchState, rows: np.ndarray) -> None:
    """The Centre closes in ``rows`` (bool[R]), before its members lapse: each member that has
    paid for the year gets back the part of its payment for the months after the last month
    settled, ``paid × months left ÷ months covered``: in full under a council or a department
    (a public body stands behind its Centre's debts), and under a company only as far as its
    cash allows (none when insolvent: members are unsecured creditors); assumptions,
    docs/model.md §5.6. Refunds are subscriptions paid back (negative
    ``income.subscriptions``, and ``flows.subscription_refunds_gbp``)."""
    book = state.invoices
    if not book.active:
        return
    left = 11 - (book.month - book.year_first)
    if left <= 0:
        return
    # Only the closing rows (few) are looked at: the others owe nothing.
    closing = np.flatnonzero(rows)
    paid, covers = book.paid[closing], book.covers[closing]
    current = (is_member(state.ladder[closing]) & state.operating[closing, None]
               & (book.billed_for[closing] == book.year_first) & (paid > 0))
    if not current.any():
        return
    owed = np.zeros(state.replicates)
    owed[closing] = np.where(current, paid * np.minimum(left, covers) / covers, 0.0).sum(axis=1)
    company = state.hosting.failure_rule == FailureRule.INSOLVENCY
    refund = pennies(np.where(company, np.minimum(owed, np.maximum(state.reserves, 0.0)), owed))
    state.reserves[:] = state.reserves - refund
    state.flows.income["subscriptions"] = state.flows.income["subscriptions"] - refund
    state.flows.subscription_refunds_gbp += refund
    paid[current] = 0.0
    book.paid[closing] = paid


def _collect(state: BatchState, params: Parameters, month: int) -> np.ndarray:
    """Invoices of members due by ``month`` are paid, less ``finance.bad_debt_share`` of each,
    written off; returns the cash received, float[R] in £ (whole pennies; the pass:
    :func:`sim.model._invoice_kernels.collect`)."""
    book = state.invoices
    if not book.active:
        return np.zeros(state.replicates)
    R = state.replicates
    unpaid, received = np.zeros(R), np.zeros(R)
    share = np.broadcast_to(np.asarray(params.finance.bad_debt_share, dtype=float), (R,))
    slot = ((month - params.time.first_april) // 12) % 2  # this year's slot (other: last year's)
    if not invoice_kernels.collect(state.ladder, state.operating, book.amount, book.due,
                                   book.paid, month, share, slot, unpaid, received,
                                   book.next_due):
        return received
    book.version += 1
    state.flows.bad_debts_gbp += pennies(unpaid)
    return pennies(received)


def _raise_invoices(state: BatchState, params: Parameters, month: int) -> None:
    """Members of an operating, charging Centre not yet billed for this fiscal year are
    invoiced: ``pennies(list price × price index × price factor × (12 − k) ÷ 12)`` with ``k``
    the months of the year already gone (0 in April: the whole year), due
    ``invoice_payment_months`` on (the price index: docs/model.md §5.13; the pass:
    :func:`sim.model._invoice_kernels.raise_invoices`)."""
    finance = params.finance
    charging = (month >= finance.subscriptions_from_month) & state.operating
    if not charging.any():
        return
    first = params.time.fiscal_year_start(month)
    book = state.invoices
    invoiced = np.zeros(state.ladder.shape)
    raised = invoice_kernels.raise_invoices(
        state.ladder, charging, first, 12 - (month - first),
        ((month - params.time.first_april) // 12) % 2, month + finance.invoice_payment_months,
        np.broadcast_to(params.prices_gbp_per_year, state.ladder.shape), state.price_factor,
        float(state.price_index), book.amount, book.due, book.billed_for, book.paid,
        book.recognised, book.covers, invoiced, book.billed, book.next_due)
    if raised:
        book.active = True
        book.version += 1
        state.flows.subscriptions_invoiced_gbp += invoiced.sum(axis=1)


def settle_invoices(state: BatchState, params: Parameters, month: int) -> np.ndarray:
    """Sub-step, before the cash flow: leavers' invoices are written off, members' invoices
    that fall due are paid, and members not yet billed for the year are invoiced (paid at once
    when ``invoice_payment_months`` is 0). Returns the subscriptions received, float[R] in £."""
    book = state.invoices
    book.month, book.year_first = month, params.time.fiscal_year_start(month)
    write_off_leavers(state)
    cash = _collect(state, params, month)
    _raise_invoices(state, params, month)
    if params.finance.invoice_payment_months == 0:
        cash = cash + _collect(state, params, month)
    return cash


def subscriptions_accrued(state: BatchState, params: Parameters, month: int) -> np.ndarray:
    """What members owe for months already served less what they have paid for months still to
    come, float[R] in £, at the start of ``month``: the members' outstanding invoices, less
    ``(12 − k) ÷ 12`` of the year's price of each member billed for the year (``k`` the months
    of the year gone: the part of the year its invoice, paid or not, covers from now on); each
    less ``bad_debt_share``. Added to the cash reserves it gives the free reserves the money
    rules plan on: subscriptions paid in advance are not free to spend (docs/model.md §5.6).
    Kept from one call to the next while nothing it reads has changed."""
    book = state.invoices
    if not book.active:
        return np.zeros(state.replicates)
    key = (month, book.version, state.counts.version, state.operating.tobytes(),
           state.price_factor.tobytes(), float(state.price_index))
    if book.accrued is not None and book.accrued[0] == key:
        return book.accrued[1].copy()
    R = state.replicates
    owed, unearned = np.zeros(R), np.zeros(R)
    first = params.time.fiscal_year_start(month)
    invoice_kernels.accrue(state.ladder, state.operating, book.amount, book.billed_for, first,
                           np.broadcast_to(params.prices_gbp_per_year, state.ladder.shape),
                           state.price_factor, float(state.price_index), owed, unearned,
                           book.billed, book.next_due)
    unearned *= (12 - (month - first)) / 12.0
    accrued = (owed - unearned) * (1.0 - np.asarray(params.finance.bad_debt_share, dtype=float))
    book.accrued = (key, accrued)
    return accrued.copy()


# ---------------------------------------------------------------------------- the month's money


@dataclass
class Cashflow:
    """One step's money, each float64[R] in pounds (already rounded to the penny)."""

    income: dict[str, np.ndarray]
    costs: dict[str, np.ndarray]

    @property
    def income_total(self) -> np.ndarray:
        return sum(self.income.values())  # type: ignore[return-value]

    @property
    def costs_total(self) -> np.ndarray:
        return sum(self.costs.values())  # type: ignore[return-value]


def monthly_cashflow(finance: FinanceParameters, hosting: HostParameters,
                     workforce: WorkforceParameters, staff: np.ndarray,
                     income_gbp_per_month: Mapping[str, np.ndarray], one_off_gbp: np.ndarray,
                     operating: np.ndarray, dt_months: float,
                     redundancy_gbp: np.ndarray | None = None,
                     cover_fte: np.ndarray | None = None,
                     recruitment_gbp: np.ndarray | None = None,
                     launch_gbp: np.ndarray | None = None,
                     admitted_fte: np.ndarray | None = None,
                     strain_gbp: np.ndarray | None = None,
                     double_running_gbp_per_month: np.ndarray | None = None,
                     pay_index: float = 1.0, cpi_index: float = 1.0,
                     spokes_gbp_per_month: np.ndarray | None = None) -> Cashflow:
    """Income and costs of one step.

    Parameters
    ----------
    staff : int64[R, 3], people in post by :class:`~sim.model.codes.Role`.
    income_gbp_per_month : £/month, float[R] each, for any of :data:`EXTERNAL_INCOME` (missing
        ones are 0); host support comes from ``hosting``.
    one_off_gbp : float[R], set-up and host-transition costs falling due this step (not × dt).
    operating : bool[R]; a closed CoE has no income and no costs.
    redundancy_gbp : float[R], redundancy costs falling due this step (not × dt); None = 0.
    cover_fte : float[R, 3], agency or contractor cover of vacated posts by role; each FTE
        costs ``vacancy_cover_cost_multiplier`` times the staff cost (pay, NI, pension) of
        its post, plus VAT where the host cannot recover it; None = 0.
    recruitment_gbp : float[R], recruitment costs of this step's hires (not × dt); None = 0.
    launch_gbp : float[R], launch-event costs falling due this step (not × dt); None = 0.
    admitted_fte : int64[R, 3], LGPS members a non-LGPS host holds through an admission
        agreement (docs/model.md §6.1): their employer pension is
        ``admitted_body_pension_rate`` instead of ``pension_rate``, and the admission's bond
        (``admission_bond_gbp_per_year``) is a governance cost while any remain; None = none.
    strain_gbp : float[R], pension strain costs of redundancies falling due this step (not
        × dt); None = 0.
    double_running_gbp_per_month : float[R], the outgoing host's services still running in a
        transition after a change of host (an overhead cost, already indexed); None = 0.
    spokes_gbp_per_month : float[R], what a hub's spokes cost a month (docs/model.md §7.12,
        already indexed); None = 0.
    pay_index, cpi_index : the pay and price indices now (1 in 2026/27, docs/model.md §5.13):
        salaries (so staff, overhead, cover and admitted pension costs) × ``pay_index``;
        non-pay, VAT on it, governance, the admission bond and host support × ``cpi_index``.
        One-off amounts come already indexed.
    """
    unknown = set(income_gbp_per_month) - set(EXTERNAL_INCOME)
    if unknown:
        raise ValueError(f"unknown income sources {sorted(unknown)}; allowed: {EXTERNAL_INCOME}")
    R = staff.shape[0]
    salaries = workforce.salary_gbp_per_year / 12.0 * pay_index
    pay = (staff * salaries).sum(axis=1)  # not a matmul: batch-size-invariant rounding
    on_cost = 1 + finance.employer_ni_rate + hosting.pension_rate
    fte = staff.sum(axis=1)
    non_pay = (fte * finance.non_pay_gbp_per_fte_per_year / 12.0
               + finance.fixed_non_pay_gbp_per_year / 12.0) * cpi_index
    on = operating.astype(float) * dt_months
    income = {s: np.broadcast_to(np.asarray(income_gbp_per_month.get(s, 0.0), dtype=float), (R,))
              for s in EXTERNAL_INCOME}
    income["charitable"] = np.where(hosting.charitable_form, income["charitable"], 0.0)
    income["host_support"] = np.broadcast_to(
        hosting.in_kind_support_gbp_per_year / 12.0 * cpi_index, (R,))
    if cover_fte is None:
        cover = np.zeros(R)
    else:
        cover = ((cover_fte * salaries).sum(axis=1) * on_cost
                 * workforce.vacancy_cover_cost_multiplier
                 * np.where(hosting.vat_recoverable, 1.0, 1.0 + finance.vat_rate))
    costs = {
        "staff": pay * on_cost,
        "overhead": pay * hosting.overhead_recharge_rate,
        "non_pay": non_pay,
        "vat": non_pay * np.where(hosting.vat_recoverable, 0.0, finance.vat_rate),
        "governance": np.broadcast_to(hosting.governance_gbp_per_year / 12.0 * cpi_index, (R,)),
    }
    if admitted_fte is not None:  # adds exactly 0.0 where nobody is admitted
        pension, bond = admission_costs(admitted_fte, hosting, salaries, cpi_index)
        costs["staff"] = costs["staff"] + pension
        costs["governance"] = costs["governance"] + bond
    if double_running_gbp_per_month is not None:
        costs["overhead"] = costs["overhead"] + double_running_gbp_per_month
    lump = operating.astype(float)
    return Cashflow(
        income={s: pennies(income[s] * on) for s in INCOME_SOURCES},
        costs={**{k: pennies(v * on) for k, v in costs.items()},
               "setup": pennies(one_off_gbp * lump),
               "redundancy": pennies((np.zeros(R) if redundancy_gbp is None else redundancy_gbp)
                                     * lump),
               "pension_strain": pennies((np.zeros(R) if strain_gbp is None else strain_gbp)
                                         * lump),
               "recruitment": pennies((np.zeros(R) if recruitment_gbp is None
                                       else recruitment_gbp) * lump),
               "vacancy_cover": pennies(cover * on),
               "launch": pennies((np.zeros(R) if launch_gbp is None else launch_gbp) * lump),
               "spokes": pennies((np.zeros(R) if spokes_gbp_per_month is None
                                  else spokes_gbp_per_month) * on)},
    )


def _floor_pennies(x: np.ndarray) -> np.ndarray:
    """Pounds rounded down to the penny (so a capped payment never passes its cap)."""
    return np.floor(np.round(x * 100.0, 6)) / 100.0


def claim_grants(book: GrantBook, cash: Cashflow, other_funding_gbp: np.ndarray,
                 running: np.ndarray, dt_months: float,
                 earned_gbp: np.ndarray | None = None) -> np.ndarray:
    """What each ``eligible_spend`` grant pays this step, float[R, G] in £ (whole pennies; 0
    for ``fixed`` grants, which the cash flow already paid), and its fiscal-year tally updated.

    The step's eligible spend (:data:`GRANT_ELIGIBLE_COSTS`, from ``cash``) less the funding
    that already meets it (``other_funding_gbp``: a core budget and ``fixed`` grants this step
    — no cost is funded twice) is claimed from the grants in the scenario's order. A grant
    whose earned income ``offsets`` first deducts the step's :data:`EARNED_INCOME` not yet
    deducted (``earned_gbp`` when given: subscriptions received count over the months they
    pay for, :func:`recognise_subscriptions`); each grant then pays what is left, at most its
    headroom in the fiscal year (``year_cap − paid_year``), and only in a month its profile
    pays (``running`` bool[R, G]: from its start to its end). So per step, Σ paid ≤
    eligible spend, and per fiscal year, a grant's payments ≤ its profile's total. What is
    not spent is never paid.
    """
    R, G = book.amount.shape
    paid = np.zeros((R, G))
    if not book.eligible.any():
        return paid
    spend = sum(cash.costs[c] for c in GRANT_ELIGIBLE_COSTS)
    need = np.maximum(spend - other_funding_gbp, 0.0)
    earned = (sum(cash.income[s] for s in EARNED_INCOME) if earned_gbp is None
              else earned_gbp)
    for g in np.flatnonzero(book.eligible):
        if book.offsets[g]:
            deducted = np.minimum(earned, need)
            need = need - deducted
            earned = earned - deducted
        headroom = np.where(running[:, g], np.maximum(
            _floor_pennies(book.year_cap[:, g] - book.paid_year[:, g]), 0.0), 0.0)
        pay = pennies(np.minimum(need, headroom))
        need = np.maximum(need - pay, 0.0)
        paid[:, g] = pay
    book.paid_year += paid
    book.paid_rate[:, book.eligible] = paid[:, book.eligible] / dt_months
    return paid


def running_cost_rates(state: BatchState, params: Parameters) -> tuple[np.ndarray, np.ndarray]:
    """The running costs under each replicate's host at this year's pay and prices: the cost
    with no staff, float[R], and the cost of one person in each role, float[R, 3], £/month
    (docs/model.md §5.13). The pay part of a head's cost (salary with NI, pension and overhead
    recharge) × ``state.pay_index``; the rest (non-pay, VAT, governance) × ``state.cpi_index``.
    The cost with no staff includes what an admission agreement adds for the LGPS members a
    non-LGPS host holds (docs/model.md §6.1; exactly 0.0 where there are none). Every rule that
    prices posts or the team uses these."""
    hosting = state.hosting
    fixed, per_head = hosting.fixed_costs_gbp_per_month, hosting.cost_per_head_gbp_per_month
    pay_index, cpi_index = state.pay_index, state.cpi_index
    if pay_index != 1.0 or cpi_index != 1.0:
        pay = hosting.pay_cost_per_head_gbp_per_month
        fixed, per_head = fixed * cpi_index, pay * pay_index + (per_head - pay) * cpi_index
    # A hub's spokes (docs/model.md §7.12) are a running cost of no post: exactly 0.0 without.
    fixed = fixed + spoke_cost_gbp_per_month(state, params)
    return fixed + admission_cost_gbp_per_month(state, params), per_head


# ---------------------------------------------------------------------------- rules


def income_due(state: BatchState, params: Parameters, month: int) -> dict[str, np.ndarray]:
    """Income due this month from each external source before closure, £/month float[R]:
    grants (their profile, with tapers and renewals: what an ``eligible_spend`` grant pays is
    settled against the costs by :func:`claim_grants`), the core budget, members'
    subscriptions by size band at the year's price factor (the run rate, what members owe a
    month: the cash comes as their invoices are paid, :func:`settle_invoices`), running
    commissions and charitable income (host support follows from the host)."""
    finance = params.finance
    zero = np.zeros(state.replicates)
    return {
        # the scenario's grants, and bridging grants won by adaptive policies (§12)
        "grant": grant_income(state.grants, month).sum(axis=1)
        + state.policy.bridging_income(month),
        "core_budget": (state.core_budget / 12.0 if month >= finance.core_budget_from_month
                        else zero),
        "subscriptions": state.price_factor * state.price_index * np.where(
            month >= finance.subscriptions_from_month,
            state.tally()[Tally.MEMBER_PRICES] / 12.0, 0.0),
        "commissions": state.commissions.income(),
        "charitable": charitable_income(state.hosting, state.charity_factor) * state.cpi_index,
        "membership_levy": levy_gbp_per_month(state, params),  # issue #13 (§7.9)
    }


def arrive_commissions(state: BatchState, params: Parameters, streams: MonthStreams,
                       month: int) -> None:
    """Month start: commissions arrive (Poisson, faster with reputation and members) and are
    taken while delivery staff exceed the FTE already committed (docs/model.md §5.7)."""
    terms = params.finance.commissions
    accepting = (state.operating & state.hosting.commissions_allowed
                 & (state.staff[:, Role.DELIVERY] > state.commissions.fte_demand()))
    draws = streams("commissions")
    if accepting.any():
        rate = commission_rate_per_month(terms, state.portfolio.reputation,
                                         state.tally()[Tally.MEMBERS], state.ladder.shape[1])
        won = add_commissions(state.commissions, terms, rate, draws.random(1 + terms.max_active),
                              accepting, state.cpi_index)
    else:  # nobody takes a commission: none is placed and no uniform would be read
        draws.skip(1 + terms.max_active)
        won = np.zeros(state.replicates, dtype=np.int64)
    state.commission_fte_demand = state.commissions.fte_demand()
    state.flows.commissions_won = won.astype(float)


def note_income_due(state: BatchState, params: Parameters, streams: MonthStreams,
                    month: int) -> None:
    """Month start: the income due this month, and the grants and core budget due (the
    funding schedule the cliff KPIs read); at a fiscal year's start the grants' tally of the
    year's payments starts afresh and the year's cap is read from the profile, as it is again
    after a renewal (which may raise it)."""
    book = state.grants
    if book.eligible.any():
        first = params.time.fiscal_year_start(month)
        if first == month:
            book.paid_year[:] = 0.0
        cached = book.year_cap_of
        if cached is None or cached[0] != first or not np.array_equal(cached[1], book.end):
            book.year_cap = grant_year_profile(book, first)
            book.year_cap_of = (first, book.end.copy())
    state.income_due = income_due(state, params, month)
    state.funding_due_gbp_per_month = (state.income_due["grant"]
                                       + state.income_due["core_budget"])


def pay_and_collect(state: BatchState, params: Parameters, streams: MonthStreams,
                    month: int) -> None:
    """Sub-step: the income due now (members may have changed) comes in and the costs go out;
    one-off costs, redundancy pay and pension strain fall in the month's first sub-step, the
    recruitment costs of hires in the sub-step of the hire. Subscriptions come in as their
    invoices are paid (:func:`settle_invoices`), not at the run rate
    ``income_due["subscriptions"]``. Reserves change by exactly income − costs, in pennies
    (docs/model.md §5.3, §5.6)."""
    R = state.replicates
    first = state.substep == 0
    state.income_due = income_due(state, params, month)
    received = settle_invoices(state, params, month)
    book = state.grants
    due = {**state.income_due, "subscriptions": np.zeros(R)}
    if book.eligible.any():  # the cash flow pays fixed grants; eligible ones are claimed below
        profile = grant_income(book, month)
        due = {**due, "grant": (profile * ~book.eligible).sum(axis=1)
               + state.policy.bridging_income(month)}
    dt = params.time.dt_months
    cash = monthly_cashflow(params.finance, state.hosting, params.workforce, state.staff,
                            due, state.one_off_gbp if first else np.zeros(R),
                            state.operating, dt,
                            state.redundancy_pay_gbp if first else None,
                            state.vacancy_cover_fte, state.recruitment_due_gbp,
                            state.launch_cost_gbp, admitted_members(state),
                            state.pension_strain_gbp if first else None,
                            state.double_running_gbp_per_month,
                            pay_index=state.pay_index, cpi_index=state.cpi_index,
                            spokes_gbp_per_month=spoke_cost_gbp_per_month(state, params))
    cash.income["subscriptions"] = pennies(received * state.operating)
    state.recruitment_due_gbp = np.zeros(R)
    state.launch_cost_gbp = np.zeros(R)
    # Earned income as a grant's offset sees it: subscriptions over the months they pay for.
    earned = (sum(cash.income[s] for s in EARNED_INCOME if s != "subscriptions")
              + recognise_subscriptions(state, params, month))
    if book.eligible.any():
        other = (cash.income["grant"] + cash.income["core_budget"]
                 + cash.income["membership_levy"])  # a levy meets costs first (§7.9)
        claimed = claim_grants(book, cash, other, profile > 0, dt, earned)
        cash.income["grant"] = cash.income["grant"] + claimed.sum(axis=1)
    income, costs = cash.income_total, cash.costs_total
    state.reserves[:] = state.reserves + income - costs
    for source, value in cash.income.items():
        state.flows.income[source] += value
    for kind, value in cash.costs.items():
        state.flows.costs[kind] += value
    # Staff judge the income at risk against what the Centre earns a month, subscriptions at
    # their run rate, not against the months in which invoices happen to be paid.
    earned_rate = pennies(state.income_due["subscriptions"] * state.operating * dt)
    state.income_last_gbp_per_month = (income - cash.income["subscriptions"]
                                       + earned_rate) / dt
