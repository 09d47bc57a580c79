"""The shipped scenario files say what they represent, the pairs differ only where they should,
each host carries its own terms and failure rule, and staff leave ahead of a cliff."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import compare
from sim.scenario import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
SEED = 5772


@pytest.mark.parametrize("name", SHIPPED)
def test_every_scenario_file_says_what_it_represents(name: str) -> None:
    """Each file opens with a comment naming itself, and says what it represents."""
    text = (SCENARIOS / f"{name}.toml").read_text(encoding="utf-8")
    assert text.startswith(f"# {name}.toml — ")
    header = text.split("\n\n")[0] + text.split("\n\n")[1]
    assert "Represents" in header


def test_the_expected_scenarios_ship() -> None:
    """One file per hosting model and strategy named in issue #3."""
    assert {"la_hosted", "government_hosted", "independent_company", "existing_infrastructure",
            "la_hosted_then_spinout", "commissioned_term", "gall", "big_bang",
            "no_cliff"} <= set(SHIPPED)


def differences(a: Scenario, b: Scenario) -> set[str]:
    """Top-level key paths (section.key) where two scenarios differ, ignoring meta and extends."""
    da, db = a.model_dump(), b.model_dump()
    out = set()
    for section in da:
        if section in ("meta", "extends"):
            continue
        if isinstance(da[section], dict):
            out |= {f"{section}.{k}" for k in da[section] if da[section][k] != db[section][k]}
        elif da[section] != db[section]:
            out.add(section)
    return out


def test_gall_and_big_bang_differ_only_in_policy(shipped_scenario: Callable[..., Scenario]) -> None:
    """gall.toml and big_bang.toml are la_hosted.toml with a different portfolio.policy."""
    gall, big_bang = shipped_scenario("gall"), shipped_scenario("big_bang")
    assert differences(gall, big_bang) == {"portfolio.policy"}
    assert differences(gall, shipped_scenario("la_hosted")) == set()


def test_no_cliff_differs_only_in_the_grant_end(shipped_scenario: Callable[..., Scenario]) -> None:
    """no_cliff.toml is la_hosted.toml whose grant ends beyond the horizon."""
    control, la = shipped_scenario("no_cliff"), shipped_scenario("la_hosted")
    assert differences(control, la) == {"finance.grants"}
    assert control.finance.grants[0].end_month >= control.time.horizon_months
    assert control.finance.grants[0].model_dump(exclude={"end_month"}) == \
        la.finance.grants[0].model_dump(exclude={"end_month"})


@pytest.mark.parametrize("name, model, rule", [
    ("la_hosted", "la_hosted", "deficit_tolerance"),
    ("government_hosted", "government_hosted", "spending_review"),
    ("independent_company", "independent_company", "insolvency"),
    ("existing_infrastructure", "existing_infrastructure", "deficit_tolerance"),
    ("commissioned_term", "independent_company", "insolvency"),
])
def test_each_host_has_its_failure_rule(name: str, model: str, rule: str,
                                        shipped_scenario: Callable[..., Scenario]) -> None:
    """Company: insolvency; council and sector body: deficit tolerance; department: spending
    review."""
    hosting = shipped_scenario(name).hosting
    assert (hosting.model, hosting.failure_rule) == (model, rule)


def test_pension_rates_by_host(shipped_scenario: Callable[..., Scenario]) -> None:
    """LGPS 21.1% for a council, the civil-service average 28.97%, at least the 3% auto-enrolment
    minimum for a company."""
    assert shipped_scenario("la_hosted").hosting.pension_rate == 0.211
    assert shipped_scenario("government_hosted").hosting.pension_rate == 0.2897
    assert shipped_scenario("independent_company").hosting.pension_rate >= 0.03


def test_the_spinout_pays_to_leave_and_then_keeps_staff_better(
    shipped_scenario: Callable[..., Scenario]
) -> None:
    """The spin-out costs a transition and some staff, then the company's lower resignation."""
    spinout = shipped_scenario("la_hosted_then_spinout")
    (change,) = spinout.host_changes
    assert change.transition_cost_gbp > 0 and 0 < change.staff_loss_share < 1
    assert change.hosting.model == "independent_company"
    assert change.hosting.failure_rule == "insolvency"
    assert change.hosting.resignation_multiplier < spinout.hosting.resignation_multiplier


def test_the_commissioned_term_is_five_years_then_a_retender(
    shipped_scenario: Callable[..., Scenario]
) -> None:
    """One 60-month contract, renewed for another 60 months with a chance between 0 and 1."""
    term = shipped_scenario("commissioned_term")
    (contract,) = term.finance.grants
    assert (contract.start_month, contract.end_month, contract.renewal_months) == (0, 60, 60)
    assert 0 < contract.renewal_prob < 1 and contract.max_renewals == 1
    assert term.finance.subscription_gbp_per_year == 0 and term.finance.subscription_bands == ()


# ---------------------------------------------------------------------------- behaviour


def test_resignations_rise_in_the_year_before_the_grant_ends(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Leavers in the 12 months before the cliff exceed no_cliff's (common random numbers)."""
    cliff, control = compare([shipped_scenario("la_hosted"), shipped_scenario("no_cliff")], las,
                             300, SEED)
    end = cliff.scenario.finance.grants[0].end_month
    window = cliff.scenario.workforce.funding_uncertainty_window_months
    before = slice(0, end - window)
    np.testing.assert_array_equal(cliff.metrics["leavers"][:, before],
                                  control.metrics["leavers"][:, before])
    in_window = slice(end - window, end)
    leavers = cliff.metrics["leavers"][:, in_window].sum()
    assert leavers > control.metrics["leavers"][:, in_window].sum()


def test_a_likely_renewal_calms_staff_before_the_decision(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Funding uncertainty is weighted by the chance the end is real: a contract sure to be renewed
    loses fewer staff in its last year than one sure to end."""
    calm = shipped_scenario("commissioned_term", "finance.grants[0].renewal_prob=1")
    anxious = shipped_scenario("commissioned_term", "finance.grants[0].renewal_prob=0")
    a, b = compare([calm, anxious], las, 200, SEED)
    last_year = slice(48, 60)
    assert a.metrics["leavers"][:, last_year].sum() < b.metrics["leavers"][:, last_year].sum()
