"""Ensembles: reproducibility, chunk invariance and common random numbers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import partition
from sim.experiments import EnsembleResult, batches, compare, ensemble, run_blocks, run_ensemble
from sim.model import KPIS, METRICS, BatchResult
from sim.scenario import Scenario

REPLICATES = 20
BLOCK_SIZE = 7  # blocks of 7, 7 and 6 replicates
SEED = 4242


def assert_same_results(
    a_metrics: dict[str, np.ndarray],
    a_kpis: dict[str, np.ndarray],
    b_metrics: dict[str, np.ndarray],
    b_kpis: dict[str, np.ndarray],
) -> None:
    """Bitwise equality of every metric and KPI (NaN equal to NaN)."""
    assert a_metrics.keys() == b_metrics.keys() == METRICS.keys()
    assert a_kpis.keys() == b_kpis.keys() == KPIS.keys()
    for name in METRICS:
        assert np.array_equal(a_metrics[name], b_metrics[name], equal_nan=True), name
    for name in KPIS:
        assert np.array_equal(a_kpis[name], b_kpis[name], equal_nan=True), name


@pytest.fixture(scope="module")
def scenario(shipped_scenario: Callable[..., Scenario]) -> Scenario:
    """A scenario with closures and NaN KPIs in some replicates, so equality is tested on both."""
    return shipped_scenario("independent_company")


@pytest.fixture(scope="module")
def reference(scenario: Scenario, las: LAPopulation) -> EnsembleResult:
    return run_ensemble(scenario, las, REPLICATES, SEED, block_size=BLOCK_SIZE)


def test_same_seed_same_results(
    scenario: Scenario, las: LAPopulation, reference: EnsembleResult
) -> None:
    """Running again with the same seed reproduces every number exactly."""
    again = run_ensemble(scenario, las, REPLICATES, SEED, block_size=BLOCK_SIZE)
    assert_same_results(reference.metrics, reference.kpis, again.metrics, again.kpis)
    assert again.events == reference.events


def test_different_seed_different_results(
    scenario: Scenario, las: LAPopulation, reference: EnsembleResult
) -> None:
    """A different seed gives different trajectories."""
    other = run_ensemble(scenario, las, REPLICATES, SEED + 1, block_size=BLOCK_SIZE)
    for name in ("members", "staff_fte", "reserves_gbp"):
        assert not np.array_equal(other.metrics[name], reference.metrics[name]), name


def test_blocks_one_at_a_time_equal_the_whole_run(
    scenario: Scenario, las: LAPopulation, reference: EnsembleResult
) -> None:
    """Simulating each block alone and concatenating equals the ensemble run in one go."""
    blocks = partition(REPLICATES, BLOCK_SIZE)
    assert [b.size for b in blocks] == [7, 7, 6]
    parts = [run_blocks(scenario, las, SEED, [block]) for block in blocks]
    metrics = {k: np.concatenate([p.metrics[k] for p in parts]) for k in METRICS}
    kpis = {k: np.concatenate([p.kpis[k] for p in parts]) for k in KPIS}
    assert_same_results(reference.metrics, reference.kpis, metrics, kpis)
    assert all(p.events == reference.events for p in parts)


@pytest.mark.parametrize("batch_replicates", [1, 7, 10, 14, 15, 10_000])
def test_batch_size_does_not_change_results(
    batch_replicates: int, scenario: Scenario, las: LAPopulation, reference: EnsembleResult
) -> None:
    """How blocks are grouped into batches never changes the numbers."""
    result = run_ensemble(
        scenario, las, REPLICATES, SEED, block_size=BLOCK_SIZE, batch_replicates=batch_replicates
    )
    assert_same_results(reference.metrics, reference.kpis, result.metrics, result.kpis)


def test_batches_group_consecutive_blocks_within_the_row_limit() -> None:
    """batches() keeps block order, drops none, exceeds the row limit only with a single block."""
    blocks = partition(20, 7)
    for limit in (1, 7, 10, 14, 15, 100):
        groups = batches(blocks, limit)
        assert [b for g in groups for b in g] == blocks
        for group in groups:
            assert len(group) == 1 or sum(b.size for b in group) <= limit


def test_compare_gives_common_random_numbers(
    scenario: Scenario, las: LAPopulation, shipped_scenario: Callable[..., Scenario]
) -> None:
    """Two scenarios that differ only in their name get identical results from compare()."""
    renamed = shipped_scenario("independent_company", "meta.name=renamed")
    assert renamed != scenario
    first, second = compare([scenario, renamed], las, REPLICATES, SEED, block_size=BLOCK_SIZE)
    assert (first.name, second.name) == ("independent_company", "renamed")
    assert_same_results(first.metrics, first.kpis, second.metrics, second.kpis)


def test_fields_a_batch_result_adds_reach_the_ensemble_result(
    scenario: Scenario, las: LAPopulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field the model adds to BatchResult is carried, from the batch at replicate 0, onto
    the EnsembleResult as it is (the ensemble does not read it)."""

    @dataclasses.dataclass
    class Richer(BatchResult):
        first_replicate: Any = None

    simulate_batch = ensemble.run_blocks

    def richer(*args: Any, **kwargs: Any) -> Richer:
        part = simulate_batch(*args, **kwargs)
        fields = {f.name: getattr(part, f.name) for f in dataclasses.fields(part)}
        return Richer(**fields, first_replicate=args[3][0].start)

    monkeypatch.setattr(ensemble, "run_blocks", richer)
    result = run_ensemble(scenario, las, REPLICATES, SEED, block_size=BLOCK_SIZE,
                          batch_replicates=BLOCK_SIZE)
    assert result.first_replicate == 0  # type: ignore[attr-defined]
    assert result.events
