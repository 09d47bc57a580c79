"""The engagement ladder beyond Bass: peers, approval gate, champions, renewal, reorganisation.

Each test checks a mechanism against a value known without running the model (a formula, a
limit, a count) rather than against what the model printed before.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.model import Parameters
from sim.model.codes import Ladder, is_member
from sim.model.reorganisation import merge_las
from sim.model.uptake import (
    approval_gate,
    ladder_rates,
    peer_adopter_share,
    renewal_probability,
    step_uptake,
)
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.scenario.schema import Hosting

UNAWARE, AWARE, EVALUATING, MEMBER = Ladder.UNAWARE, Ladder.AWARE, Ladder.EVALUATING, Ladder.MEMBER
CONTRIBUTOR, CHAMPION, LAPSED, MERGED = (Ladder.CONTRIBUTOR, Ladder.CHAMPION, Ladder.LAPSED,
                                         Ladder.MERGED)
Compiled = Callable[..., Parameters]

SEED = 777


def everyone_joins_at_once(make_scenario: Callable[..., Scenario], **uptake: object) -> Scenario:
    """Every LA aware at month 0 and a member within the month, never lapsing at renewal."""
    settings = {
        "initial_aware_share": 1.0, "evaluation_start_months": 0.0, "free_approval_months": 0.0,
        "free_approval_pass_prob": 1.0, "renewal_prob": 1.0, "renewal_reputation_sensitivity": 0.0,
        "renewal_budget_pressure_sensitivity": 0.0, "contribution_rate_per_year": 0.0,
        "lapsed_return_months": 0.0,
    }
    settings.update(uptake)
    return make_scenario(
        time={"horizon_months": 36},
        uptake=settings,
        finance={"subscription_gbp_per_year": 0.0, "opening_reserves_gbp": 1e9},
    )


# --------------------------------------------------------------------------- peers


def test_peer_share_is_one_when_every_la_has_adopted(las: LAPopulation, compiled: Compiled) -> None:
    """With every LA a member the weighted peer share is exactly 1 for every LA."""
    ladder = np.full((3, las.count), MEMBER, dtype=np.int8)
    uptake = compiled(uptake={"peer_weight_region": 0.4, "peer_weight_neighbours": 0.3}).uptake
    share = peer_adopter_share(ladder, las, uptake)
    np.testing.assert_allclose(share, 1.0, rtol=1e-6)


def test_peer_share_of_a_single_adopter_reaches_region_and_neighbours(
    las: LAPopulation, compiled: Compiled
) -> None:
    """One member LA adds w_r/region size to its region, w_n/10 to LAs that count it as a
    statistical neighbour and (1 − w_r − w_n)/N to everyone."""
    w_r, w_n = 0.4, 0.3
    adopter = 17
    ladder = np.full((1, las.count), UNAWARE, dtype=np.int8)
    ladder[0, adopter] = MEMBER
    uptake = compiled(uptake={"peer_weight_region": w_r, "peer_weight_neighbours": w_n}).uptake
    share = peer_adopter_share(ladder, las, uptake)[0]
    expected = np.full(las.count, (1 - w_r - w_n) / las.count)
    same_region = las.region == las.region[adopter]
    expected[same_region] += w_r / same_region.sum()
    expected += w_n / 10 * (las.statistical_neighbours == adopter).sum(axis=1)
    np.testing.assert_allclose(share, expected, rtol=1e-5)


def test_a_champion_counts_as_several_adopters(las: LAPopulation, compiled: Compiled) -> None:
    """A champion LA adds champion_peer_weight times what an ordinary member adds."""
    uptake = compiled(uptake={"champion_peer_weight": 3}).uptake
    member, champion = (np.full((1, las.count), UNAWARE, dtype=np.int8) for _ in range(2))
    member[0, 40], champion[0, 40] = MEMBER, CHAMPION
    nobody = peer_adopter_share(np.full((1, las.count), UNAWARE, dtype=np.int8), las, uptake)
    np.testing.assert_allclose(peer_adopter_share(champion, las, uptake) - nobody,
                               3 * (peer_adopter_share(member, las, uptake) - nobody), rtol=1e-5)


def test_peer_weights_above_one_are_a_scenario_error(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[uptake]\npeer_weight_region = 0.7\npeer_weight_neighbours = 0.5\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert "peer_weight" in str(error.value) and "at most 1" in str(error.value)


# --------------------------------------------------------------------------- approval gate


def test_a_free_offer_takes_the_officer_route(compiled: Compiled) -> None:
    """Price zero: the free route's delay and pass rate, whatever the host's priced route."""
    params = compiled(uptake={"free_approval_months": 1.0, "free_approval_pass_prob": 0.9},
                      hosting={"priced_approval_months": 12.0, "priced_approval_pass_prob": 0.3})
    months, passing = approval_gate(params.uptake, params.hosting.hosts[0], np.zeros((1, 1)))
    assert (float(months[0, 0]), float(passing[0, 0])) == (1.0, 0.9)


def test_priced_pass_rate_falls_with_price_by_the_elasticity(compiled: Compiled) -> None:
    """Above the threshold the pass rate is host rate × (threshold ÷ price)^e."""
    params = compiled(2, uptake={"approval_threshold_gbp": 5000.0,
                                 "approval_price_elasticity": 0.5},
                      hosting={"priced_approval_months": 4.0, "priced_approval_pass_prob": 0.8})
    prices = np.array([[20_000.0, 10_000.0], [20_000.0, 10_000.0]])
    months, passing = approval_gate(params.uptake, params.hosting.hosts[0], prices)
    assert (months == 4.0).all()
    assert passing[0, 0] == pytest.approx(0.8 * 0.5)
    assert passing[0, 1] > passing[0, 0]


def test_price_zero_means_no_approval_delay_from_price(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """A free offer with an immediate officer route makes every aware LA a member at once,
    however slow the host's priced route (champions never leave, so nobody lapses)."""
    scenario = everyone_joins_at_once(make_scenario, champion_turnover_multiplier=0.0)
    scenario = scenario.model_copy(update={"hosting": Hosting(priced_approval_months=60.0)})
    result = run_ensemble(scenario, las, 20, SEED)
    assert (result.metrics["members"][:, 0] == las.count).all()


# --------------------------------------------------------------------------- champions


def test_no_champion_turnover_means_no_champion_losses(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    scenario = everyone_joins_at_once(make_scenario, champion_turnover_multiplier=0.0)
    result = run_ensemble(scenario, las, 20, SEED)
    assert result.metrics["champion_losses"].sum() == 0
    assert result.metrics["orphan_lapses"].sum() == 0


def test_champion_losses_follow_each_las_social_worker_turnover(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """All 153 LAs are members with one champion each (no contributors; an orphaned LA always
    finds a new champion), so the expected losses per month are Σ_i (1 − exp(−t_i / 12))."""
    scenario = everyone_joins_at_once(make_scenario, orphan_lapse_prob=0.0)
    replicates = 400
    result = run_ensemble(scenario, las, replicates, SEED)
    assert (result.metrics["members"][:, 1:] == las.count).all()
    losses = result.metrics["champion_losses"][:, 1:]
    expected = (1 - np.exp(-las.sw_turnover_rate_per_year / 12)).sum()
    standard_error = np.sqrt(expected / losses.size)  # Poisson-like per month
    assert abs(losses.mean() - expected) < 4 * standard_error


def test_orphaned_las_lapse_with_the_given_probability(
    las: LAPopulation, make_scenario: Callable[..., Scenario]
) -> None:
    """With orphan_lapse_prob = 1 every champion loss of a one-champion member is a lapse."""
    scenario = everyone_joins_at_once(make_scenario, orphan_lapse_prob=1.0,
                                      lapsed_return_months=240.0)
    result = run_ensemble(scenario, las, 30, SEED)
    m = result.metrics
    np.testing.assert_array_equal(m["orphan_lapses"], m["champion_losses"])
    assert result.metrics["orphan_lapses"].sum() > 0


def test_every_member_has_one_or_two_champions(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Members have one champion, contributors and champions up to two, others none."""
    result = run_ensemble(shipped_scenario("la_hosted"), las, 50, SEED)
    m = result.metrics
    assert (m["champions"] >= m["members"]).all()
    engaged = m["las_contributor"] + m["las_champion"]
    assert (m["champions"] <= m["las_member"] + 2 * engaged).all()
    assert m["las_contributor"].max() > 0 and m["las_champion"].max() > 0


# --------------------------------------------------------------------------- renewal


def prices(las: LAPopulation, price: float, replicates: int = 1) -> np.ndarray:
    return np.full((replicates, las.count), price)


def test_renewal_probability_limits(las: LAPopulation, compiled: Compiled) -> None:
    """Free offer: no value effect. Priced with no service value: goodwill alone, 1 − e^{−G/p}
    at full reputation and nothing at reputation 0. Huge value: full rate. A price far above
    value and goodwill: almost nobody (the floor falls with price)."""
    uptake = compiled(uptake={"renewal_prob": 0.9, "renewal_reputation_sensitivity": 0.0,
                              "renewal_budget_pressure_sensitivity": 0.0,
                              "renewal_goodwill_gbp_per_year": 2000.0}).uptake
    full = np.ones(1)
    free = renewal_probability(uptake, las, full, np.zeros(1), prices(las, 0.0))
    no_value = renewal_probability(uptake, las, full, np.zeros(1), prices(las, 5000.0))
    no_standing = renewal_probability(uptake, las, np.zeros(1), np.zeros(1), prices(las, 5000.0))
    huge = renewal_probability(uptake, las, full, np.full(1, 1e9), prices(las, 5000.0))
    dear = renewal_probability(uptake, las, full, np.full(1, 30_000.0), prices(las, 1e6))
    np.testing.assert_allclose(free, 0.9)
    np.testing.assert_allclose(no_value, 0.9 * (1 - np.exp(-2000.0 / 5000.0)))
    np.testing.assert_array_equal(no_standing, 0.0)
    np.testing.assert_allclose(huge, 0.9)
    assert dear.max() < 0.9 * 0.05  # (30,000 × 1.3 + 2,000) ÷ 1,000,000 → under 4.1%


def test_renewal_falls_with_budget_pressure_and_poor_reputation(
    las: LAPopulation, compiled: Compiled
) -> None:
    uptake = compiled(2, uptake={"renewal_prob": 1.0, "renewal_reputation_sensitivity": 0.5,
                                 "renewal_budget_pressure_sensitivity": 0.2}).uptake
    prob = renewal_probability(uptake, las, np.array([1.0, 0.5]), np.zeros(2), prices(las, 0, 2))
    np.testing.assert_allclose(prob[0], 1 - 0.2 * las.budget_pressure)
    np.testing.assert_allclose(prob[1], 0.75 * (1 - 0.2 * las.budget_pressure))


def test_low_rated_las_get_more_value(las: LAPopulation, compiled: Compiled) -> None:
    """At the same price, a low-rated LA (more value to gain) renews at least as often."""
    uptake = compiled(uptake={"low_rated_value_multiplier": 2.0,
                              "renewal_budget_pressure_sensitivity": 0.0}).uptake
    prob = renewal_probability(uptake, las, np.ones(1), np.full(1, 3000.0),
                               prices(las, 6000.0))[0]
    assert (prob[las.low_rated] > prob[~las.low_rated].max()).all()


def test_renewal_probability_at_some_las_is_the_full_arrays_entries(
    las: LAPopulation, compiled: Compiled
) -> None:
    """``at=(rows, cols)`` (what renew asks for its members) gives, to the bit, those entries
    of the full array: the subset is a shortcut, not another formula."""
    uptake = compiled(3, uptake={"renewal_reputation_sensitivity": 0.4,
                                 "renewal_budget_pressure_sensitivity": 0.3,
                                 "low_rated_value_multiplier": 1.5}).uptake
    rng = np.random.default_rng(4)
    reputation, value = np.array([1.0, 0.6, 0.2]), np.array([0.0, 2500.0, 9000.0])
    price = rng.choice([0.0, 3000.0, 7000.0], size=(3, las.count))
    full = renewal_probability(uptake, las, reputation, value, price)
    rows, cols = np.nonzero(rng.random((3, las.count)) < 0.3)
    some = renewal_probability(uptake, las, reputation, value, price, at=(rows, cols))
    np.testing.assert_array_equal(some, full[rows, cols])


# --------------------------------------------------------------------------- reorganisation


def test_merge_keeps_the_most_engaged_state(las: LAPopulation) -> None:
    groups = [np.array([0, 1, 2])]
    ladder = np.array([[UNAWARE, CONTRIBUTOR, AWARE], [LAPSED, EVALUATING, UNAWARE]], dtype=np.int8)
    full = np.zeros((2, las.count), dtype=np.int8)
    full[:, :3] = ladder
    champions = np.zeros_like(full)
    champions[0, 1] = 2
    merge_las(full, champions, groups)
    assert list(full[0, :3]) == [CONTRIBUTOR, MERGED, MERGED]
    assert list(full[1, :3]) == [EVALUATING, MERGED, MERGED]
    assert champions[0, 0] == 2 and champions[0, 1:3].sum() == 0 and champions[1].sum() == 0


def test_reorganisation_reduces_the_la_count_and_conserves_las(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    codes = [int(c) for c in las.codes[:6]]
    merges = f"[[{codes[0]}, {codes[1]}, {codes[2]}], [{codes[3]}, {codes[4]}]]"
    scenario = shipped_scenario(
        "la_hosted", f"events.reorganisations=[{{month = 24, merges = {merges}}}]")
    m = run_ensemble(scenario, las, 40, SEED).metrics
    assert (m["las_merged"][:, :24] == 0).all()
    assert (m["las_merged"][:, 24:] == 3).all()
    states = [k for k in m if k.startswith("las_") and k != "las_reached"]
    np.testing.assert_array_equal(sum(m[k] for k in states), las.count)
    assert (m["members"] <= las.count - m["las_merged"]).all()


def test_reorganisation_naming_an_unknown_la_is_a_scenario_error(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[[events.reorganisations]]\nmonth = 12\nmerges = [[301, 999]]\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert error.value.path == "events.reorganisations[0].merges[0]"
    assert "999" in str(error.value)


def test_state_codes_partition_the_ladder() -> None:
    """is_member is exactly member, contributor and champion."""
    codes = np.arange(len(Ladder), dtype=np.int8)
    assert list(codes[is_member(codes)]) == [MEMBER, CONTRIBUTOR, CHAMPION]


class _FixedUniforms:
    """Stands in for a batch generator: hands out the given uniforms."""

    def __init__(self, u: np.ndarray):
        self.u = u

    def random(self, *tail: int) -> np.ndarray:
        return self.u.copy()


@pytest.mark.parametrize("champion_weight", [1, 2])
def test_the_compiled_step_uses_the_bass_hazard_of_the_peer_share(
    las: LAPopulation, compiled: Compiled, champion_weight: int
) -> None:
    """An unaware LA becomes aware exactly when its uniform is below 1 − exp(−(p + q·s)·dt),
    with s from peer_adopter_share on the state at the start of the sub-step: uniforms a
    hair below that probability fire and a hair above do not, for every unaware LA."""
    rng = np.random.default_rng(5)
    R = 40
    ladder = rng.choice([UNAWARE, AWARE, MEMBER, CONTRIBUTOR, CHAMPION],
                        size=(R, las.count)).astype(np.int8)
    champions = np.where(ladder == MEMBER, 1, np.where(ladder >= CONTRIBUTOR, 2, 0)).astype(np.int8)
    params = compiled(R, uptake={"champion_peer_weight": champion_weight, "p_per_year": 0.3,
                                 "q_per_year": 0.9})
    uptake, dt = params.uptake, 0.5
    share = peer_adopter_share(ladder, las, uptake)
    prob = 1 - np.exp(-(0.3 / 12 + 0.9 / 12 * share) * dt)
    unaware = ladder == UNAWARE
    rates = ladder_rates(uptake, params.hosting.hosts[0], las, np.zeros((R, las.count)),
                         np.full(R, float(uptake.outreach_reference_fte)), np.ones(R), np.ones(R),
                         dt)
    for nudge, fires in ((1 - 1e-9, True), (1 + 1e-9, False)):
        after = ladder.copy()
        step_uptake(after, champions.copy(), las, rates, np.ones(R, dtype=bool),
                    _FixedUniforms(prob * nudge))  # type: ignore[arg-type]
        became_aware = unaware & (after != UNAWARE)
        assert (became_aware == unaware).all() if fires else not became_aware.any()


def test_members_by_region_and_by_ofsted_grade_add_up_to_members(
    las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    from sim.data import OFSTED_GRADES, REGION_NAMES, region_slug

    m = run_ensemble(shipped_scenario("la_hosted"), las, 20, SEED).metrics
    by_region = sum(m[f"members_region_{region_slug(r)}"] for r in REGION_NAMES)
    by_grade = sum(m[f"members_ofsted_{g.lower().replace(' ', '_')}"] for g in OFSTED_GRADES)
    np.testing.assert_array_equal(by_region, m["members"])
    np.testing.assert_array_equal(by_grade, m["members"])
