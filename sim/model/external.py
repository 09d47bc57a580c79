"""External events: spending reviews, the general election and new national programmes.

Each is a pure function of arrays (replicate axis first) and one uniform per replicate, drawn
by the caller from the event's own random stream (``spending_review``, ``election``,
``national_programmes``), so the events keep common random numbers across scenarios and never
shift the draws of any other mechanism. :mod:`sim.model.events` puts the dated ones (reviews,
the election) on the calendar; programme arrivals are random draws each month
(:func:`arrive_programmes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model.parameters import (
    ElectionParameters,
    Parameters,
    ProgrammeParameters,
    SpendingReviewParameters,
)

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["MAX_PROGRAMMES_PER_MONTH", "arrive_programmes", "core_budget_at_risk",
           "demand_boost", "general_election", "poisson_from_uniform", "review_months",
           "spending_review"]

MAX_PROGRAMMES_PER_MONTH = 4
"""Programme arrivals in one month are counted up to this many (the rest of the tail is
negligible at any plausible rate: P(N > 4) < 3e-9 at 1 a month's worth of 0.5 a year)."""


def poisson_from_uniform(mean: np.ndarray, u: np.ndarray, max_count: int) -> np.ndarray:
    """Poisson counts by inversion of the CDF, one uniform per replicate, capped at ``max_count``.

    ``N = #{k = 1 … max_count : u > F(k − 1)}`` with ``F`` the Poisson(``mean``) CDF: exact
    below the cap, and one uniform per replicate whatever the mean, so two scenarios whose rates
    differ still share the same uniform (common random numbers).

    Parameters
    ----------
    mean : float[R], expected count (≥ 0).
    u : float[R], uniforms on [0, 1).
    """
    mean = np.asarray(mean, dtype=float)
    pmf = np.exp(-mean)
    cdf = pmf.copy()
    count = np.zeros(np.broadcast(mean, u).shape, dtype=np.int64)
    for k in range(1, max_count + 1):  # a loop over counts, not over replicates
        count += u >= cdf
        pmf = pmf * mean / k
        cdf = cdf + pmf
    return count


def review_months(review: SpendingReviewParameters, horizon_months: int) -> list[int]:
    """Months of the spending reviews inside the horizon."""
    return list(range(review.first_month, horizon_months, review.period_months))


def spending_review(budget_gbp_per_year: np.ndarray, review: SpendingReviewParameters,
                    u: np.ndarray, stop_prob: np.ndarray | float | None = None,
                    cut_prob: np.ndarray | float | None = None,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A spending review sets the core budget for the next period.

    With one uniform ``u`` per replicate: stopped if ``u < stop_prob``; cut by ``cut_share``
    if ``stop_prob ≤ u < stop_prob + cut_prob``; otherwise unchanged. Only a budget above 0
    can be stopped or cut. ``stop_prob`` and ``cut_prob`` (float[R]) default to the review's
    stated chances; the review event passes them moved by the Centre's case (§7.4).

    Returns
    -------
    (new budget float[R] in £/year, cut bool[R], stopped bool[R])
    """
    stop = review.stop_prob if stop_prob is None else stop_prob
    cut_chance = review.cut_prob if cut_prob is None else cut_prob
    live = budget_gbp_per_year > 0
    stopped = live & (u < stop)
    cut = live & ~stopped & (u < stop + cut_chance)
    new = np.where(stopped, 0.0, np.where(cut, budget_gbp_per_year * (1 - review.cut_share),
                                          budget_gbp_per_year))
    return new, cut, stopped


def core_budget_at_risk(core_gbp_per_month: np.ndarray, month: int,
                        review: SpendingReviewParameters,
                        window_months: int) -> np.ndarray:
    """Expected core budget lost at a spending review due within the funding-uncertainty window.

    ``core × (stop_prob + cut_prob × cut_share)`` if a review falls in months
    ``month + 1 … month + window``, else 0 (£/month, float[R]).
    """
    k = -(-(month + 1 - review.first_month) // review.period_months)  # first review after month
    next_review = review.first_month + max(k, 0) * review.period_months
    if month < next_review <= month + window_months:
        return core_gbp_per_month * (review.stop_prob + review.cut_prob * review.cut_share)
    return np.zeros_like(core_gbp_per_month)


def general_election(election: ElectionParameters, u: np.ndarray) -> np.ndarray:
    """bool[R]: replicates in which the election changes policy (``u < policy_change_prob``)."""
    return u < election.policy_change_prob


def demand_boost(boost: np.ndarray, arrivals: np.ndarray,
                 programmes: ProgrammeParameters) -> np.ndarray:
    """Next month's demand boost from national programmes, float[R].

    ``boost · exp(−1 / duration_months) + arrivals · demand_uplift``: each programme adds its
    uplift when it starts, which then fades exponentially with mean life ``duration_months``.
    LA demand for help is ``1 + boost`` times its baseline.
    """
    return boost * np.exp(-1.0 / programmes.duration_months) + arrivals * programmes.demand_uplift


def arrive_programmes(state: BatchState, params: Parameters, streams: MonthStreams,
                      month: int) -> None:
    """Month start: new national programmes arrive (Poisson, faster after an election policy
    change) and raise LA demand, which then fades (docs/model.md §7.3)."""
    programmes = params.events.national_programmes
    arrivals = poisson_from_uniform(programmes.rate_per_year / 12.0 * state.programme_rate_factor,
                                    streams("national_programmes").random(),
                                    MAX_PROGRAMMES_PER_MONTH)
    state.programme_boost = demand_boost(state.programme_boost, arrivals, programmes)
    state.demand_multiplier = 1.0 + state.programme_boost
    state.flows.national_programmes = arrivals.astype(float)
