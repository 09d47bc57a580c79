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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.data import LAPopulation
from sim.engine import BatchGenerator, MonthStreams, hazard_probability
from sim.model._kernels import LadderRates, ladder_step, ladder_step_tallied
from sim.model.codes import Ladder, Role, Tally, is_member
from sim.model.parameters import (
    HostParameters,
    MarketParameters,
    Parameters,
    UptakeParameters,
    compact,
)
from sim.model.portfolio import member_value_per_year
from sim.model.workforce import effective_fte

if TYPE_CHECKING:
    from sim.model.state import BatchState, LadderCounts

__all__ = ["GateCache", "PriceCache", "UptakeFlows", "advance_ladder", "approval_chances",
           "approval_gate", "charged_prices", "delay_probability", "ladder_rates", "outreach_fte",
           "peer_adopter_share", "price_refusals", "real_price_scale", "refresh_market", "renew",
           "paying_share", "renewal_probability", "share_unwilling", "step_uptake",
           "subscription_price", "value_for_money", "willingness_cdf", "wtp_median_for_share",
           "WTP_MEDIAN_MAX_GBP_PER_YEAR"]


@dataclass
class UptakeFlows:
    """Counts of one sub-step, float[R]."""

    joins: np.ndarray
    champion_losses: np.ndarray
    orphan_lapses: np.ndarray


def delay_probability(mean_delay_months: np.ndarray | float, dt_months: float) -> np.ndarray:
    """Per-step probability of leaving a state with an exponential delay of the given mean
    (a mean of 0 means the transition is immediate), elementwise."""
    mean = np.asarray(mean_delay_months, dtype=float)
    positive = mean > 0
    with np.errstate(over="ignore"):  # a subnormal mean: an infinite rate, probability 1
        rate = 1.0 / np.where(positive, mean, 1.0)
    return np.where(positive, hazard_probability(rate, dt_months), 1.0)


def peer_adopter_share(ladder: np.ndarray, las: LAPopulation,
                       uptake: UptakeParameters) -> np.ndarray:
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
    counts += (float(uptake.champion_peer_weight) - 1) * (ladder == Ladder.CHAMPION)
    w_region, w_neighbours = uptake.peer_weight_region, uptake.peer_weight_neighbours
    w_nation = max(1.0 - w_region - w_neighbours, 0.0)
    share = counts.sum(axis=1, keepdims=True) * (w_nation / las.count)
    by_region = counts @ las.region_onehot  # whole numbers, exact
    share = share + by_region[:, las.region] * (w_region / las.region_size[las.region])
    neighbours = las.statistical_neighbours
    share = share + counts[:, neighbours].sum(axis=2) * (w_neighbours / neighbours.shape[1])
    return share


def share_unwilling(market: MarketParameters, price_gbp_per_year: np.ndarray) -> np.ndarray:
    """Chance that an LA's willingness to pay is below a price, ``F(price)``, float (the shape
    of ``price`` broadcast with the replicates' parameters; [1, N] when they all agree).

    Willingness to pay is lognormal with median ``M = wtp_median_gbp_per_year`` and log-scale
    spread ``σ = wtp_sigma``: ``F(p) = Φ(ln(p ÷ M) ÷ σ)`` for ``p > 0``; 0 for a free offer;
    1 for any price when ``M = 0``; ``[p > M]`` when ``σ = 0`` (docs/model.md §2.10).
    """
    return willingness_cdf(compact(np.asarray(price_gbp_per_year, dtype=float)),
                           compact(market.wtp_median_gbp_per_year)[:, None],
                           compact(market.wtp_sigma)[:, None])


def willingness_cdf(price: np.ndarray, median: np.ndarray | float,
                    sigma: np.ndarray | float) -> np.ndarray:
    """``F(price)``: the chance that a willingness to pay, lognormal with ``median`` and
    log-scale spread ``sigma``, is below ``price`` (arrays broadcast; the conventions of
    :func:`share_unwilling`)."""
    price, median, sigma = np.broadcast_arrays(np.asarray(price, dtype=float),
                                               np.asarray(median, dtype=float),
                                               np.asarray(sigma, dtype=float))
    out = np.where(price > median, 1.0, 0.0)  # σ = 0 (and M = 0 for any price above 0)
    smooth = (price > 0) & (median > 0) & (sigma > 0)
    if smooth.any():
        from scipy.special import ndtr  # the standard normal CDF, vectorised

        with np.errstate(over="ignore"):  # a subnormal σ: z = ±inf, F = 0 or 1 (the σ → 0 limit)
            z = np.log(price[smooth] / median[smooth]) / sigma[smooth]
        out[smooth] = ndtr(z)
    return out


WTP_MEDIAN_MAX_GBP_PER_YEAR = 1e7
"""The schema's upper bound on ``market.wtp_median_gbp_per_year`` (a market of every LA)."""


def paying_share(price_gbp_per_year: np.ndarray, median: float, sigma: float) -> float:
    """Expected share of LAs whose willingness to pay reaches their price,
    ``mean_i (1 − F(p_i))`` over the LAs' prices ``p_i`` (float[N]): the market ceiling as a
    share of LAs (docs/model.md §2.10; 28.4% at the shipped bands with the defaults)."""
    price = np.asarray(price_gbp_per_year, dtype=float).ravel()
    return float(1.0 - willingness_cdf(price, median, sigma).mean())


def wtp_median_for_share(share: float, price_gbp_per_year: np.ndarray, sigma: float) -> float:
    """The median willingness to pay at which a ``share`` of LAs would pay their prices: the
    inverse of :func:`paying_share` in the median (docs/model.md §2.10).

    With one price P for every LA it is ``P · exp(σ · Φ⁻¹(share))``; with several prices it
    is found by bracketing and bisection (the share rises monotonically with the median). A
    share of 0 gives 0 (no LA pays any price); a share no median reaches (1, or any share
    with σ = 0 above the share of free LAs) gives the schema's upper bound, £10m, far above
    every price.
    """
    from scipy.optimize import brentq

    price = np.asarray(price_gbp_per_year, dtype=float).ravel()
    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a paying share must be between 0 and 1, got {share}")
    top = WTP_MEDIAN_MAX_GBP_PER_YEAR
    if share <= paying_share(price, 0.0, sigma):  # the free LAs pay at any median
        return 0.0
    if share >= paying_share(price, top, sigma):
        return top
    if sigma == 0:  # a step in the median: the lowest price at which the share is reached
        for p in np.unique(price):
            if paying_share(price, float(p), sigma) >= share:
                return float(p)
        return top
    def gap(log_median: float) -> float:
        return paying_share(price, float(np.exp(log_median)), sigma) - share

    low = np.log(float(price[price > 0].min()))
    while gap(low) >= 0:  # share is just above the free LAs': go lower until it is not reached
        low -= 10.0
    return float(np.exp(brentq(gap, low, np.log(top), xtol=1e-12)))


def price_refusals(market: MarketParameters, price_gbp_per_year: np.ndarray,
                   u: np.ndarray) -> np.ndarray:
    """Which LAs will not pay their price, bool[R, N], from one uniform per replicate and LA.

    Each LA's willingness to pay is drawn once for the run as its rank ``u`` in the
    distribution (:func:`share_unwilling`): it is below the price exactly when ``u <
    F(price)``, so the share of LAs that refuse is ``F(price)`` and an LA that pays one price
    pays every lower one.

    Parameters
    ----------
    price_gbp_per_year : float[R, N], each LA's price once members pay (its size band's).
    u : float[R, N], uniforms on [0, 1) (stream ``willingness_to_pay``, month 0).
    """
    return u < share_unwilling(market, price_gbp_per_year)


def approval_gate(uptake: UptakeParameters, hosting: HostParameters,
                  price_gbp_per_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean decision delay (months) and pass probability for an LA evaluating the offer at
    its price, float[R, N] (or [1, N] when every replicate has the same prices, threshold and
    host: computed once, for the caller to broadcast).

    At or under the approval threshold an officer decides alone (fast, high pass rate); above
    it the decision goes through the host's route, and the pass rate falls with price as
    ``host pass rate × (threshold ÷ price)^elasticity``.
    """
    return _gate(uptake, compact(price_gbp_per_year), compact(uptake.approval_threshold_gbp),
                 compact(hosting.priced_approval_months),
                 compact(hosting.priced_approval_pass_prob))


def _gate(uptake: UptakeParameters, price: np.ndarray, threshold_gbp: np.ndarray,
          priced_months: np.ndarray, priced_pass_prob: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`approval_gate` on rows: ``price`` float[P, N], the others float[P] (or [1])."""
    threshold = threshold_gbp[:, None]
    priced = price > threshold
    with np.errstate(divide="ignore"):
        ratio = np.where(priced, threshold / np.where(priced, price, 1.0), 1.0)
    months = np.where(priced, priced_months[:, None], uptake.free_approval_months)
    passing = np.where(priced, priced_pass_prob[:, None]
                       * ratio ** uptake.approval_price_elasticity,
                       uptake.free_approval_pass_prob)
    return months, passing


@dataclass
class GateCache:
    """The approval gate's chances for one sub-step (decision float[R or 1, N], pass float[R
    or 1, N]) and what they were computed from (``key``: whether members pay, the host and the
    price factor of each replicate): the gate changes only when one of these does (about once
    a year), so it is not recomputed every sub-step."""

    key: tuple[np.ndarray, ...] = field(default_factory=tuple)
    decide_prob: np.ndarray | None = None
    pass_prob: np.ndarray | None = None


@dataclass
class PriceCache:
    """The prices charged (float[R, N], read-only) and what they were computed from
    (``paying``: whether members pay in each replicate; ``factor``: each replicate's price
    factor × the real price scale): they change only when one of these does (about once a
    year), so :func:`charged_prices` does not multiply R × N prices every sub-step."""

    paying: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    factor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prices: np.ndarray | None = None


def approval_chances(state: BatchState, params: Parameters,
                     month: int) -> tuple[np.ndarray, np.ndarray]:
    """Each LA's chance of an approval decision in this sub-step and of that decision passing,
    at the price it is charged now (:func:`charged_prices`), float[R or 1, N] each
    (docs/model.md §2.6).

    Computed again only when whether members pay, the host or the price factor changes in
    some replicate (:class:`GateCache`). When every replicate has the same list prices, the
    gate is computed once per distinct (price factor, threshold, host route) and gathered: the
    price factor takes few values (whole percent), so a year of replicate-specific prices
    costs a few rows, not R × N.
    """
    paying = np.broadcast_to(month >= params.finance.subscriptions_from_month,
                             (state.replicates,))
    scale = real_price_scale(state)
    key = (paying, state.host, state.price_factor, np.array([scale]))
    cache = state.gate
    if cache.decide_prob is not None and cache.pass_prob is not None and all(
            np.array_equal(a, b) for a, b in zip(cache.key, key, strict=True)):
        return cache.decide_prob, cache.pass_prob
    uptake, hosting, dt = params.uptake, state.hosting, params.time.dt_months
    # The price ÷ the list price (0 while free), in 2026/27 prices.
    charged = state.price_factor * scale * paying
    prices = compact(params.prices_gbp_per_year)
    if prices.shape[0] == 1:
        R = state.replicates
        table = np.stack([np.broadcast_to(x, (R,)) for x in (
            charged, uptake.approval_threshold_gbp, hosting.priced_approval_months,
            hosting.priced_approval_pass_prob)], axis=1)
        rows, inverse = np.unique(table, axis=0, return_inverse=True)
        months, passing = _gate(uptake, prices * rows[:, :1], rows[:, 1], rows[:, 2],
                                rows[:, 3])
        decide = delay_probability(months, dt)
        if len(rows) > 1:
            inverse = inverse.reshape(-1)
            decide, passing = decide[inverse], passing[inverse]
    else:  # prices differ by replicate (stacked design points): row by row
        months, passing = approval_gate(uptake, hosting, prices * charged[:, None])
        decide = delay_probability(months, dt)
    cache.key = tuple(np.array(a, copy=True) for a in key)
    cache.decide_prob, cache.pass_prob = decide, passing
    return decide, passing


def ladder_rates(uptake: UptakeParameters, hosting: HostParameters, las: LAPopulation,
                 price_gbp_per_year: np.ndarray | None, engagement_fte: np.ndarray,
                 demand_multiplier: np.ndarray, reputation: np.ndarray,
                 dt_months: float,
                 gate: tuple[np.ndarray, np.ndarray] | None = None,
                 refuses: np.ndarray | None = None, charging: np.ndarray | None = None,
                 value_gbp_per_year: np.ndarray | None = None) -> LadderRates:
    """The chances and rates of one sub-step of the ladder (docs/model.md §2.3–2.8, §2.10).

    Parameters
    ----------
    price_gbp_per_year : float[R, N], each LA's price now (0 while the offer is free).
    engagement_fte : float[R], productive engagement staff: ``p`` scales with them
        (``outreach``, capped) and with LA demand.
    demand_multiplier : float[R], LA demand for help (1 normally; raised by national
        programmes): multiplies the innovation coefficient and the evaluation-start rate.
    reputation : float[R], the CoE's reputation (0–1): the championing rate scales with it.
    gate : the approval gate's chances of a decision and of a pass, float[R or 1, N]
        (:func:`approval_chances`); None: computed here from ``price_gbp_per_year``.
    refuses : bool[R, N], LAs whose willingness to pay is below their price (None: none).
    charging : bool[R], replicates whose members pay now (None: none): there a refusing LA's
        approval never passes.
    value_gbp_per_year : float[R], the live services' value to an ordinary member (None: 0):
        with the goodwill at this reputation it sets the value for money of a priced offer,
        which scales its approval (§2.6).
    """
    R, N = len(reputation), las.count
    dt = dt_months
    outreach = np.minimum(engagement_fte / uptake.outreach_reference_fte,
                          uptake.outreach_max_multiplier)
    w_region, w_neighbours = uptake.peer_weight_region, uptake.peer_weight_neighbours
    w_nation = max(1.0 - w_region - w_neighbours, 0.0)
    capacity = np.where(las.low_rated, uptake.low_rated_capacity_multiplier, 1.0)
    with np.errstate(divide="ignore"):
        start_rate = np.where(uptake.evaluation_start_months > 0,
                              1.0 / uptake.evaluation_start_months, np.inf)
    if gate is None:
        assert price_gbp_per_year is not None
        months, pass_prob = approval_gate(uptake, hosting, price_gbp_per_year)
        decide_prob = delay_probability(months, dt)
    else:
        decide_prob, pass_prob = gate
    leave_hazard = (uptake.champion_turnover_multiplier / 12.0) * las.sw_turnover_rate_per_year
    contribute = hazard_probability(
        capacity * compact(uptake.contribution_rate_per_year / 12.0)[:, None], dt)

    def per_la(value: np.ndarray) -> np.ndarray:
        """float[R, N] (a view: no copy when it is the same for every replicate)."""
        return np.broadcast_to(value, (R, N))

    return LadderRates(
        aware_p=(uptake.p_per_year / 12.0) * outreach * demand_multiplier,
        q=uptake.q_per_year / 12.0,
        dt=float(dt),
        w_nation_per_la=w_nation / N,
        region_scale=np.ascontiguousarray(
            w_region / las.region_size if w_region > 0 else np.zeros(len(las.region_size)),
            dtype=float),
        neighbour_scale=float(w_neighbours / las.statistical_neighbours.shape[1]),
        champion_weight=float(uptake.champion_peer_weight),
        lapsed_return_prob=delay_probability(uptake.lapsed_return_months, dt),
        start_rate=start_rate,
        capacity=capacity,
        demand=np.broadcast_to(np.asarray(demand_multiplier, dtype=float), (R,)),
        decide_prob=per_la(decide_prob),
        pass_prob=per_la(pass_prob),
        leave_prob=hazard_probability(np.array([[1.0], [2.0]]) * leave_hazard, dt),
        orphan_lapse_prob=uptake.orphan_lapse_prob,
        refill_prob=delay_probability(uptake.champion_replacement_months, dt),
        contribute_prob=per_la(contribute),
        champion_prob=hazard_probability(reputation * (uptake.championing_rate_per_year / 12.0),
                                         dt),
        refuses=(np.zeros((R, N), dtype=bool) if refuses is None
                 else np.ascontiguousarray(refuses, dtype=bool)),
        charging=(np.zeros(R, dtype=bool) if charging is None
                  else np.ascontiguousarray(charging, dtype=bool)),
        price=np.broadcast_to(np.asarray(price_gbp_per_year, dtype=float), (R, N)),
        service_value=np.ascontiguousarray(
            np.broadcast_to(0.0 if value_gbp_per_year is None else value_gbp_per_year, (R,)),
            dtype=float),
        goodwill=np.ascontiguousarray(uptake.renewal_goodwill_gbp_per_year * reputation,
                                      dtype=float),
        value_multiplier=np.where(las.low_rated, uptake.low_rated_value_multiplier, 1.0),
        value_scale=float(uptake.renewal_value_ratio_scale),
    )


def step_uptake(ladder: np.ndarray, champions: np.ndarray, las: LAPopulation,
                rates: LadderRates | None, operating: np.ndarray, rng: BatchGenerator,
                counts: LadderCounts | None = None) -> UptakeFlows:
    """Advance the ladder and the champions by one sub-step, in place.

    Each LA's transitions, in ladder order on its updated state:

    1. unaware → aware at the Bass hazard ``p + q · peer share`` (:func:`peer_adopter_share`
       at the start of the sub-step; ``p`` scales with engagement staff and LA demand);
       lapsed → aware after ``lapsed_return_months``;
    2. aware → evaluating at ``capacity_i · demand ÷ evaluation_start_months``;
    3. evaluating → decision after the :func:`approval_gate` delay, passing into membership
       (with one champion) or back to aware; at a price the pass chance is scaled by value for
       money (``1 − exp(−((service value + goodwill) ÷ price) ÷ scale)``), and while members
       pay an LA whose willingness to pay is below its price never passes (``rates.refuses``,
       ``rates.charging``);
    4. champion churn at ``champions × champion_turnover_multiplier × the LA's social-worker
       turnover`` (at most one leaver per LA per sub-step: a second is second order in dt); an
       LA that loses its last champion lapses with ``orphan_lapse_prob``, or else a new person
       picks it up as an ordinary member; a contributor or champion down to one champion finds
       a second after ``champion_replacement_months``;
    5. member → contributor at ``capacity_i · contribution_rate`` (two champions), and
       contributor → champion at ``reputation · championing_rate``.

    The loop runs compiled (:func:`sim.model._kernels.ladder_step`; its plain version is
    :func:`sim.model.reference.ladder_step`).

    Parameters
    ----------
    ladder : int8[R, N], ladder state codes (updated in place).
    champions : int8[R, N], engaged champions in each member LA (0 outside membership).
    rates : this sub-step's chances (:func:`ladder_rates`); None only where no replicate
        operates (then nothing moves and no rate is read).
    operating : bool[R], replicates whose CoE still operates (closed ones do not move, and
        their uniforms are not read: where none operates, none is drawn, the stream skips
        them).
    counts : the ladder's counts (:class:`~sim.model.state.LadderCounts`), told of the step:
        kept current by it where they can be, else counted afresh when next read.
    """
    R, N = ladder.shape
    live = np.ascontiguousarray(operating, dtype=bool)
    if not live.any():  # nothing moves: the uniforms would go unread
        rng.skip(N)
        if counts is not None:
            counts.kept_current()  # as the step would: the counts stay exact
        return UptakeFlows(joins=np.zeros(R), champion_losses=np.zeros(R),
                           orphan_lapses=np.zeros(R))
    assert rates is not None
    u = rng.random(N)  # one uniform per LA per step: a fixed shape keeps common random
    # numbers aligned
    flows = np.empty((R, 3))
    tally = None if counts is None else counts.kept_current()
    if tally is None:
        ladder_step(ladder, champions, u, live, las.region, las.statistical_neighbours, rates,
                    flows)
    else:
        assert counts is not None
        ladder_step_tallied(ladder, champions, u, live, las.region, las.statistical_neighbours,
                            rates, flows, counts.layout, tally)
    return UptakeFlows(joins=flows[:, 0], champion_losses=flows[:, 1], orphan_lapses=flows[:, 2])


def value_for_money(worth_gbp_per_year: np.ndarray, price_gbp_per_year: np.ndarray,
                    scale: float) -> np.ndarray:
    """The renewal's value-for-money factor ``1 − exp(−(worth ÷ price) ÷ scale)``, 1 for a
    free offer (arrays broadcast; docs/model.md §2.7)."""
    priced = price_gbp_per_year > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if priced.all():  # nothing free: the same numbers without the selections
            return -np.expm1(-(worth_gbp_per_year / price_gbp_per_year) / scale)
        ratio = worth_gbp_per_year / np.where(priced, price_gbp_per_year, 1.0)
        return np.where(priced, -np.expm1(-ratio / scale), 1.0)


def renewal_probability(uptake: UptakeParameters, las: LAPopulation, reputation: np.ndarray,
                        value_gbp_per_year: np.ndarray, price_gbp_per_year: np.ndarray,
                        at: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Chance that each member LA renews in April, float[R, N].

    ``renewal_prob · (1 − s_rep · (1 − reputation)) · (1 − s_budget · pressure_i) · g_i`` with the
    value-for-money factor ``g_i = 1 − exp(−((value_i + goodwill) ÷ price) ÷ scale)`` (1 when
    the offer is free). ``value_i`` is the value of the live services to LA ``i`` (higher for
    low-rated LAs), ``goodwill = renewal_goodwill_gbp_per_year × reputation`` what the network
    is worth besides, and ``pressure_i`` the LA's budget pressure (0–1). A price far above
    value and goodwill gives ``g → 0`` (docs/model.md §2.7).

    Parameters
    ----------
    value_gbp_per_year : float[R], value of the live services to an ordinary member LA.
    price_gbp_per_year : float[R, N] (a broadcast view is fine).
    at : optional (replicate, LA) index arrays of one shape: only those LAs' chances, in that
        shape (each the same number as in the full array; the renewal needs only members').
    """
    R, N = len(reputation), las.count
    rows, cols = at if at is not None else (np.arange(R)[:, None], np.arange(N)[None, :])

    def whole(values: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(values, dtype=float), (R,))

    def per_replicate(values: np.ndarray | float) -> np.ndarray:
        return whole(values)[rows]

    multiplier = np.where(las.low_rated, uptake.low_rated_value_multiplier, 1.0)
    value = per_replicate(value_gbp_per_year) * multiplier[cols]
    prices = np.broadcast_to(np.asarray(price_gbp_per_year, dtype=float), (R, N))
    price = (_pick(prices, rows, cols) if at is not None else prices[rows, cols])
    with np.errstate(divide="ignore", invalid="ignore"):
        goodwill = per_replicate(uptake.renewal_goodwill_gbp_per_year * reputation)
    factor = value_for_money(value + goodwill, price, uptake.renewal_value_ratio_scale)
    reputation_factor = 1 - uptake.renewal_reputation_sensitivity * (1 - reputation)
    budget_factor = (1 - per_replicate(uptake.renewal_budget_pressure_sensitivity)
                     * las.budget_pressure[cols])
    # The two per-replicate factors multiplied before they are spread over the LAs: the same
    # products, made once per replicate.
    return (per_replicate(whole(uptake.renewal_prob) * whole(reputation_factor))
            * budget_factor * factor)


def _pick(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``values[rows, cols]`` of an [R, N] array for 1-D index arrays of one length, read from
    the first row when every row is that row (a broadcast view) and by flat index when the
    array is contiguous (faster than indexing by pairs; the same elements)."""
    if values.strides[0] == 0:
        return values[0].take(cols)
    if values.flags.c_contiguous:
        return values.ravel().take(rows * values.shape[1] + cols)
    return values[rows, cols]


def renew(ladder: np.ndarray, champions: np.ndarray, las: LAPopulation,
          uptake: UptakeParameters, reputation: np.ndarray, value_gbp_per_year: np.ndarray,
          price_gbp_per_year: np.ndarray, operating: np.ndarray,
          rng: BatchGenerator, refuses: np.ndarray | None = None) -> np.ndarray:
    """April renewal: each member LA renews with :func:`renewal_probability`, or never when
    it is charged a price above its willingness to pay (``refuses``, bool[R, N]); the rest
    lapse (and lose their champions). Returns bool[R, N] of lapses.

    One uniform is drawn for every LA of every replicate (a fixed shape keeps common random
    numbers aligned); the chances are computed only for the member LAs of operating
    replicates, the only ones that can lapse (most LAs of most replicates are not members)."""
    R, N = ladder.shape
    # The members' flat indices in row-major order: the (replicate, LA) pairs np.nonzero
    # would give, found faster, and a faster way into the contiguous [R, N] arrays.
    flat = np.flatnonzero(is_member(ladder) & operating[:, None])
    if flat.size == 0:  # no member can lapse: no uniform would be read
        rng.skip(N)
        return np.zeros((R, N), dtype=bool)
    rows = flat // N
    cols = flat - rows * N
    u = rng.random(N)
    prob = renewal_probability(uptake, las, reputation, value_gbp_per_year, price_gbp_per_year,
                               at=(rows, cols))
    if refuses is not None:
        price = np.broadcast_to(np.asarray(price_gbp_per_year, dtype=float), (R, N))
        prob = np.where(_pick(refuses, rows, cols) & (_pick(price, rows, cols) > 0), 0.0, prob)
    lapsing = u.ravel().take(flat) >= prob
    rows, cols = rows[lapsing], cols[lapsing]
    lapses = np.zeros((R, N), dtype=bool)
    lapses[rows, cols] = True
    ladder[rows, cols] = Ladder.LAPSED
    champions[rows, cols] = 0
    return lapses


# --------------------------------------------------------------------------- rule


def subscription_price(params: Parameters, month: int) -> np.ndarray:
    """Each LA's price in ``month``, £/year float[R, N] (a broadcast view when every replicate
    has the same prices): its size band's price once members pay, 0 before (LAs decide on a
    free offer)."""
    prices = compact(params.prices_gbp_per_year)
    paying = month >= compact(params.finance.subscriptions_from_month)[:, None]
    return np.broadcast_to(np.where(paying, prices, 0.0), params.prices_gbp_per_year.shape)


def real_price_scale(state: BatchState) -> float:
    """The subscription list prices now in 2026/27 prices ÷ their 2026/27 level:
    ``price_index ÷ cpi_index`` (docs/model.md §5.13). Members weigh prices in 2026/27 prices
    (their willingness to pay, the approval threshold and the services' value are), so every
    price they compare is the nominal price ÷ the CPI index; 1 while list prices follow CPI."""
    return state.price_index / state.cpi_index


def charged_prices(state: BatchState, params: Parameters, month: int) -> np.ndarray:
    """Each LA's price in ``month`` as charged, in 2026/27 prices (what members weigh),
    £/year float[R, N]: its list price (:func:`subscription_price`) × the replicate's price
    factor of the year, set by the host's reserves rule (:mod:`sim.model.reserves`), × the
    real price scale (:func:`real_price_scale`). Read-only: kept in ``state.charged`` until
    what it is computed from changes."""
    factor = state.price_factor * real_price_scale(state)
    if (factor == 1.0).all():
        return subscription_price(params, month)
    paying = month >= compact(params.finance.subscriptions_from_month)
    cache = state.charged
    if (cache.prices is None or not np.array_equal(cache.paying, paying)
            or not np.array_equal(cache.factor, factor)):
        cache.paying, cache.factor = paying, factor
        cache.prices = subscription_price(params, month) * factor[:, None]
        cache.prices.flags.writeable = False
    return cache.prices


def outreach_fte(state: BatchState, params: Parameters) -> np.ndarray:
    """Engagement FTE left for outreach, float[R]: productive engagement staff and the cover
    of vacated engagement posts (at new-starter productivity), less the engagement time the
    members take (``market.support_engagement_fte_per_member`` each; docs/model.md §2.10);
    in a transition after a change of host, productive FTE falls by its loss (§6.1)."""
    workforce = params.workforce
    productive = (effective_fte(state.staff[:, Role.ENGAGEMENT],
                                state.novices[:, Role.ENGAGEMENT], workforce)
                  + workforce.new_starter_productivity
                  * state.vacancy_cover_fte[:, Role.ENGAGEMENT]) * state.productivity
    support = params.market.support_engagement_fte_per_member * state.tally()[Tally.MEMBERS]
    return np.maximum(productive - support, 0.0)


def refresh_market(state: BatchState, params: Parameters) -> None:
    """Which LAs will not pay the price they are charged now (``state.refuses_price``) and how
    many would (``state.market_las``, merged LAs excepted), from each LA's willingness-to-pay
    rank drawn once for the run (``state.wtp_rank``) and its list price × the year's price
    factor, in 2026/27 prices (× :func:`real_price_scale`; docs/model.md §2.10, §5.11,
    §5.13). Called when the price factor, the real price or the LAs change."""
    prices = np.asarray(params.prices_gbp_per_year, dtype=float)
    factor = state.price_factor * real_price_scale(state)
    market = params.market
    if (factor == 1.0).all():
        state.refuses_price = price_refusals(market, prices, state.wtp_rank)
    elif (compact(prices).shape[0] == 1 and compact(market.wtp_median_gbp_per_year).shape[0] == 1
          and compact(market.wtp_sigma).shape[0] == 1):
        # One list price per LA and one market for every replicate: the chances of refusal
        # are computed once per distinct price factor (whole percent, few) and gathered.
        levels, inverse = np.unique(factor, return_inverse=True)
        share = np.broadcast_to(share_unwilling(market, prices[:1] * levels[:, None]),
                                (len(levels), prices.shape[1]))
        state.refuses_price = state.wtp_rank < share[inverse.reshape(-1)]
    else:
        state.refuses_price = price_refusals(market, prices * factor[:, None], state.wtp_rank)
    state.market_las = ((~state.refuses_price) & (state.ladder != Ladder.MERGED)).sum(
        axis=1).astype(float)


def advance_ladder(state: BatchState, params: Parameters, streams: MonthStreams,
                   month: int) -> None:
    """Sub-step: the ladder moves (:func:`step_uptake`) with this sub-step's rates; each join
    adds its onboarding effort to the backlog the delivery team serves (docs/model.md
    §4.1)."""
    las = params.las
    charging = month >= params.finance.subscriptions_from_month
    rates = (ladder_rates(params.uptake, state.hosting, las,
                          charged_prices(state, params, month), outreach_fte(state, params),
                          state.demand_multiplier, state.portfolio.reputation,
                          params.time.dt_months, gate=approval_chances(state, params, month),
                          refuses=state.refuses_price, charging=charging,
                          value_gbp_per_year=member_value_per_year(state, params))
             if state.operating.any() else None)  # all closed: nothing moves, no rate is read
    flows = step_uptake(state.ladder, state.champions, las, rates, state.operating,
                        streams("uptake"), state.counts)
    state.onboarding_backlog += params.market.onboarding_fte_months_per_join * flows.joins
    state.flows.joins += flows.joins
    state.flows.champion_losses += flows.champion_losses
    state.flows.orphan_lapses += flows.orphan_lapses
