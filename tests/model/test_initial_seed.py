"""The exact seed ``uptake.initial_aware_count`` (issue #16): floor(n) LAs aware at month 0 plus
one more with probability n − floor(n), chosen at random.

Checked against what the rule itself implies: every replicate's count is floor(n) or
floor(n) + 1, the mean over replicates is n within its binomial tolerance, each LA is chosen
about equally often, and the same seed gives the same LAs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import RandomStreams
from sim.engine.rng import partition
from sim.experiments import run_ensemble
from sim.model.state import initial_awareness
from sim.scenario import Scenario, ScenarioError, load_scenario

CALIBRATION = Path(__file__).resolve().parents[2] / "calibration"
REPLICATES = 200


def seeded(n: float, las: int, seed: int = 11, replicates: int = REPLICATES) -> np.ndarray:
    streams = RandomStreams(seed, partition(replicates))
    return initial_awareness(np.zeros(replicates), n, replicates, las, streams)


@pytest.mark.parametrize("n", [0.0, 0.3, 3.917, 12.0, 76.5])
def test_count_is_within_one_la_of_n_and_its_mean_is_n(n: float, las: LAPopulation) -> None:
    aware = seeded(n, las.count)
    count = aware.sum(axis=1)
    assert set(np.unique(count)) <= {np.floor(n), np.floor(n) + 1}
    frac = n - np.floor(n)
    se = np.sqrt(frac * (1 - frac) / REPLICATES)  # the extra LA is a Bernoulli(frac) per run
    assert abs(count.mean() - n) <= 4 * se + 1e-12, (count.mean(), n)


def test_extremes_none_and_all(las: LAPopulation) -> None:
    assert not seeded(0.0, las.count).any()
    assert seeded(float(las.count), las.count).all()
    assert (seeded(1.0, las.count).sum(axis=1) == 1).all()


def test_a_batch_mixing_rules_gives_each_row_its_own_las(las: LAPopulation) -> None:
    """Rows with a seed count and rows without (NaN: the per-LA share) in one batch each get
    exactly the LAs they get in a batch of their own rule (sweep or calibration candidates
    sharing a batch must not change each other's numbers)."""
    R, N = 40, las.count
    share = np.full(R, 0.3)
    count = np.where(np.arange(R) % 2 == 0, np.nan, 5.5)
    mixed = initial_awareness(share, count, R, N, RandomStreams(7, partition(R)))
    by_share = initial_awareness(share, np.full(R, np.nan), R, N, RandomStreams(7, partition(R)))
    by_count = initial_awareness(share, np.full(R, 5.5), R, N, RandomStreams(7, partition(R)))
    np.testing.assert_array_equal(mixed[::2], by_share[::2])
    np.testing.assert_array_equal(mixed[1::2], by_count[1::2])
    assert set(np.unique(mixed[1::2].sum(axis=1))) <= {5, 6}


def test_which_las_is_random_and_reproducible(las: LAPopulation) -> None:
    """Each LA is chosen with probability n/N (over 200 replicates × 10 seeds: a binomial
    check on the most and least chosen), and the same seed chooses the same LAs."""
    n, N = 10.0, las.count
    chosen = np.concatenate([seeded(n, N, seed=s) for s in range(10)])
    rate = chosen.mean(axis=0)
    se = np.sqrt(n / N * (1 - n / N) / chosen.shape[0])
    assert np.abs(rate - n / N).max() < 4.5 * se
    np.testing.assert_array_equal(seeded(n, N, seed=3), seeded(n, N, seed=3))
    assert not np.array_equal(seeded(n, N, seed=3), seeded(n, N, seed=4))


def test_per_la_draw_when_unset_can_leave_a_run_with_none(las: LAPopulation) -> None:
    """Unset, each LA is aware with the share independently: a share worth ~2 LAs leaves some
    of 200 runs with none (P = (1 − 2/153)^153 ≈ 0.13), the exact seed never does."""
    share = np.full(REPLICATES, 2.0 / las.count)
    streams = RandomStreams(5, partition(REPLICATES))
    per_la = initial_awareness(share, None, REPLICATES, las.count, streams).sum(axis=1)
    assert (per_la == 0).any() and per_la.max() > 3
    assert (seeded(2.0, las.count, seed=5).sum(axis=1) == 2).all()


def test_uptake_only_model_starts_from_the_seed(las: LAPopulation) -> None:
    """In the calibration model every aware LA is a member in month 0 (immediate evaluation,
    approval that always passes, no innovation or imitation): members = the seed count."""
    scenario = load_scenario(CALIBRATION / "models" / "uptake_only.toml", [
        "uptake.initial_aware_count=3.917", "uptake.p_per_year=0", "uptake.q_per_year=0",
        "time.horizon_months=12"])
    members = run_ensemble(scenario, las, 100, 3).metrics["members"][:, 0]
    assert set(np.unique(members)) <= {3.0, 4.0}
    assert abs(members.mean() - 3.917) <= 4 * np.sqrt(0.917 * 0.083 / 100)


def test_bad_count_is_refused(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match="initial_aware_count"):
        make_scenario(uptake={"initial_aware_count": -1.0})
    with pytest.raises(ScenarioError, match="initial_aware_count"):
        make_scenario(uptake={"initial_aware_count": 154.0})
