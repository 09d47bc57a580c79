"""A deterministic mean-field version of the model's aggregate core (docs/structure.md).

The stocks are those of :data:`~sim.model.structure.STOCKS` that the core keeps: the LAs by
ladder state (merged LAs excepted), the staff by role and the reserves. Each month moves the
expected values of the stochastic model's flows (docs/model.md §2.2–2.8, §3.1–3.3, §5),
with every per-LA chance replaced by its mean over the LAs and the portfolio held at
assumed values: a difference equation with a monthly step, whose every flow is a chance
``1 − exp(−hazard)`` of the month, as in the stochastic model. The same equations are
written as XMILE by :mod:`sim.model.xmile`, so that PySD, Stella or Vensim run the same
trajectories (tests/model/test_xmile.py).

What the mean-field leaves out (docs/structure.md §3): discreteness (a replicate's LA either
joins or not; a team of two loses a whole person), heterogeneity between LAs (regions,
neighbours, sizes, willingness to pay beyond its mean), the portfolio (services, debt,
reliability and reputation are constants), commissions, redundancies, closure and the
calendar's random events (spending reviews, the election, programmes, reorganisation), grant
tapers and renewals on performance, nominal pay and prices, and invoices (subscriptions arrive
at their monthly run rate). A grant's renewals enter as their expected value.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.engine import hazard_probability
from sim.model.codes import Role
from sim.model.parameters import Parameters, compact
from sim.model.uptake import (
    approval_gate,
    delay_probability,
    renewal_probability,
    share_unwilling,
    value_for_money,
)

__all__ = ["LADDER_STOCKS", "MeanFieldGrant", "MeanFieldParameters", "STAFF_STOCKS", "STOCKS",
           "mean_field_parameters", "simulate_mean_field"]

LADDER_STOCKS = ("las_unaware", "las_aware", "las_evaluating", "las_member", "las_contributor",
                 "las_champion", "las_lapsed")
"""The ladder's stocks in the core, names of :data:`sim.model.structure.STOCKS`."""
STAFF_STOCKS = ("staff_delivery", "staff_engagement", "staff_leadership")
"""The staff stocks by :class:`~sim.model.codes.Role`."""
STOCKS = (*LADDER_STOCKS, *STAFF_STOCKS, "reserves")
"""Every stock of the mean-field core, in the order of its state vector."""

ASSUMED_LIVE_SHARE = 0.5
"""The share of the portfolio's value the mean-field takes as live for value for money (it
has no portfolio): an assumption, between an empty offer and a complete one (docs/structure.md)."""


def _chance(hazard: np.ndarray | float) -> np.ndarray:
    """P(an event of constant hazard per month happens within the month): 1 − exp(−h)."""
    return hazard_probability(hazard, 1.0)


@dataclass(frozen=True)
class MeanFieldGrant:
    """One grant of the scenario, its expected payments (docs/model.md §5.5): its profile
    from its start to its end, then each renewal's term with the chance of reaching it
    (``renewal_prob`` to the power of the renewal's number); no taper."""

    gbp_per_month: float
    start_month: float
    end_month: float
    renewal_prob: float
    renewal_months: float
    max_renewals: float
    eligible_spend: float
    """1 if the grant pays eligible costs (at most its profile), 0 if it pays its profile"""
    offsets: float
    """1 if earned income reduces what an eligible-spend grant pays"""

    def terms(self) -> list[tuple[float, float, float, float]]:
        """(first month, end month, chance the term runs, chance its end is real) of the
        grant's first term and of each renewal it may win."""
        renewals = int(self.max_renewals) if self.renewal_prob > 0 else 0
        p, length = self.renewal_prob, self.renewal_months
        return [(self.start_month if k == 0 else self.end_month + (k - 1) * length,
                 self.end_month + k * length, p ** k, 1.0 - p if k < renewals else 1.0)
                for k in range(renewals + 1)]

    def running(self, month: int) -> float:
        """The chance the grant pays in ``month``."""
        return sum(w for first, end, w, _ in self.terms() if first <= month < end)

    def at_risk(self, month: int, window_months: float) -> float:
        """The chance the grant pays in ``month`` and its end within the window is real."""
        return sum(w * real for first, end, w, real in self.terms()
                   if first <= month < end and end - window_months <= month)


@dataclass(frozen=True)
class MeanFieldParameters:
    """The constants of the mean-field core, each a plain number (chances are per month).

    Derived from a compiled scenario by :func:`mean_field_parameters` (replicate 0): every
    per-LA chance of the stochastic model averaged over the LAs.
    """

    las: float
    """LAs in the population (merged ones never leave it here)"""
    initial_aware: float
    """LAs aware at month 0 (expected)"""
    p_per_month: float
    q_per_month: float
    champion_peer_weight: float
    outreach_reference_fte: float
    outreach_max_multiplier: float
    return_chance: float
    """lapsed → aware, per month"""
    start_chance: float
    """aware → evaluating, mean over LAs of 1 − exp(−capacity ÷ evaluation_start_months)"""
    decide_free: float
    """evaluating → decided while the offer is free (mean over LAs)"""
    join_free: float
    """evaluating → member while free: decision × pass (mean over LAs)"""
    decide_paid: float
    join_paid: float
    """evaluating → member once members pay, for an LA willing to pay: decision × pass × value
    for money (mean over the LAs willing to pay); the chance an evaluating LA is willing is
    the share of the non-members that are (:attr:`willing_las` less the members)"""
    willing_las: float
    """LAs whose willingness to pay reaches their price (expected): the paying market"""
    champion_leave_chance: float
    """a member's one champion leaves, per month (mean over LAs)"""
    orphan_lapse_prob: float
    contribute_chance: float
    champion_chance: float
    """contributor → champion at the assumed reputation"""
    renew_free: float
    """April renewal while free (mean over LAs)"""
    renew_first_paid: float
    """the first April at a price: the renewal chance × the share willing to pay"""
    renew_paid: float
    """later Aprils: renewal chance of the LAs willing to pay"""
    subscriptions_from_month: float
    first_paid_april: float
    """the first April on or after subscriptions_from_month"""
    first_april: float
    member_price_gbp_per_year: float
    """mean price of the LAs willing to pay it"""
    resignation_per_month: float
    """resignation hazard per person (with the host's multiplier)"""
    uncertainty_uplift: float
    uncertainty_window_months: float
    fill_chance: float
    """a vacancy filled in the month: 1 − exp(−1 ÷ recruitment delay)"""
    freeze_months: float
    establishment_delivery: float
    establishment_engagement: float
    establishment_leadership: float
    initial_delivery: float
    initial_engagement: float
    initial_leadership: float
    cost_delivery_gbp_per_month: float
    cost_engagement_gbp_per_month: float
    cost_leadership_gbp_per_month: float
    fixed_costs_gbp_per_month: float
    opening_reserves_gbp: float
    core_budget_gbp_per_month: float
    core_budget_from_month: float
    grants: tuple[MeanFieldGrant, ...] = ()
    """the scenario's grants, in its order (the order eligible-spend grants are claimed in)"""

    def values(self) -> dict[str, float]:
        """Every constant by name (a grant's as ``grant{g}_{field}``)."""
        out = {f.name: float(getattr(self, f.name)) for f in fields(self) if f.name != "grants"}
        for g, grant in enumerate(self.grants):
            out.update({f"grant{g}_{f.name}": float(getattr(grant, f.name))
                        for f in fields(grant)})
        return out


def _first(array: np.ndarray) -> float:
    return float(np.asarray(array, dtype=float).reshape(-1)[0])


def mean_field_parameters(params: Parameters,
                          live_share: float = ASSUMED_LIVE_SHARE) -> MeanFieldParameters:
    """The mean-field constants of a compiled scenario (its replicate 0, first host)."""
    u, las, wf, fin = params.uptake, params.las, params.workforce, params.finance
    host = params.hosting.hosts[0]
    N = las.count
    rep = float(params.portfolio.initial_reputation)
    value = live_share * float(params.portfolio.services.value_gbp_per_member_per_year.sum()) * rep
    price = compact(params.prices_gbp_per_year)[:1]  # [1, N]
    zero = np.zeros_like(price)
    capacity = np.where(las.low_rated, u.low_rated_capacity_multiplier, 1.0)
    start = np.where(u.evaluation_start_months > 0,
                     _chance(capacity / np.maximum(_first(u.evaluation_start_months), 1e-300)),
                     1.0)

    def gate(prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        months, passing = approval_gate(u, host, prices)
        return delay_probability(months, 1.0)[0], passing[0]

    decide_free, pass_free = gate(zero)
    decide_paid, pass_paid = gate(price)
    willing = 1.0 - share_unwilling(params.market, price)[0]
    worth = value * np.where(las.low_rated, u.low_rated_value_multiplier, 1.0) \
        + u.renewal_goodwill_gbp_per_year * rep
    vfm = value_for_money(worth, price[0], u.renewal_value_ratio_scale)
    reputation = np.array([rep])
    renew_free = renewal_probability(u, las, reputation, np.array([value]), zero)[0]
    renew_paid = renewal_probability(u, las, reputation, np.array([value]), price)[0]
    leave = _chance(u.champion_turnover_multiplier / 12.0 * las.sw_turnover_rate_per_year)
    subs_from = _first(fin.subscriptions_from_month)
    first_april = params.time.first_april
    first_paid = first_april + 12 * np.ceil(max(subs_from - first_april, 0) / 12)
    per_head = host.cost_per_head_gbp_per_month.reshape(-1, len(Role))[0]
    return MeanFieldParameters(
        las=float(N),
        initial_aware=(float(N * _first(u.initial_aware_share))
                       if np.isnan(_first(u.initial_aware_count))
                       else min(float(_first(u.initial_aware_count)), float(N))),
        p_per_month=_first(u.p_per_year) / 12.0,
        q_per_month=_first(u.q_per_year) / 12.0,
        champion_peer_weight=float(u.champion_peer_weight),
        outreach_reference_fte=float(u.outreach_reference_fte),
        outreach_max_multiplier=float(u.outreach_max_multiplier),
        return_chance=float(delay_probability(_first(u.lapsed_return_months), 1.0)),
        start_chance=float(np.mean(start)),
        decide_free=float(np.mean(decide_free)),
        join_free=float(np.mean(decide_free * pass_free)),
        decide_paid=float(np.mean(decide_paid)),
        join_paid=float(np.sum(decide_paid * pass_paid * vfm * willing)
                        / max(np.sum(willing), 1e-12)),
        willing_las=float(np.sum(willing)),
        champion_leave_chance=float(np.mean(leave)),
        orphan_lapse_prob=_first(u.orphan_lapse_prob),
        contribute_chance=float(np.mean(_chance(
            capacity * _first(u.contribution_rate_per_year) / 12.0))),
        champion_chance=float(_chance(rep * _first(u.championing_rate_per_year) / 12.0)),
        renew_free=float(np.mean(renew_free)),
        renew_first_paid=float(np.mean(renew_paid * willing)),
        renew_paid=float(np.sum(renew_paid * willing) / max(np.sum(willing), 1e-12)),
        subscriptions_from_month=subs_from,
        first_paid_april=float(first_paid),
        first_april=float(first_april),
        member_price_gbp_per_year=float(np.sum(price[0] * willing)
                                        / max(np.sum(willing), 1e-12)),
        resignation_per_month=_first(wf.resignation_rate_per_year) / 12.0
        * _first(host.resignation_multiplier),
        uncertainty_uplift=_first(wf.funding_uncertainty_uplift),
        uncertainty_window_months=float(wf.funding_uncertainty_window_months),
        fill_chance=float(_chance(1.0 / _first(host.recruitment_delay_months))),
        freeze_months=_first(wf.hiring_freeze_reserve_months),
        establishment_delivery=float(wf.establishment_fte[Role.DELIVERY]),
        establishment_engagement=float(wf.establishment_fte[Role.ENGAGEMENT]),
        establishment_leadership=float(wf.establishment_fte[Role.LEADERSHIP]),
        initial_delivery=float(wf.initial_fte[Role.DELIVERY]),
        initial_engagement=float(wf.initial_fte[Role.ENGAGEMENT]),
        initial_leadership=float(wf.initial_fte[Role.LEADERSHIP]),
        cost_delivery_gbp_per_month=float(per_head[Role.DELIVERY]),
        cost_engagement_gbp_per_month=float(per_head[Role.ENGAGEMENT]),
        cost_leadership_gbp_per_month=float(per_head[Role.LEADERSHIP]),
        fixed_costs_gbp_per_month=_first(host.fixed_costs_gbp_per_month),
        opening_reserves_gbp=_first(fin.opening_reserves_gbp),
        core_budget_gbp_per_month=float(fin.core_budget_gbp_per_year) / 12.0,
        core_budget_from_month=float(fin.core_budget_from_month),
        grants=tuple(MeanFieldGrant(
            gbp_per_month=_first(g.amount_gbp_per_year) / 12.0,
            start_month=float(g.start_month), end_month=_first(g.end_month),
            renewal_prob=float(g.renewal_prob), renewal_months=float(g.renewal_months),
            max_renewals=float(g.max_renewals),
            eligible_spend=float(g.basis == "eligible_spend"),
            offsets=float(g.earned_income == "offsets")) for g in fin.grants),
    )


def claim_grants(grants: tuple[MeanFieldGrant, ...], due: list[float], costs: float,
                 core: float, earned: float) -> float:
    """What the grants pay in a month, £ (docs/model.md §5.5, as
    :func:`sim.model.finance.claim_grants`): a ``fixed`` grant its expected profile; the
    costs not met by those and the core budget are claimed from the eligible-spend grants in
    order, each first deducting the earned income not yet deducted if it ``offsets``, then
    paying at most its expected profile."""
    fixed = sum(d for g, d in zip(grants, due, strict=True) if not g.eligible_spend)
    need = max(costs - fixed - core, 0.0)
    paid = fixed
    for grant, d in zip(grants, due, strict=True):
        if grant.eligible_spend:
            deducted = min(earned, need) if grant.offsets else 0.0
            earned, need = earned - deducted, need - deducted
            pay = min(need, d)
            need, paid = max(need - pay, 0.0), paid + pay
    return paid


def simulate_mean_field(mf: MeanFieldParameters, horizon_months: int) -> dict[str, np.ndarray]:
    """The mean-field trajectories, name → float64[T]: each stock of :data:`STOCKS` at the end
    of each month (as the stochastic model records it), ``members``, ``staff_fte``,
    ``reserves_gbp`` and the month's ``joins``, ``leavers``, ``hires``,
    ``income_total_gbp`` and ``costs_total_gbp``.

    Month ``m`` runs, in the stochastic model's order (docs/model.md §1.4): in an April the
    renewals; the hiring freeze, then resignations and hires; the ladder's chain of
    transitions, each LA able to take several steps in one month (awareness, evaluation
    start, a decision, a champion's loss, contribution, championing: §2.2); then the money.
    """
    T = horizon_months
    U = mf.las - mf.initial_aware
    A, E, M, C, H, L = mf.initial_aware, 0.0, 0.0, 0.0, 0.0, 0.0
    staff = np.array([mf.initial_delivery, mf.initial_engagement, mf.initial_leadership])
    establishment = np.array([mf.establishment_delivery, mf.establishment_engagement,
                              mf.establishment_leadership])
    per_head = np.array([mf.cost_delivery_gbp_per_month, mf.cost_engagement_gbp_per_month,
                         mf.cost_leadership_gbp_per_month])
    reserves = mf.opening_reserves_gbp
    names = (*STOCKS, "members", "staff_fte", "reserves_gbp", "joins", "leavers", "hires",
             "income_total_gbp", "costs_total_gbp")
    out = {name: np.zeros(T) for name in names}
    # The grants' expected profile and the part of it at risk, month by month (£/month).
    due_by_month = [[g.running(m) * g.gbp_per_month for g in mf.grants] for m in range(T)]
    risk_by_month = [sum(g.at_risk(m, mf.uncertainty_window_months) * g.gbp_per_month
                         for g in mf.grants) for m in range(T)]
    for m in range(T):
        paying = float(m >= mf.subscriptions_from_month)
        april = float(m >= mf.first_april and (m - mf.first_april) % 12 == 0)
        # §2.7 April renewal
        renew = (mf.renew_first_paid if m == mf.first_paid_april
                 else mf.renew_paid if paying else mf.renew_free)
        lapse = april * (1.0 - renew)
        M, C, H, L = M - M * lapse, C - C * lapse, H - H * lapse, L + (M + C + H) * lapse
        # §3.3 the hiring freeze, on the income contracted now and the full team's costs
        due, at_risk = due_by_month[m], risk_by_month[m]
        core = float(m >= mf.core_budget_from_month) * mf.core_budget_gbp_per_month
        subs_due = paying * (M + C + H) * mf.member_price_gbp_per_year / 12.0
        income_now = sum(due) + core + subs_due
        full_team = mf.fixed_costs_gbp_per_month + float(establishment @ per_head)
        frozen = float(reserves + mf.freeze_months * (income_now - full_team) < 0.0)
        # §3.1 resignations, faster ahead of a grant's end; §3.2 hires into vacancies
        ending_share = at_risk / income_now if income_now > 0 else 0.0
        leave = float(_chance(mf.resignation_per_month
                              * (1.0 + mf.uncertainty_uplift * ending_share)))
        leavers = staff * leave
        stayed = staff - leavers
        hires = np.maximum(establishment - stayed, 0.0) * mf.fill_chance * (1.0 - frozen)
        staff = stayed + hires
        # §2.2–2.8 the ladder's chain
        outreach = min(staff[Role.ENGAGEMENT] / mf.outreach_reference_fte,
                       mf.outreach_max_multiplier)
        share = (M + C + mf.champion_peer_weight * H) / mf.las
        aware = U * float(_chance(mf.p_per_month * outreach + mf.q_per_month * share))
        back = L * mf.return_chance
        start = (A + aware + back) * mf.start_chance
        evaluating = E + start
        decided = evaluating * (mf.decide_paid if paying else mf.decide_free)
        # §2.10 once members pay, only LAs willing to pay join: the market's ceiling
        renewed = M + C + H
        willing_left = max(mf.willing_las - renewed, 0.0) / max(mf.las - renewed, 1.0)
        joins = evaluating * (mf.join_paid * willing_left if paying else mf.join_free)
        members = M + joins
        orphaned = members * mf.champion_leave_chance * mf.orphan_lapse_prob
        contributing = (members - orphaned) * mf.contribute_chance
        championing = (C + contributing) * mf.champion_chance
        U, A, E = U - aware, A + aware + back - start + (decided - joins), evaluating - decided
        M, C, H = members - orphaned - contributing, C + contributing - championing, H + championing
        L = L - back + orphaned
        # §5 the money: subscriptions at their run rate, costs, the grant
        subscriptions = paying * (M + C + H) * mf.member_price_gbp_per_year / 12.0
        costs = mf.fixed_costs_gbp_per_month + float(staff @ per_head)
        income = claim_grants(mf.grants, due, costs, core, subscriptions) + core + subscriptions
        reserves = reserves + income - costs
        for name, value in zip(STOCKS, (U, A, E, M, C, H, L, *staff, reserves), strict=True):
            out[name][m] = value
        out["joins"][m], out["leavers"][m] = joins, leavers.sum()
        out["hires"][m], out["income_total_gbp"][m] = hires.sum(), income
        out["costs_total_gbp"][m] = costs
    out["members"] = out["las_member"] + out["las_contributor"] + out["las_champion"]
    out["staff_fte"] = out["staff_delivery"] + out["staff_engagement"] + out["staff_leadership"]
    out["reserves_gbp"] = out["reserves"]
    return out
