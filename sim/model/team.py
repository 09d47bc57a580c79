"""The funded team grows and shrinks with secured income: Gall's law for the organisation
(docs/model.md §3.6).

Under ``workforce.team_policy = "secured_income"`` the Centre starts with the posts of its
first staff (``initial_fte``, a D2I-like few) and, at each team review (every
``workforce.team_review_months`` from month 0), sets its funded posts to what its secured
income and its reserves above the reserves policy pay for over the planning horizon:

* it grows by at most ``workforce.growth_posts_per_review`` posts, one at a time into the role
  furthest below its share of the scenario's full establishment, while the next post's cost
  fits the headroom, never beyond the full establishment;
* it shrinks when its posts cost more than it can pay: vacant posts are deleted first, then
  notice is served on people (engagement, delivery, leadership, keeping the minimum
  leadership), as the redundancies of §3.4 do.

Under ``"fixed"`` (the model before this rule) the funded posts are the scenario's from month 0;
posts are deleted only for lack of cash and come back all at once (§3.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.codes import ReservesRule, Role
from sim.model.contract import margin_withheld_gbp
from sim.model.finance import grant_income, running_cost_rates
from sim.model.host import free_reserves, serve_notices
from sim.model.parameters import Parameters
from sim.model.workforce import redundancies_needed

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["GROWTH_ORDER", "plan_team", "secured_budget", "team_review_due"]

GROWTH_ORDER = (Role.DELIVERY, Role.ENGAGEMENT, Role.LEADERSHIP)
"""Ties between roles equally far below their share are broken in this order."""

_EARNED = ("subscriptions", "commissions", "charitable",
           "membership_levy")  # issue #13: a body's levy, due while its board keeps it (§7.9)


def team_review_due(params: Parameters, month: int) -> bool:
    """Whether ``month`` holds a team review (month 0, then every ``team_review_months``)."""
    workforce = params.workforce
    return (workforce.team_policy == "secured_income"
            and month % workforce.team_review_months == 0)


def secured_budget(state: BatchState, params: Parameters, month: int) -> np.ndarray:
    """What the Centre can spend a month over the planning horizon, float[R] in £/month.

    ``(secured + reserves − target) ÷ H`` with ``H = planning_horizon_months``: secured is the
    grants' profiles over months ``m … m + H − 1`` (renewals not assumed), the core budget as
    now set over the months of the horizon from ``finance.core_budget_from_month`` on, the
    subscriptions, commissions and charitable income due now and the host's support, each over
    ``H`` months; the target is ``finance.reserves_policy_months`` of the current posts'
    running costs. Reserves above the target are spent over the horizon; a shortfall below it,
    or a deficit, is recovered over it. A department (annuality) surrenders a positive balance
    at 31 March, so only its deficit counts (as a first call).
    """
    H = params.workforce.planning_horizon_months
    book = state.grants
    grants = sum((grant_income(book, k).sum(axis=1) for k in range(month, month + H)),
                 np.zeros(state.replicates))
    due = state.income_due
    earned = sum((due[source] for source in _EARNED if source in due),
                 np.zeros(state.replicates))
    hosting = state.hosting
    core_months = max(month + H - max(params.finance.core_budget_from_month, month), 0)
    secured = (grants + state.core_budget / 12.0 * min(core_months, H) + earned * H
               + hosting.in_kind_support_gbp_per_year / 12.0 * state.cpi_index * H)
    secured = secured - margin_withheld_gbp(state, params, month, H)  # issue #13 (§7.11)
    running = posts_cost(state, params, state.establishment)
    # A department holds no reserves (annuality): a positive balance goes back at 31 March, so
    # it funds no post; an overspend is still a first call on the budget.
    annuality = hosting.reserves_rule == ReservesRule.ANNUALITY
    free = free_reserves(state, params, month)  # subscriptions paid ahead are not free (§5.6)
    above_target = np.where(annuality, np.minimum(free, 0.0),
                            free - params.finance.reserves_policy_months * running)
    return (secured + above_target) / H


def posts_cost(state: BatchState, params: Parameters, posts: np.ndarray) -> np.ndarray:
    """Running costs of ``posts`` (int[R, 3]) under each replicate's host at this year's pay
    and prices (:func:`~sim.model.finance.running_cost_rates`), float[R] £/month."""
    fixed, per_head = running_cost_rates(state, params)
    return fixed + (posts * per_head).sum(axis=1)


def plan_team(state: BatchState, params: Parameters, streams: MonthStreams,
              month: int) -> None:
    """Month start, at a team review: grow or shrink the funded posts to the secured budget
    (:func:`secured_budget`), in operating replicates."""
    if not team_review_due(params, month) or not state.operating.any():
        return  # no review, or no Centre left to staff
    workforce = params.workforce
    budget = secured_budget(state, params, month)
    per_head = np.broadcast_to(running_cost_rates(state, params)[1], state.staff.shape)
    cost = posts_cost(state, params, state.establishment)
    operating = state.operating
    # Shrink: vacant posts first, then people (engagement, delivery, leadership).
    short = operating & (cost > budget + 0.005)
    if short.any():
        shortfall = np.where(short, cost - budget, 0.0)
        vacant = np.maximum(state.establishment - state.staff, 0)
        for role in (Role.ENGAGEMENT, Role.DELIVERY, Role.LEADERSHIP):
            price = per_head[:, role]
            wanted = np.where(price > 0, np.ceil(shortfall / np.where(price > 0, price, 1.0)),
                              0).astype(np.int64)
            cut = np.minimum(wanted, vacant[:, role]) * short
            state.establishment[:, role] -= cut
            shortfall = np.maximum(shortfall - cut * price, 0.0)
        counts = redundancies_needed(shortfall, state.staff, state.notices.under_notice,
                                     per_head, workforce)
        counts[~short] = 0
        if counts.any():
            serve_notices(state, counts, month)
            state.flows.redundancy_notices += counts.sum(axis=1)
    # Grow: one post at a time into the role furthest below its share of the full team.
    full = np.minimum(workforce.establishment_fte, state.policy.cap)  # a rule's cut (§12)
    growing = (operating & ~short & ~state.host_cut
               & (state.notices.under_notice.sum(axis=1) == 0))
    if not growing.any() or workforce.establishment_fte.sum() == 0:
        return
    # New posts must fit the budget less a contingency for what is not a post (launches,
    # recruitment, cover, redundancy pay); the team shrinks only below the whole budget, so a
    # team at the margin neither grows nor is cut (no redundancy for a contingency).
    spendable = budget * (1.0 - workforce.planning_contingency_share)
    headroom = np.where(growing, spendable - posts_cost(state, params, state.establishment), 0.0)
    order = np.array(GROWTH_ORDER)
    for _ in range(workforce.growth_posts_per_review):
        est = state.establishment
        gap = np.where(full > 0, (full - est) / np.maximum(full, 1), -np.inf)[:, order]
        pick = order[np.argmax(gap, axis=1)]  # first of the largest (GROWTH_ORDER ties)
        rows = np.arange(len(pick))
        price = per_head[rows, pick]
        add = growing & (gap.max(axis=1) > 0) & (price <= headroom)
        if not add.any():
            break
        state.establishment[rows[add], pick[add]] += 1
        headroom = headroom - np.where(add, price, 0.0)
