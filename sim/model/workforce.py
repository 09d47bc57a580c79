"""The CoE's staff by role: vacancies filled after a recruitment delay, new starters who ramp up
to full productivity, resignations whose hazard rises with funding uncertainty and workload and
depends on the host, hiring freezes, and redundancies with notice and redundancy pay. Vacancies
cost money: each hire has a recruitment cost, and posts vacated by leavers are partly covered
by agency or contractor staff at a premium while they are recruited to.

Staff are whole people (1 FTE each), held as int64[R, 3] in role order delivery, engagement,
leadership. Each resignation and each completed hire is a binomial draw per replicate, role and
step: the count of independent exponential waiting times that end within the step. Each count
comes from one uniform by inverse transform (:func:`binomial_draw`), so it depends on nothing
but its own uniform and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import BatchGenerator, MonthStreams, hazard_probability, row_counts
from sim.model._kernels import binomial_from_uniform
from sim.model.codes import Role
from sim.model.external import core_budget_at_risk
from sim.model.finance import grant_income_at_risk
from sim.model.parameters import HostParameters, Parameters, WorkforceParameters
from sim.model.pensions import enrol, members_leaving, mixed_membership

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["NoticeBook", "StaffFlows", "advance_staff", "binomial_draw", "effective_fte",
           "redundancies_needed", "resignation_hazard", "step_workforce", "vacancy_cover"]


def binomial_draw(rng: BatchGenerator, n: np.ndarray, p: np.ndarray | float) -> np.ndarray:
    """Binomial(n, p) counts, int64 of the shape of ``n`` ([R, …]), one uniform each from
    ``rng`` (inverse transform)."""
    n = np.ascontiguousarray(n, dtype=np.int64)
    if not (n > 0).any():  # every count is 0 whatever the uniforms: skip them
        rng.skip(*n.shape[1:])
        return np.zeros(n.shape, dtype=np.int64)
    p = np.ascontiguousarray(np.broadcast_to(np.asarray(p, dtype=float), n.shape))
    return binomial_from_uniform(n, p, rng.random(*n.shape[1:]))


@dataclass
class StaffFlows:
    """Flows of one step, int64[R, 3]."""

    leavers: np.ndarray
    hires: np.ndarray
    experienced_leavers: np.ndarray


def resignation_hazard(workforce: WorkforceParameters, hosting: HostParameters,
                       income_ending_share: np.ndarray, overload: np.ndarray) -> np.ndarray:
    """Resignation hazard per person per month, float[R, 1].

    ``h = r/12 · host multiplier · (1 + uplift · share of income ending within the window)
    · (1 + workload sensitivity · overload)``.

    Parameters
    ----------
    income_ending_share : float[R], share of this month's income from grants that end within
        the funding-uncertainty window (staff leave ahead of a cliff).
    overload : float[R], delivery overload ``max(0, maintenance demand ÷ delivery FTE − 1)``.
    """
    base = workforce.resignation_rate_per_year / 12.0 * hosting.resignation_multiplier
    hazard = (base * (1 + workforce.funding_uncertainty_uplift * income_ending_share)
              * (1 + workforce.workload_sensitivity * overload))
    return hazard[:, None]


def step_workforce(staff: np.ndarray, novices: np.ndarray, establishment: np.ndarray,
                   workforce: WorkforceParameters, hosting: HostParameters,
                   income_ending_share: np.ndarray, overload: np.ndarray,
                   hiring_frozen: np.ndarray, operating: np.ndarray, dt_months: float,
                   rng: BatchGenerator, backfill: np.ndarray | None = None) -> StaffFlows:
    """Advance staff by one sub-step, in place: resignations, then hires, then ramp-up.

    Parameters
    ----------
    staff : int64[R, 3], people in post by :class:`~sim.model.codes.Role` (updated in place).
    novices : int64[R, 3], the new starters among them, not yet fully productive (in place).
    establishment : int64[R, 3], funded posts per replicate and role.
    backfill : float64[R, 3], posts vacated by leavers and not yet refilled (in place,
        expected count): the leavers are added, never more than the posts open; hires fill
        vacated and new posts alike, so a share ``hires ÷ open posts`` of the vacated posts is
        refilled. None: not tracked.
    hiring_frozen : bool[R], replicates not recruiting this step.
    operating : bool[R], closed replicates neither hire nor lose staff (they have none).
    """
    hazard = resignation_hazard(workforce, hosting, income_ending_share, overload)
    quit_prob = np.broadcast_to(hazard_probability(hazard, dt_months), staff.shape)
    # New starters and experienced staff leave at the same hazard: two independent binomials
    # (where no Centre operates every count is 0, and binomial_draw skips the uniforms).
    novice_leavers = binomial_draw(rng, novices, quit_prob)
    experienced_leavers = binomial_draw(rng, staff - novices, quit_prob)
    novice_leavers[~operating] = 0
    experienced_leavers[~operating] = 0
    novices -= novice_leavers
    staff -= novice_leavers + experienced_leavers
    vacancies = np.maximum(establishment - staff, 0)
    vacancies[hiring_frozen | ~operating] = 0
    fill_prob = hazard_probability(1.0 / hosting.recruitment_delay_months, dt_months)[:, None]
    hires = binomial_draw(rng, vacancies, fill_prob)
    staff += hires
    if backfill is not None:
        # Vacated posts among the vacancies: a hire fills a vacated post in proportion to
        # their share of the vacancies open (new posts and vacated posts alike).
        open_posts = np.maximum(establishment - staff + hires, 0)
        vacated = np.minimum(backfill + novice_leavers + experienced_leavers, open_posts)
        with np.errstate(divide="ignore", invalid="ignore"):
            filled = np.where(open_posts > 0, hires / np.where(open_posts > 0, open_posts, 1), 0.0)
        backfill[:] = vacated * (1.0 - filled)
    # Starters hired in this sub-step join the novices after it: they ramp up from the next one.
    if workforce.ramp_up_months > 0:
        ramp = binomial_draw(rng, novices, hazard_probability(1.0 / workforce.ramp_up_months,
                                                              dt_months))
        novices -= ramp
        novices += hires
    return StaffFlows(leavers=novice_leavers + experienced_leavers, hires=hires,
                      experienced_leavers=experienced_leavers)


def vacancy_cover(backfill: np.ndarray, staff: np.ndarray, establishment: np.ndarray,
                  recruiting: np.ndarray, workforce: WorkforceParameters) -> np.ndarray:
    """Agency or contractor cover in place, FTE float[R, 3]: ``vacancy_cover_share`` of the
    posts vacated by leavers that are still vacant, in replicates recruiting to them
    (operating, no hiring freeze, no host cut; docs/model.md §3.5)."""
    vacated = np.minimum(backfill, np.maximum(establishment - staff, 0))
    return (workforce.vacancy_cover_share[:, None] * vacated) * recruiting[:, None]


def effective_fte(staff: np.ndarray, novices: np.ndarray,
                  workforce: WorkforceParameters) -> np.ndarray:
    """Productive FTE (float, the shape of ``staff``): experienced staff count 1, new starters
    ``new_starter_productivity``."""
    return (staff - novices) + workforce.new_starter_productivity * novices


def redundancies_needed(shortfall_gbp_per_month: np.ndarray, staff: np.ndarray,
                        under_notice: np.ndarray, cost_per_head_gbp_per_month: np.ndarray,
                        workforce: WorkforceParameters) -> np.ndarray:
    """How many people to give notice to, by role, int64[R, 3].

    Enough people to remove a monthly ``shortfall`` (≤ 0 means none), taken first from
    engagement, then delivery, then leadership (keeping ``minimum_leadership_fte``); people
    already under notice are not counted twice.

    Parameters
    ----------
    shortfall_gbp_per_month : float[R], running costs the CoE cannot afford, £/month.
    under_notice : int64[R, 3], people already given notice.
    cost_per_head_gbp_per_month : float[3] or float[R, 3], running cost of one person in each
        role.
    """
    cuts = np.zeros_like(staff)
    remaining = np.maximum(shortfall_gbp_per_month, 0.0)
    floor = np.zeros(len(Role), dtype=np.int64)
    floor[Role.LEADERSHIP] = workforce.minimum_leadership_fte
    for role in (Role.ENGAGEMENT, Role.DELIVERY, Role.LEADERSHIP):
        available = np.maximum(staff[:, role] - under_notice[:, role] - floor[role], 0)
        cost = cost_per_head_gbp_per_month[..., role]
        wanted = np.where(cost > 0, np.ceil(remaining / np.where(cost > 0, cost, 1.0)), 0)
        # Capped before the cast: a huge (or infinite) shortfall asks for everyone available,
        # never for an int64 overflow (issue #17).
        take = np.minimum(wanted, available).astype(np.int64)
        cuts[:, role] = take
        remaining = remaining - take * cost
    return cuts


@dataclass
class NoticeBook:
    """People under redundancy notice, by the month they leave: int64[L + 1, R, 3] ring buffer."""

    queue: np.ndarray
    notice_months: int

    @classmethod
    def empty(cls, replicates: int, notice_months: int) -> NoticeBook:
        return cls(np.zeros((notice_months + 1, replicates, len(Role)), dtype=np.int64),
                   notice_months)

    @property
    def under_notice(self) -> np.ndarray:
        """int64[R, 3], everyone serving notice."""
        return self.queue.sum(axis=0)

    def serve(self, month: int, counts: np.ndarray) -> None:
        """Give notice to ``counts`` people this month; they leave ``notice_months`` later."""
        self.queue[(month + self.notice_months) % len(self.queue)] += counts

    def leaving(self, month: int) -> np.ndarray:
        """People whose notice ends this month (removed from the book), int64[R, 3]."""
        slot = month % len(self.queue)
        out = self.queue[slot].copy()
        self.queue[slot] = 0
        return out

    def clear(self, rows: np.ndarray) -> None:
        self.queue[:, rows] = 0


# --------------------------------------------------------------------------- rule


def advance_staff(state: BatchState, params: Parameters, streams: MonthStreams,
                  month: int) -> None:
    """Sub-step: resignations (faster when income is due to end within the funding-uncertainty
    window, or under overload), hires unless recruitment is frozen (``flows.hiring_frozen``,
    set by :func:`sim.model.host.freeze_hiring`), ramp-up (docs/model.md §3.1–3.3); then the
    cover of vacated posts and the recruitment cost of the hires (§3.5), and the LGPS members
    who left or joined (§6.1)."""
    workforce = params.workforce
    if state.operating.any():
        window = workforce.funding_uncertainty_window_months
        at_risk = (grant_income_at_risk(state.grants, month, window)
                   + core_budget_at_risk(state.income_due["core_budget"], month,
                                         params.events.spending_review, window))
        income_ending_share = np.clip(
            at_risk / np.maximum(state.income_last_gbp_per_month, 1.0), 0.0, 1.0)
        overload = np.maximum(state.utilisation_last - 1.0, 0.0)
    else:  # the resignation hazard is read only where a Centre operates
        income_ending_share = overload = np.zeros(state.replicates)
    flows = step_workforce(state.staff, state.novices, state.establishment, workforce,
                           state.hosting, income_ending_share, overload,
                           state.flows.hiring_frozen, state.operating, params.time.dt_months,
                           streams("workforce"), state.backfill)
    # LGPS members who resigned (docs/model.md §6.1); a council enrols its hires.
    state.lgps_members[:] -= members_leaving(
        flows.leavers, state.staff - flows.hires + flows.leavers, state.lgps_members,
        streams("pension_resignation") if mixed_membership(params) else None)
    enrol(state)
    state.vacancy_cover_fte = vacancy_cover(state.backfill, state.staff, state.establishment,
                                            state.operating, workforce)
    # People are whole numbers: their totals are row_counts (exact in any order).
    hires = row_counts(flows.hires)
    state.recruitment_due_gbp += (hires * state.hosting.recruitment_cost_gbp_per_hire
                                  * state.cpi_index)
    state.flows.leavers += row_counts(flows.leavers)
    state.flows.hires += hires
    state.flows.experienced_leavers += row_counts(flows.experienced_leavers)
