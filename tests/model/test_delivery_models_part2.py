"""Delivery models of issue #13, part 2: each form's own rules, checked against the rule.

* a membership body's levy (docs/model.md §7.5): paid at its closed-form rate while the
  board keeps it, never after it stops; a board that always (never) keeps it;
* a host charity's designated fund (§7.6): never pays out more than designated, keeps the
  Centre out of deficit while it lasts, and an empty fund changes nothing to the bit.

Extreme conditions: no money at all closes each of them. The money identity of every new
scenario is checked with the shipped ones (tests/model/test_conservation.py globs them all).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import EnsembleResult, run_ensemble
from sim.scenario import Scenario
from sim.scenario.errors import ScenarioError
from tests.conftest import shipped

R = 40
SEED = 4242


def run(scenario: Scenario, las: LAPopulation, replicates: int = R) -> EnsembleResult:
    return run_ensemble(scenario, las, replicates, SEED)


def year_ends(result: EnsembleResult) -> list[int]:
    """Month indices of each March in the run (fiscal years end there)."""
    horizon = result.scenario.time.horizon_months
    start = int(result.scenario.time.start[5:7])
    return [m for m in range(horizon) if (start - 1 + m) % 12 == 2]


# --------------------------------------------------------------------------- membership body


def test_levy_is_paid_at_its_rate_while_the_board_keeps_it(las: LAPopulation) -> None:
    """income_membership_levy = levy × body's LAs ÷ 12 × CPI index, to the penny, in every
    operating month before the board stops it; 0 from the month it stops."""
    result = run(shipped("membership_body"), las)
    m, terms = result.metrics, result.scenario.membership_body
    stopped = np.cumsum(m["levy_stops"], axis=1) > 0
    expected = np.round(terms.levy_gbp_per_member_la_per_year * terms.body_member_las / 12.0
                        * m["cpi_index"], 2)
    paying = (m["operating"] == 1) & ~stopped
    np.testing.assert_allclose(m["income_membership_levy_gbp"][paying], expected[paying],
                               rtol=0, atol=0.005)
    assert (m["income_membership_levy_gbp"][stopped] == 0).all()
    assert stopped.any() and (~stopped[:, -1]).any(), "some boards stop, some keep the levy"


@pytest.mark.parametrize(("keep", "stops_at_first_review"), [(1.0, False), (0.0, True)])
def test_a_board_that_always_or_never_keeps_the_levy(las: LAPopulation, keep: float,
                                                     stops_at_first_review: bool) -> None:
    """continue_prob 1 never stops the levy, whatever the record; 0 stops it at the first
    review (month 12) in every replicate still operating."""
    result = run(shipped("membership_body", f"membership_body.continue_prob={keep}"), las, 20)
    m = result.metrics
    if stops_at_first_review:
        np.testing.assert_array_equal(m["levy_stops"][:, 12], m["operating"][:, 11])
        assert m["levy_stops"].sum() == m["operating"][:, 11].sum()
    else:
        assert m["levy_stops"].sum() == 0


def test_a_membership_body_takes_no_charitable_income() -> None:
    """The LGA and ADCS are not charities: the schema refuses charitable income for them."""
    with pytest.raises(ScenarioError, match="not a charity"):
        shipped("membership_body", "hosting.charitable_income_gbp_per_year=10000")


def test_a_membership_body_with_no_money_closes(las: LAPopulation) -> None:
    """No levy, no grant, no reserves: not viable at year 5, and closed by year 10."""
    result = run(shipped("membership_body", "membership_body.levy_gbp_per_member_la_per_year=0",
                         "finance.grants=[]", "finance.opening_reserves_gbp=0"), las, 20)
    assert result.kpis["viable_prob_y5"].mean() == 0.0
    assert result.metrics["operating"][:, -1].sum() == 0


# --------------------------------------------------------------------------- charity


def _charity(*overrides: str) -> Scenario:
    """The charity with no trusts' income (so charitable income is the fund's drawings) and
    no grant: the fund is what stands between the Centre and a deficit."""
    return shipped("existing_charity", "hosting.charitable_income_gbp_per_year=0",
                   "finance.grants=[]", *overrides)


def test_the_designated_fund_keeps_the_centre_out_of_deficit_until_it_is_spent(
        las: LAPopulation) -> None:
    """Σ drawings ≤ the fund, to the penny; while some of it is left, reserves end every
    month at or above the floor (£0); the first deficit comes only once it is spent."""
    result = run(_charity(), las)
    m, fund = result.metrics, result.scenario.charitable_funds.designated_fund_gbp
    drawn = np.cumsum(m["income_charitable_gbp"], axis=1)
    assert drawn.max() <= fund + 0.005
    assert drawn[:, -1].max() > 0, "the fund is drawn"
    left = drawn < fund - 0.005
    alive = m["operating"] == 1
    assert (m["reserves_gbp"][left & alive] >= -0.005).all()
    in_deficit = alive & (m["reserves_gbp"] < -0.005)
    assert (drawn[in_deficit] >= fund - 0.005).all()


def test_an_empty_designated_fund_changes_nothing(las: LAPopulation) -> None:
    """A fund of £0 is the charity without one, to the bit (common random numbers)."""
    empty = run(_charity("charitable_funds.designated_fund_gbp=0"), las, 20)
    off = run(_charity("charitable_funds.enabled=false"), las, 20)
    for name in ("reserves_gbp", "members", "staff_fte", "costs_total_gbp"):
        np.testing.assert_array_equal(empty.metrics[name], off.metrics[name], err_msg=name)


def test_only_a_charity_capable_host_has_a_designated_fund() -> None:
    with pytest.raises(ScenarioError, match="charity-capable host"):
        shipped("la_hosted", "charitable_funds.enabled=true")
