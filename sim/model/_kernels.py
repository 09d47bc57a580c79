"""Compiled inner loops of the LA ladder (numba), for the places that touch every LA of every
replicate each sub-step: the uptake chain and the tally of the ladder that income, capacity and
the month-end metrics read; and binomial counts drawn from one uniform each.

Each kernel walks replicates and LAs once and does exactly the arithmetic of the array
formulation documented in :mod:`sim.model.uptake` (the same IEEE operations in the same order,
so the same bits): the array version made about ten passes over ``[R, N]`` per sub-step, one
per transition, and spent most of its time finding the few LAs each transition applies to.
Kernels are compiled on first use and cached on disk (``cache=True``), so a worker process
loads them instead of compiling again.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.model.las import (
    AWARE,
    CHAMPION,
    CONTRIBUTOR,
    EVALUATING,
    LADDER_STATES,
    LAPSED,
    MEMBER,
    UNAWARE,
)

__all__ = ["CHAMPIONS", "ENGAGED", "GRADES", "LOW_RATED_MEMBERS", "LOW_RATED_REACHED",
           "MEMBERS", "MEMBER_PRICES", "N_STATES", "binomial_from_uniform", "ladder_step",
           "ladder_tally", "tally_width"]


@njit(cache=True, nogil=True, inline="always")
def _test(u: float, p: float) -> tuple[bool, float]:
    """One Bernoulli test with uniform ``u``: (fired, ``u`` rescaled to be uniform again given
    the outcome: ``u / p`` if it fired, ``(u − p) / (1 − p)`` if not)."""
    if u < p:
        return True, u / p
    if p < 1.0:
        return False, (u - p) / (1.0 - p)
    return False, u


@njit(cache=True, nogil=True, inline="always")
def _hazard_probability(hazard: float, dt: float) -> float:
    """``1 − exp(−h dt)`` as :func:`sim.engine.hazard_probability` computes it."""
    return -math.expm1(hazard * -dt)


N_STATES = len(LADDER_STATES)
MEMBERS, LOW_RATED_MEMBERS, LOW_RATED_REACHED, CHAMPIONS, ENGAGED, MEMBER_PRICES, GRADES = range(
    N_STATES, N_STATES + 7)
"""Rows of a tally (:func:`ladder_tally`) after the one count per ladder state: member
LAs; low-rated member LAs; low-rated LAs no longer unaware; champions; contributors and
champions; the members' subscription prices (£/year); then members per Ofsted grade
(``GRADES + grade``) and per region (``GRADES + grades + region``)."""


def tally_width(n_grades: int, n_regions: int) -> int:
    """Rows of a tally."""
    return GRADES + n_grades + n_regions


@njit(cache=True, nogil=True)
def ladder_step(ladder: np.ndarray, champions: np.ndarray, u: np.ndarray, live: np.ndarray,
                aware_p: np.ndarray, q: np.ndarray, dt: float,
                w_nation_per_la: float, region: np.ndarray, region_scale: np.ndarray,
                neighbours: np.ndarray, neighbour_scale: float, champion_weight: float,
                lapsed_return_prob: np.ndarray, start_rate: np.ndarray, capacity: np.ndarray,
                demand: np.ndarray, decide_prob: np.ndarray, pass_prob: np.ndarray,
                leave_prob: np.ndarray, orphan_lapse_prob: np.ndarray, refill_prob: np.ndarray,
                contribute_prob: np.ndarray, champion_prob: np.ndarray,
                out: np.ndarray) -> None:
    """One sub-step of the ladder for every LA of every live replicate, in place.

    Each LA's tests run in ladder order on its updated state, all driven by its one uniform
    ``u[r, i]`` (rescaled after each test). The peer shares come from the state at the start
    of the sub-step. ``region_scale`` is ``w_region ÷ region size`` per region (0 when regions
    carry no weight) and ``neighbour_scale`` ``w_neighbours ÷ 10`` (0 likewise).
    ``leave_prob[c − 1, i]`` is the chance that one of ``c`` champions leaves LA ``i`` in the
    sub-step (c = 1, 2). Parameters that may differ by replicate (sweep design points stacked in
    one batch) are float[R] (``aware_p``, ``q``, ``lapsed_return_prob``, ``start_rate``,
    ``demand``, ``orphan_lapse_prob``, ``refill_prob``, ``champion_prob``) or float[R, N]
    (``decide_prob``, ``pass_prob``, ``contribute_prob``; broadcast views are fine). ``out`` is
    float[R, 3] and receives joins, champion losses and orphan lapses.
    """
    R, N = ladder.shape
    K = neighbours.shape[1]
    n_regions = region_scale.shape[0]
    counts = np.empty(N)
    by_region = np.empty(n_regions)
    extra = champion_weight - 1.0
    # Upper bounds, per ladder state, on the chance that any transition fires for an LA in that
    # state this sub-step (a union bound over its chain of tests, with a margin for rounding).
    # An LA whose uniform is at or above its state's bound cannot move, so it is passed over
    # after one comparison; the others run the chain in full: the outcome is the same.
    bound = np.zeros(N_STATES)
    leave_top = 0.0
    for c in range(leave_prob.shape[0]):
        for i in range(N):
            leave_top = max(leave_top, leave_prob[c, i])
    capacity_top = 0.0
    for i in range(N):
        capacity_top = max(capacity_top, capacity[i])
    margin = 1.0 + 1e-9
    for r in range(R):
        out[r, 0] = 0.0
        out[r, 1] = 0.0
        out[r, 2] = 0.0
        if not live[r]:
            continue
        # Adopters at the start of the sub-step: members count 1, champions champion_weight.
        # (Whole numbers, so exact in any order; branch-free, as most LAs are members.)
        total = 0.0
        by_region[:] = 0.0
        for i in range(N):
            s = ladder[r, i]
            c = np.float64((s >= MEMBER) & (s <= CHAMPION)) + extra * (s == CHAMPION)
            counts[i] = c
            total += c
            by_region[region[i]] += c
        national = total * w_nation_per_la
        # For unaware LAs the bound uses 1 − exp(−x) ≤ x and the largest share any LA can have.
        region_top = 0.0
        for g in range(n_regions):
            region_top = max(region_top, by_region[g] * region_scale[g])
        top_share = national + region_top + K * max(champion_weight, 1.0) * neighbour_scale
        bound[UNAWARE] = (aware_p[r] + q[r] * top_share) * dt * margin
        bound[LAPSED] = lapsed_return_prob[r] * margin
        bound[AWARE] = _hazard_probability(start_rate[r] * capacity_top * demand[r], dt) * margin
        decide_top = contribute_top = 0.0
        for i in range(N):
            decide_top = max(decide_top, decide_prob[r, i])
            contribute_top = max(contribute_top, contribute_prob[r, i])
        bound[EVALUATING] = decide_top * margin
        bound[MEMBER] = (leave_top + contribute_top) * margin
        bound[CONTRIBUTOR] = (leave_top + refill_prob[r] + champion_prob[r]) * margin
        bound[CHAMPION] = (leave_top + refill_prob[r]) * margin
        # bound[MERGED] stays 0: a merged LA never moves.
        for i in range(N):
            s = ladder[r, i]
            ui = u[r, i]
            if ui >= bound[s]:
                continue  # nothing can fire for this LA in this sub-step (see bound)
            if s == UNAWARE:
                share = national
                if region_scale[region[i]] > 0.0:
                    share = share + by_region[region[i]] * region_scale[region[i]]
                if neighbour_scale > 0.0:
                    near = 0.0
                    for k in range(K):
                        near += counts[neighbours[i, k]]
                    share = share + near * neighbour_scale
                p = _hazard_probability(aware_p[r] + q[r] * share, dt)
                if ui >= p:
                    continue  # stays unaware: nothing else can happen to it this sub-step
                ui = ui / p  # (the rescaling of _test)
                s = AWARE
            elif s == LAPSED:
                fired, ui = _test(ui, lapsed_return_prob[r])
                if fired:
                    s = AWARE
            if s == AWARE:
                start = _hazard_probability(start_rate[r] * capacity[i] * demand[r], dt)
                fired, ui = _test(ui, start)
                if fired:
                    s = EVALUATING
            if s == EVALUATING:
                fired, ui = _test(ui, decide_prob[r, i])
                if fired:
                    joined, ui = _test(ui, pass_prob[r, i])
                    if joined:
                        s = MEMBER
                        champions[r, i] = 1
                        out[r, 0] += 1.0
                    else:
                        s = AWARE
            if s >= MEMBER and s <= CHAMPION and champions[r, i] > 0:
                # Champion churn at the LA's turnover hazard (at most one leaver per sub-step).
                lost, ui = _test(ui, leave_prob[champions[r, i] - 1, i])
                if lost:
                    champions[r, i] -= 1
                    out[r, 1] += 1.0
                    if champions[r, i] == 0:
                        lapsing, ui = _test(ui, orphan_lapse_prob[r])
                        if lapsing:
                            s = LAPSED
                            out[r, 2] += 1.0
                        else:  # a new person picks it up, as an ordinary member
                            s = MEMBER
                            champions[r, i] = 1
            if (s == CONTRIBUTOR or s == CHAMPION) and champions[r, i] == 1:
                refilled, ui = _test(ui, refill_prob[r])
                if refilled:
                    champions[r, i] = 2
            if s == MEMBER:
                fired, ui = _test(ui, contribute_prob[r, i])
                if fired:
                    s = CONTRIBUTOR
                    champions[r, i] = 2
            if s == CONTRIBUTOR:
                fired, ui = _test(ui, champion_prob[r])
                if fired:
                    s = CHAMPION
            ladder[r, i] = s
            u[r, i] = ui


@njit(cache=True, nogil=True)
def ladder_tally(ladder: np.ndarray, champions: np.ndarray, low_rated: np.ndarray,
                 prices: np.ndarray, ofsted: np.ndarray, region_column: np.ndarray,
                 out: np.ndarray) -> None:
    """Counts of the ladder per replicate into ``out`` (float[tally_width, R], one row per
    count, so each count of all replicates is contiguous; whole numbers, so exact).
    ``prices`` is float[R, N] (£/year; sums exactly in whole pounds); ``region_column`` is each
    LA's row of the tally (``GRADES + grades + region``).

    Branch-free integer counting, into four interleaved histograms so that consecutive LAs
    never wait on the same counter: 2.3 times faster than the plain loop.
    """
    R, N = ladder.shape
    width = out.shape[0]
    hist = np.zeros((4, width), dtype=np.int64)
    for r in range(R):
        hist[:] = 0
        members = low_members = reached = engaged = champion_count = 0
        paid = 0.0
        for i in range(N):
            s = np.int64(ladder[r, i])
            h = i & 3
            hist[h, s] += 1
            low = np.int64(low_rated[i])
            member = np.int64((s >= MEMBER) & (s <= CHAMPION))
            reached += (s != UNAWARE) * low
            members += member
            paid += prices[r, i] * member
            engaged += member * (s != MEMBER)
            low_members += member * low
            hist[h, GRADES + ofsted[i]] += member
            hist[h, region_column[i]] += member
            champion_count += champions[r, i]
        for k in range(width):
            out[k, r] = hist[0, k] + hist[1, k] + hist[2, k] + hist[3, k]
        out[MEMBERS, r] = members
        out[LOW_RATED_MEMBERS, r] = low_members
        out[LOW_RATED_REACHED, r] = reached
        out[CHAMPIONS, r] = champion_count
        out[ENGAGED, r] = engaged
        out[MEMBER_PRICES, r] = paid


@njit(cache=True, nogil=True)
def _binomial_quantile(n: int, p: float, u: float) -> int:
    """Smallest k with P(Binomial(n, p) ≤ k) > u (inverse transform; n is small here)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    ratio = p / (1.0 - p)
    pmf = (1.0 - p) ** n
    cdf = pmf
    k = 0
    while u >= cdf and k < n:
        pmf *= (n - k) / (k + 1.0) * ratio
        k += 1
        cdf += pmf
    return k


@njit(cache=True, nogil=True)
def binomial_from_uniform(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Binomial(n, p) counts from one uniform each, elementwise (arrays of one shape).

    A draw that is a function of its own uniform only does not depend on what else is drawn
    or on the batch, so replicates of several design points can share a batch and still get
    exactly the numbers each would get alone.
    """
    out = np.empty(n.shape, dtype=np.int64)
    flat_n, flat_p, flat_u, flat_out = n.ravel(), p.ravel(), u.ravel(), out.ravel()
    for j in range(flat_n.size):
        flat_out[j] = _binomial_quantile(flat_n[j], flat_p[j], flat_u[j])
    return out
