"""A charity on a multi-year grant: the Foundations pattern (docs/model.md §7.8).

A registered charity (here a charitable company) lives on a government grant for a term,
renewed or not at its end (§5.5, with the renewal weighing its record, §7.4), on charitable
income from trusts and donors (§5.8), and on what it sells. Its own rules here:

* **trustees**: an unpaid board of at least three (Charity Commission, CC3), whose expenses are
  a governance cost (added to the host's at compile, :mod:`sim.model.compile`);
* **VAT**: a charity recovers input VAT only on its business activities. Grants and donations
  are non-business (outside the scope of VAT); subscriptions and commissions are business
  supplies (standard-rated: the charity charges VAT on them, which member councils recover
  under VAT Act 1994 s.33, so the price they pay is unchanged and the output tax passes
  straight to HMRC, not modelled). The recoverable share of the VAT on its non-pay costs is
  apportioned by income (VAT Act 1994 s.24(5); HMRC VAT Notice 701/1): each April it is set to
  last fiscal year's business income ÷ all its income, and each month that share of the month's
  ``vat`` cost line is recovered (the line falls by it and the reserves rise by it). VAT inside
  agency cover (§3.5) is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.finance import EARNED_INCOME, pennies
from sim.model.parameters import CharityParameters, Parameters, form_of

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["CharityBook", "current_rules", "recover_vat", "set_vat_share", "set_up"]


@dataclass
class CharityBook:
    """A charity's record, float64[R]: ``business_gbp`` and ``income_gbp``, business income and
    all income so far this fiscal year; ``vat_share`` the share of VAT recovered this year
    (from last year's income; 0 in the first year, before any has been seen)."""

    business_gbp: np.ndarray
    income_gbp: np.ndarray
    vat_share: np.ndarray


def current_rules(state: BatchState, params: Parameters) -> CharityParameters | None:
    """The charity rules of the current host, or None."""
    return form_of(params.forms.charity, state.host)


def set_up(state: BatchState, params: Parameters, streams: MonthStreams, month: int) -> None:
    """Month start: the charity's book the first time it acts."""
    if current_rules(state, params) is not None and "charity" not in state.form_state:
        R = state.replicates
        state.form_state["charity"] = CharityBook(np.zeros(R), np.zeros(R), np.zeros(R))


def recover_vat(state: BatchState, params: Parameters, streams: MonthStreams,
                month: int) -> None:
    """Month end: the month's income joins the year's tally, and ``vat_share`` of the month's
    VAT on non-pay costs is recovered (in whole pennies): the ``vat`` line falls and the
    reserves rise by exactly that."""
    rules = current_rules(state, params)
    book = state.form_state.get("charity")
    if rules is None or book is None:
        return
    assert isinstance(book, CharityBook)
    income = state.flows.income
    book.business_gbp += sum(income[s] for s in EARNED_INCOME)
    book.income_gbp += sum(income.values())
    if not rules.vat_apportionment:
        return
    recovered = pennies(state.flows.costs["vat"] * book.vat_share)  # a closing month too
    state.flows.costs["vat"] = state.flows.costs["vat"] - recovered
    state.reserves[:] = state.reserves + recovered


def set_vat_share(state: BatchState, params: Parameters, streams: MonthStreams,
                  month: int) -> None:
    """April (calendar event ``charity_year_end``): this year's recoverable share is last
    year's business income ÷ all income, clipped to 0–1 (0 with no income); the tally starts
    afresh."""
    book = state.form_state.get("charity")
    if current_rules(state, params) is None or book is None or month == 0:
        return
    assert isinstance(book, CharityBook)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(book.income_gbp > 0, book.business_gbp / book.income_gbp, 0.0)
    book.vat_share = np.clip(share, 0.0, 1.0)
    book.business_gbp = np.zeros(state.replicates)
    book.income_gbp = np.zeros(state.replicates)
