"""Designs: grid, random, Latin hypercube and Sobol' points mapped through each distribution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import SMALL, write_sweep

from sim.experiments.design import build_design, from_unit, grid_levels, unit_design
from sim.experiments.sweepfile import Parameter, load_sweep


def test_lhs_puts_one_point_in_each_stratum_of_every_column() -> None:
    """Latin hypercube: each of the n equal slices of [0, 1) holds exactly one point per column."""
    unit = unit_design("lhs", 4, 50, seed=3)
    for column in unit.T:
        assert sorted(np.floor(column * 50).astype(int)) == list(range(50))


def test_sobol_design_is_balanced_and_needs_a_power_of_two() -> None:
    """A scrambled Sobol' design of 2^m points is balanced on halves; other sizes are refused."""
    unit = unit_design("sobol", 3, 64, seed=3)
    assert unit.shape == (64, 3)
    assert ((unit < 0.5).sum(axis=0) == 32).all()
    with pytest.raises(ValueError, match="power of 2"):
        unit_design("sobol", 3, 60, seed=3)


def test_designs_depend_on_the_seed_only() -> None:
    """The same seed gives the same points; another seed other points."""
    for kind in ("random", "lhs", "sobol"):
        a, b = unit_design(kind, 2, 32, seed=1), unit_design(kind, 2, 32, seed=1)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, unit_design(kind, 2, 32, seed=2))


def test_integer_uniform_gives_every_whole_value_the_same_chance() -> None:
    """uniform(12, 15) on an integer key: 12, 13, 14, 15 each take a quarter of [0, 1)."""
    p = Parameter(path="x", low=12, high=15)
    u = (np.arange(400) + 0.5) / 400
    values = from_unit(p, u, integer=True)
    assert all(isinstance(v, int) for v in values)
    assert [values.count(v) for v in (12, 13, 14, 15)] == [100, 100, 100, 100]


def test_distributions_map_quantiles() -> None:
    """Triangular and truncated normal stay inside their bounds; choice splits [0, 1) evenly."""
    u = np.linspace(0, 1, 1001)
    tri = from_unit(Parameter(path="x", distribution="triangular", low=1, mode=2, high=5), u)
    assert min(tri) == pytest.approx(1) and max(tri) <= 5
    assert np.median(tri) == pytest.approx(5 - np.sqrt(0.5 * 4 * 3), abs=1e-3)
    norm = from_unit(Parameter(path="x", distribution="normal", mean=0.4, sd=0.3, low=0.1,
                               high=0.5), u[1:-1])
    assert 0.1 <= min(norm) and max(norm) <= 0.5
    choice = from_unit(Parameter(path="x", values=["a", "b", "c", "d"]), np.array([0, 0.26, 0.5,
                                                                                   0.99]))
    assert choice == ["a", "b", "c", "d"]


def test_grid_is_the_full_factorial_of_levels(tmp_path: Path) -> None:
    """Grid: levels along each range (rounded for integers), every combination once."""
    text = SMALL.replace('design = "lhs"\nsamples = 7', 'design = "grid"').replace(
        "high = 30", "high = 30\nlevels = 4")
    sweep = load_sweep(write_sweep(tmp_path, text))
    assert grid_levels(sweep.parameters[0], True) == [12, 18, 24, 30]
    levels = grid_levels(sweep.parameters[1], False)  # triangular: quantiles 0, 0.5, 1
    assert len(levels) == 3 and levels[0] == 2000 and levels[-1] == pytest.approx(15000)
    assert grid_levels(sweep.parameters[2], False) == ["gall", "big_bang"]
    design = build_design(sweep)
    assert len(design) == 4 * 3 * 2
    assert len(design.drop(columns="point").drop_duplicates()) == len(design)
    assert design["point"].tolist() == list(range(24))


def test_build_design_columns_are_typed(tmp_path: Path) -> None:
    """The design has point, then one typed column per key path, in file order."""
    design = build_design(load_sweep(write_sweep(tmp_path)))
    assert list(design.columns) == ["point", "finance.grants[0].end_month",
                                    "finance.subscription_gbp_per_year", "portfolio.policy"]
    assert design["finance.grants[0].end_month"].dtype == np.int64
    assert design["finance.subscription_gbp_per_year"].dtype == np.float64
    assert set(design["portfolio.policy"]) <= {"gall", "big_bang"}
    assert design["finance.grants[0].end_month"].between(12, 30).all()
