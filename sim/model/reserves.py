"""Host money rules at the turn of the fiscal year (docs/model.md §5.11): what each kind of host
does with the CoE's balance.

* **annuality** (a department): a positive balance at 31 March is surrendered, a cost line of
  its own (``surrender``), so nothing is carried into the next year; an overspend is carried
  as a first call on the next year and cut by the failure rule;
* **cost recovery** (a council, Local Government Act 2003 s.93): charges may not exceed the
  cost of provision taking one year with another, so reserves above a cap go back to the
  members as next year's price cut;
* **reserves policy** (a company or charity): each April the subscription price moves towards
  the level that would bring reserves to a target, within a band around the list price.

The price rules set ``state.price_factor`` (the year's price ÷ the list price) each April,
before the members decide whether to renew; every use of a price (subscription income, the
approval gate, renewal) reads it. Every rule acts on each replicate under its own host
(``state.hosting.reserves_rule``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.codes import ReservesRule, Tally
from sim.model.finance import HALF_PENNY, running_cost_rates
from sim.model.parameters import Parameters

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["PRICE_STEP", "price_factor", "running_costs", "set_prices", "surrender_balance"]

PRICE_STEP = 0.01
"""Prices are set in whole percent of the list price (a price factor is rounded down to it):
prices are set in round figures, and a few distinct prices keep the approval gate cheap to
compute (:func:`sim.model.uptake.approval_chances`)."""


def running_costs(state: BatchState, params: Parameters) -> np.ndarray:
    """Monthly running costs of the funded posts under each replicate's host, float[R] in
    £/month: ``fixed + Σ_role establishment × cost per head`` at this year's pay and prices
    (one-off costs excluded)."""
    fixed, per_head = running_cost_rates(state, params)
    return fixed + (state.establishment * per_head).sum(axis=1)


def price_factor(rule: np.ndarray, reserves: np.ndarray, costs_gbp_per_month: np.ndarray,
                 list_income_gbp_per_year: np.ndarray, cap_months: np.ndarray,
                 target_months: np.ndarray, max_change: np.ndarray) -> np.ndarray:
    """The year's subscription price as a share of the list price, float[R].

    With ``S`` the members' subscriptions at list prices (£/year), ``C`` the running costs
    (£/month) and ``B`` the reserves (£)::

        cost_recovery    f = clip(1 + (cap_months × C − B) ÷ S, 0, 1)
        reserves_policy  f = clip(1 + (target_months × C − B) ÷ S, 1 − max_change, 1 + max_change)
        otherwise        f = 1

    rounded down to :data:`PRICE_STEP` (and 1 where ``S`` = 0: no member to price). Under
    cost recovery ``(1 − f) × S`` is then at least the surplus above the cap (unless the
    whole year's subscriptions are not enough): the surplus goes back through next year's
    price at today's membership. Under a reserves policy the price closes the gap to the
    target in a year at today's membership, within the band.
    """
    recovery = rule == ReservesRule.COST_RECOVERY
    policy = rule == ReservesRule.RESERVES_POLICY
    months = np.where(policy, target_months, cap_months)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = 1.0 + (months * costs_gbp_per_month - reserves) / list_income_gbp_per_year
    stepped = np.floor(np.round(raw / PRICE_STEP, 6)) * PRICE_STEP
    low = np.where(policy, np.maximum(1.0 - max_change, 0.0), 0.0)
    high = np.where(policy, 1.0 + max_change, 1.0)
    factor = np.clip(stepped, low, high)
    return np.where((recovery | policy) & (list_income_gbp_per_year > 0), factor, 1.0)


def set_prices(state: BatchState, params: Parameters, month: int) -> None:
    """April: each operating replicate whose members pay sets the year's price by its host's
    reserves rule (:func:`price_factor`), from the reserves at 31 March and the members of the
    year just ended; replicates not yet charging keep the list price."""
    if month == 0:
        return  # no year has ended yet: the first price is the list price
    rules = state.hosting.reserves_rule
    pricing = (rules == ReservesRule.COST_RECOVERY) | (rules == ReservesRule.RESERVES_POLICY)
    if not pricing.any():
        return
    hosting = state.hosting
    factor = price_factor(rules, state.reserves, running_costs(state, params),
                          state.tally()[Tally.MEMBER_PRICES] * state.price_index,
                          hosting.reserve_cap_months,
                          hosting.reserve_target_months, hosting.max_price_change)
    charging = month >= params.finance.subscriptions_from_month
    act = state.operating & charging
    state.price_factor[:] = np.where(act, factor, np.where(charging, state.price_factor, 1.0))


def surrender_balance(state: BatchState, params: Parameters, streams: MonthStreams,
                      month: int) -> None:
    """Month end, in a March: an operating replicate under an annuality host surrenders its
    positive balance (cost line ``surrender``); nothing is carried across 31 March. A negative
    balance is carried: an overspend is a first call on the next year."""
    if not params.time.is_year_end(month):
        return
    rows = (state.operating & (state.hosting.reserves_rule == ReservesRule.ANNUALITY)
            & (state.reserves > HALF_PENNY))
    if not rows.any():
        return
    amount = np.where(rows, state.reserves, 0.0)  # whole pennies: a sum of them
    state.reserves[rows] = 0.0
    state.flows.costs["surrender"] += amount
