"""Ensembles on a process pool or Dask: the same numbers, to the bit, as in one process, whether
workers write their rows in place or send them back."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from sim.data import LAPopulation
from sim.engine import partition
from sim.experiments import EnsembleResult, compare, resolve_workers, run_ensemble
from sim.experiments import shared as shared_module
from sim.experiments.ensemble import even_batches
from sim.experiments.executors import DaskExecutor, LocalExecutor
from sim.scenario import Scenario

REPLICATES = 40
BLOCK_SIZE = 9  # blocks of 9, 9, 9, 9 and 4 replicates
SEED = 777
DASK_REPLICATES = 200
DASK_BLOCK_SIZE = 50  # four blocks, two batches of two per worker


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].shape == b[name].shape, name
        assert np.array_equal(a[name], b[name], equal_nan=True), name


def _same_runs(a: list[EnsembleResult], b: list[EnsembleResult]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.name == y.name
        _same(x.metrics, y.metrics)
        _same(x.kpis, y.kpis)
        assert x.events == y.events


@pytest.fixture(scope="module")
def scenarios(shipped_scenario: Callable[..., Scenario]) -> list[Scenario]:
    return [shipped_scenario(name, "time.horizon_months=48")
            for name in ("independent_company", "la_hosted")]


@pytest.fixture(scope="module")
def in_process(scenarios: list[Scenario], las: LAPopulation) -> list[EnsembleResult]:
    """The reference for the Dask tests: every batch in this process."""
    return compare(scenarios, las, DASK_REPLICATES, SEED, block_size=DASK_BLOCK_SIZE)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[DaskExecutor]:
    pytest.importorskip("dask.distributed")
    with DaskExecutor(workers=2) as executor:
        yield executor


def test_two_workers_give_the_same_numbers_as_one(scenarios: list[Scenario],
                                                  las: LAPopulation) -> None:
    """run_ensemble and compare with workers=2 reproduce workers=1 exactly (metrics, KPIs,
    events), for every scenario, with workers forked or spawned."""
    one = compare(scenarios, las, REPLICATES, SEED, block_size=BLOCK_SIZE)
    two = compare(scenarios, las, REPLICATES, SEED, block_size=BLOCK_SIZE, workers=2,
                  batch_replicates=18)
    _same_runs(one, two)
    with LocalExecutor(2, start_method="spawn") as spawned:
        _same_runs(one, compare(scenarios, las, REPLICATES, SEED, block_size=BLOCK_SIZE,
                                batch_replicates=18, executor=spawned))
    single = run_ensemble(scenarios[0], las, REPLICATES, SEED, block_size=BLOCK_SIZE, workers=2)
    _same(one[0].metrics, single.metrics)
    _same(one[0].kpis, single.kpis)


def test_dask_local_cluster_gives_the_same_numbers(scenarios: list[Scenario], las: LAPopulation,
                                                  in_process: list[EnsembleResult],
                                                  dask_cluster: DaskExecutor) -> None:
    """compare and run_ensemble on a Dask LocalCluster of two workers (writing into the shared
    file) reproduce the in-process run exactly."""
    assert dask_cluster.workers == 2
    on_dask = compare(scenarios, las, DASK_REPLICATES, SEED, block_size=DASK_BLOCK_SIZE,
                      batch_replicates=100, executor=dask_cluster)
    _same_runs(in_process, on_dask)
    single = run_ensemble(scenarios[1], las, DASK_REPLICATES, SEED, block_size=DASK_BLOCK_SIZE,
                          executor=dask_cluster)
    _same_runs(in_process[1:], [single])


def test_workers_on_other_machines_send_their_rows_back(scenarios: list[Scenario],
                                                        las: LAPopulation,
                                                        in_process: list[EnsembleResult],
                                                        dask_cluster: DaskExecutor,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the results file out of the workers' reach (made on another host name) their rows
    come back through the pipe: the same numbers."""
    monkeypatch.setattr(shared_module.socket, "gethostname", lambda: "the-client-machine")
    on_dask = compare(scenarios, las, DASK_REPLICATES, SEED, block_size=DASK_BLOCK_SIZE,
                      batch_replicates=100, executor=dask_cluster)
    _same_runs(in_process, on_dask)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_without_room_for_the_shared_file_rows_come_back_through_pipes(
        scenarios: list[Scenario], las: LAPopulation, monkeypatch: pytest.MonkeyPatch,
        method: str) -> None:
    """No folder with room for the shared file: a local pool sends its rows back instead (a
    forked worker too, though it holds a copy of the parent's arrays)."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    one = compare(scenarios, las, REPLICATES, SEED, block_size=BLOCK_SIZE)
    monkeypatch.setattr(shared_module, "_FOLDERS", ())
    with LocalExecutor(2, start_method=method) as executor:
        piped = compare(scenarios, las, REPLICATES, SEED, block_size=BLOCK_SIZE,
                        batch_replicates=18, executor=executor)
    _same_runs(one, piped)


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
