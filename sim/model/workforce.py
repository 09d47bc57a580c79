"""The CoE's staff by role: vacancies filled after a recruitment delay, resignations whose
hazard rises with funding uncertainty and workload and depends on the host, hiring freezes.

Staff are whole people (1 FTE each), held as int64[R, 3] in role order delivery, engagement,
leadership. Each resignation and each completed hire is a binomial draw per replicate, role and
step: the count of independent exponential waiting times that end within the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine import BatchGenerator, hazard_probability
from sim.scenario.schema import Hosting, Workforce

__all__ = ["StaffFlows", "resignation_hazard", "step_workforce", "ROLES"]

ROLES = ("delivery", "engagement", "leadership")


@dataclass
class StaffFlows:
    """Flows of one step, int64[R, 3]."""

    leavers: np.ndarray
    hires: np.ndarray


def resignation_hazard(workforce: Workforce, hosting: Hosting, income_ending_share: np.ndarray,
                       overload: np.ndarray) -> np.ndarray:
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


def step_workforce(staff: np.ndarray, establishment: np.ndarray, workforce: Workforce,
                   hosting: Hosting, income_ending_share: np.ndarray, overload: np.ndarray,
                   hiring_frozen: np.ndarray, operating: np.ndarray, dt_months: float,
                   rng: BatchGenerator) -> StaffFlows:
    """Advance staff by one sub-step, in place.

    Parameters
    ----------
    staff : int64[R, 3], people in post (updated in place).
    establishment : int64[3], funded posts per role.
    hiring_frozen : bool[R], replicates not recruiting this step.
    operating : bool[R], closed replicates neither hire nor lose staff (they have none).
    """
    quit_prob = hazard_probability(
        resignation_hazard(workforce, hosting, income_ending_share, overload), dt_months)
    leavers = rng.binomial(staff, np.broadcast_to(quit_prob, staff.shape))
    leavers[~operating] = 0
    staff -= leavers
    vacancies = np.maximum(establishment[None, :] - staff, 0)
    vacancies[hiring_frozen | ~operating] = 0
    fill_prob = hazard_probability(1.0 / hosting.recruitment_delay_months, dt_months)
    hires = rng.binomial(vacancies, np.full(vacancies.shape, fill_prob))
    staff += hires
    return StaffFlows(leavers=leavers, hires=hires)
