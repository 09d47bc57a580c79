"""LA uptake along the engagement ladder: Bass awareness through regional and statistical-neighbour
peers, evaluation, the approval gate, champion churn, contribution and championing, April
renewal and return from lapse.

Flows are pure functions of (state, parameters, random draws); :func:`step_uptake` applies them.
Each LA gets one uniform number per sub-step. Transitions run in ladder order on the updated
state, and after every test the uniform is rescaled to be uniform again given the outcome
(``u / p`` if it fired, ``(u − p) / (1 − p)`` if not), so one number drives a whole chain of
transitions exactly. With zero delays an LA can pass the whole ladder in one step; this is what
lets the uptake mechanism alone reproduce the closed-form Bass curve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.engine import BatchGenerator, hazard_probability
from sim.model.las import (
    AWARE,
    CHAMPION,
    CONTRIBUTOR,
    EVALUATING,
    LAPSED,
    MEMBER,
    UNAWARE,
    LAPopulation,
    is_member,
)
from sim.scenario.schema import Hosting, Uptake

__all__ = ["UptakeFlows", "approval_gate", "awareness_hazard", "delay_probability",
           "peer_adopter_share", "peer_share_at", "renew", "renewal_probability", "step_uptake"]


@dataclass
class UptakeFlows:
    """Counts of one sub-step, float[R]."""

    joins: np.ndarray
    champion_losses: np.ndarray
    orphan_lapses: np.ndarray


def delay_probability(mean_delay_months: float | np.ndarray,
                      dt_months: float) -> float | np.ndarray:
    """Per-step probability of leaving a state with an exponential delay of the given mean
    (a mean of 0 means the transition is immediate); elementwise for an array of means."""
    mean = np.asarray(mean_delay_months, dtype=float)
    if mean.ndim == 0:
        return 1.0 if mean <= 0 else float(hazard_probability(1.0 / mean, dt_months))
    positive = mean > 0
    return np.where(positive, hazard_probability(1.0 / np.where(positive, mean, 1.0), dt_months),
                    1.0)


def peer_adopter_share(ladder: np.ndarray, las: LAPopulation, uptake: Uptake) -> np.ndarray:
    """Weighted share of each LA's peers that have adopted, float[R, N].

    A member or contributor counts as 1 adopter and a champion as ``champion_peer_weight`` (so
    where champions are many the "share" can exceed 1: champions amplify word of mouth)::

        w_r · (adopters in own region ÷ region size)
      + w_n · (adopters among its 10 statistical neighbours ÷ 10)
      + (1 − w_r − w_n) · (adopters ÷ N)

    The sums are matrix products of whole numbers (exact in float32), so the result does not
    depend on how many replicates are in the batch. :func:`peer_share_at` on every entry.
    """
    R, N = ladder.shape
    return np.broadcast_to(peer_share_at(ladder, las, uptake, np.arange(R)[:, None],
                                         np.arange(N)[None, :]), (R, N))


def awareness_hazard(peer_share: np.ndarray, p_per_month: np.ndarray,
                     q_per_month: float) -> np.ndarray:
    """Bass hazard of becoming aware: ``p + q · peer share`` per month (Bass 1969).

    ``p_per_month`` is float[R, 1] (it scales with each replicate's engagement staff).
    """
    return p_per_month + q_per_month * peer_share


def approval_gate(uptake: Uptake, hosting: Hosting,
                  price_gbp_per_year: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean decision delay (months) and pass probability for an LA evaluating the offer at
    its price (a scalar, or float[N] when prices differ by LA size band).

    At or under the approval threshold an officer decides alone (fast, high pass rate); above
    it the decision goes through the host's route, and the pass rate falls with price as
    ``host pass rate × (threshold ÷ price)^elasticity``.
    """
    price = np.asarray(price_gbp_per_year, dtype=float)
    priced = price > uptake.approval_threshold_gbp
    with np.errstate(divide="ignore"):
        ratio = np.where(priced, uptake.approval_threshold_gbp / np.where(priced, price, 1.0), 1.0)
    months = np.where(priced, hosting.priced_approval_months, uptake.free_approval_months)
    passing = np.where(priced,
                       hosting.priced_approval_pass_prob * ratio ** uptake.approval_price_elasticity,
                       uptake.free_approval_pass_prob)
    return months, passing


def peer_share_at(ladder: np.ndarray, las: LAPopulation, uptake: Uptake, rows: np.ndarray,
                  cols: np.ndarray) -> np.ndarray:
    """:func:`peer_adopter_share` at the entries ``(rows, cols)`` only, float64 (the shape of
    the broadcast indices: ``[len(rows)]`` for a list of entries, ``[R, N]`` for all).

    Awareness needs the share only for unaware LAs, which after the first months are few; the
    neighbour sums are then gathered for those LAs (10 per entry) instead of multiplied out for
    all. Sums of whole numbers either way, so the result is the same to the bit.
    """
    weight = float(uptake.champion_peer_weight)
    counts = is_member(ladder).astype(np.float32)
    if weight != 1:
        counts += (weight - 1) * (ladder == CHAMPION)
    w_region, w_neighbours = uptake.peer_weight_region, uptake.peer_weight_neighbours
    w_nation = max(1.0 - w_region - w_neighbours, 0.0)
    share = counts.sum(axis=1)[rows].astype(np.float64) * (w_nation / las.count)
    if w_region > 0:
        by_region = counts @ las.region_onehot.astype(np.float32)  # exact counts, [R, regions]
        region = las.region[cols]
        share = share + by_region[rows, region] * (w_region / las.region_size[region])
    if w_neighbours > 0:
        neighbours = las.statistical_neighbours
        if rows.ndim == 1 and rows.size * neighbours.shape[1] < counts.size:
            sums = counts[rows[:, None], neighbours[cols]].sum(axis=1)
        else:
            sums = las.neighbour_counts(counts)[rows, cols]
        share = share + sums * (w_neighbours / neighbours.shape[1])
    return share


Prob = Callable[[np.ndarray, np.ndarray], np.ndarray] | float
"""A transition probability: a constant, or a function of the (rows, cols) of the LAs tested."""


def _advance(ladder: np.ndarray, u: np.ndarray, in_source: np.ndarray, target: int | None,
             prob: Prob) -> np.ndarray:
    """Test LAs where ``in_source`` with probability ``prob`` using their uniform ``u``.

    Those with ``u < prob`` fire (and move to ``target`` unless it is None). Every tested LA's
    ``u`` is then rescaled to be uniform on [0, 1) again given the outcome, so later tests in
    the same step can use it. Returns the bool mask of LAs that fired. Only the tested LAs are
    touched, and ``prob`` is evaluated only for them: most transitions apply to few LAs.
    """
    flat = np.flatnonzero(in_source)
    fired = np.zeros(in_source.shape, dtype=bool)
    if flat.size == 0:
        return fired
    u_flat = u.reshape(-1)
    values = u_flat[flat]
    if callable(prob):
        rows, cols = np.divmod(flat, u.shape[1])
        p = np.asarray(prob(rows, cols), dtype=float)
    else:
        p = np.full(flat.size, float(prob))
    hit = values < p
    with np.errstate(divide="ignore", invalid="ignore"):
        rescaled = np.where(hit, values / p, (values - p) / (1.0 - p))
    u_flat[flat] = np.where(hit | (p < 1.0), rescaled, values)
    moved = flat[hit]
    fired.reshape(-1)[moved] = True
    if target is not None:
        ladder.reshape(-1)[moved] = target
    return fired


def step_uptake(ladder: np.ndarray, champions: np.ndarray, las: LAPopulation, uptake: Uptake,
                hosting: Hosting, price_gbp_per_year: float | np.ndarray, engagement_fte: np.ndarray,
                demand_multiplier: np.ndarray, reputation: np.ndarray, operating: np.ndarray,
                dt_months: float, rng: BatchGenerator) -> UptakeFlows:
    """Advance the ladder and the champions by one sub-step, in place.

    Parameters
    ----------
    ladder : int8[R, N], ladder state codes (updated in place).
    champions : int8[R, N], engaged champions in each member LA (0 outside membership).
    engagement_fte : float[R], engagement staff in post.
    demand_multiplier : float[R], LA demand for help (1 normally; raised by national
        programmes): multiplies the innovation coefficient and the evaluation-start rate.
    reputation : float[R], the CoE's reputation (0–1).
    operating : bool[R], replicates whose CoE still operates (closed ones do not move).
    """
    R, N = ladder.shape
    u = rng.random(N)  # one uniform per LA per step: a fixed shape keeps common random numbers aligned
    live = operating[:, None]
    dt = dt_months

    outreach = np.minimum(engagement_fte / uptake.outreach_reference_fte,
                          uptake.outreach_max_multiplier)
    p = (uptake.p_per_year / 12.0) * outreach * demand_multiplier  # float[R]
    q = uptake.q_per_year / 12.0

    def aware_prob(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        share = peer_share_at(ladder, las, uptake, rows, cols)
        return hazard_probability(awareness_hazard(share, p[rows], q), dt)

    _advance(ladder, u, live & (ladder == UNAWARE), AWARE, aware_prob)
    _advance(ladder, u, live & (ladder == LAPSED), AWARE,
             delay_probability(uptake.lapsed_return_months, dt))

    capacity = np.where(las.low_rated, uptake.low_rated_capacity_multiplier, 1.0)
    start_rate = (1.0 / uptake.evaluation_start_months if uptake.evaluation_start_months > 0
                  else np.inf)
    _advance(ladder, u, live & (ladder == AWARE), EVALUATING,
             lambda rows, cols: hazard_probability(
                 start_rate * capacity[cols] * demand_multiplier[rows], dt))

    months, pass_prob = approval_gate(uptake, hosting, price_gbp_per_year)
    months, pass_prob = np.broadcast_to(months, (N,)), np.broadcast_to(pass_prob, (N,))
    decide_prob = delay_probability(months, dt)
    deciding = _advance(ladder, u, live & (ladder == EVALUATING), None,
                        lambda rows, cols: decide_prob[cols])
    joined = _advance(ladder, u, deciding, MEMBER, lambda rows, cols: pass_prob[cols])
    ladder[deciding & ~joined] = AWARE
    champions[joined] = 1

    # Champion churn: each champion leaves at the LA's social-worker turnover hazard (at most
    # one departure per LA per sub-step: a second in the same sub-step is second order in dt).
    member = live & is_member(ladder)
    leave_hazard = (uptake.champion_turnover_multiplier / 12.0) * las.sw_turnover_rate_per_year
    lost = _advance(ladder, u, member & (champions > 0), None,
                    lambda rows, cols: hazard_probability(champions[rows, cols] * leave_hazard[cols], dt))
    champions[lost] -= 1
    orphaned = lost & (champions == 0)
    lapsing = _advance(ladder, u, orphaned, LAPSED, uptake.orphan_lapse_prob)
    champions[lapsing] = 0
    picked_up = orphaned & ~lapsing
    ladder[picked_up] = MEMBER  # a new person picks it up, starting again as an ordinary member
    champions[picked_up] = 1

    # A contributor or champion that lost its second champion looks for another.
    engaged = live & ((ladder == CONTRIBUTOR) | (ladder == CHAMPION))
    refilled = _advance(ladder, u, engaged & (champions == 1), None,
                        delay_probability(uptake.champion_replacement_months, dt))
    champions[refilled] = 2

    # Progression: member → contributor (capacity-limited), contributor → champion (reputation).
    contribute = hazard_probability(capacity * (uptake.contribution_rate_per_year / 12.0), dt)
    became_contributor = _advance(ladder, u, live & (ladder == MEMBER), CONTRIBUTOR,
                                  lambda rows, cols: contribute[cols])
    champions[became_contributor] = 2
    champion_prob = hazard_probability(reputation * (uptake.championing_rate_per_year / 12.0), dt)
    _advance(ladder, u, live & (ladder == CONTRIBUTOR), CHAMPION,
             lambda rows, cols: champion_prob[rows])

    return UptakeFlows(joins=joined.sum(axis=1).astype(float),
                       champion_losses=lost.sum(axis=1).astype(float),
                       orphan_lapses=lapsing.sum(axis=1).astype(float))


def renewal_probability(uptake: Uptake, las: LAPopulation, reputation: np.ndarray,
                        value_gbp_per_year: np.ndarray,
                        price_gbp_per_year: float | np.ndarray) -> np.ndarray:
    """Chance that each member LA renews in April, float[R, N].

    ``renewal_prob · (1 − s_rep · (1 − reputation)) · (1 − s_budget · pressure_i) · g_i`` with the
    value-for-money factor ``g_i = 1 − (1 − floor) · exp(−(value_i ÷ price) ÷ scale)`` (1 when
    the offer is free). ``value_i`` is the value of the live services to LA ``i`` (higher for
    low-rated LAs) and ``pressure_i`` its budget pressure (0–1).

    Parameters
    ----------
    value_gbp_per_year : float[R], value of the live services to an ordinary member LA.
    """
    value = value_gbp_per_year[:, None] * np.where(las.low_rated, uptake.low_rated_value_multiplier,
                                                   1.0)[None, :]
    price = np.broadcast_to(np.asarray(price_gbp_per_year, dtype=float), (las.count,))[None, :]
    floor = uptake.renewal_without_value_share
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = value / np.where(price > 0, price, 1.0)
    factor = np.where(price > 0,
                      1 - (1 - floor) * np.exp(-ratio / uptake.renewal_value_ratio_scale), 1.0)
    reputation_factor = 1 - uptake.renewal_reputation_sensitivity * (1 - reputation)
    budget_factor = 1 - uptake.renewal_budget_pressure_sensitivity * las.budget_pressure
    return uptake.renewal_prob * reputation_factor[:, None] * budget_factor[None, :] * factor


def renew(ladder: np.ndarray, champions: np.ndarray, las: LAPopulation, uptake: Uptake,
          reputation: np.ndarray, value_gbp_per_year: np.ndarray,
          price_gbp_per_year: float | np.ndarray,
          operating: np.ndarray, rng: BatchGenerator) -> np.ndarray:
    """April renewal: each member LA renews with :func:`renewal_probability`; the rest lapse
    (and lose their champions). Returns bool[R, N] of lapses."""
    R, N = ladder.shape
    prob = renewal_probability(uptake, las, reputation, value_gbp_per_year, price_gbp_per_year)
    lapses = is_member(ladder) & operating[:, None] & (rng.random(N) >= prob)
    ladder[lapses] = LAPSED
    champions[lapses] = 0
    return lapses
