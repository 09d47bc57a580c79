"""Adaptive policies (sim/model/policies.py, docs/model.md §12): each rule acts exactly where and
when its condition has held for its hold time, computed here independently from the recorded
metrics; its action does what it says; the condition language refuses what it does not know."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.data import load_la_population
from sim.experiments import run_ensemble
from sim.model.policies import evaluate_condition
from sim.scenario import load_scenario
from sim.scenario.policies import POLICY_VARIABLES, parse_condition

ROOT = Path(__file__).resolve().parents[2]
LAS = load_la_population()


def _run(scenario: str, policies: str, extra: tuple[str, ...] = (), reps: int = 40):
    overrides = ["time.horizon_months=60", f"policies={policies}", *extra]
    result = run_ensemble(load_scenario(ROOT / "scenarios" / scenario, overrides), LAS, reps,
                          seed=11)
    return result.metrics, result.kpis


def _first_held(values: np.ndarray, holds, hold: int, operating: np.ndarray) -> np.ndarray:
    """First month m ≥ 1 whose previous `hold` recorded months (m − hold … m − 1) all meet the
    condition while open; NaN if none. values, operating: [R, T]."""
    R, T = values.shape
    out = np.full(R, np.nan)
    for r in range(R):
        run = 0
        for m in range(1, T):
            run = run + 1 if (holds(values[r, m - 1]) and operating[r, m - 1]) else 0
            if run >= hold and operating[r, m - 1]:
                out[r] = m
                break
    return out


def test_every_condition_name_is_a_recorded_metric() -> None:
    from sim.model.record import METRICS

    assert set(POLICY_VARIABLES) - {"month", "calendar_month"} <= set(METRICS)


def test_the_condition_language_parses_and_refuses() -> None:
    assert parse_condition("members >= 20") == ("cmp", ">=", ("var", "members"), ("num", 20.0))
    tree = parse_condition("not (viable == 1) or reserves_gbp < -1e5 and month > 3")
    assert tree[0] == "or" and tree[2][0] == "and"  # 'and' binds tighter than 'or'
    for bad in ("", "members >", "members = 3", "__import__('os') > 1", "members >= 20 20",
                "(members > 1", "nope > 1", "members > inf", "x" * 600):
        with pytest.raises(ValueError):
            parse_condition(bad)


def test_conditions_evaluate_elementwise_with_nan_false() -> None:
    values = {"members": np.array([10.0, 30.0, 50.0]),
              "months_of_cover": np.array([np.nan, 3.0, 20.0])}
    tree = parse_condition("members > 20 and not months_of_cover >= 12")
    np.testing.assert_array_equal(evaluate_condition(tree, values.__getitem__),
                                  [False, True, False])
    tree = parse_condition("months_of_cover < 12 or members < 20")
    np.testing.assert_array_equal(evaluate_condition(tree, values.__getitem__),
                                  [True, True, False])


def test_a_rule_acts_exactly_where_and_when_its_condition_has_held() -> None:
    threshold = 150_000.0
    metrics, kpis = _run("independent_company.toml",
                         f'[{{name="freeze", when="reserves_gbp < {threshold}", hold_months=3, '
                         f'action="freeze_hiring"}}]')
    expected = _first_held(metrics["reserves_gbp"], lambda v: v < threshold, 3,
                           metrics["operating"] > 0)
    np.testing.assert_array_equal(kpis["policy_first_action_month"], expected)
    # the replicates differ: the rule follows each one's own state
    assert np.isnan(expected).any() or len(set(expected.tolist())) > 1
    # once (the default): a single action per replicate
    np.testing.assert_array_equal(metrics["policy_actions"].sum(axis=1),
                                  np.isfinite(expected).astype(float))
    # frozen from then on: nobody is hired after the rule acted
    for r in np.flatnonzero(np.isfinite(expected)):
        start = int(expected[r])
        open_after = metrics["operating"][r, start:] > 0
        assert metrics["hiring_frozen"][r, start:][open_after].all()
        assert metrics["hires"][r, int(expected[r]) + 1:].sum() == 0


def test_a_repeating_rule_waits_out_its_cooldown() -> None:
    metrics, _ = _run("independent_company.toml",
                      '[{name="tick", when="month >= 2", action="freeze_hiring", once=false, '
                      'cooldown_months=7}]', reps=5)
    acted = np.flatnonzero(metrics["policy_actions"][0] > 0)
    open_months = int((metrics["operating"][0] > 0).sum())
    np.testing.assert_array_equal(acted, np.arange(2, min(60, open_months + 1), 7)[:acted.size])
    assert acted.size >= 3


def test_a_price_rule_scales_the_price_factor_where_it_acts_and_nowhere_else() -> None:
    metrics, kpis = _run("base.toml",
                         '[{name="up", when="month == 30", action="change_price", amount=0.25}]',
                         ("hosting.reserves_rule=none",))
    factor, operating = metrics["price_factor"], metrics["operating"] > 0
    acted = operating[:, 29]
    np.testing.assert_array_equal(kpis["policy_first_action_month"][acted], 30.0)
    np.testing.assert_allclose(factor[acted, 30], factor[acted, 29] * 1.25, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(factor[~acted, 30], factor[~acted, 29])


def test_a_price_rule_stops_at_ten_times_the_list_price() -> None:
    metrics, _ = _run("base.toml",
                      '[{name="up", when="month >= 1", action="change_price", amount=5.0, '
                      'once=false, cooldown_months=1}]', ("hosting.reserves_rule=none",), reps=5)
    assert metrics["price_factor"].max() == 10.0


def test_a_bad_rule_is_one_line_with_exit_2() -> None:
    for policies, words in (
            ('[{name="x", when="members >> 3", action="freeze_hiring"}]', "policies[0].when"),
            ('[{name="x", when="members > 3", action="sell_everything"}]', "policies[0].action"),
            ('[{name="x", when="members > 3", action="change_price"}]', "non-zero amount")):
        outcome = CliRunner().invoke(main, ["validate", str(ROOT / "scenarios" / "base.toml"),
                                            "--set", f"policies={policies}"])
        assert outcome.exit_code == 2, outcome.output
        lines = [line for line in outcome.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "--set" in lines[0] and words in lines[0], lines


def test_a_bridging_grant_pays_its_rate_for_its_months_after_the_delay() -> None:
    """With no other grant, grant income is exactly the bridge: £600k a year (£50k a month) from
    month 3 (applied at 2, one month's delay) for 12 months, in every run still open, and the
    money identity holds."""
    metrics, kpis = _run("government_hosted.toml",
                         '[{name="bridge", when="month == 2", action="seek_grant", '
                         'grant_gbp_per_year=600000, grant_months=12, success_prob=1.0, '
                         'delay_months=1}]', ("finance.grants=[]",), reps=30)
    operating = metrics["operating"] > 0
    expected = np.zeros_like(metrics["income_grant_gbp"])
    expected[:, 3:15] = 50_000.0
    expected *= operating
    expected[~operating[:, 1]] = 0.0  # closed before applying: never applied
    np.testing.assert_array_equal(metrics["income_grant_gbp"], expected)
    assert (expected > 0).any()
    opening = load_scenario(ROOT / "scenarios" / "government_hosted.toml").finance
    balance = (opening.opening_reserves_gbp + np.cumsum(metrics["income_total_gbp"], axis=1)
               - np.cumsum(metrics["costs_total_gbp"], axis=1))
    np.testing.assert_allclose(metrics["reserves_gbp"], balance, rtol=0, atol=0.005)


def test_a_bridging_application_succeeds_at_its_chance() -> None:
    metrics, _ = _run("government_hosted.toml",
                      '[{name="bridge", when="month == 6", action="seek_grant", '
                      'grant_gbp_per_year=120000, grant_months=6, success_prob=0.3, '
                      'delay_months=0}]', ("finance.grants=[]",), reps=400)
    applied = metrics["operating"][:, 5] > 0
    won = metrics["income_grant_gbp"][:, 6] > 0
    assert not (won & ~applied).any()
    share, n = won[applied].mean(), applied.sum()
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n), (share, n)
