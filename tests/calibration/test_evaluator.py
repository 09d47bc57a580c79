"""The calibration objective runs on the common executors: the same numbers on a local pool or
Dask as in this process, in the order of the candidates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import sim.experiments
from sim.experiments.calibration import default_workers, load_spec, read_series
from sim.experiments.calibration.calibrate import build_problem
from sim.experiments.calibration.objective import Problem, evaluator
from sim.experiments.executors import DaskExecutor

OBSERVED = "date,adopters\n" + "".join(f"{2020 + i}-01,{n}\n"
                                      for i, n in enumerate([4, 9, 17, 30, 46]))
CANDIDATES = ([0.2, 0.3], [0.5, 0.5], [0.8, 0.1], [0.1, 0.9])


@pytest.fixture
def problem(write_spec: Callable[..., Path]) -> Problem:
    loaded = load_spec(write_spec(OBSERVED))
    return build_problem(loaded, read_series(loaded), replicates=12)


def _thetas(problem: Problem) -> list[np.ndarray]:
    return [problem.to_theta(np.array(z)) for z in CANDIDATES]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y, equal_nan=True)


def test_a_pool_of_two_gives_the_serial_observables_in_candidate_order(problem: Problem) -> None:
    """Candidates on two worker processes equal those run here, to the bit, in input order,
    round after round on the same workers."""
    thetas = _thetas(problem)
    with evaluator(problem) as here:
        expected = here.observables(thetas)
    with evaluator(problem, workers=2) as pooled:
        assert pooled.executor.workers == 2
        _same(expected[:2], pooled.observables(thetas[:2]))
        _same(expected[2:][::-1], pooled.observables(thetas[2:][::-1]))  # not simulated yet
        assert pooled.evaluations == pooled.simulated == len(thetas)


def test_dask_gives_the_serial_observables(problem: Problem) -> None:
    """The evaluator accepts any executor; a Dask LocalCluster gives the same numbers."""
    pytest.importorskip("dask.distributed")
    thetas = _thetas(problem)[:2]
    with evaluator(problem) as here:
        expected = here.observables(thetas)
    with DaskExecutor(workers=2) as cluster, evaluator(problem, executor=cluster) as on_dask:
        _same(expected, on_dask.observables(thetas))


def test_there_is_one_default_workers() -> None:
    """Calibration counts cores with the executors' own function."""
    assert default_workers is sim.experiments.default_workers
    assert default_workers() >= 1
