"""A council-owned (Teckal) company: procured by its owners without tender while more than 80%
of its activity is for them (docs/model.md §7.5).

The Procurement Act 2023 (Schedule 2 para 2, "vertical arrangements"; before it the Public
Contracts Regulations 2015 reg. 12, after *Teckal* C-107/98) exempts a contract a council
awards to a person it controls, alone or with other councils, where more than 80% of that
person's activities are carried out for the controlling authorities. The rules here:

* **owners are members** from the month the form first acts, and stay members (one that
  lapses at a renewal rejoins at the next month's start: they own the company);
* **activity** is the value of the services provided in the fiscal year: the owners' share is
  their subscriptions (at the year's price, while members pay), the owners' contract (a
  ``fixed`` grant awarded without tender) and ``commissions_owner_share`` of commissions; the
  rest of subscriptions and commissions is outside activity. Grants from a department are not
  trading and do not count (an assumption);
* **the test**, each April on the year just ended: the company is exempt for the new year
  only if the owners' share is strictly more than ``activity_threshold``. A company that loses
  the exemption that year cannot keep its owners' contract by direct award: the owners tender
  it at once (the company pays the bid cost) and the company keeps it only if it wins; its
  renewal, while the company is not exempt, is a tender too;
* **capped outside sales**: a company that manages its trade to keep the exemption takes no
  new outside member (an outside LA that joins in such a month is declined, back to "aware")
  while its outside share of activity at this month's rates, members' subscriptions counted
  even while the offer is free, is at the cap, ``1 − threshold − margin``.

Every rule acts only where the current host is a Teckal company; draws come from the stream
``teckal_tender`` (one uniform per replicate in a test month).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.codes import Ladder, is_member
from sim.model.finance import grant_income, write_off_leavers
from sim.model.parameters import Parameters, TeckalParameters, form_of

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["TeckalBook", "activity_rates", "activity_test", "cap_outside_sales",
           "current_rules", "decline_outside_joins", "enrol_las", "note_activity",
           "outside_share"]


@dataclass
class TeckalBook:
    """A Teckal company's record, float64[R] / bool[R].

    Attributes
    ----------
    owner_gbp, outside_gbp : £ of activity for the owners and for others so far this fiscal
        year.
    exempt : the owners may award the company their contract without tender this year.
    outside_share : the outside share of the last year tested (NaN before the first test).
    tendered : the owners' contract is now held by tender, not by direct award.
    base_renewal_prob : the owners' contract's renewal chance by direct award (from the
        scenario).
    at_cap : bool[R], at the cap on outside sales at this month's start (``capped`` only).
    members_before : bool[R, N], members at this month's start, where some replicate is at
        its cap (else None).
    """

    owner_gbp: np.ndarray
    outside_gbp: np.ndarray
    exempt: np.ndarray
    outside_share: np.ndarray
    tendered: np.ndarray
    base_renewal_prob: np.ndarray
    at_cap: np.ndarray | None = None
    members_before: np.ndarray | None = None

    @classmethod
    def empty(cls, replicates: int, base_renewal_prob: np.ndarray) -> TeckalBook:
        return cls(np.zeros(replicates), np.zeros(replicates), np.ones(replicates, dtype=bool),
                   np.full(replicates, np.nan), np.zeros(replicates, dtype=bool),
                   np.array(base_renewal_prob, dtype=float))


def current_rules(state: BatchState, params: Parameters) -> TeckalParameters | None:
    """The Teckal rules of the current host (every replicate changes host in the same month),
    or None."""
    return form_of(params.forms.teckal, state.host)


def enrol_las(state: BatchState, las: np.ndarray) -> None:
    """The LAs ``las`` (bool[N], or bool[R, N] replicate by replicate) are members in every
    operating replicate (owners and partners own the Centre): each not yet a member (and not
    merged away) joins, with one champion."""
    rows = state.operating[:, None] & las
    joining = rows & ~is_member(state.ladder) & (state.ladder != Ladder.MERGED)
    if joining.any():
        state.ladder[joining] = Ladder.MEMBER
        state.champions[joining] = np.maximum(state.champions[joining], 1)
        state.flows.joins += joining.sum(axis=1)
        state.counts.changed()


def book_of(state: BatchState, params: Parameters, rules: TeckalParameters) -> TeckalBook:
    """The company's book, made (and the owners enrolled) the first time the form acts."""
    book = state.form_state.get("teckal")
    if book is None:
        g = rules.contract_grant
        base = (state.grants.renewal_prob[:, g].copy() if g >= 0
                else np.zeros(state.replicates))
        book = TeckalBook.empty(state.replicates, base)
        state.form_state["teckal"] = book
        enrol_las(state, rules.owners)
    assert isinstance(book, TeckalBook)
    return book


def activity_rates(state: BatchState, params: Parameters, month: int,
                   rules: TeckalParameters, prospective: bool = False,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Activity this month for the owners and for others, £/month float[R] each: members'
    subscriptions at the year's price (once members pay; ``prospective``: as if they paid
    already, what the company plans its trade on), the owners' contract as its grant pays it
    now, commissions running now split by ``commissions_owner_share``; 0 where closed."""
    charging = prospective | (month >= params.finance.subscriptions_from_month)
    member = is_member(state.ladder) & state.operating[:, None]
    price = params.prices_gbp_per_year * (state.price_factor[:, None] * state.price_index)
    subs = np.where(member & np.asarray(charging)[..., None], price, 0.0) / 12.0
    owner_subs = (subs * rules.owners).sum(axis=1)
    outside_subs = subs.sum(axis=1) - owner_subs
    contract = (grant_income(state.grants, month)[:, rules.contract_grant]
                if rules.contract_grant >= 0 else 0.0)
    commissions = state.commissions.income()
    on = state.operating.astype(float)
    owner = (owner_subs + contract + rules.commissions_owner_share * commissions) * on
    outside = (outside_subs + (1.0 - rules.commissions_owner_share) * commissions) * on
    return owner, outside


def outside_share(owner: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """The outside share of activity, float[R]: ``outside ÷ (owner + outside)``, 0 with no
    activity."""
    total = owner + outside
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, outside / np.where(total > 0, total, 1.0), 0.0)


def cap_outside_sales(state: BatchState, params: Parameters, streams: MonthStreams,
                      month: int) -> None:
    """Month start: the owners are members (one that lapsed rejoins: they own the company);
    under ``capped`` outside sales, note
    whether the outside share at this month's rates (members' subscriptions counted even while
    the offer is free: the company plans for when they pay) is at the cap ``1 − threshold −
    cap_margin``, and which LAs are members now (:func:`decline_outside_joins` reads both)."""
    rules = current_rules(state, params)
    if rules is None:
        return
    book = book_of(state, params, rules)
    enrol_las(state, rules.owners)  # owners stay members: they own it
    if not rules.capped:
        return
    owner, outside = activity_rates(state, params, month, rules, prospective=True)
    cap = 1.0 - rules.activity_threshold - rules.cap_margin
    book.at_cap = state.operating & (outside_share(owner, outside) >= cap)
    book.members_before = is_member(state.ladder) if book.at_cap.any() else None


def decline_outside_joins(state: BatchState, params: Parameters, streams: MonthStreams,
                          month: int) -> None:
    """Month end, under ``capped`` outside sales: in a replicate that was at its cap at the
    month's start, every outside LA that became a member in the month is declined (back to
    aware, its champion gone, its invoice, if any, written off): the company takes no new
    outside member at the cap."""
    rules = current_rules(state, params)
    book = state.form_state.get("teckal")
    if rules is None or not rules.capped or book is None or book.members_before is None:
        return
    declined = (book.at_cap[:, None] & ~rules.owners[None, :] & is_member(state.ladder)
                & ~book.members_before)
    book.members_before = None
    if declined.any():
        state.ladder[declined] = Ladder.AWARE
        state.champions[declined] = 0
        state.flows.joins -= declined.sum(axis=1)
        state.counts.changed()
        write_off_leavers(state)


def note_activity(state: BatchState, params: Parameters, streams: MonthStreams,
                  month: int) -> None:
    """Month end: add the month's activity for the owners and for others to the year's."""
    rules = current_rules(state, params)
    if rules is None:
        return
    book = book_of(state, params, rules)
    owner, outside = activity_rates(state, params, month, rules)
    book.owner_gbp += owner
    book.outside_gbp += outside


def activity_test(state: BatchState, params: Parameters, streams: MonthStreams,
                  month: int) -> None:
    """April (calendar event ``teckal_activity_test``): the activity test on the year just
    ended. Exempt for the new year only where the owners' share of activity is strictly more
    than ``activity_threshold``. Where the exemption is lost this year and the owners'
    contract is still held by direct award, the owners tender it now: the company pays the bid
    cost and keeps the contract only if it wins (``u < tender_win_prob``, stream
    ``teckal_tender``), else the contract ends this month. The contract's renewal chance is
    its direct-award chance while exempt and the tender's otherwise. The year's tally starts
    afresh."""
    rules = current_rules(state, params)
    if rules is None:
        return
    book = book_of(state, params, rules)
    share = outside_share(book.owner_gbp, book.outside_gbp)
    exempt = (1.0 - share) > rules.activity_threshold
    on = state.operating
    lost = on & book.exempt & ~exempt
    book.exempt[on] = exempt[on]
    book.outside_share[on] = share[on]
    g = rules.contract_grant
    if g >= 0:
        grants = state.grants
        u = streams("teckal_tender").random()
        tender = lost & (grants.end[:, g] > month) & ~book.tendered
        state.one_off_gbp[tender] += rules.tender_cost_gbp * state.cpi_index
        won = tender & (u < rules.tender_win_prob)
        gone = tender & ~won
        grants.end[gone, g] = month
        grants.renewals_left[gone, g] = 0
        book.tendered[won] = True
        grants.renewal_prob[:, g] = np.where(book.exempt, book.base_renewal_prob,
                                             rules.tender_win_prob)
    book.owner_gbp[:] = 0.0
    book.outside_gbp[:] = 0.0
