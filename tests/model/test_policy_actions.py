"""The actions of adaptive policies beyond prices, hiring and grants (sim/model/policies.py,
docs/model.md §12): on small hand-made states each acts exactly as stated, in exactly the
replicates where its condition has held for its hold time; on model runs money is conserved
with every action, a rule that never fires changes nothing, a team cut to nothing ends in a
Centre that delivers nothing; a bad rule is one line with exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.data import LAPopulation, load_la_population
from sim.engine import RandomStreams, partition
from sim.experiments import run_ensemble
from sim.model import compile_parameters
from sim.model.codes import Role, ServiceStatus
from sim.model.policies import apply_policies
from sim.model.record import METRICS
from sim.model.state import BatchState, initial_state
from sim.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[2]
LAS = load_la_population()
R = 4
BELOW = np.array([[1.0, 1.0, 0.0, 1.0],   # month 0: r0, r1 and r3 below the threshold
                  [1.0, 0.0, 0.0, 1.0],   # month 1: r0 and r3
                  [0.0, 0.0, 0.0, 1.0]])  # month 2: r3 only
"""Whether each replicate's recorded reserves were below the threshold, month by month: with a
hold of two months a rule acts at month 2 in r0 and r3 (held at months 0 and 1), never in r1
(held one month) or r2."""
ACTS = np.array([True, False, False, True])
COMPANY = {"model": "independent_company", "lgps": False, "pension_rate": 0.05,
           "failure_rule": "insolvency", "deficit_tolerance_gbp": 0.0,
           "closure_deficit_gbp": 0.0}


def _state(las: LAPopulation, rule: dict[str, Any], **sections: Any
           ) -> tuple[BatchState, Any, RandomStreams]:
    """A month-0 state of R replicates whose one rule reads `reserves_gbp < 0` (hold 2), with a
    recorded history of reserves −1 where BELOW holds and +1 elsewhere."""
    policy = {"name": "rule", "when": "reserves_gbp < 0", "hold_months": 2, **rule}
    params = compile_parameters(scenario_from_dict({**sections, "policies": [policy]}, "<test>"),
                                las, R)
    streams = RandomStreams(3, partition(R))
    state = initial_state(params, las, streams)
    history = {name: np.zeros((12, R)) for name in METRICS}
    history["reserves_gbp"][:3] = np.where(BELOW, -1.0, 1.0)
    history["months_of_cover"][:] = 1.0
    state.history = history
    return state, params, streams


def _months(state: BatchState, params: Any, streams: RandomStreams, last: int) -> None:
    for month in range(1, last + 1):
        apply_policies(state, params, streams.at(month), month)


def _acted_at(state: BatchState, params: Any, streams: RandomStreams, month: int) -> np.ndarray:
    """Apply the rules up to ``month``; the replicates that acted at ``month``."""
    _months(state, params, streams, month - 1)
    assert state.policy.actions.sum() == 0  # nothing acts before the hold is met
    apply_policies(state, params, streams.at(month), month)
    return state.policy.acting > 0


def test_a_team_cut_deletes_vacancies_first_then_gives_notice() -> None:
    state, params, streams = _state(LAS, {"action": "cut_team", "amount": 3, "unit": "fte"})
    state.establishment[:] = [8, 3, 2]
    state.staff[:] = [6, 3, 2]
    acted = _acted_at(state, params, streams, 2)
    np.testing.assert_array_equal(acted, ACTS)
    # three posts: delivery's two vacancies, then one engagement post, whose holder gets notice
    np.testing.assert_array_equal(state.establishment[ACTS], [[6, 2, 2]] * 2)
    np.testing.assert_array_equal(state.establishment[~ACTS], [[8, 3, 2]] * 2)
    np.testing.assert_array_equal(state.notices.under_notice[ACTS], [[0, 1, 0]] * 2)
    assert state.notices.under_notice[~ACTS].sum() == 0
    np.testing.assert_array_equal(state.staff, [[6, 3, 2]] * R)  # they work their notice
    # the cut is the ceiling posts come back to
    np.testing.assert_array_equal(state.policy.cap[ACTS], [[6, 2, 2]] * 2)


def test_a_share_of_one_cuts_every_post() -> None:
    state, params, streams = _state(LAS, {"action": "cut_team", "amount": 1.0})
    state.establishment[:] = [8, 3, 2]
    state.staff[:] = [5, 2, 2]
    _acted_at(state, params, streams, 2)
    assert (state.establishment[ACTS] == 0).all()
    np.testing.assert_array_equal(state.notices.under_notice[ACTS], [[5, 2, 2]] * 2)


def test_team_growth_adds_posts_in_the_teams_proportions() -> None:
    state, params, streams = _state(LAS, {"action": "grow_team", "amount": 4, "unit": "fte"})
    state.establishment[:] = [8, 3, 2]  # the default team's proportions (8:3:2)
    staff = state.staff.copy()
    _acted_at(state, params, streams, 2)
    np.testing.assert_array_equal(state.establishment.sum(axis=1), np.where(ACTS, 17, 13))
    # 17 posts at 8:3:2 is 10.5 : 3.9 : 2.6, so two delivery, one engagement, one leadership
    np.testing.assert_array_equal(state.establishment[ACTS], [[10, 4, 3]] * 2)
    np.testing.assert_array_equal(state.staff, staff)  # new posts are vacancies to fill


def _live(state: BatchState, count: int) -> None:
    state.portfolio.status[:, :count] = ServiceStatus.LIVE
    state.portfolio.debt[:, :count] = 0.25


def test_pausing_takes_the_last_live_services_out_and_resuming_brings_them_back() -> None:
    state, params, streams = _state(LAS, {"action": "pause_services", "amount": 2})
    _live(state, 4)
    _acted_at(state, params, streams, 2)
    status = state.portfolio.status
    assert (status[ACTS, 2:4] == ServiceStatus.PAUSED).all()
    assert (status[ACTS, :2] == ServiceStatus.LIVE).all()
    assert (status[~ACTS, :4] == ServiceStatus.LIVE).all()
    np.testing.assert_array_equal(state.portfolio.debt[:, :4], 0.25)  # debt kept
    state, params, streams = _state(LAS, {"action": "resume_services", "amount": 1})
    _live(state, 4)
    state.portfolio.status[:, 2:4] = ServiceStatus.PAUSED
    _acted_at(state, params, streams, 2)
    assert (status := state.portfolio.status)[ACTS, 2].tolist() == [ServiceStatus.LIVE] * 2
    assert (status[ACTS, 3] == ServiceStatus.PAUSED).all()
    assert (status[~ACTS, 2:4] == ServiceStatus.PAUSED).all()


def test_retiring_clears_the_last_live_services_for_good_with_the_reputation_hit() -> None:
    state, params, streams = _state(LAS, {"action": "retire_services", "amount": 1})
    _live(state, 3)
    reputation = state.portfolio.reputation.copy()
    _acted_at(state, params, streams, 2)
    port = state.portfolio
    assert (port.status[ACTS, 2] == ServiceStatus.RETIRED).all()
    assert (port.debt[ACTS, 2] == 0).all() and (port.status[~ACTS, 2] == ServiceStatus.LIVE).all()
    hit = params.portfolio.reputation_hit_retirement
    np.testing.assert_allclose(port.reputation, np.clip(reputation - hit * ACTS, 0, 1))
    # never rebuilt: the launch decisions start only planned services
    from sim.model.portfolio import start_builds

    start_builds(port, params.portfolio, np.full(R, 50.0), np.ones(R, bool), 2)
    assert (port.status[ACTS, 2] == ServiceStatus.RETIRED).all()


def test_a_change_of_host_moves_exactly_the_replicates_where_it_acts() -> None:
    rule = {"action": "change_host",
            "host": {"hosting": COMPANY, "transition_cost_gbp": 80000.0,
                     "transition_months": 6, "productivity_loss": 0.2}}
    state, params, streams = _state(LAS, rule, hosting={"model": "la_hosted", "lgps": True})
    _acted_at(state, params, streams, 2)
    np.testing.assert_array_equal(state.host, np.where(ACTS, 1, 0))
    np.testing.assert_array_equal(state.hosting.lgps, ~ACTS)
    np.testing.assert_array_equal(state.one_off_gbp, np.where(ACTS, 80000.0, 0.0))
    np.testing.assert_array_equal(state.transition_end[ACTS], 8)
    np.testing.assert_array_equal(state.transition_loss, np.where(ACTS, 0.2, 0.0))


def test_a_surcharge_lasts_until_the_target_cover_and_a_discount_until_it_falls_to_it() -> None:
    for action, amount, factor in (("rebuild_reserves", 0.2, 1.2), ("draw_reserves", 0.3, 0.7)):
        state, params, streams = _state(LAS, {"action": action, "amount": amount,
                                              "target_months": 6.0, "once": False,
                                              "cooldown_months": 1},
                                        hosting={"reserves_rule": "none"})
        history = state.history
        assert history is not None
        # cover 1 month (rebuild: below target; set above it for the draw)
        history["months_of_cover"][:] = 1.0 if action == "rebuild_reserves" else 20.0
        _acted_at(state, params, streams, 2)
        np.testing.assert_allclose(state.price_factor, np.where(ACTS, factor, 1.0))
        # one at a time: no second surcharge while the first is in force
        apply_policies(state, params, streams.at(3), 3)
        np.testing.assert_allclose(state.price_factor, np.where(ACTS, factor, 1.0))
        # month 3 recorded the target met: lifted at month 4, in every replicate
        history["months_of_cover"][3] = 6.0
        history["reserves_gbp"][3] = 1.0
        apply_policies(state, params, streams.at(4), 4)
        np.testing.assert_allclose(state.price_factor, 1.0)
        assert (state.policy.reserves_rule == -1).all()


def test_a_surcharge_is_applied_again_on_top_of_a_new_years_price() -> None:
    state, params, streams = _state(LAS, {"action": "rebuild_reserves", "amount": 0.2,
                                          "target_months": 6.0})
    _acted_at(state, params, streams, 2)
    state.price_factor[:] = 0.9  # the host's reserves rule set this April's price
    apply_policies(state, params, streams.at(3), 3)
    np.testing.assert_allclose(state.price_factor, np.where(ACTS, 0.9 * 1.2, 0.9))


# --------------------------------------------------------------------------- model runs

ALL_ACTIONS = (
    '[{name="cut", when="month == 14", action="cut_team", amount=2, unit="fte"},'
    ' {name="grow", when="month == 20", action="grow_team", amount=0.25},'
    ' {name="pause", when="month == 26 and live_services >= 2", action="pause_services", '
    'amount=1},'
    ' {name="resume", when="month == 32", action="resume_services", amount=1},'
    ' {name="retire", when="month == 38", action="retire_services", amount=1},'
    ' {name="surcharge", when="months_of_cover < 3", action="rebuild_reserves", amount=0.2,'
    ' target_months=4, once=false, cooldown_months=3},'
    ' {name="discount", when="months_of_cover > 5", action="draw_reserves", amount=0.2,'
    ' target_months=4, once=false, cooldown_months=3},'
    ' {name="spin out", when="month >= 10 and members >= 40", hold_months=2,'
    ' action="change_host", host={hosting={model="independent_company", lgps=false,'
    ' pension_rate=0.05, failure_rule="insolvency", deficit_tolerance_gbp=0,'
    ' closure_deficit_gbp=0}, transition_cost_gbp=50000, staff_loss_share=0.2,'
    ' double_running_gbp_per_month=3000, productivity_loss=0.1}}]')


def _run(scenario: str, overrides: list[str], reps: int = 30) -> tuple[Any, Any]:
    loaded = load_scenario(ROOT / "scenarios" / scenario, ["time.horizon_months=60", *overrides])
    result = run_ensemble(loaded, LAS, reps, seed=5)
    return result.metrics, loaded


@pytest.fixture(scope="module")
def every_action() -> tuple[Any, Any]:
    return _run("la_hosted.toml", [f"policies={ALL_ACTIONS}"])


def test_money_is_conserved_with_every_action(every_action: tuple[Any, Any]) -> None:
    metrics, scenario = every_action
    balance = (scenario.finance.opening_reserves_gbp
               + np.cumsum(metrics["income_total_gbp"], axis=1)
               - np.cumsum(metrics["costs_total_gbp"], axis=1))
    np.testing.assert_allclose(metrics["reserves_gbp"], balance, rtol=0, atol=0.005)
    # every rule acted somewhere, so the identity was tested through each action
    acting = np.rint(metrics["policy_rules_acting"]).astype(np.int64)
    fired = [bool(((acting >> k) & 1).any()) for k in range(8)]
    assert all(fired), fired


def test_the_record_of_which_rules_acted_adds_up_to_the_count(
        every_action: tuple[Any, Any]) -> None:
    metrics, _ = every_action
    acting = np.rint(metrics["policy_rules_acting"]).astype(np.int64)
    bits = sum((acting >> k) & 1 for k in range(8))
    np.testing.assert_array_equal(bits, metrics["policy_actions"])


def test_a_rule_that_never_fires_changes_nothing() -> None:
    base, _ = _run("la_hosted.toml", [], reps=20)
    never = ('[{name="never", when="members > 1000", action="cut_team", amount=1.0},'
             ' {name="nor", when="reserves_gbp < -1e12", action="change_host",'
             ' host={hosting={model="independent_company", lgps=false}}}]')
    ruled, _ = _run("la_hosted.toml", [f"policies={never}"], reps=20)
    for name in METRICS:
        np.testing.assert_array_equal(ruled[name], base[name], err_msg=name)


def test_a_team_cut_to_nothing_ends_in_a_centre_that_delivers_nothing() -> None:
    metrics, loaded = _run("base.toml", ['policies=[{name="cut all", when="month == 12", '
                                         'action="cut_team", amount=1.0}]'], reps=20)
    notice = loaded.workforce.notice_months
    after = 12 + notice
    assert (metrics["staff_fte"][:, after:] == 0).all()
    assert (metrics["funded_posts"][:, 12:] == 0).all()
    # nobody maintains anything: every service is retired in time, value stops
    assert (metrics["live_services"][:, -1] == 0).all()
    assert (metrics["value_delivered_gbp"][:, -1] == 0).all()
    # the host closes a Centre that is not working, and the members lapse
    assert (metrics["operating"][:, -1] == 0).all()
    assert (metrics["members"][:, -1] == 0).all()


@pytest.mark.parametrize(("policy", "words"), [
    ('[{name="x", when="month > 3", action="cut_team", amount=1.5}]', "0 < amount ≤ 1"),
    ('[{name="x", when="month > 3", action="cut_team", amount=1.5, unit="fte"}]',
     "whole number of posts"),
    ('[{name="x", when="month > 3", action="pause_services"}]', "whole number of services"),
    ('[{name="x", when="month > 3", action="change_host"}]', "[policies.host]"),
    ('[{name="x", when="month > 3", action="change_host", once=false, '
     'host={hosting={model="independent_company"}}}]', "acts once"),
    ('[{name="x", when="month > 3", action="cut_team", amount=1, '
     'host={hosting={model="independent_company"}}}]', "only to change_host"),
    ('[{name="x", when="month > 3", action="change_price", amount=0.1, unit="fte"}]',
     "unit applies only"),
    ('[{name="x", when="month > 3", action="draw_reserves", amount=0.95}]', "discount"),
    ('[{name="x", when="month > 3", action="change_host", '
     'host={hosting={modle="independent_company"}}}]', "modle"),
])
def test_a_bad_action_is_one_line_with_exit_2(policy: str, words: str) -> None:
    outcome = CliRunner().invoke(main, ["validate", str(ROOT / "scenarios" / "base.toml"),
                                        "--set", f"policies={policy}"])
    assert outcome.exit_code == 2, outcome.output
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--set" in lines[0] and words in lines[0], lines
    assert "Traceback" not in outcome.output


def test_a_rule_change_of_host_cannot_join_a_dated_one() -> None:
    policy = ('[{name="x", when="month > 3", action="change_host", '
              'host={hosting={model="independent_company"}}}]')
    outcome = CliRunner().invoke(main, ["validate",
                                        str(ROOT / "scenarios" / "la_hosted_then_spinout.toml"),
                                        "--set", f"policies={policy}"])
    assert outcome.exit_code == 2
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "dated host_changes" in lines[0], lines


def test_a_rule_change_of_host_cannot_reach_a_legal_forms_host() -> None:
    policy = ('[{name="x", when="month > 3", action="change_host", '
              'host={hosting={model="independent_company", cic={enabled=true}}}}]')
    outcome = CliRunner().invoke(main, ["validate", str(ROOT / "scenarios" / "la_hosted.toml"),
                                        "--set", f"policies={policy}"])
    assert outcome.exit_code == 2
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "policies[0].host.hosting.cic.enabled" in lines[0], lines


def test_roles_are_cut_in_the_order_of_the_cash_shortage_redundancies() -> None:
    from sim.model.policies import CUT_ORDER

    assert CUT_ORDER == (Role.ENGAGEMENT, Role.DELIVERY, Role.LEADERSHIP)
