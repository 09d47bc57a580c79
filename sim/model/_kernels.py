"""Compiled inner loops of the LA ladder (numba), for the places that touch every LA of every
replicate each sub-step: the uptake chain and the tally of the ladder that income, capacity and
the month-end metrics read; and binomial counts drawn from one uniform each.

Each kernel walks the replicates once, and the LAs of each in a few tight loops.
:mod:`sim.model.reference` holds a plain Python version of each, written to follow
docs/model.md §2 line by line, and the tests check that kernel and reference agree to the bit
on random states. Kernels are compiled on first use and cached on disk (``cache=True``), so a
worker process loads them instead of compiling again.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.codes import Ladder, Tally

__all__ = ["LadderRates", "TallyLayout", "binomial_from_uniform", "ladder_step",
           "ladder_step_tallied", "ladder_tally"]


_LADDER_STATES = len(Ladder)


class LadderRates(NamedTuple):
    """What one sub-step of the ladder needs besides the state (docs/model.md §2.3–2.8).

    Per replicate (float64[R]): ``aware_p`` (the Bass innovation hazard p, per month, scaled
    by outreach and demand), ``q`` (imitation, per month), ``lapsed_return_prob``,
    ``start_rate`` (1 ÷ evaluation start months, inf for 0), ``demand``,
    ``orphan_lapse_prob``, ``refill_prob`` (second champion found), ``champion_prob``;
    ``charging`` bool[R] (members pay this sub-step), ``service_value`` (the live services'
    value to an ordinary member, £/year) and ``goodwill`` (the network's worth at the CoE's
    reputation, £/year). Per replicate and LA (float64[R, N]; broadcast views are fine):
    ``decide_prob``, ``pass_prob``, ``contribute_prob``, ``price`` (£/year now, 0 while free);
    and ``refuses`` bool[R, N] (the LA's willingness to pay is below its price: while
    ``charging``, its approval never passes, docs/model.md §2.10). Per LA: ``capacity``
    float64[N], ``leave_prob`` float64[2, N] (the chance that one of ``c`` champions leaves,
    at row ``c − 1``), ``value_multiplier`` float64[N] (the services' value to the LA relative
    to an ordinary member). ``value_scale``: the scale of value for money (§2.6).
    Peer weights: ``w_nation_per_la`` (national weight ÷ N), ``region_scale`` float64[regions]
    (regional weight ÷ region size; 0 when regions carry no weight), ``neighbour_scale``
    (neighbour weight ÷ 10), ``champion_weight`` (adopters a champion counts as).
    """

    aware_p: np.ndarray
    q: np.ndarray
    dt: float
    w_nation_per_la: float
    region_scale: np.ndarray
    neighbour_scale: float
    champion_weight: float
    lapsed_return_prob: np.ndarray
    start_rate: np.ndarray
    capacity: np.ndarray
    demand: np.ndarray
    decide_prob: np.ndarray
    pass_prob: np.ndarray
    leave_prob: np.ndarray
    orphan_lapse_prob: np.ndarray
    refill_prob: np.ndarray
    contribute_prob: np.ndarray
    champion_prob: np.ndarray
    refuses: np.ndarray
    charging: np.ndarray
    price: np.ndarray
    service_value: np.ndarray
    goodwill: np.ndarray
    value_multiplier: np.ndarray
    value_scale: float


class TallyLayout(NamedTuple):
    """Where each LA counts in a tally: ``low_rated`` bool[N], ``prices`` float64[R, N]
    (£/year; a broadcast view is fine), ``ofsted`` int64[N] grade codes, ``region_row``
    int64[N] (the LA's row ``Tally.GRADES + grades + region``)."""

    low_rated: np.ndarray
    prices: np.ndarray
    ofsted: np.ndarray
    region_row: np.ndarray


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


@njit(cache=True, nogil=True)
def ladder_step(ladder: np.ndarray, champions: np.ndarray, u: np.ndarray, live: np.ndarray,
                region: np.ndarray, neighbours: np.ndarray, rates: LadderRates,
                out: np.ndarray) -> None:
    """One sub-step of the ladder for every LA of every live replicate, in place.

    Each LA's tests run in ladder order on its updated state, all driven by its one uniform
    ``u[r, i]`` (rescaled after each test). The peer shares come from the state at the start
    of the sub-step. ``region`` int64[N] is each LA's region, ``neighbours`` int64[N, K] its
    statistical neighbours. ``out`` is float[R, 3] and receives joins, champion losses and
    orphan lapses. The plain version is :func:`sim.model.reference.ladder_step`.
    """
    no_layout = TallyLayout(np.zeros(0, dtype=np.bool_), np.zeros((0, 0)),
                            np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    _ladder_step(ladder, champions, u, live, region, neighbours, rates, out, no_layout,
                 np.zeros((0, 0)))


@njit(cache=True, nogil=True)
def ladder_step_tallied(ladder: np.ndarray, champions: np.ndarray, u: np.ndarray,
                        live: np.ndarray, region: np.ndarray, neighbours: np.ndarray,
                        rates: LadderRates, out: np.ndarray, layout: TallyLayout,
                        tally: np.ndarray) -> None:
    """:func:`ladder_step`, keeping ``tally`` (float[rows, R], the :func:`ladder_tally` of the
    ladder and champions before the step, by ``layout``) the tally of the ladder after it:
    each LA that moves is taken out of the counts in its old state and put back in its new
    one, instead of counting every LA afresh. Exact when the counts are whole numbers, which
    the member prices are only if they are whole pounds: the caller checks
    (:class:`sim.model.state.LadderCounts`)."""
    _ladder_step(ladder, champions, u, live, region, neighbours, rates, out, layout, tally)


@njit(cache=True, nogil=True, inline="always")
def _move_la(delta: np.ndarray, layout: TallyLayout, r: int, i: int, s0: int, c0: int, s: int,
             c: int) -> float:
    """Add to ``delta`` (int64[rows], a replicate's changes to the rows :func:`ladder_tally`
    counts) the move of LA ``i`` of replicate ``r`` from ladder state ``s0`` with ``c0``
    champions to state ``s`` with ``c``, touching only the counts the move changes; returns
    the change in the members' prices (£/year).

    Taking the LA out of every count and putting it back would add and take away the same
    whole numbers (and, while it stays a member, the same whole-pound price), leaving the
    exact counts as they were; and the changes of a replicate, whole numbers all, sum to the
    same whatever their order, so they are added to the tally once, after its last LA."""
    if s != s0:
        delta[s0] -= 1
        delta[s] += 1
    low = layout.low_rated[i]
    if low and (s0 == Ladder.UNAWARE) != (s == Ladder.UNAWARE):
        delta[Tally.LOW_RATED_REACHED] += -1 if s == Ladder.UNAWARE else 1
    if c != c0:
        delta[Tally.CHAMPIONS] += np.int64(c) - np.int64(c0)
    was = s0 >= Ladder.MEMBER and s0 <= Ladder.CHAMPION
    now = s >= Ladder.MEMBER and s <= Ladder.CHAMPION
    paid = 0.0
    if was != now:
        sign = 1 if now else -1
        delta[Tally.MEMBERS] += sign
        paid = sign * layout.prices[r, i]
        if low:
            delta[Tally.LOW_RATED_MEMBERS] += sign
        delta[Tally.GRADES + layout.ofsted[i]] += sign
        delta[layout.region_row[i]] += sign
    if (was and s0 != Ladder.MEMBER) != (now and s != Ladder.MEMBER):
        delta[Tally.ENGAGED] += 1 if now and s != Ladder.MEMBER else -1
    return paid


@njit(cache=True, nogil=True, inline="always")
def _row_top(values: np.ndarray, r: int) -> float:
    """The largest of ``values[r, :]`` (0 if none is positive)."""
    top = 0.0
    for i in range(values.shape[1]):
        top = max(top, values[r, i])
    return top


@njit(cache=True, nogil=True)
def _ladder_step(ladder: np.ndarray, champions: np.ndarray, u: np.ndarray, live: np.ndarray,
                 region: np.ndarray, neighbours: np.ndarray, rates: LadderRates,
                 out: np.ndarray, layout: TallyLayout, tally: np.ndarray) -> None:
    """The step of :func:`ladder_step`; ``tally`` is kept current unless it has no rows."""
    keep = tally.shape[0] > 0
    aware_p, q, dt = rates.aware_p, rates.q, rates.dt
    w_nation_per_la, region_scale = rates.w_nation_per_la, rates.region_scale
    neighbour_scale, champion_weight = rates.neighbour_scale, rates.champion_weight
    lapsed_return_prob, start_rate = rates.lapsed_return_prob, rates.start_rate
    capacity, demand = rates.capacity, rates.demand
    decide_prob, pass_prob, leave_prob = rates.decide_prob, rates.pass_prob, rates.leave_prob
    orphan_lapse_prob, refill_prob = rates.orphan_lapse_prob, rates.refill_prob
    contribute_prob, champion_prob = rates.contribute_prob, rates.champion_prob
    refuses, charging = rates.refuses, rates.charging
    price, service_value, goodwill = rates.price, rates.service_value, rates.goodwill
    value_multiplier, value_scale = rates.value_multiplier, rates.value_scale
    R, N = ladder.shape
    K = neighbours.shape[1]
    n_regions = region_scale.shape[0]
    counts = np.empty(N)
    moving = np.empty(N, dtype=np.int64)  # the LAs of a replicate that may move, in order
    width = tally.shape[0]
    delta = np.zeros(width, dtype=np.int64)  # a replicate's changes to the tally (_move_la)
    by_region = np.empty(n_regions)
    extra = champion_weight - 1.0
    whole = extra == math.floor(extra) and abs(extra) < 2.0 ** 40
    whole_extra = np.int64(extra) if whole else np.int64(0)
    whole_by_region = np.zeros(n_regions, dtype=np.int64)
    # Upper bounds, per ladder state, on the chance that any transition fires for an LA in that
    # state this sub-step (a union bound over its chain of tests, with a margin for rounding).
    # An LA whose uniform is at or above its state's bound cannot move, so it is passed over
    # after one comparison; the others run the chain in full: the outcome is the same.
    bound = np.zeros(_LADDER_STATES)
    leave_top = 0.0
    for c in range(leave_prob.shape[0]):
        for i in range(N):
            leave_top = max(leave_top, leave_prob[c, i])
    capacity_top = 0.0
    for i in range(N):
        capacity_top = max(capacity_top, capacity[i])
    margin = 1.0 + 1e-9
    # The chances of a decision and of contributing are often the same for every replicate (a
    # broadcast view, stride 0): their largest value over the LAs is then found once.
    decide_shared = R > 0 and decide_prob.strides[0] == 0
    contribute_shared = R > 0 and contribute_prob.strides[0] == 0
    decide_top = _row_top(decide_prob, 0) if decide_shared else 0.0
    contribute_top = _row_top(contribute_prob, 0) if contribute_shared else 0.0
    for r in range(R):
        out[r, 0] = 0.0
        out[r, 1] = 0.0
        out[r, 2] = 0.0
        if not live[r]:
            continue
        # Adopters at the start of the sub-step: members count 1, champions champion_weight.
        # (Branch-free: an LA's state is not predictable.)
        if whole:
            # A whole champion_weight makes every count and partial sum a whole number, which
            # floats add exactly: counting in integers gives the same sums, without waiting on
            # a floating-point add per LA.
            whole_total = np.int64(0)
            whole_by_region[:] = 0
            for i in range(N):
                s = ladder[r, i]
                weight = (np.int64((s >= Ladder.MEMBER) & (s <= Ladder.CHAMPION))
                          + whole_extra * np.int64(s == Ladder.CHAMPION))
                counts[i] = weight
                whole_total += weight
                whole_by_region[region[i]] += weight
            total = float(whole_total)
            for g in range(n_regions):
                by_region[g] = whole_by_region[g]
        else:
            total = 0.0
            by_region[:] = 0.0
            for i in range(N):
                s = ladder[r, i]
                c = (np.float64((s >= Ladder.MEMBER) & (s <= Ladder.CHAMPION))
                     + extra * (s == Ladder.CHAMPION))
                counts[i] = c
                total += c
                by_region[region[i]] += c
        national = total * w_nation_per_la
        # For unaware LAs the bound uses 1 − exp(−x) ≤ x and the largest share any LA can have.
        region_top = 0.0
        for g in range(n_regions):
            region_top = max(region_top, by_region[g] * region_scale[g])
        top_share = national + region_top + K * max(champion_weight, 1.0) * neighbour_scale
        bound[Ladder.UNAWARE] = (aware_p[r] + q[r] * top_share) * dt * margin
        bound[Ladder.LAPSED] = lapsed_return_prob[r] * margin
        bound[Ladder.AWARE] = (_hazard_probability(start_rate[r] * capacity_top * demand[r], dt)
                               * margin)
        if not decide_shared:
            decide_top = _row_top(decide_prob, r)
        if not contribute_shared:
            contribute_top = _row_top(contribute_prob, r)
        bound[Ladder.EVALUATING] = decide_top * margin
        bound[Ladder.MEMBER] = (leave_top + contribute_top) * margin
        bound[Ladder.CONTRIBUTOR] = (leave_top + refill_prob[r] + champion_prob[r]) * margin
        bound[Ladder.CHAMPION] = (leave_top + refill_prob[r]) * margin
        # bound[Ladder.MERGED] stays 0: a merged LA never moves.
        # The LAs whose uniform is below their state's bound, listed without a branch per LA
        # (which LAs they are is random), then run in LA order; the others cannot move. Each
        # LA's chain reads and changes only its own state (and the counts taken above).
        n_moving = 0
        for i in range(N):
            moving[n_moving] = i
            n_moving += not u[r, i] >= bound[ladder[r, i]]
        paid = 0.0
        # The chance of starting an evaluation takes one value per LA capacity (a few): the
        # last two computed are kept for this replicate, and reused for the same rate.
        start_x0 = start_x1 = np.nan
        start_p0 = start_p1 = 0.0
        for j in range(n_moving):
            i = moving[j]
            s = ladder[r, i]
            ui = u[r, i]
            s0, c0 = s, champions[r, i]
            if s == Ladder.UNAWARE:
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
                s = np.int8(Ladder.AWARE)
            elif s == Ladder.LAPSED:
                fired, ui = _test(ui, lapsed_return_prob[r])
                if fired:
                    s = np.int8(Ladder.AWARE)
            if s == Ladder.AWARE:
                x = start_rate[r] * capacity[i] * demand[r]
                if x == start_x0:
                    start = start_p0
                elif x == start_x1:
                    start = start_p1
                else:
                    start = _hazard_probability(x, dt)
                    start_x1, start_p1 = start_x0, start_p0
                    start_x0, start_p0 = x, start
                fired, ui = _test(ui, start)
                if fired:
                    s = np.int8(Ladder.EVALUATING)
            if s == Ladder.EVALUATING:
                fired, ui = _test(ui, decide_prob[r, i])
                if fired:
                    # An LA that will not pay its price never passes (docs/model.md §2.10);
                    # at a price, the pass rate is scaled by value for money (§2.6).
                    if charging[r] and refuses[r, i]:
                        passing = 0.0
                    else:
                        passing = pass_prob[r, i]
                        if price[r, i] > 0.0:
                            worth = service_value[r] * value_multiplier[i] + goodwill[r]
                            passing = passing * -math.expm1(-(worth / price[r, i]) / value_scale)
                    joined, ui = _test(ui, passing)
                    if joined:
                        s = np.int8(Ladder.MEMBER)
                        champions[r, i] = 1
                        out[r, 0] += 1.0
                    else:
                        s = np.int8(Ladder.AWARE)
            if s >= Ladder.MEMBER and s <= Ladder.CHAMPION and champions[r, i] > 0:
                # Champion churn at the LA's turnover hazard (at most one leaver per sub-step).
                lost, ui = _test(ui, leave_prob[champions[r, i] - 1, i])
                if lost:
                    champions[r, i] -= 1
                    out[r, 1] += 1.0
                    if champions[r, i] == 0:
                        lapsing, ui = _test(ui, orphan_lapse_prob[r])
                        if lapsing:
                            s = np.int8(Ladder.LAPSED)
                            out[r, 2] += 1.0
                        else:  # a new person picks it up, as an ordinary member
                            s = np.int8(Ladder.MEMBER)
                            champions[r, i] = 1
            if (s == Ladder.CONTRIBUTOR or s == Ladder.CHAMPION) and champions[r, i] == 1:
                refilled, ui = _test(ui, refill_prob[r])
                if refilled:
                    champions[r, i] = 2
            if s == Ladder.MEMBER:
                fired, ui = _test(ui, contribute_prob[r, i])
                if fired:
                    s = np.int8(Ladder.CONTRIBUTOR)
                    champions[r, i] = 2
            if s == Ladder.CONTRIBUTOR:
                fired, ui = _test(ui, champion_prob[r])
                if fired:
                    s = np.int8(Ladder.CHAMPION)
            ladder[r, i] = s
            u[r, i] = ui
            if keep and (s != s0 or champions[r, i] != c0):
                paid += _move_la(delta, layout, r, i, s0, c0, s, champions[r, i])
        if keep:  # the replicate's changes, into the tally (exact: see _move_la)
            for k in range(width):
                if delta[k] != 0:
                    tally[k, r] += delta[k]
                    delta[k] = 0
            if paid != 0.0:
                tally[Tally.MEMBER_PRICES, r] += paid


@njit(cache=True, nogil=True)
def ladder_tally(ladder: np.ndarray, champions: np.ndarray, layout: TallyLayout,
                 out: np.ndarray) -> None:
    """Counts of the ladder per replicate into ``out`` (float[rows, R]: a row per
    :class:`~sim.model.codes.Tally` count after one per ladder state, so each count of all
    replicates is contiguous; whole numbers, so exact; prices sum exactly in whole pounds).

    The counts over every LA (per state, low-rated LAs reached, champions) are taken one count
    at a time in branch-free loops the compiler can vectorise; the member-only counts in a
    second loop over the LAs, in LA order, skipped when a replicate has no members (most LAs
    of most replicates are not members). The plain version is
    :func:`sim.model.reference.ladder_tally`.
    """
    low_rated, prices = layout.low_rated, layout.prices
    ofsted, region_column = layout.ofsted, layout.region_row
    R, N = ladder.shape
    width = out.shape[0]
    low = np.empty(N, dtype=np.int32)
    for i in range(N):
        low[i] = np.int32(low_rated[i])
    hist = np.zeros(width, dtype=np.int64)
    for r in range(R):
        for s in range(_LADDER_STATES):
            n = np.int32(0)
            for i in range(N):
                n += np.int32(ladder[r, i] == s)
            out[s, r] = n
        reached = champion_count = np.int32(0)
        for i in range(N):
            reached += np.int32(ladder[r, i] != Ladder.UNAWARE) * low[i]
            champion_count += np.int32(champions[r, i])
        members = out[Ladder.MEMBER, r] + out[Ladder.CONTRIBUTOR, r] + out[Ladder.CHAMPION, r]
        low_members = 0
        paid = 0.0
        hist[:] = 0
        if members > 0:
            for i in range(N):
                s = ladder[r, i]
                if s >= Ladder.MEMBER and s <= Ladder.CHAMPION:
                    paid += prices[r, i]
                    low_members += low[i]
                    hist[Tally.GRADES + ofsted[i]] += 1
                    hist[region_column[i]] += 1
        for k in range(Tally.GRADES, width):
            out[k, r] = hist[k]
        out[Tally.MEMBERS, r] = members
        out[Tally.LOW_RATED_MEMBERS, r] = low_members
        out[Tally.LOW_RATED_REACHED, r] = reached
        out[Tally.CHAMPIONS, r] = champion_count
        out[Tally.ENGAGED, r] = out[Ladder.CONTRIBUTOR, r] + out[Ladder.CHAMPION, r]
        out[Tally.MEMBER_PRICES, r] = paid


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
