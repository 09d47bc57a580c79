"""Delivery models of issue #13, part 2: each form's own rules, checked against the rule.

* a membership body's levy (docs/model.md §7.9): paid at its closed-form rate while the
  board keeps it, never after it stops; a board that always (never) keeps it;
* a host charity's designated fund (§7.10): never pays out more than designated, keeps the
  Centre out of deficit while it lasts, and an empty fund changes nothing to the bit;
* a provider under contract (§7.11): corporation tax by the Finance Act 2021 rates and
  marginal relief, each March's tax recomputed from the year's accounts to the penny, the
  bid cost, and a lost re-tender that moves the service (members, services, staff under
  TUPE) instead of closing it.

Extreme conditions: no money at all closes each of them. The money identity of every new
scenario is checked with the shipped ones (tests/model/test_conservation.py globs them all).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams, partition
from sim.experiments import EnsembleResult, run_ensemble
from sim.model import compile_parameters
from sim.model.codes import Ladder, ServiceStatus
from sim.model.contract import corporation_tax_gbp, move_service
from sim.model.spokes import advance_spokes, spoke_cost_gbp_per_month, spoke_net_fte
from sim.model.state import initial_state
from sim.scenario import Scenario, scenario_from_dict
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


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize(("profit", "tax"), [
    (-50_000.0, 0.0), (0.0, 0.0), (40_000.0, 7_600.0), (50_000.0, 9_500.0),
    (100_000.0, 22_750.0),  # 25% × 100,000 − 3/200 × 150,000
    (250_000.0, 62_500.0), (300_000.0, 75_000.0)])
def test_corporation_tax_follows_the_finance_act_2021(profit: float, tax: float) -> None:
    """19% to £50,000, 25% from £250,000, marginal relief of 3/200 × (250,000 − P) between."""
    assert corporation_tax_gbp(np.array([profit]))[0] == pytest.approx(tax, abs=1e-6)


def test_each_march_the_provider_pays_the_tax_on_its_years_profit(las: LAPopulation) -> None:
    """Recomputed from the run's own accounts: the year's profit (income less the costs of
    the trade) less losses carried forward (Corporation Tax Act 2010 s.45), taxed at the
    2021 rates, is each March's corporation tax to the penny, for every provider whose
    service has not moved."""
    result = run(shipped("private_partner"), las)
    m = result.metrics
    trade = (m["income_total_gbp"] - m["costs_total_gbp"] + m["costs_corporation_tax_gbp"]
             + m["costs_distribution_gbp"] + m["costs_provider_exit_gbp"])
    moved = np.cumsum(m["service_moves"], axis=1) > 0
    losses, start, checked = np.zeros(R), 0, 0
    for march in year_ends(result):
        profit = trade[:, start:march + 1].sum(axis=1)
        used = np.where(profit > 0, np.minimum(losses, profit), 0.0)
        expected = np.round(corporation_tax_gbp(profit - used), 2)
        losses = np.where(profit > 0, losses - used, losses - profit)
        rows = (m["operating"][:, march] == 1) & ~moved[:, march]
        np.testing.assert_allclose(m["costs_corporation_tax_gbp"][rows, march], expected[rows],
                                   rtol=0, atol=0.02)
        checked += int((expected[rows] > 0).sum())
        start = march + 1
    assert checked > 0, "some provider made a taxable profit"
    others = np.ones(m["costs_corporation_tax_gbp"].shape[1], dtype=bool)
    others[year_ends(result)] = False
    others[np.flatnonzero(m["service_moves"].any(axis=0))] = False
    assert (m["costs_corporation_tax_gbp"][:, others] == 0).all()


def test_the_incumbent_pays_its_bid_cost_once_at_the_retender(las: LAPopulation) -> None:
    """bid = bid_cost_gbp × CPI index in the decision month (60, April 2031), in every
    operating replicate, and never otherwise. The bid comes before the April step of the
    indices (it is prepared in the year that ends), so it is priced at month 59's index."""
    result = run(shipped("private_partner"), las, 20)
    m, bid = result.metrics, result.scenario.contract.bid_cost_gbp
    at = m["operating"][:, 59] == 1
    expected = np.round(bid * m["cpi_index"][at, 59], 2)
    np.testing.assert_allclose(m["costs_bid_gbp"][at, 60], expected, rtol=0, atol=0.005)
    assert m["costs_bid_gbp"].sum() == pytest.approx(m["costs_bid_gbp"][:, 60].sum())


def test_a_not_for_profit_provider_distributes_nothing(las: LAPopulation) -> None:
    result = run(shipped("commissioned_term_bring_back"), las, 20)
    assert result.metrics["costs_distribution_gbp"].sum() == 0.0
    assert result.metrics["costs_corporation_tax_gbp"].sum() > 0.0


MOVING = ("private_partner", "commissioned_term_bring_back")
"""The scenarios whose lost re-tender moves the service: to another supplier, in house."""


def _moving_state(las: LAPopulation, name: str, *overrides: str):  # type: ignore[no-untyped-def]
    """A contract scenario at the end of its term, with the re-tender lost: 30 members, two
    live services, the team in post, £123,456.78 of the provider's reserves."""
    scenario = shipped(name, *overrides)
    params = compile_parameters(scenario, las, 3)
    streams = RandomStreams(1, partition(3))
    state = initial_state(params, las, streams)
    state.ladder[:, :30] = Ladder.MEMBER
    state.counts.changed()
    state.portfolio.status[:, :2] = ServiceStatus.LIVE
    state.staff[:] = [5, 2, 1]
    state.reserves[:] = 123_456.78
    g = params.contract.contract_grant
    state.grants.end[:, g] = 60
    state.grants.renewals_left[:, g] = 0
    state.contract.pending[:] = True
    state.contract.pending_end[:] = 60
    return state, params, streams


@pytest.mark.parametrize("name", MOVING)
def test_a_lost_retender_moves_the_service_with_its_members_services_and_staff(
        las: LAPopulation, name: str) -> None:
    """With everyone transferring (TUPE share 1): the successor is the host, the members and
    live services are untouched, every member of staff is kept (in the LGPS under a council,
    out of it under a company), the outgoing provider keeps its balance (provider_exit), the
    successor pays the transition and the contract price pays on for successor_term_months."""
    state, params, streams = _moving_state(las, name, "contract.tupe_transfer_share=1.0")
    ladder, status = state.ladder.copy(), state.portfolio.status.copy()
    move_service(state, params, streams.at(60), 60)
    assert (state.host == params.contract.successor_host).all()
    council = params.hosting.models[params.contract.successor_host] == "la_hosted"
    assert council == (name == "commissioned_term_bring_back")
    np.testing.assert_array_equal(state.ladder, ladder)
    np.testing.assert_array_equal(state.portfolio.status, status)
    np.testing.assert_array_equal(state.staff, [[5, 2, 1]] * 3)
    np.testing.assert_array_equal(state.lgps_members, state.staff if council else 0)
    np.testing.assert_allclose(state.flows.costs["provider_exit"], 123_456.78)
    assert (state.reserves == 0).all()
    assert (state.one_off_gbp == params.contract.transition_cost_gbp).all()
    g = params.contract.contract_grant
    assert (state.grants.end[:, g] == 60 + params.contract.successor_term_months).all()
    assert state.contract.moved.all() and not state.contract.pending.any()
    assert (state.flows.service_moves == 1).all()


@pytest.mark.parametrize("name", MOVING)
def test_nobody_transfers_with_a_tupe_share_of_zero(las: LAPopulation, name: str) -> None:
    state, params, streams = _moving_state(las, name, "contract.tupe_transfer_share=0.0")
    move_service(state, params, streams.at(60), 60)
    assert state.staff.sum() == 0 and state.flows.leavers.sum() == 3 * 8


@pytest.mark.parametrize("name", MOVING)
def test_a_retender_won_moves_nothing(las: LAPopulation, name: str) -> None:
    """The incumbent renewed (its term's end moved on): the move finds nothing to do."""
    state, params, streams = _moving_state(las, name)
    state.grants.end[:, params.contract.contract_grant] = 120
    move_service(state, params, streams.at(60), 60)
    assert (state.host == 0).all() and not state.contract.moved.any()
    assert state.flows.costs["provider_exit"].sum() == 0


@pytest.mark.parametrize("name", MOVING)
def test_a_term_not_renewed_continues_under_the_successor(las: LAPopulation, name: str) -> None:
    """Whole runs where the re-tender is (almost) always lost: every replicate operating at
    the end of the term moves in that month and is still operating and paid after it (its
    staff in the LGPS under a council), where the same term under commissioned_term.toml (a
    lost re-tender closes) ends its income."""
    lose = ("finance.grants[0].renewal_prob=1e-9",)
    moved = run(shipped(name, *lose), las, 20)
    m = moved.metrics
    alive = m["operating"][:, 59] == 1
    np.testing.assert_array_equal(m["service_moves"][:, 60], alive)
    assert (m["operating"][alive, 61] == 1).all()
    assert (m["income_grant_gbp"][alive, 61] > 0).all()
    council = name == "commissioned_term_bring_back"
    np.testing.assert_array_equal(m["lgps_members"][alive, 61],
                                  m["staff_fte"][alive, 61] if council else 0)
    closing = run(shipped("commissioned_term", *lose), las, 20)
    assert (closing.metrics["income_grant_gbp"][:, 61] == 0).all()


def test_the_close_rule_keeps_the_old_behaviour(las: LAPopulation) -> None:
    """on_loss = "close": nothing moves, and the income ends as in commissioned_term.toml."""
    lose = "finance.grants[0].renewal_prob=1e-9"
    result = run(shipped("private_partner", lose, "contract.on_loss=\"close\""), las, 20)
    assert result.metrics["service_moves"].sum() == 0
    assert (result.metrics["income_grant_gbp"][:, 61] == 0).all()


def test_a_contract_with_no_price_closes(las: LAPopulation) -> None:
    """Extreme: a contract worth £0 and no reserves: the supplier is insolvent, nothing is
    viable at year 5, and no corporation tax or distribution is ever paid."""
    result = run(shipped("private_partner", "finance.grants[0].amount_gbp_per_year=0",
                         "finance.opening_reserves_gbp=0"), las, 20)
    m = result.metrics
    assert result.kpis["viable_prob_y5"].mean() == 0.0
    assert m["operating"][:, -1].sum() == 0
    assert m["costs_corporation_tax_gbp"].sum() == 0 and m["costs_distribution_gbp"].sum() == 0


@pytest.mark.parametrize(("overrides", "message"), [
    (("contract.enabled=true", "finance.grants[0].renewal_prob=0"), "renewal_prob must be above"),
    (("contract.enabled=true", "finance.grants[0].renewal_prob=0.5"), "contract.successor"),
    (("contract.enabled=true", "contract.contract_grant=3",
      "finance.grants[0].renewal_prob=0.5"), "contract_grant must name"),
])
def test_bad_contracts_are_refused(overrides: tuple[str, ...], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        shipped("base", *overrides)


def test_the_successor_is_a_host_of_its_own(las: LAPopulation) -> None:
    """The successor's hosting is appended after the scheduled hosts (none here)."""
    params = compile_parameters(shipped("private_partner"), las, 2)
    assert params.contract.successor_host == 1 == len(params.hosting.hosts) - 1
    plain = compile_parameters(scenario_from_dict({}, "<test>"), las, 2)
    assert plain.contract.successor_host == -1 and len(plain.hosting.hosts) == 1


# --------------------------------------------------------------------------- hub and spoke


def _hub(las: LAPopulation, replicates: int = 3, *overrides: str):  # type: ignore[no-untyped-def]
    """The hub and spoke scenario at month 0: 6 LA, 2 outsourced and 4 volunteer spokes."""
    params = compile_parameters(shipped("hub_and_spoke", *overrides), las, replicates)
    streams = RandomStreams(1, partition(replicates))
    return initial_state(params, las, streams), params, streams


@pytest.mark.parametrize(("productive", "expected"), [
    (0.0, 0.0),                        # no hub staff: nothing is coordinated, nothing delivered
    (0.6, 5.2 * 0.5 - 0.6),            # half the coordination the 12 spokes need (1.2 FTE)
    (1.2, 5.2 - 1.2), (4.0, 5.2 - 1.2)])  # enough: all 5.2 FTE, less 1.2 FTE coordinating
def test_spokes_deliver_as_far_as_the_hub_coordinates_them(las: LAPopulation, productive: float,
                                                           expected: float) -> None:
    """net = S × min(1, P ÷ need) − min(need, P), S = 6×0.4 + 2×1 + 4×0.2 = 5.2 FTE,
    need = 0.1 × 12 = 1.2 FTE."""
    state, params, _ = _hub(las)
    net = spoke_net_fte(state, params, np.full(3, productive))
    np.testing.assert_allclose(net, expected, rtol=0, atol=1e-12)


def test_what_the_spokes_cost_the_hub(las: LAPopulation) -> None:
    """2 outsourced FTE at £75,000 a year and 12 spokes at £2,000: £14,500 a month, the time
    rising with pay and the coordination with prices."""
    state, params, _ = _hub(las)
    np.testing.assert_allclose(spoke_cost_gbp_per_month(state, params), 14_500.0)
    state.pay_index, state.cpi_index = 1.1, 1.05
    np.testing.assert_allclose(spoke_cost_gbp_per_month(state, params),
                               12_500.0 * 1.1 + 2_000.0 * 1.05)


def test_spokes_withdraw_at_their_rate_and_are_replaced(las: LAPopulation) -> None:
    """One month start on 4,000 replicates: each spoke withdraws with chance 1 − e^{−rate/12}
    (mean within 4 standard errors) and, with replacement_months 0, every gap is refilled."""
    R = 4000
    state, params, streams = _hub(las, R, "spokes.la.exit_rate_per_year=12",
                                  "spokes.replacement_months=1e-9")
    advance_spokes(state, params, streams.at(1), 1)
    p = 1 - np.exp(-1.0)
    n = 6 + 2 + 4
    left = state.flows.spoke_exits
    assert abs(left.mean() - (6 * p + 2 * (1 - np.exp(-0.1 / 12)) + 4 * (1 - np.exp(-0.5 / 12)))
               ) < 4 * np.sqrt(n * p * (1 - p) / R)
    np.testing.assert_array_equal(state.spokes.active, [[6, 2, 4]] * R)  # all replaced at once
    np.testing.assert_array_equal(state.flows.spoke_joins, left)


def test_a_cutting_hub_ends_the_spokes_it_pays_for(las: LAPopulation) -> None:
    """Under a host cut the outsourced spokes end; the LA and volunteer spokes stay; a closed
    Centre has none."""
    state, params, streams = _hub(las, 3, "spokes.la.exit_rate_per_year=0",
                                  "spokes.outsourced.exit_rate_per_year=0",
                                  "spokes.volunteer.exit_rate_per_year=0")
    state.host_cut[0] = True
    state.operating[2] = False
    advance_spokes(state, params, streams.at(1), 1)
    np.testing.assert_array_equal(state.spokes.active, [[6, 0, 4], [6, 2, 4], [0, 0, 0]])


def test_a_hub_with_no_spokes_is_its_host_alone(las: LAPopulation) -> None:
    """Spokes enabled with none of any kind: la_hosted to the bit (common random numbers)."""
    none = ("spokes.enabled=true", "spokes.la.count=0", "spokes.outsourced.count=0",
            "spokes.volunteer.count=0")
    hub = run(shipped("la_hosted", *none), las, 20)
    alone = run(shipped("la_hosted"), las, 20)
    for name in ("reserves_gbp", "members", "staff_fte", "live_services", "costs_total_gbp"):
        np.testing.assert_array_equal(hub.metrics[name], alone.metrics[name], err_msg=name)
    assert hub.metrics["spokes_active"].sum() == 0


def test_spokes_add_delivery(las: LAPopulation) -> None:
    """The same hub with and without its spokes (common random numbers): more services live
    by the end of the grant with them."""
    with_spokes = run(shipped("hub_and_spoke"), las, 40)
    without = run(shipped("hub_and_spoke", "spokes.enabled=false"), las, 40)
    assert (with_spokes.metrics["live_services"][:, 35].mean()
            > without.metrics["live_services"][:, 35].mean() + 1)
    assert without.metrics["costs_spokes_gbp"].sum() == 0
