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

from dataclasses import dataclass

import numpy as np

from sim.data import OFSTED_GRADES, LAPopulation
from sim.engine import BatchGenerator, hazard_probability
from sim.model._kernels import GRADES, ladder_step, ladder_tally, tally_width
from sim.model.batching import column, per_replicate
from sim.model.las import (
    CHAMPION,
    LAPSED,
    is_member,
)
from sim.scenario.schema import Hosting, Uptake

__all__ = ["LadderCounts", "UptakeFlows", "approval_gate", "delay_probability",
           "peer_adopter_share", "renew", "renewal_probability", "step_uptake"]


class LadderCounts:
    """Per-replicate counts of the ladder (a tally, float[tally_width, R]; rows in
    :mod:`sim.model._kernels`), kept up to date cheaply.

    Whatever changes the ladder or the champions (the uptake step, renewals, mergers,
    closures) calls :meth:`changed`, and the next :meth:`now` counts afresh: the counts are
    taken about once a sub-step instead of at every use.
    """

    def __init__(self, las: LAPopulation, prices_gbp_per_year: np.ndarray, replicates: int):
        self.low_rated = np.ascontiguousarray(las.low_rated, dtype=bool)
        # float[R, N] (a view when every replicate has the same prices)
        self.prices = np.broadcast_to(np.asarray(prices_gbp_per_year, dtype=float),
                                      (replicates, las.count))
        self.ofsted = np.ascontiguousarray(las.ofsted, dtype=np.int64)
        grades = len(OFSTED_GRADES)
        self.region_column = (GRADES + grades + las.region).astype(np.int64)
        self.tally = np.zeros((tally_width(grades, len(las.region_names)), replicates))
        self.fresh = False

    def changed(self) -> None:
        """The ladder or the champions changed: the next :meth:`now` counts afresh."""
        self.fresh = False

    def now(self, ladder: np.ndarray, champions: np.ndarray) -> np.ndarray:
        """The tally of the ladder as it is now (do not modify)."""
        if not self.fresh:
            ladder_tally(ladder, champions, self.low_rated, self.prices, self.ofsted,
                         self.region_column, self.tally)
            self.fresh = True
        return self.tally


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

    The Bass hazard of becoming aware is ``p + q · share`` (Bass 1969). :func:`step_uptake`
    computes the same sums inside its compiled loop; this array form states the formula and is
    what the tests check it against.
    """
    counts = is_member(ladder).astype(np.float64)
    counts += (float(uptake.champion_peer_weight) - 1) * (ladder == CHAMPION)
    w_region, w_neighbours = uptake.peer_weight_region, uptake.peer_weight_neighbours
    w_nation = max(1.0 - w_region - w_neighbours, 0.0)
    share = counts.sum(axis=1, keepdims=True) * (w_nation / las.count)
    by_region = counts @ las.region_onehot  # whole numbers, exact
    share = share + by_region[:, las.region] * (w_region / las.region_size[las.region])
    neighbours = las.statistical_neighbours
    share = share + counts[:, neighbours].sum(axis=2) * (w_neighbours / neighbours.shape[1])
    return share


def approval_gate(uptake: Uptake, hosting: Hosting,
                  price_gbp_per_year: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean decision delay (months) and pass probability for an LA evaluating the offer at
    its price (a scalar, float[N] when prices differ by LA size band, or float[R, N] when they
    also differ by replicate).

    At or under the approval threshold an officer decides alone (fast, high pass rate); above
    it the decision goes through the host's route, and the pass rate falls with price as
    ``host pass rate × (threshold ÷ price)^elasticity``.
    """
    price = np.asarray(price_gbp_per_year, dtype=float)
    threshold = column(uptake.approval_threshold_gbp)  # [R, 1] when it differs by replicate
    priced = price > threshold
    with np.errstate(divide="ignore"):
        ratio = np.where(priced, threshold / np.where(priced, price, 1.0), 1.0)
    months = np.where(priced, column(hosting.priced_approval_months), uptake.free_approval_months)
    passing = np.where(priced,
                       hosting.priced_approval_pass_prob * ratio ** uptake.approval_price_elasticity,
                       uptake.free_approval_pass_prob)
    return months, passing


def step_uptake(ladder: np.ndarray, champions: np.ndarray, las: LAPopulation, uptake: Uptake,
                hosting: Hosting, price_gbp_per_year: float | np.ndarray, engagement_fte: np.ndarray,
                demand_multiplier: np.ndarray, reputation: np.ndarray, operating: np.ndarray,
                dt_months: float, rng: BatchGenerator, counts: LadderCounts) -> UptakeFlows:
    """Advance the ladder and the champions by one sub-step, in place (``counts`` is told).

    Each LA's transitions, in ladder order on its updated state:

    1. unaware → aware at the Bass hazard ``p + q · peer share`` (:func:`peer_adopter_share`
       at the start of the sub-step; ``p`` scales with engagement staff and LA demand);
       lapsed → aware after ``lapsed_return_months``;
    2. aware → evaluating at ``capacity_i · demand ÷ evaluation_start_months``;
    3. evaluating → decision after the :func:`approval_gate` delay, passing into membership
       (with one champion) or back to aware;
    4. champion churn at ``champions × champion_turnover_multiplier × the LA's social-worker
       turnover`` (at most one leaver per LA per sub-step: a second is second order in dt); an
       LA that loses its last champion lapses with ``orphan_lapse_prob``, or else a new person
       picks it up as an ordinary member; a contributor or champion down to one champion finds
       a second after ``champion_replacement_months``;
    5. member → contributor at ``capacity_i · contribution_rate`` (two champions), and
       contributor → champion at ``reputation · championing_rate``.

    The loop runs compiled (:func:`sim.model._kernels.ladder_step`).

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
    dt = dt_months

    outreach = np.minimum(engagement_fte / uptake.outreach_reference_fte,
                          uptake.outreach_max_multiplier)
    p = (uptake.p_per_year / 12.0) * outreach * demand_multiplier  # float[R]
    w_region, w_neighbours = uptake.peer_weight_region, uptake.peer_weight_neighbours
    w_nation = max(1.0 - w_region - w_neighbours, 0.0)
    region_scale = (w_region / las.region_size if w_region > 0
                    else np.zeros(len(las.region_size)))
    neighbour_scale = w_neighbours / las.statistical_neighbours.shape[1]

    capacity = np.where(las.low_rated, uptake.low_rated_capacity_multiplier, 1.0)
    start_months = np.asarray(uptake.evaluation_start_months, dtype=float)
    with np.errstate(divide="ignore"):
        start_rate = np.where(start_months > 0, 1.0 / start_months, np.inf)
    months, pass_prob = approval_gate(uptake, hosting, price_gbp_per_year)
    leave_hazard = (uptake.champion_turnover_multiplier / 12.0) * las.sw_turnover_rate_per_year
    leave_prob = hazard_probability(np.array([[1.0], [2.0]]) * leave_hazard, dt)  # 1 or 2 champions
    contribute = hazard_probability(capacity * column(uptake.contribution_rate_per_year / 12.0), dt)
    champion_prob = hazard_probability(reputation * (uptake.championing_rate_per_year / 12.0), dt)

    def per_la(value: np.ndarray) -> np.ndarray:
        """float[R, N] (a view: no copy when it is the same for every replicate)."""
        return np.broadcast_to(np.asarray(value, dtype=float), (R, N))

    flows = np.empty((R, 3))
    ladder_step(ladder, champions, u, np.ascontiguousarray(operating, dtype=bool),
                per_replicate(p, R), per_replicate(uptake.q_per_year / 12.0, R), float(dt),
                w_nation / las.count, las.region, np.ascontiguousarray(region_scale, dtype=float),
                las.statistical_neighbours, float(neighbour_scale),
                float(uptake.champion_peer_weight),
                per_replicate(delay_probability(uptake.lapsed_return_months, dt), R),
                per_replicate(start_rate, R), capacity, per_replicate(demand_multiplier, R),
                per_la(delay_probability(months, dt)), per_la(pass_prob), leave_prob,
                per_replicate(uptake.orphan_lapse_prob, R),
                per_replicate(delay_probability(uptake.champion_replacement_months, dt), R),
                per_la(contribute), per_replicate(champion_prob, R), flows)
    counts.changed()
    return UptakeFlows(joins=flows[:, 0], champion_losses=flows[:, 1], orphan_lapses=flows[:, 2])


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
    price = np.asarray(price_gbp_per_year, dtype=float)  # scalar, [N], or [R, N]
    floor = uptake.renewal_without_value_share
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = value / np.where(price > 0, price, 1.0)
    factor = np.where(price > 0,
                      1 - (1 - floor) * np.exp(-ratio / uptake.renewal_value_ratio_scale), 1.0)
    reputation_factor = 1 - uptake.renewal_reputation_sensitivity * (1 - reputation)
    budget_factor = 1 - column(uptake.renewal_budget_pressure_sensitivity) * las.budget_pressure
    return column(uptake.renewal_prob) * reputation_factor[:, None] * budget_factor * factor


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
