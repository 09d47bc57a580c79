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

The month's actions are counted in the metric ``policy_actions``; the KPI
``policy_first_action_month`` is the first month any rule acted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine import MonthStreams
from sim.model.parameters import Parameters
from sim.model.uptake import refresh_market

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["PolicyBook", "apply_policies", "evaluate_condition"]

MAX_PRICE_FACTOR = 10.0
"""The most a rule can raise the price factor to (ten times the list price)."""

_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal}


@dataclass
class PolicyBook:
    """Each rule's record in each replicate: ``held`` int64[R, P] (consecutive months its
    condition has held), ``acted`` int64[R, P] (times it acted), ``last`` int64[R, P] (month it
    last acted; very negative if never); ``frozen`` bool[R] (recruitment stopped by a rule);
    ``actions`` float[R] (rules that acted this month); a bridging grant won by rule ``k``
    pays ``bridge_rate[r, k]`` £/month in months ``bridge_start ≤ m < bridge_end``."""

    held: np.ndarray
    acted: np.ndarray
    last: np.ndarray
    frozen: np.ndarray
    actions: np.ndarray
    bridge_start: np.ndarray
    bridge_end: np.ndarray
    bridge_rate: np.ndarray

    @classmethod
    def empty(cls, replicates: int, rules: int) -> PolicyBook:
        shape = (replicates, rules)
        return cls(np.zeros(shape, np.int64), np.zeros(shape, np.int64),
                   np.full(shape, -(10**9), np.int64), np.zeros(replicates, bool),
                   np.zeros(replicates), np.zeros(shape, np.int64), np.zeros(shape, np.int64),
                   np.zeros(shape))

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

    price_changed = False
    for index, rule in enumerate(params.policies):
        holds = evaluate_condition(rule.tree, lookup) & state.operating
        held = np.where(holds, book.held[:, index] + 1, 0)
        due = (held >= rule.hold_months) & state.operating
        due &= (book.acted[:, index] == 0) if rule.once else (
            month - book.last[:, index] >= rule.cooldown_months)
        if rule.action == "seek_grant":  # not while its last grant is to come or paying
            due &= book.bridge_end[:, index] <= month
        book.held[:, index] = np.where(due, 0, held)
        if not due.any():
            continue
        book.acted[:, index] += due
        book.last[:, index] = np.where(due, month, book.last[:, index])
        book.actions += due
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
    if price_changed:
        refresh_market(state, params)
