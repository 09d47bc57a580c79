"""LA uptake: Bass awareness with regional peer influence, evaluation, the approval gate,
April renewal and return from lapse.

Flows are pure functions of (state, parameters, random draws); :func:`step_uptake` applies them.
Transitions within one sub-step run in ladder order (aware → evaluating → member) on the
updated state, so with zero delays an LA can pass the whole ladder in one step; this is what
lets the uptake mechanism alone reproduce the closed-form Bass curve.
"""

from __future__ import annotations

import numpy as np

from sim.engine import BatchGenerator, hazard_probability
from sim.model.las import AWARE, EVALUATING, LAPSED, MEMBER, UNAWARE, LAPopulation
from sim.scenario.schema import Hosting, Uptake

__all__ = ["awareness_hazard", "peer_adopter_share", "renew", "step_uptake", "delay_probability"]


def delay_probability(mean_delay_months: float, dt_months: float) -> float:
    """Per-step probability of leaving a state with an exponential delay of the given mean
    (a mean of 0 means the transition is immediate)."""
    if mean_delay_months <= 0:
        return 1.0
    return float(hazard_probability(1.0 / mean_delay_months, dt_months))


def peer_adopter_share(adopted: np.ndarray, las: LAPopulation, weight_region: float) -> np.ndarray:
    """Share of each LA's peers that are members, mixing region and nation.

    Parameters
    ----------
    adopted : bool[R, N], LAs counted as adopters (members).
    weight_region : share of influence through the LA's own region.

    Returns
    -------
    float[R, N]
        ``w · (adopters in own region ÷ region size) + (1 − w) · (adopters ÷ N)``.
    """
    counts = adopted.astype(np.float32)
    national = counts.sum(axis=1, keepdims=True) * ((1 - weight_region) / las.count)
    if weight_region == 0:
        return np.broadcast_to(national, adopted.shape)
    # Two small matmuls (LAs → regional shares → LAs) instead of a gather over R × N.
    regional = counts @ las.region_mean_weights
    return regional @ (weight_region * las.region_onehot.T).astype(np.float32) + national


def awareness_hazard(peer_share: np.ndarray, p_per_month: np.ndarray,
                     q_per_month: float) -> np.ndarray:
    """Bass hazard of becoming aware: ``p + q · peer share`` per month (Bass 1969).

    ``p_per_month`` is float[R, 1] (it scales with each replicate's engagement staff).
    """
    return p_per_month + q_per_month * peer_share


def _advance(ladder: np.ndarray, u: np.ndarray, source: int, target: int,
             prob: np.ndarray | float, live: np.ndarray) -> np.ndarray:
    """Move LAs in ``source`` to ``target`` where ``u < prob``; rescale their ``u`` to ``u / prob``.

    Given ``u < prob``, ``u / prob`` is again uniform on [0, 1), so one uniform per LA drives
    a chain of transitions within a step exactly and independently.
    """
    moved = (ladder == source) & live & (u < prob)
    ladder[moved] = target
    np.divide(u, prob, out=u, where=moved)
    return moved


def step_uptake(ladder: np.ndarray, las: LAPopulation, uptake: Uptake, hosting: Hosting,
                price_gbp_per_year: float, engagement_fte: np.ndarray, operating: np.ndarray,
                dt_months: float, rng: BatchGenerator) -> None:
    """Advance the ladder by one sub-step, in place.

    Parameters
    ----------
    ladder : int8[R, N], ladder state codes (updated in place).
    engagement_fte : float[R], engagement staff in post.
    operating : bool[R], replicates whose CoE still operates (closed ones do not move).
    """
    R, N = ladder.shape
    u = rng.random(N)  # one uniform per LA per step: a fixed shape keeps common random numbers aligned
    live = operating[:, None]

    outreach = np.minimum(engagement_fte / uptake.outreach_reference_fte,
                          uptake.outreach_max_multiplier)
    p = (uptake.p_per_year / 12.0) * outreach[:, None]
    peer = peer_adopter_share(ladder == MEMBER, las, uptake.peer_weight_region)
    hazard = awareness_hazard(peer, p, uptake.q_per_year / 12.0)
    _advance(ladder, u, UNAWARE, AWARE, hazard_probability(hazard, dt_months), live)
    _advance(ladder, u, LAPSED, AWARE, delay_probability(uptake.lapsed_return_months, dt_months),
             live)

    start = delay_probability(uptake.evaluation_start_months, dt_months)
    start_prob = np.where(las.low_rated,
                          1 - (1 - start) ** uptake.low_rated_capacity_multiplier, start)
    _advance(ladder, u, AWARE, EVALUATING, start_prob, live)

    priced = price_gbp_per_year > uptake.approval_threshold_gbp
    months = hosting.priced_approval_months if priced else uptake.free_approval_months
    pass_prob = hosting.priced_approval_pass_prob if priced else uptake.free_approval_pass_prob
    deciding = _advance(ladder, u, EVALUATING, MEMBER, delay_probability(months, dt_months), live)
    rejected = deciding & (u >= pass_prob)
    ladder[rejected] = AWARE


def renew(ladder: np.ndarray, uptake: Uptake, reputation: np.ndarray, operating: np.ndarray,
          rng: BatchGenerator) -> np.ndarray:
    """April renewal: each member renews with probability
    ``renewal_prob · (1 − s · (1 − reputation))``; the rest lapse. Returns bool[R, N] of lapses."""
    R, N = ladder.shape
    prob = uptake.renewal_prob * (1 - uptake.renewal_reputation_sensitivity * (1 - reputation))
    lapses = (ladder == MEMBER) & operating[:, None] & (rng.random(N) >= prob[:, None])
    ladder[lapses] = LAPSED
    return lapses
