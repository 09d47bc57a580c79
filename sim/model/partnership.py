"""A joint partnership of councils: partners guarantee the Centre's contract for a term and
meet its deficit by agreed shares (docs/model.md §7.6).

The pattern of Achieving for Children (owned and commissioned jointly by its councils), the
Commissioning Alliance and the Regional Care Co-operatives; in law a joint arrangement of
councils (Local Government Act 1972 s.101–102) hosted by a lead council, whose terms (LGPS,
VAT recovered, its failure rule) are the host's. The rules here:

* **seats**: ``max_partners`` seats (the cap on partners), each with an agreed share weight;
  the founders hold the first seats from the month the form first acts, and are members;
* **guaranteed contracts**: each partner in the partnership pays its contract (the grant
  named by ``contract_grant``: its ``amount_gbp_per_year`` is one partner's), so the contract
  income is that amount × the partners now;
* **deficit shared** (calendar event ``partnership_year_end``, each April): a deficit at 31
  March, up to ``annual_deficit_limit_gbp``, is paid by the partners in their agreed shares,
  split to the penny (:func:`split_pennies`); the payment is the hosts' support
  (``income.host_support``);
* **term end** (calendar event ``partnership_term_end``, every ``term_months``): each partner
  leaves with ``leave_prob_at_term_end``, and each free seat is taken by a new council with
  ``join_prob_at_term_end`` (never more partners than seats). A partnership left with no
  partner closes.

Draws come from the stream ``partnership``: ``2 × max_partners`` uniforms per replicate in a
term-end month (leave, then join, seat by seat).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.finance import HALF_PENNY, pennies
from sim.model.host import close
from sim.model.parameters import Parameters, PartnershipParameters, form_of
from sim.model.teckal import enrol_las

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["PartnershipBook", "current_rules", "meet_deficit", "set_up", "split_pennies",
           "term_end"]


@dataclass
class PartnershipBook:
    """The partnership's record.

    Attributes
    ----------
    seats : bool[R, P], seats held by a partner now.
    paid_gbp : float[R, P], £ each seat has paid towards deficits so far.
    paid_month_gbp : float[R], £ the partners paid towards a deficit in month ``paid_in``.
    paid_in : the month of the last payment (−1: none yet).
    """

    seats: np.ndarray
    paid_gbp: np.ndarray
    paid_month_gbp: np.ndarray
    paid_in: int = -1


def current_rules(state: BatchState, params: Parameters) -> PartnershipParameters | None:
    """The partnership rules of the current host, or None."""
    return form_of(params.forms.partnership, state.host)


def _set_contracts(state: BatchState, params: Parameters, rules: PartnershipParameters,
                   book: PartnershipBook) -> None:
    """The partners' contracts pay one partner's amount for each partner now."""
    g = rules.contract_grant
    if g >= 0:
        per_partner = params.finance.grants[g].amount_gbp_per_year / 12.0
        state.grants.amount[:, g] = per_partner * book.seats.sum(axis=1)


def book_of(state: BatchState, params: Parameters,
            rules: PartnershipParameters) -> PartnershipBook:
    """The partnership's book, made the first time the form acts: the founders take their
    seats and become members, and the contracts are set."""
    book = state.form_state.get("partnership")
    if book is None:
        R, P = state.replicates, rules.max_partners
        seats = np.zeros((R, P), dtype=bool)
        seats[:, :len(rules.founders)] = True
        book = PartnershipBook(seats, np.zeros((R, P)), np.zeros(R))
        state.form_state["partnership"] = book
        founders = np.zeros(state.ladder.shape[1], dtype=bool)
        founders[rules.founders] = True
        enrol_las(state, founders)
        _set_contracts(state, params, rules, book)
    assert isinstance(book, PartnershipBook)
    return book


def set_up(state: BatchState, params: Parameters, streams: MonthStreams, month: int) -> None:
    """Month start: the partnership's book (and founders, contracts) the first time it acts;
    founders still in the partnership stay members (one that lapsed rejoins)."""
    rules = current_rules(state, params)
    if rules is None:
        return
    book = book_of(state, params, rules)
    founders = np.zeros((state.replicates, state.ladder.shape[1]), dtype=bool)
    founders[:, rules.founders] = book.seats[:, :len(rules.founders)]
    enrol_las(state, founders)


def split_pennies(amount_gbp: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``amount_gbp`` float[R] (whole pennies) split by ``weights`` float[R, P] (≥ 0) into
    whole pennies, float[R, P], summing to the amount exactly.

    Each part is its exact share rounded down to the penny; the pennies left over go one each
    to the parts with the largest remainders (the lower seat first on a tie): the largest
    remainder method, so no part is more than a penny from its exact share.
    """
    pence = np.round(np.asarray(amount_gbp, dtype=float) * 100.0).astype(np.int64)
    total = weights.sum(axis=1, keepdims=True)
    exact = np.where(total > 0, pence[:, None] * weights / np.where(total > 0, total, 1.0), 0.0)
    base = np.floor(exact + 1e-9).astype(np.int64)
    left = pence - base.sum(axis=1)
    remainder = np.where(weights > 0, exact - base, -1.0)
    order = np.argsort(-remainder, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(weights.shape[1])[None, :].repeat(len(pence), 0),
                      axis=1)
    extra = (rank < left[:, None]).astype(np.int64)
    return (base + extra) / 100.0


def meet_deficit(state: BatchState, params: Parameters, streams: MonthStreams,
                 month: int) -> None:
    """April (calendar event ``partnership_year_end``): the partners pay the deficit at 31
    March, up to ``annual_deficit_limit_gbp``, split by their agreed shares to the penny; the
    reserves rise by exactly what they pay (``income.host_support``)."""
    rules = current_rules(state, params)
    if rules is None or month == 0:
        return
    book = book_of(state, params, rules)
    rows = state.operating & (state.reserves < -HALF_PENNY) & book.seats.any(axis=1)
    if not rows.any():
        return
    deficit = pennies(np.where(rows, np.minimum(-state.reserves,
                                                rules.annual_deficit_limit_gbp), 0.0))
    parts = split_pennies(deficit, rules.shares[None, :] * book.seats)
    paid = pennies(parts.sum(axis=1))
    state.reserves[:] = state.reserves + paid
    state.flows.income["host_support"] += paid
    book.paid_gbp += parts
    book.paid_month_gbp = paid
    book.paid_in = month


def term_end(state: BatchState, params: Parameters, streams: MonthStreams, month: int) -> None:
    """At each term's end (calendar event ``partnership_term_end``): each partner leaves with
    ``leave_prob_at_term_end``, then each free seat is taken with ``join_prob_at_term_end``;
    the contracts follow the partners; a partnership with no partner left closes."""
    rules = current_rules(state, params)
    if rules is None:
        return
    book = book_of(state, params, rules)
    P = rules.max_partners
    u = streams("partnership").random(2 * P)
    on = state.operating[:, None]
    leave = book.seats & (u[:, :P] < rules.leave_prob_at_term_end) & on
    book.seats &= ~leave
    join = ~book.seats & (u[:, P:] < rules.join_prob_at_term_end) & on
    book.seats |= join
    _set_contracts(state, params, rules, book)
    alone = state.operating & ~book.seats.any(axis=1)
    if alone.any():
        close(state, alone)
