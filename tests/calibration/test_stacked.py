"""Candidates side by side in shared batches (issue #16, item 5): the same numbers as one
candidate per simulation, to the bit, because a replicate's random numbers depend only on the
seed, its block and the month (docs/experiments.md §3.3), never on the batch it shares."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from calibration_helpers import UPTAKE_ONLY, spec_text

from sim.experiments.calibration import calibrate, load_spec, read_series
from sim.experiments.calibration import objective as objective_module
from sim.experiments.calibration.calibrate import build_problem
from sim.experiments.calibration.objective import Problem, evaluator, stacks

OBSERVED = "date,adopters\n" + "".join(f"{2016 + i}-07,{n}\n"
                                      for i, n in enumerate([3, 6, 12, 21, 30, 37]))
# The FDAC spec's four parameters (calibration/uptake_fdac.toml): p and q, the market share
# (the calibration layer) and the April renewal, with the first point seeding the model.
FOUR = ('[[parameters]]\npath = "uptake.p_per_year"\nlower = 0.001\nupper = 0.2\nscale = "log"\n\n'
        '[[parameters]]\npath = "uptake.q_per_year"\nlower = 0.0\nupper = 1.5\n\n'
        '[[parameters]]\npath = "calibration.market_share"\nlower = 0.15\nupper = 1.0\n\n'
        '[[parameters]]\npath = "uptake.renewal_prob"\nlower = 0.7\nupper = 1.0\n')
TINY = ('kind = "abc"\nseed = 4\n\n[method.small]\nreplicates = 6\nevaluations = 8\nrounds = 2\n'
        'polish = 3\nband_draws = 3\nposterior_samples = 50\n')


@pytest.fixture
def spec(write_spec: Callable[..., Path]) -> Path:
    model = (f'[model]\nscenario = "{UPTAKE_ONLY.as_posix()}"\nmetric = "members"\n'
             'initial_adopters = "first_observation"\n'
             'overrides = ["uptake.lapsed_return_months=240"]\n')
    return write_spec(OBSERVED, text=spec_text("observed.csv", model=model, parameters=FOUR,
                                               method=TINY, loss='kind = "poisson"'))


@pytest.fixture
def problem(spec: Path) -> Problem:
    loaded = load_spec(spec)
    return build_problem(loaded, read_series(loaded), replicates=6)


def _thetas(problem: Problem, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(8)
    return [problem.to_theta(z) for z in rng.random((count, problem.dimension))]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape
        assert np.array_equal(x, y, equal_nan=True)


def test_candidates_in_one_batch_equal_each_run_alone(problem: Problem) -> None:
    """Five candidates (all four parameters varying, the market share only in the
    observation operator) in shared batches: each one's observables and monthly series equal
    its own simulation's, to the bit; on a pool of two workers too, in candidate order."""
    assert problem.stackable
    thetas = _thetas(problem, 5)
    alone = [problem.observables(theta) for theta in thetas]
    monthly = [problem.monthly(theta, 3) for theta in thetas[:2]]
    with evaluator(problem) as here:
        assert here.stack
        _same(alone, here.observables(thetas))
        _same(monthly, here.monthly(thetas[:2], 3))
        assert here.evaluations == here.simulated == len(thetas)
        again = here.observables([thetas[1], thetas[1].copy()])  # already simulated: not rerun
        _same([alone[1], alone[1]], again)
        assert (here.evaluations, here.simulated) == (len(thetas) + 2, len(thetas))
    with evaluator(problem, workers=2) as pooled:
        _same(alone[::-1], pooled.observables(thetas[::-1]))


def test_a_whole_fit_is_the_same_with_and_without_shared_batches(
        spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny ABC fit of the four FDAC parameters, candidates in shared batches or one per
    simulation: the same fit.json (estimates, intervals, likelihood, bands), the time apart."""
    loaded = load_spec(spec)

    def fit() -> tuple[str, pd.DataFrame, pd.DataFrame]:
        result = calibrate(loaded, "small", workers=1)
        body = dict(result.fit, created_utc=None)
        body["method"] = dict(body["method"], seconds=None)
        return json.dumps(body, default=str), result.observed, result.simulated

    stacked = fit()
    monkeypatch.setattr(objective_module, "STACK", False)
    alone = fit()
    assert stacked[0] == alone[0]
    pd.testing.assert_frame_equal(stacked[1], alone[1], check_exact=True)
    pd.testing.assert_frame_equal(stacked[2], alone[2], check_exact=True)


@pytest.mark.parametrize(("count", "replicates", "workers", "sizes"), [
    (28, 16, 2, [14, 14]),         # the FDAC small budget: one batch per worker
    (128, 50, 2, [32, 32, 32, 32]),  # the full budget: at most 2,000 rows per batch
    (128, 50, 1, [32, 32, 32, 32]),
    (3, 50, 4, [1, 1, 1]),         # fewer candidates than workers
    (5, 5000, 2, [1, 1, 1, 1, 1]),  # a candidate bigger than a batch stays whole
])
def test_stacks_are_even_bounded_and_a_multiple_of_the_workers(
        count: int, replicates: int, workers: int, sizes: list[int]) -> None:
    groups = stacks(count, replicates, workers)
    assert [g.stop - g.start for g in groups] == sizes
    assert groups[0].start == 0 and groups[-1].stop == count
    assert all(a.stop == b.start for a, b in zip(groups, groups[1:], strict=False))
