"""Adaptive policies: rules that act on each replicate by its own state (docs/model.md §12).

Each month, before anything else moves, every rule reads the replicate's last recorded month
(the metrics written at the end of the month before; ``month`` and ``calendar_month`` of the
month now starting) through its condition (parsed by :mod:`sim.scenario.policies`, never run
as code). A rule acts where its condition has held for ``hold_months`` consecutive months in
an open Centre, at most once (``once``) or again after ``cooldown_months``; the count of
months held starts afresh after it acts. Actions:

- ``change_price``: this year's price factor × (1 + amount), kept within [0, 10]; who would
  pay the new price is read again (§2.10). A host with a reserves rule sets the price factor
  afresh each April (§5.11), so its change lasts to the next April; invoices already raised
  keep their price.
- ``freeze_hiring`` / ``resume_hiring``: recruitment stops (on top of the host's own freeze,
  §3.3) until a ``resume_hiring`` rule acts.
- ``seek_grant``: an application for a bridging grant, which succeeds with ``success_prob``
  (one uniform per replicate and application, stream ``policy_grant_<k>``, so runs compare
  under common random numbers) and then pays ``grant_gbp_per_year ÷ 12`` a month as grant
  income from ``delay_months`` after applying, for ``grant_months``. A rule does not apply
  again while its last grant is still to come or paying.

- ``cut_team`` / ``grow_team``: remove or add ``amount`` funded posts (``unit = "fte"``) or
  ``round(amount × funded posts)`` of them (``unit = "share"``). A cut deletes vacant posts
  first, then serves redundancy notice (§3.4) on people in post, engagement, delivery,
  leadership in that order; the cut establishment is the ceiling to which posts are later
  restored (§3.4, §3.6). Growth adds posts one at a time to the role furthest below its share
  of the scenario's team (at most 500 a role, the schema's bound); they are recruited to like
  any vacancy (§3.2), while the host's hiring rule allows (§3.3).
- ``pause_services`` / ``retire_services``: the last ``amount`` live services in the
  portfolio's order (the last launched under ``gall`` and ``schedule``, and the last to be
  staffed, §4.1) are paused (no maintenance, no value, their debt kept; not rebuilt) or retired
  as §4.9 retires a service (progress and debt cleared, the reputation hit), but for good;
  ``resume_services`` brings back the first ``amount`` paused services with their debt.
- ``change_host``: the rule's host takes over in the replicates where it acts, through the
  mechanism of a dated change (§6, §6.1: staff lost, transition cost, TUPE pensions, double
  running), with its own streams ``policy_host_<k>`` and ``policy_pension_<k>``.
- ``rebuild_reserves`` / ``draw_reserves``: the price factor × (1 + amount) or × (1 − amount)
  until the recorded months of cover reach ``target_months`` (rebuild) or fall to it (draw);
  then the surcharge or discount is lifted. One at a time in a replicate: the rule acts only
  where none is in force. Under a host whose reserves rule re-sets the price each April it is
  applied again on top of the new price.

The month's actions are counted in the metric ``policy_actions``, and which rules acted in the
metric ``policy_rules_acting`` (rule ``k`` adds ``2**k``); the KPI
``policy_first_action_month`` is the first month any rule acted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine import MonthStreams
from sim.model.codes import Role, ServiceStatus
from sim.model.host import move_host
from sim.model.parameters import Parameters, PolicyParameters
from sim.model.pensions import mixed_membership
from sim.model.uptake import refresh_market

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["PolicyBook", "apply_policies", "evaluate_condition"]

MAX_PRICE_FACTOR = 10.0
"""The most a rule can raise the price factor to (ten times the list price)."""
MAX_POSTS_PER_ROLE = 500
"""The most funded posts a rule can grow a role to (the schema's bound on establishment_fte)."""
NO_CAP = 10**9
"""The posts ceiling where no team rule has set one."""
CUT_ORDER = (Role.ENGAGEMENT, Role.DELIVERY, Role.LEADERSHIP)
"""Who a team cut reaches first, as the cash-shortage redundancies (§3.4)."""

_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal}


@dataclass
class PolicyBook:
    """Each rule's record in each replicate: ``held`` int64[R, P] (consecutive months its
    condition has held), ``acted`` int64[R, P] (times it acted), ``last`` int64[R, P] (month it
    last acted; very negative if never); ``frozen`` bool[R] (recruitment stopped by a rule);
    ``actions`` float[R] (rules that acted this month) and ``acting`` float[R] (which: rule
    ``k`` adds ``2**k``); a bridging grant won by rule ``k`` pays ``bridge_rate[r, k]`` £/month
    in months ``bridge_start ≤ m < bridge_end``; ``cap`` int64[R, 3], the funded posts a team
    rule has cut to (``NO_CAP`` if none); ``surcharge`` float[R], the factor on the price of a
    reserves rule in force (1: none), ``reserves_rule`` int64[R] which rule (-1: none), and
    ``price_left`` float[R], the price factor the rules left last month."""

    held: np.ndarray
    acted: np.ndarray
    last: np.ndarray
    frozen: np.ndarray
    actions: np.ndarray
    bridge_start: np.ndarray
    bridge_end: np.ndarray
    bridge_rate: np.ndarray
    acting: np.ndarray
    cap: np.ndarray
    surcharge: np.ndarray
    reserves_rule: np.ndarray
    price_left: np.ndarray

    @classmethod
    def empty(cls, replicates: int, rules: int) -> PolicyBook:
        shape = (replicates, rules)
        return cls(np.zeros(shape, np.int64), np.zeros(shape, np.int64),
                   np.full(shape, -(10**9), np.int64), np.zeros(replicates, bool),
                   np.zeros(replicates), np.zeros(shape, np.int64), np.zeros(shape, np.int64),
                   np.zeros(shape), np.zeros(replicates),
                   np.full((replicates, 3), NO_CAP, np.int64), np.ones(replicates),
                   np.full(replicates, -1, np.int64), np.ones(replicates))

    def bridging_income(self, month: int) -> np.ndarray:
        """£/month, float[R]: the bridging grants paying in ``month``."""
        if not self.bridge_rate.size:
            return np.zeros(self.bridge_rate.shape[0])
        paying = (self.bridge_start <= month) & (month < self.bridge_end)
        return (self.bridge_rate * paying).sum(axis=1)


def evaluate_condition(tree: Any, lookup: Callable[[str], np.ndarray]) -> np.ndarray:
    """bool[R]: the condition's tree evaluated on every replicate at once; ``lookup(name)``
    gives a quantity's float[R] values (NaN compares false)."""
    kind = tree[0]
    if kind == "and":
        return evaluate_condition(tree[1], lookup) & evaluate_condition(tree[2], lookup)
    if kind == "or":
        return evaluate_condition(tree[1], lookup) | evaluate_condition(tree[2], lookup)
    if kind == "not":
        return ~evaluate_condition(tree[1], lookup)
    if kind == "cmp":
        _, op, left, right = tree
        with np.errstate(invalid="ignore"):
            return np.asarray(_COMPARE[op](_operand(left, lookup), _operand(right, lookup)),
                              dtype=bool)
    raise ValueError(f"not a condition: {tree!r}")


def _operand(node: Any, lookup: Callable[[str], np.ndarray]) -> np.ndarray:
    return np.asarray(node[1], dtype=float) if node[0] == "num" else lookup(node[1])


def apply_policies(state: BatchState, params: Parameters, streams: MonthStreams,
                   month: int) -> None:
    """Month start: each rule reads the last recorded month and acts where it is due."""
    book = state.policy
    book.actions = np.zeros(state.replicates)
    book.acting = np.zeros(state.replicates)
    if not params.policies or month == 0 or state.history is None:
        return
    history = state.history
    calendar = (int(params.time.start[5:7]) - 1 + month) % 12 + 1

    def lookup(name: str) -> np.ndarray:
        if name == "month":
            return np.full(state.replicates, float(month))
        if name == "calendar_month":
            return np.full(state.replicates, float(calendar))
        return np.asarray(history[name][month - 1], dtype=float)

    price_changed = _keep_reserves_rules(state, params, lookup("months_of_cover"))
    for index, rule in enumerate(params.policies):
        holds = evaluate_condition(rule.tree, lookup) & state.operating
        held = np.where(holds, book.held[:, index] + 1, 0)
        due = (held >= rule.hold_months) & state.operating
        due &= (book.acted[:, index] == 0) if rule.once else (
            month - book.last[:, index] >= rule.cooldown_months)
        if rule.action == "seek_grant":  # not while its last grant is to come or paying
            due &= book.bridge_end[:, index] <= month
        if rule.action in ("rebuild_reserves", "draw_reserves"):  # one at a time
            due &= book.reserves_rule < 0
        book.held[:, index] = np.where(due, 0, held)
        if not due.any():
            continue
        book.acted[:, index] += due
        book.last[:, index] = np.where(due, month, book.last[:, index])
        book.actions += due
        book.acting += due * float(2**index)
        if rule.action == "change_price":
            state.price_factor[:] = np.where(
                due, np.clip(state.price_factor * (1.0 + rule.amount), 0.0, MAX_PRICE_FACTOR),
                state.price_factor)
            price_changed = True
        elif rule.action == "freeze_hiring":
            book.frozen |= due
        elif rule.action == "resume_hiring":
            book.frozen &= ~due
        elif rule.action == "seek_grant":
            won = due & (streams(f"policy_grant_{index}").random() < rule.success_prob)
            start = month + rule.delay_months
            book.bridge_start[:, index] = np.where(won, start, book.bridge_start[:, index])
            book.bridge_end[:, index] = np.where(won, start + rule.grant_months,
                                                 book.bridge_end[:, index])
            book.bridge_rate[:, index] = np.where(won, rule.grant_gbp_per_year / 12.0,
                                                  book.bridge_rate[:, index])
        elif rule.action == "cut_team":
            _cut_team(state, due, _posts(state, rule), month)
        elif rule.action == "grow_team":
            _grow_team(state, params, due, _posts(state, rule))
        elif rule.action in ("pause_services", "retire_services", "resume_services"):
            _services(state, params, due, rule)
        elif rule.action == "change_host":
            assert rule.move is not None
            move_host(state, params, due, rule.host, rule.move, streams(f"policy_host_{index}"),
                      streams(f"policy_pension_{index}") if mixed_membership(params) else None,
                      month)
        elif rule.action in ("rebuild_reserves", "draw_reserves"):
            factor = 1.0 + rule.amount if rule.action == "rebuild_reserves" else 1.0 - rule.amount
            state.price_factor[:] = np.where(
                due, np.clip(state.price_factor * factor, 0.0, MAX_PRICE_FACTOR),
                state.price_factor)
            book.surcharge[:] = np.where(due, factor, book.surcharge)
            book.reserves_rule[:] = np.where(due, index, book.reserves_rule)
            price_changed = True
    if price_changed:
        refresh_market(state, params)
    book.price_left = state.price_factor.copy()


def _keep_reserves_rules(state: BatchState, params: Parameters, cover: np.ndarray) -> bool:
    """A reserves rule in force: applied again where the host's reserves rule has re-set the
    price this April (the price factor is not what the rules left), then lifted where the
    recorded months of cover ``cover`` (float[R]) have reached its target (rebuild) or fallen
    to it (draw), or the Centre has closed. Returns whether any price factor moved."""
    book = state.policy
    active = book.reserves_rule >= 0
    if not active.any():
        return False
    reset = active & (state.price_factor != book.price_left)
    state.price_factor[:] = np.where(
        reset, np.clip(state.price_factor * book.surcharge, 0.0, MAX_PRICE_FACTOR),
        state.price_factor)
    rules = params.policies
    target = np.array([rule.target_months for rule in rules])[np.maximum(book.reserves_rule, 0)]
    rebuild = np.array([rule.action == "rebuild_reserves" for rule in rules])[
        np.maximum(book.reserves_rule, 0)]
    with np.errstate(invalid="ignore"):
        met = np.where(rebuild, cover >= target, cover <= target)
    lift = active & (met | ~state.operating)
    state.price_factor[:] = np.where(lift, state.price_factor / book.surcharge,
                                     state.price_factor)
    book.surcharge[lift] = 1.0
    book.reserves_rule[lift] = -1
    return bool(reset.any() or lift.any())


def _posts(state: BatchState, rule: PolicyParameters) -> np.ndarray:
    """Posts a team rule moves in each replicate, int64[R]: ``amount`` posts, or
    ``round(amount × funded posts)``."""
    if rule.unit == "fte":
        return np.full(state.replicates, int(rule.amount), np.int64)
    return np.floor(rule.amount * state.establishment.sum(axis=1) + 0.5).astype(np.int64)


def _cut_team(state: BatchState, rows: np.ndarray, posts: np.ndarray, month: int) -> None:
    """Delete ``posts`` funded posts in ``rows`` (bool[R]): vacant posts first, then posts held
    by people not already under notice, who are given notice (§3.4); in the role order
    :data:`CUT_ORDER`. The cut establishment becomes the posts ceiling."""
    book = state.policy
    est = state.establishment
    held = np.minimum(np.maximum(state.staff - state.notices.under_notice, 0), est)
    left = np.where(rows, posts, 0)
    for pool in (est - held, held):  # vacant posts, then people's
        notices = np.zeros_like(est)
        for role in CUT_ORDER:
            take = np.minimum(left, pool[:, role])
            est[:, role] -= take
            left = left - take
            notices[:, role] = take
        if pool is held and notices.any():
            state.notices.serve(month, notices)
            state.flows.redundancy_notices += notices.sum(axis=1)
    book.cap[rows] = np.minimum(book.cap[rows], est[rows])


def _grow_team(state: BatchState, params: Parameters, rows: np.ndarray,
               posts: np.ndarray) -> None:
    """Add ``posts`` funded posts in ``rows`` (bool[R]), one at a time to the role furthest
    below its share of the scenario's team (delivery first in a tie), at most
    :data:`MAX_POSTS_PER_ROLE` a role; a posts ceiling rises with them."""
    full = params.workforce.establishment_fte.astype(float)
    share = full / full.sum() if full.sum() > 0 else np.full(3, 1.0 / 3.0)
    est = state.establishment
    order = np.array((Role.DELIVERY, Role.ENGAGEMENT, Role.LEADERSHIP))
    left = np.where(rows, posts, 0)
    r = np.arange(state.replicates)
    while (left > 0).any():
        gap = share[None, :] * (est.sum(axis=1, keepdims=True) + 1) - est
        gap = np.where(est < MAX_POSTS_PER_ROLE, gap, -np.inf)[:, order]
        pick = order[np.argmax(gap, axis=1)]
        add = (left > 0) & np.isfinite(gap.max(axis=1))
        if not add.any():
            break
        est[r[add], pick[add]] += 1
        left = left - add
    book = state.policy
    book.cap[rows] = np.maximum(book.cap[rows], est[rows])


def _services(state: BatchState, params: Parameters, rows: np.ndarray,
              rule: PolicyParameters) -> None:
    """Pause or retire the last ``amount`` live services in ``rows`` (bool[R]), or resume the
    first ``amount`` paused ones (docs/model.md §12)."""
    port = state.portfolio
    n = int(rule.amount)
    if rule.action == "resume_services":
        paused = port.status == ServiceStatus.PAUSED
        pick = paused & (np.cumsum(paused, axis=1) <= n) & rows[:, None]
        port.status[pick] = ServiceStatus.LIVE
        return
    live = port.status == ServiceStatus.LIVE
    pick = live & (np.cumsum(live[:, ::-1], axis=1)[:, ::-1] <= n) & rows[:, None]
    if rule.action == "pause_services":
        port.status[pick] = ServiceStatus.PAUSED
        return
    port.status[pick] = ServiceStatus.RETIRED
    port.progress[pick] = 0.0
    port.debt[pick] = 0.0
    port.low_months[pick] = 0.0
    port.reputation[:] = np.clip(
        port.reputation - params.portfolio.reputation_hit_retirement * pick.sum(axis=1),
        0.0, 1.0)
