"""A staff mutual run as a community interest company (CIC): the Epic CIC pattern
(docs/model.md §7.7).

A CIC is a company whose assets are locked to its community purpose (Companies (Audit,
Investigations and Community Enterprise) Act 2004 Part 2; Community Interest Company
Regulations 2005): it may pay its members a dividend, but never more than 35% of its
distributable profits (reg. 22, as amended in 2014), and nothing else leaves it. A staff mutual
is owned by its staff. What the model does with that:

* **dividend cap** (calendar event ``cic_year_end``, each April): the year's distributable
  surplus is the rise in reserves over the fiscal year, and no more than the reserves above the
  host's reserves target (``reserve_target_months`` of running costs: the board pays only
  from a surplus above its reserves policy); the dividend is ``min(payout, cap)`` of it, in
  whole pennies, a cost line of its own (``dividend``: a transfer, not a cost of provision);
* **asset lock**: a dividend within the cap is the only way money leaves; nothing is returned
  to the members otherwise (a closure leaves the reserves where they are);
* **employee ownership and trust grants** change the host's own parameters at compile
  (:mod:`sim.model.compile`): the resignation multiplier × (1 − ``retention_effect`` ×
  ``employee_owned_share``), the charitable income × ``trust_grant_eligibility``;
* the spin-out itself — the staff loss at transfer, the transition's months, double running,
  the productivity dip and the LGPS admission — is the change of host of docs/model.md §6.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.finance import HALF_PENNY
from sim.model.parameters import CicParameters, Parameters, form_of
from sim.model.reserves import running_costs

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["CicBook", "current_rules", "dividend_gbp", "pay_dividend", "set_up"]


@dataclass
class CicBook:
    """A CIC's record: ``year_start_gbp`` float[R], the reserves when its fiscal year (or its
    life as a CIC) began; ``paid_gbp`` float[R], dividends paid so far."""

    year_start_gbp: np.ndarray
    paid_gbp: np.ndarray


def current_rules(state: BatchState, params: Parameters) -> CicParameters | None:
    """The CIC rules of the current host, or None."""
    return form_of(params.forms.cic, state.host)


def set_up(state: BatchState, params: Parameters, streams: MonthStreams, month: int) -> None:
    """Month start: the CIC's book the first time it acts (its year starts from the reserves
    it has then)."""
    if current_rules(state, params) is not None and "cic" not in state.form_state:
        state.form_state["cic"] = CicBook(state.reserves.copy(), np.zeros(state.replicates))


def dividend_gbp(reserves: np.ndarray, year_start: np.ndarray, target: np.ndarray,
                 rules: CicParameters) -> np.ndarray:
    """The year's dividend, float[R] in whole pennies (rounded down):
    ``min(payout, cap) × max(min(reserves − year_start, reserves − target), 0)``."""
    distributable = np.maximum(np.minimum(reserves - year_start, reserves - target), 0.0)
    share = min(rules.dividend_payout_share, rules.dividend_cap_share)
    return np.floor(np.round(share * distributable * 100.0, 6)) / 100.0


def pay_dividend(state: BatchState, params: Parameters, streams: MonthStreams,
                 month: int) -> None:
    """April (calendar event ``cic_year_end``): an operating CIC pays the year's dividend
    (:func:`dividend_gbp`), a cost line of its own; the next year starts from what is left."""
    rules = current_rules(state, params)
    book = state.form_state.get("cic")
    if rules is None or book is None or month == 0:
        return
    assert isinstance(book, CicBook)
    target = state.hosting.reserve_target_months * running_costs(state, params)
    paid = np.where(state.operating & (state.reserves > HALF_PENNY),
                    dividend_gbp(state.reserves, book.year_start_gbp, target, rules), 0.0)
    state.reserves[:] = state.reserves - paid
    state.flows.costs["dividend"] += paid
    book.paid_gbp += paid
    book.year_start_gbp = state.reserves.copy()
