"""Money: income by source, costs by type, reserves, and the host's failure rule.

All amounts are pounds per step (a month, or a sub-step's share of it), rounded to the penny
before they touch reserves, so ``reserves = opening + Σ income − Σ costs`` holds to the penny.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import Finance, Hosting, Workforce

__all__ = ["Cashflow", "INCOME_SOURCES", "COST_TYPES", "grant_schedule", "monthly_cashflow",
           "pennies"]

INCOME_SOURCES = ("grant", "subscriptions", "host_support")
COST_TYPES = ("staff", "overhead", "non_pay", "vat", "governance", "setup")


def pennies(x: np.ndarray) -> np.ndarray:
    """Round pounds to the penny."""
    return np.round(x, 2)


def grant_schedule(finance: Finance, horizon_months: int) -> np.ndarray:
    """Scheduled grant income, float[G, T] in £/month (before any closure)."""
    months = np.arange(horizon_months)
    rows = [np.where((months >= g.start_month) & (months < g.end_month),
                     g.amount_gbp_per_year / 12.0, 0.0) for g in finance.grants]
    return np.array(rows).reshape(len(rows), horizon_months)


@dataclass
class Cashflow:
    """One step's money, each float64[R] in pounds (already rounded to the penny)."""

    income: dict[str, np.ndarray]
    costs: dict[str, np.ndarray]

    @property
    def income_total(self) -> np.ndarray:
        return sum(self.income.values())  # type: ignore[return-value]

    @property
    def costs_total(self) -> np.ndarray:
        return sum(self.costs.values())  # type: ignore[return-value]


def monthly_cashflow(finance: Finance, hosting: Hosting, workforce: Workforce, staff: np.ndarray,
                     members: np.ndarray, grant_gbp_per_month: np.ndarray, one_off_gbp: np.ndarray,
                     month: int, operating: np.ndarray, dt_months: float) -> Cashflow:
    """Income and costs of one step.

    Parameters
    ----------
    staff : int64[R, 3], people in post by role.
    members : float[R], member LAs.
    grant_gbp_per_month : float[R], grant income this month from the grants now paying.
    one_off_gbp : float[R], set-up and host-transition costs falling due this month.
    operating : bool[R]; a closed CoE has no income and no costs.
    """
    salaries = np.array([r.salary_gbp_per_year for r in workforce.roles()]) / 12.0
    pay = (staff * salaries).sum(axis=1)  # not a matmul: batch-size-invariant rounding
    on_cost = 1 + finance.employer_ni_rate + hosting.pension_rate
    fte = staff.sum(axis=1)
    non_pay = fte * finance.non_pay_gbp_per_fte_per_year / 12.0 + finance.fixed_non_pay_gbp_per_year / 12.0
    paying = month >= finance.subscriptions_from_month
    on = operating.astype(float) * dt_months
    income = {
        "grant": grant_gbp_per_month,
        "subscriptions": members * (finance.subscription_gbp_per_year / 12.0 if paying else 0.0),
        "host_support": np.full(len(fte), hosting.in_kind_support_gbp_per_year / 12.0),
    }
    costs = {
        "staff": pay * on_cost,
        "overhead": pay * hosting.overhead_recharge_rate,
        "non_pay": non_pay,
        "vat": non_pay * (0.0 if hosting.vat_recoverable else finance.vat_rate),
        "governance": np.full(len(fte), hosting.governance_gbp_per_year / 12.0),
        "setup": one_off_gbp,
    }
    return Cashflow(
        income={k: pennies(v * on) for k, v in income.items()},
        costs={k: pennies(v * on) for k, v in costs.items()},
    )
