"""The Centre's record, as funders judge it: value to LAs for what it costs, and its reach
(docs/model.md §7.4).

Spending reviews and performance-judged renewals (a re-tender) do not use one fixed chance:
the odds of a favourable decision move with the benefit-cost ratio over the last
``funding_case.window_months`` and with the share of LAs that are members,

    odds' = odds × (ratio ÷ reference ratio)^e_value × (reach ÷ reference reach)^e_reach,

so a Centre that delivers and is used is kept more often than one that does not. The record is
kept month by month in :class:`PerformanceBook` (state), by the month-end rule
:func:`remember_month`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine import MonthStreams
from sim.model.codes import ServiceStatus, Tally
from sim.model.parameters import Parameters
from sim.scenario.schema import STRANDS

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["PerformanceBook", "bundle_factor", "case_multiplier", "remember_month",
           "value_delivered", "with_odds_scaled"]

MIN_SCORE = 0.01
"""Ratios and reach are floored here before being raised to a power (a Centre with no value
or no members is judged as poor, not infinitely poor)."""


@dataclass
class PerformanceBook:
    """The last ``window`` months of value delivered and costs, £ float64[window, R] each
    (a ring: month ``m`` in row ``m % window``), and how many months have been recorded.

    ``kept`` holds the last value delivered (:func:`value_delivered`) and viability
    (:func:`~sim.model.viability.viable`), each with what it was computed from: each is read
    twice at a month end, by a rule and then by the record, and is computed again only when
    something it reads has changed in between."""

    value: np.ndarray
    cost: np.ndarray
    recorded: int = 0
    kept: dict[str, tuple[tuple[Any, ...], np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False)

    @classmethod
    def empty(cls, window: int, replicates: int) -> PerformanceBook:
        return cls(np.zeros((window, replicates)), np.zeros((window, replicates)))

    def remember(self, month: int, value: np.ndarray, cost: np.ndarray) -> None:
        row = month % self.value.shape[0]
        self.value[row] = value
        self.cost[row] = cost
        self.recorded += 1


def kept(state: BatchState, name: str, key: tuple[Any, ...]) -> np.ndarray | None:
    """A copy of the measure ``name`` kept in ``state.performance`` if it was computed from
    ``key`` (objects compared by identity, the rest by value; see :func:`keep`), else None."""
    last = state.performance.kept.get(name)
    if last is None or len(last[0]) != len(key):
        return None
    if all(a == b if isinstance(b, (bytes, int, str)) else a is b
           for a, b in zip(last[0], key, strict=True)):
        return last[1].copy()
    return None


def keep(state: BatchState, name: str, key: tuple[Any, ...], value: np.ndarray) -> np.ndarray:
    """Keep ``value`` as the measure ``name`` computed from ``key``: whole numbers, strings
    (a float as ``float.hex()``, exact to the sign of a zero) and bytes (a state array as
    ``tobytes()``), compared by value, and any other object (the parameters, a read-only
    array), compared by identity (the key holds it, so no other object takes its id).
    Returns ``value``."""
    state.performance.kept[name] = (key, value.copy())
    return value


def bundle_factor(state: BatchState, params: Parameters) -> np.ndarray:
    """float[R]: ``1 + bundle_value_uplift`` while every strand has a live service, else 1 —
    a complete offer is worth more to an LA than its parts (docs/model.md §4.10). Kept from
    one call to the next while the services' status is the same (the value delivered and
    each member's value read it)."""
    status = state.portfolio.status
    key = (params, status.tobytes())
    factor = kept(state, "bundle_factor", key)
    if factor is not None:
        return factor
    live = status == ServiceStatus.LIVE
    strand = params.portfolio.services.strand
    complete = np.ones(len(live), dtype=bool)
    for code in range(len(STRANDS)):
        # any() over the strand's columns, one column at a time (a row reduction over a few
        # columns is slow in numpy; or-ing booleans gives the same in any order)
        has = np.zeros(len(live), dtype=bool)
        for column in np.flatnonzero(strand == code):
            has |= live[:, column]
        complete &= has
    return keep(state, "bundle_factor", key, 1.0 + params.portfolio.bundle_value_uplift * complete)


def value_delivered(state: BatchState, params: Parameters) -> np.ndarray:
    """Value of the live services to member LAs this month, £ float[R] (docs/model.md §4.8):
    each live service's value × reliability, for every member LA (low-rated members weighted
    by ``low_rated_value_multiplier``), 0 once closed; in pounds of the day (the services'
    2026/27 values × the CPI index, docs/model.md §5.13), like the costs it is set against.
    Kept from one call to the next while nothing it reads has changed (see
    :class:`PerformanceBook`)."""
    port = state.portfolio
    reliability = port.reliability  # read-only, the same array while the debt is the same
    key = (params, state.counts, state.counts.version, port.status.tobytes(), reliability,
           state.operating.tobytes(), float(state.cpi_index).hex())
    value_now = kept(state, "value_delivered", key)
    if value_now is not None:
        return value_now
    live = port.status == ServiceStatus.LIVE
    value = (live * reliability
             * params.portfolio.services.value_gbp_per_member_per_year).sum(axis=1) / 12.0
    tally = state.tally()
    # Members weighted by value (low-rated LAs gain more), from whole-number counts.
    low_members = tally[Tally.LOW_RATED_MEMBERS]
    weighted_members = (tally[Tally.MEMBERS] - low_members
                        + params.uptake.low_rated_value_multiplier * low_members)
    return keep(state, "value_delivered", key,
                value * bundle_factor(state, params) * weighted_members * state.operating
                * state.cpi_index)


def remember_month(state: BatchState, params: Parameters, streams: MonthStreams,
                   month: int) -> None:
    """Month end: this month's value delivered and costs join the record."""
    costs = sum(state.flows.costs.values())
    state.performance.remember(month, value_delivered(state, params), np.asarray(costs))


def case_multiplier(state: BatchState, params: Parameters) -> np.ndarray:
    """float[R]: the factor on the odds of a favourable funding decision now (1 with both
    elasticities 0, or at the reference ratio and reach; 1 for the ratio term before any
    cost has been recorded)."""
    case = params.events.funding_case
    value = state.performance.value.sum(axis=0)
    cost = state.performance.cost.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cost > 0, value / np.where(cost > 0, cost, 1.0),
                         case.reference_benefit_cost_ratio)
    reach = state.tally()[Tally.MEMBERS] / params.las.count
    return ((np.maximum(ratio, MIN_SCORE) / case.reference_benefit_cost_ratio)
            ** case.value_elasticity
            * (np.maximum(reach, MIN_SCORE) / case.reference_reach) ** case.reach_elasticity)


def with_odds_scaled(prob: np.ndarray | float, factor: np.ndarray) -> np.ndarray:
    """Probabilities whose odds are multiplied by ``factor`` (elementwise); unchanged where the
    factor is exactly 1."""
    p = np.broadcast_to(np.asarray(prob, dtype=float), np.shape(factor))
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = p * factor / (1.0 - p + p * factor)
    return np.where(factor == 1.0, p, np.where(p >= 1.0, 1.0, scaled))
