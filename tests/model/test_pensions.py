"""Pensions, TUPE and transitions between hosts (docs/model.md §6.1): LGPS membership as a
stock, the admitted-body rate and bond after a spin-out, the pension strain cost of
redundancies at 55+, and a transition of double running and lost productivity after a change
of host."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.scenario import Scenario

SEED = 1207
CHANGE = 30  # month of the spin-out in la_hosted_then_spinout.toml
SALARY = 52000.0

ONE_SALARY = tuple(f"workforce.{role}.salary_gbp_per_year={SALARY:g}"
                   for role in ("delivery", "engagement", "leadership"))

STEADY = (
    # Nothing but the mechanism under test moves money or staff: no closure, no cut, no
    # redundancy, one sub-step a month (costs are paid on the month-end team), plenty of cash
    # (so that a cost never changes what the host does next), a fixed team, and pay and
    # prices held at 2026/27 levels (their indexation is tested in test_prices.py).
    "time.substeps_per_month=1", "time.horizon_months=60",
    "finance.pay_awards=[0.0]", "finance.cpi_rates=[0.0]",
    "finance.opening_reserves_gbp=1e9", "workforce.team_policy=fixed",
    "workforce.redundancy_trigger_months=0",
    "hosting.reserves_rule=none", "hosting.nonviable_closure_months=600",
    "hosting.max_deficit_months=600", "hosting.cut_share=0",
    "host_changes[0].hosting.reserves_rule=none",
    "host_changes[0].hosting.nonviable_closure_months=600",
    "host_changes[0].hosting.cut_share=0",
    *ONE_SALARY,
)


def spinout(shipped_scenario: Callable[..., Scenario], *extra: str) -> Scenario:
    return shipped_scenario("la_hosted_then_spinout", *STEADY, *extra)


# --------------------------------------------------------------------------- membership


def test_after_a_spin_out_the_pension_cost_splits_admitted_and_own_to_the_penny(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """No resignations, nobody lost at the change: the LGPS stock is the team at the change,
    and each month after it the staff cost is pay × (1 + NI) + admitted rate × pay of the
    transferred staff + own rate × pay of the new hires; the bond is a governance cost."""
    scenario = spinout(shipped_scenario, "workforce.resignation_rate_per_year=0",
                       "host_changes[0].staff_loss_share=0",
                       "host_changes[0].hosting.admitted_body_pension_rate=0.3",
                       "host_changes[0].hosting.admission_bond_gbp_per_year=6000",
                       "host_changes[0].hosting.governance_gbp_per_year=60000")
    m = run_ensemble(scenario, las, 40, SEED).metrics
    staff, members = m["staff_fte"], m["lgps_members"]
    np.testing.assert_array_equal(members[:, :CHANGE], staff[:, :CHANGE])  # a council: all
    at_change = staff[:, CHANGE - 1]
    np.testing.assert_array_equal(members[:, CHANGE:], np.repeat(at_change[:, None],
                                                                 60 - CHANGE, axis=1))
    assert (staff[:, CHANGE:] > members[:, CHANGE:]).any(), "no hire after the change"
    month_pay = SALARY / 12.0
    ni = scenario.finance.employer_ni_rate
    own = scenario.host_changes[0].hosting.pension_rate
    expected = (staff * month_pay * (1 + ni) + 0.3 * members * month_pay
                + own * (staff - members) * month_pay)
    np.testing.assert_allclose(m["costs_staff_gbp"][:, CHANGE:], expected[:, CHANGE:],
                               rtol=0, atol=0.006)
    np.testing.assert_allclose(m["costs_governance_gbp"][:, CHANGE:],
                               np.where(members[:, CHANGE:] > 0, 66000 / 12.0, 60000 / 12.0),
                               rtol=0, atol=0.006)
    council = scenario.hosting.pension_rate
    np.testing.assert_allclose(m["costs_staff_gbp"][:, :CHANGE],
                               staff[:, :CHANGE] * month_pay * (1 + ni + council),
                               rtol=0, atol=0.006)


def test_the_closed_admission_only_shrinks_after_the_change(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """With resignations and staff lost at the change: every member of staff is a member
    under the council; afterwards the stock never grows (hires join the company's own
    scheme), never exceeds the staff, and falls as members leave."""
    scenario = spinout(shipped_scenario, "workforce.resignation_rate_per_year=0.3",
                       "host_changes[0].staff_loss_share=0.2")
    m = run_ensemble(scenario, las, 60, SEED).metrics
    staff, members = m["staff_fte"], m["lgps_members"]
    np.testing.assert_array_equal(members[:, :CHANGE], staff[:, :CHANGE])
    after = members[:, CHANGE - 1:]
    assert (np.diff(after, axis=1) <= 0).all()
    assert (members <= staff).all()
    assert (after[:, -1] < after[:, 0]).mean() > 0.9
    assert (members[:, CHANGE - 1] > members[:, CHANGE]).any(), "nobody lost at the change"


def test_without_an_admission_agreement_nobody_stays_in_the_lgps(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """lgps_admission = false: the transferred staff join the company's scheme, so its staff
    cost is pay × (1 + NI + own rate), and there is no bond."""
    scenario = spinout(shipped_scenario, "host_changes[0].lgps_admission=false",
                       "host_changes[0].hosting.governance_gbp_per_year=60000")
    m = run_ensemble(scenario, las, 30, SEED).metrics
    assert (m["lgps_members"][:, CHANGE:] == 0).all()
    own = scenario.host_changes[0].hosting.pension_rate
    ni = scenario.finance.employer_ni_rate
    np.testing.assert_allclose(m["costs_staff_gbp"][:, CHANGE:],
                               m["staff_fte"][:, CHANGE:] * SALARY / 12 * (1 + ni + own),
                               rtol=0, atol=0.006)
    np.testing.assert_allclose(m["costs_governance_gbp"][:, CHANGE:], 5000.0, rtol=0, atol=0)


def test_a_host_outside_the_lgps_never_has_members(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    for name in ("independent_company", "government_hosted", "existing_infrastructure"):
        m = run_ensemble(shipped_scenario(name, "time.horizon_months=36"), las, 20,
                         SEED).metrics
        assert (m["lgps_members"] == 0).all(), name
        assert m["staff_fte"].max() > 0


# --------------------------------------------------------------------------- strain


def short_of_cash(shipped_scenario: Callable[..., Scenario], host: str, *extra: str) -> Scenario:
    """A CoE whose only grant ends at month 12 with no other income, one salary for every
    role, no resignations, a deficit tolerance it never reaches and no closure for not working:
    it must make people redundant. Pay is held at its 2026/27 level (strain is a year of this
    year's pay; indexation is tested in test_prices.py)."""
    return shipped_scenario(
        host, "finance.subscription_gbp_per_year=0", "finance.opening_reserves_gbp=50000",
        "finance.pay_awards=[0.0]", "finance.cpi_rates=[0.0]",
        "workforce.resignation_rate_per_year=0", "time.horizon_months=48", *ONE_SALARY,
        "hosting.deficit_tolerance_gbp=1e9", "hosting.closure_deficit_gbp=1e9",
        "hosting.max_deficit_months=600", "hosting.in_kind_support_gbp_per_year=0",
        "hosting.nonviable_closure_months=600",
        'finance.grants=[{name = "pilot", amount_gbp_per_year = 900000.0, start_month = 0, '
        'end_month = 12}]',
        *extra)


def first_redundancy_month(redundancies: np.ndarray) -> np.ndarray:
    """Each replicate's first month with a redundancy (−1: none)."""
    any_ = redundancies > 0
    return np.where(any_.any(axis=1), any_.argmax(axis=1), -1)


def test_a_redundancy_at_55_plus_costs_a_year_of_pay_more_exactly(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Everyone 55+, strain one year: up to the first redundancies the runs are identical, and
    in that month costs are higher by exactly the salary of each person made redundant; the
    pension strain line is that salary for every redundancy."""
    before = run_ensemble(short_of_cash(shipped_scenario, "la_hosted",
                                        "workforce.pension_strain_years_of_pay=0"),
                          las, 40, SEED).metrics
    after = run_ensemble(short_of_cash(shipped_scenario, "la_hosted",
                                       "workforce.share_aged_55_plus=1",
                                       "workforce.pension_strain_years_of_pay=1"),
                         las, 40, SEED).metrics
    gone = after["redundancies"]
    np.testing.assert_allclose(after["costs_pension_strain_gbp"], gone * SALARY, rtol=0, atol=0)
    first = first_redundancy_month(before["redundancies"])
    assert (first > 0).all()
    np.testing.assert_array_equal(first, first_redundancy_month(gone))
    for r, t in enumerate(first):
        for name in ("costs_total_gbp", "staff_fte", "reserves_gbp"):
            np.testing.assert_array_equal(after[name][r, :t], before[name][r, :t])
        extra = after["costs_total_gbp"][r, t] - before["costs_total_gbp"][r, t]
        assert extra == pytest.approx(gone[r, t] * SALARY, abs=0.005)
        assert after["costs_redundancy_gbp"][r, t] == before["costs_redundancy_gbp"][r, t]


def test_no_strain_cost_changes_nothing(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """A strain of 0 years, or nobody 55+, gives the same run to the bit as the other."""
    runs = [run_ensemble(short_of_cash(shipped_scenario, "la_hosted", *extra), las, 30,
                         SEED).metrics
            for extra in (("workforce.pension_strain_years_of_pay=0",
                           "workforce.share_aged_55_plus=1"),
                          ("workforce.pension_strain_years_of_pay=3",
                           "workforce.share_aged_55_plus=0"))]
    assert runs[0]["redundancies"].sum() > 0
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)
    assert (runs[0]["costs_pension_strain_gbp"] == 0).all()


def test_a_host_outside_the_lgps_never_pays_strain(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    m = run_ensemble(short_of_cash(shipped_scenario, "independent_company",
                                   "workforce.share_aged_55_plus=1",
                                   "workforce.pension_strain_years_of_pay=4"),
                     las, 30, SEED).metrics
    assert m["redundancies"].sum() > 0
    assert (m["costs_pension_strain_gbp"] == 0).all()


def test_strain_is_charged_on_a_share_of_redundancies_near_the_age_share(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Each LGPS member made redundant is 55+ with chance 0.3: the strain line, in years of
    salary, counts about 30% of the redundancies (binomial, 3 standard errors)."""
    m = run_ensemble(short_of_cash(shipped_scenario, "la_hosted",
                                   "workforce.share_aged_55_plus=0.3",
                                   "workforce.pension_strain_years_of_pay=2"),
                     las, 200, SEED).metrics
    aged = m["costs_pension_strain_gbp"].sum() / (2 * SALARY)
    n = m["redundancies"].sum()
    assert aged == pytest.approx(round(aged))  # whole people
    assert abs(aged / n - 0.3) < 3 * np.sqrt(0.3 * 0.7 / n)


# --------------------------------------------------------------------------- transition


def test_double_running_adds_exactly_its_cost_for_exactly_the_transition(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """The funding case reads the costs (a renewal may differ, and staff leave ahead of a
    grant's end): with no resignations the teams are the same, and the overhead line is
    higher by the double running in the transition months alone."""
    months = 4
    runs = [run_ensemble(spinout(shipped_scenario, "workforce.resignation_rate_per_year=0",
                                 f"host_changes[0].transition_months={months}",
                                 "host_changes[0].productivity_loss=0",
                                 f"host_changes[0].double_running_gbp_per_month={cost}"),
                         las, 30, SEED).metrics for cost in (0, 12345.67)]
    without, with_ = runs
    extra = with_["costs_overhead_gbp"] - without["costs_overhead_gbp"]
    expected = np.zeros_like(extra)
    expected[:, CHANGE:CHANGE + months] = 12345.67
    np.testing.assert_allclose(extra, expected, rtol=0, atol=0.005)
    np.testing.assert_allclose(with_["costs_total_gbp"] - without["costs_total_gbp"], expected,
                               rtol=0, atol=0.005)
    np.testing.assert_array_equal(with_["staff_fte"], without["staff_fte"])


def test_the_productivity_dip_lasts_the_transition_only(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Productive FTE is (1 − loss) × what it would be in the transition months and the same
    outside them (no resignations: the teams are the same); the value delivered is the same
    before the change and lower over the transition."""
    months, loss = 6, 0.5
    runs = [run_ensemble(spinout(shipped_scenario, "workforce.resignation_rate_per_year=0",
                                 f"host_changes[0].transition_months={months}",
                                 "host_changes[0].double_running_gbp_per_month=0",
                                 f"host_changes[0].productivity_loss={dip}"),
                         las, 40, SEED).metrics for dip in (0, loss)]
    steady, dipped = runs
    np.testing.assert_array_equal(dipped["staff_fte"], steady["staff_fte"])
    factor = np.ones(60)
    factor[CHANGE:CHANGE + months] = 1 - loss
    np.testing.assert_allclose(dipped["effective_fte"], steady["effective_fte"] * factor,
                               rtol=1e-12, atol=0)
    np.testing.assert_array_equal(dipped["value_delivered_gbp"][:, :CHANGE],
                                  steady["value_delivered_gbp"][:, :CHANGE])
    window = slice(CHANGE, CHANGE + months)
    assert (dipped["value_delivered_gbp"][:, window].sum()
            < steady["value_delivered_gbp"][:, window].sum())


def test_a_total_productivity_loss_delivers_nothing_in_the_transition(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """productivity_loss = 1: no productive FTE and no launch in the transition months;
    productive again afterwards."""
    months = 6
    m = run_ensemble(spinout(shipped_scenario, "workforce.resignation_rate_per_year=0",
                             f"host_changes[0].transition_months={months}",
                             "host_changes[0].productivity_loss=1"),
                     las, 40, SEED).metrics
    window = slice(CHANGE, CHANGE + months)
    assert (m["effective_fte"][:, window] == 0).all()
    assert (m["launches"][:, window] == 0).all()
    assert (m["effective_fte"][:, CHANGE + months] > 0).all()
    assert (m["effective_fte"][:, CHANGE - 1] > 0).all()


def test_no_transition_months_means_no_transition(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """transition_months = 0: the dip and double running set do nothing."""
    runs = [run_ensemble(spinout(shipped_scenario, *extra), las, 20, SEED).metrics
            for extra in (("host_changes[0].transition_months=0",
                           "host_changes[0].productivity_loss=1",
                           "host_changes[0].double_running_gbp_per_month=50000"),
                          ("host_changes[0].transition_months=0",
                           "host_changes[0].productivity_loss=0",
                           "host_changes[0].double_running_gbp_per_month=0"))]
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)


@pytest.mark.parametrize("key, value", [
    ("host_changes[0].productivity_loss", "1.5"),
    ("host_changes[0].transition_months", "-1"),
    ("host_changes[0].hosting.admitted_body_pension_rate", "2"),
    ("workforce.share_aged_55_plus", "-0.1"),
    ("workforce.pension_strain_years_of_pay", "-1"),
])
def test_out_of_range_pension_and_transition_inputs_are_refused(
    shipped_scenario: Callable[..., Scenario], key: str, value: str
) -> None:
    with pytest.raises(Exception, match=key.split(".")[-1]):
        shipped_scenario("la_hosted_then_spinout", f"{key}={value}")
