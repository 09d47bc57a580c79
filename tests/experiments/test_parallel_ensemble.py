"""Ensembles on a process pool: the same numbers, to the bit, as in one process."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import partition
from sim.experiments import compare, resolve_workers, run_ensemble
from sim.experiments.ensemble import even_batches
from sim.scenario import Scenario

REPLICATES = 40
BLOCK_SIZE = 9  # blocks of 9, 9, 9, 9 and 4 replicates
SEED = 777


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].shape == b[name].shape, name
        assert np.array_equal(a[name], b[name], equal_nan=True), name


@pytest.fixture(scope="module")
def scenarios(shipped_scenario: Callable[..., Scenario]) -> list[Scenario]:
    return [shipped_scenario(name, "time.horizon_months=48")
            for name in ("independent_company", "la_hosted")]


def test_two_workers_give_the_same_numbers_as_one(scenarios: list[Scenario],
                                                  las: LAPopulation) -> None:
    """run_ensemble and compare with workers=2 reproduce workers=1 exactly (metrics, KPIs,
    events), for every scenario."""
    one = compare(scenarios, las, REPLICATES, SEED, block_size=BLOCK_SIZE)
    two = compare(scenarios, las, REPLICATES, SEED, block_size=BLOCK_SIZE, workers=2,
                  batch_replicates=18)
    for a, b in zip(one, two, strict=True):
        assert a.name == b.name
        _same(a.metrics, b.metrics)
        _same(a.kpis, b.kpis)
        assert a.events == b.events
    single = run_ensemble(scenarios[0], las, REPLICATES, SEED, block_size=BLOCK_SIZE, workers=2)
    _same(one[0].metrics, single.metrics)
    _same(one[0].kpis, single.kpis)


def test_even_batches_split_blocks_for_the_workers() -> None:
    """Batches keep block order, drop none, and come in a multiple of the worker count
    where the blocks allow it."""
    blocks = partition(10_000, 1000)
    groups = even_batches(blocks, 2, 2000)
    assert [b for g in groups for b in g] == blocks
    assert len(groups) % 2 == 0
    assert max(sum(b.size for b in g) for g in groups) <= 2000
    assert len(even_batches(partition(1000, 1000), 2, 2000)) == 1


def test_resolve_workers_never_splits_a_block() -> None:
    """More workers than blocks is pointless: None means every core, capped at the blocks."""
    assert resolve_workers(8, [1000]) == 1
    assert resolve_workers(8, [3000]) == 3
    assert resolve_workers(2, [1000, 1000, 1000]) == 2
    assert resolve_workers(None, [1]) == 1
    assert resolve_workers(None, [2000]) == 1  # a pool does not pay for two blocks
    with pytest.raises(ValueError):
        resolve_workers(0, [5000])
